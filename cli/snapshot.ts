/**
 * `aos snapshot` takes a snapshot now (the kernel is idle between commands); `aos snapshot ls` lists the
 * snapshots the journal records, newest first.
 *
 * @module
 */
import { bytesToHashRef, type HashRef } from "../air/mod.ts";
import { isRecord } from "../journal/mod.ts";
import { type CliIo, printJson, readWorld, withWorld } from "./context.ts";

/** `aos snapshot [--json]`. */
export async function runSnapshot(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, async (w) => {
    const taken = await w.snapshot();
    if (options.json) printJson(io, { height: BigInt(taken.height), hash: taken.hash });
    else io.out(`Snapshot at height ${taken.height}: ${taken.hash}`);
    return 0;
  });
}

/** `aos snapshot ls [--json]`: every `snapshot` marker, newest first. */
export async function runSnapshotLs(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await readWorld(io, world, async (w) => {
    await w.loadHistory(0);
    const snapshots: Array<{ height: number; hash: HashRef }> = [];
    for (const entry of w.journal.entriesBackward()) {
      if (isRecord(entry, "snapshot")) {
        snapshots.push({ height: entry.seq, hash: bytesToHashRef(entry.body.snapshot_hash) });
      }
    }
    if (options.json) {
      printJson(io, snapshots.map((s) => ({ height: BigInt(s.height), hash: s.hash })));
    } else if (snapshots.length === 0) {
      io.out('No snapshots yet (one is taken every 1,000 entries, or run "aos snapshot")');
    } else {
      for (const s of snapshots) io.out(`${String(s.height).padStart(10)}  ${s.hash}`);
    }
    return 0;
  });
}
