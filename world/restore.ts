/**
 * Rebuilding a live kernel from a journal: the latest snapshot (or genesis) plus the tail, and where the
 * inbox was when the journal ends.
 *
 * @module
 */
import { AosError, bytesToHashRef, type HashRef } from "../air/mod.ts";
import { type Cas, type EntryBodies, isRecord, type Journal, type JournalEntry } from "../journal/mod.ts";
import { type Divergence, Kernel, type ReducerHost, type WorldDefs } from "../kernel/mod.ts";

/** A kernel restored from a journal, and the seq to replay from. */
export interface Restored {
  kernel: Kernel;
  /** The first seq still to replay (the snapshot marker's seq, or 0). */
  fromSeq: number;
  lastSnapshot?: { height: number; hash: HashRef };
}

/** The genesis entry of a journal and the manifest it names; `AOS_JOURNAL_CORRUPT` when there is none. */
export function genesisOf(journal: Pick<Journal, "entries">, where: string): { manifestHash: HashRef } {
  const [genesis] = journal.entries(0);
  if (!genesis || genesis.seq !== 0 || !isRecord(genesis, "genesis")) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `${where} does not start with a genesis entry`, {
      context: { seq: 0 },
    });
  }
  return { manifestHash: bytesToHashRef(genesis.body.manifest_hash) };
}

/**
 * Builds a kernel from the latest snapshot in the journal (or from scratch when there is none). Returns it
 * with the seq of the first entry still to replay.
 */
export async function restoreLatest(
  journal: Pick<Journal, "entries">,
  cas: Cas,
  defs: WorldDefs,
  host: ReducerHost,
): Promise<Restored> {
  let latest: (JournalEntry & { body: EntryBodies["snapshot"] }) | undefined;
  for (const entry of journal.entries(0)) if (isRecord(entry, "snapshot") && entry.seq > 0) latest = entry;
  if (latest === undefined) return { kernel: new Kernel(defs, host), fromSeq: 0 };
  const hash = bytesToHashRef(latest.body.snapshot_hash);
  const kernel = Kernel.restore(defs, host, await cas.get("blobs", hash));
  if (kernel.height !== latest.seq) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Snapshot at seq ${latest.seq} claims height ${kernel.height}`,
      { context: { seq: latest.seq } },
    );
  }
  return { kernel, fromSeq: latest.seq, lastSnapshot: { height: latest.seq, hash } };
}

/** A position in the inbox: batch number and event index within it. */
export interface InboxPosition {
  batch: number;
  index: number;
}

const INBOX_SOURCE = /^inbox:(\d+):(\d+)$/;

/** The `origin.source` of an event admitted from the inbox. */
export function inboxSource(position: InboxPosition): string {
  return `inbox:${position.batch}:${position.index}`;
}

/** The last inbox event the journal admitted (batch 0, index -1 when none). */
export function lastAdmittedPosition(journal: Pick<Journal, "entries">): InboxPosition {
  let last: InboxPosition = { batch: 0, index: -1 };
  for (const e of journal.entries(0)) {
    if (!isRecord(e, "domain_event") || e.body.origin.kind !== "external") continue;
    const source = e.body.origin.source;
    const m = source === undefined ? null : INBOX_SOURCE.exec(source);
    if (!m) continue;
    const at = { batch: Number(m[1]), index: Number(m[2]) };
    if (at.batch > last.batch || (at.batch === last.batch && at.index > last.index)) last = at;
  }
  return last;
}

/** The error for a replay divergence, naming the seq and reducer. */
export function divergenceError(d: Divergence): AosError {
  const who = d.reducer ? ` (reducer ${d.reducer})` : "";
  return new AosError("AOS_REPLAY_DIVERGED", `Replay diverged at seq ${d.seq}${who}: ${d.message}`, {
    context: { seq: d.seq, ...(d.reducer ? { reducer: d.reducer } : {}) },
  });
}
