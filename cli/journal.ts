/**
 * `aos journal show`: one line (or one JSON object) per journal entry.
 *
 * @module
 */
import { AosError, stringifyJson } from "../air/mod.ts";
import { repairWorld, verifyJournal } from "../world/mod.ts";
import { type CliIo, locateWorld, printJson, readWorld, tornTailJson, tornTailWarning } from "./context.ts";
import { hintFor } from "./errors.ts";
import { entryJson, entryLine } from "./render.ts";

/** `aos journal show`. */
export async function runJournalShow(
  io: CliIo,
  world: string | undefined,
  options: { from?: string; json?: boolean },
): Promise<number> {
  const from = options.from === undefined ? 0 : /^\d+$/.test(options.from) ? Number(options.from) : NaN;
  if (!Number.isSafeInteger(from) || from < 0) {
    throw new AosError("AOS_USAGE", `--from takes a seq (a whole number >= 0), got "${options.from}"`);
  }
  return await readWorld(io, world, async (w) => {
    const start = Math.min(from, w.height);
    await w.loadHistory(start);
    for (const entry of w.journal.entries(start)) {
      io.out(options.json ? stringifyJson(entryJson(entry, w.defs)) : entryLine(entry, w.defs));
    }
    return 0;
  });
}

/** `aos journal verify`: the full check of the journal from genesis, read-only; exit 0 intact, 1 damaged. */
export async function runJournalVerify(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const dir = await locateWorld(io, world);
  const r = await verifyJournal(dir);
  if (r.tornTail !== undefined) io.err(tornTailWarning(r.tornTail, dir));
  if (options.json) {
    printJson(io, {
      ok: r.ok,
      torn_tail: tornTailJson(r.tornTail, dir),
      height: BigInt(r.height),
      segments: BigInt(r.segments),
      ...(r.error
        ? {
          error: {
            code: r.error.code,
            message: r.error.message,
            segment: r.error.context.segment ?? null,
            offset: r.error.context.offset === undefined ? null : BigInt(r.error.context.offset),
            seq: r.error.context.seq === undefined ? null : BigInt(r.error.context.seq),
          },
        }
        : {}),
    });
  } else if (r.ok && r.store !== undefined) {
    io.out(
      `Journal OK: ${r.height} entries in ${r.store}; ` +
        "every row's encoding, seq and hash link checked from genesis, and the head matches",
    );
  } else if (r.ok) {
    io.out(
      `Journal OK: ${r.height} entries in ${r.segments} segment${r.segments === 1 ? "" : "s"}; ` +
        "every frame, CRC, encoding, seq and hash link checked from genesis, and the head matches",
    );
  } else {
    const code = r.error?.code ?? "AOS_JOURNAL_CORRUPT";
    const hint = code === "AOS_JOURNAL_CORRUPT"
      ? ' (nothing was changed; "aos journal repair --quarantine" moves the damaged segment and everything ' +
        "after it to .aos/quarantine/ and restores from the latest valid snapshot before it)"
      : hintFor(code);
    io.err(`error[${code}]: Journal damaged: ${r.error?.message ?? "unknown problem"}${hint}`);
  }
  return r.ok ? 0 : 1;
}

/** `aos journal repair --quarantine`: the explicit way back from a damaged journal (never silent). */
export async function runJournalRepair(
  io: CliIo,
  world: string | undefined,
  options: { quarantine?: boolean; json?: boolean },
): Promise<number> {
  if (options.quarantine !== true) {
    throw new AosError(
      "AOS_USAGE",
      "aos journal repair needs --quarantine: it moves the damaged journal segment and every later one (and " +
        "the head) to .aos/quarantine/, keeps the intact entries before the damage, and restores from the " +
        'latest valid snapshot at or before it; entries after the damage are lost (run "aos journal verify" ' +
        "first to see where the damage is)",
    );
  }
  const dir = await locateWorld(io, world);
  const r = await repairWorld(dir, io.clock);
  if (options.json) {
    printJson(io, {
      repaired: r.repaired,
      damage: r.damage
        ? {
          kind: r.damage.kind,
          message: r.damage.message,
          segment: r.damage.segment ?? null,
          offset: r.damage.offset === undefined ? null : BigInt(r.damage.offset),
          seq: r.damage.seq === undefined ? null : BigInt(r.damage.seq),
        }
        : null,
      torn_tail: tornTailJson(r.tornTail, dir),
      quarantine: r.quarantine ?? null,
      height: BigInt(r.height),
      lost: r.lost
        ? { from: BigInt(r.lost.from), to: BigInt(r.lost.to), count: BigInt(r.lost.to - r.lost.from + 1) }
        : null,
      restored_from: r.restoredFrom
        ? { height: BigInt(r.restoredFrom.height), hash: r.restoredFrom.hash }
        : null,
      unusable_snapshots: r.unusableSnapshots.map(BigInt),
    });
    return 0;
  }
  if (!r.repaired) {
    io.out(`Journal OK: nothing to repair (${r.height} entries)`);
    return 0;
  }
  io.out(`Found: ${r.damage!.message}`);
  if (r.tornTail !== undefined) {
    io.err(tornTailWarning(r.tornTail, dir));
    io.out(`Cut the torn tail (never acknowledged, nothing lost); the journal holds seqs 0..${r.height - 1}`);
    return 0;
  }
  if (r.quarantine !== undefined) {
    io.out(`Moved to ${r.quarantine.folder}/: ${r.quarantine.moved.join(", ") || "(nothing)"}`);
  }
  io.out(
    `Restored from ${
      r.restoredFrom ? `the snapshot at height ${r.restoredFrom.height}` : "genesis"
    } and replayed the intact entries: the journal holds seqs 0..${r.height - 1}`,
  );
  if (r.unusableSnapshots.length > 0) {
    io.out(`Skipped damaged snapshots at heights ${r.unusableSnapshots.join(", ")}`);
  }
  if (r.lost) {
    const count = r.lost.to - r.lost.from + 1;
    io.out(
      `Lost seqs ${r.lost.from}..${r.lost.to} (${count} entr${count === 1 ? "y" : "ies"}): ` +
        "send their inputs again if they still matter; their bytes are in the quarantine folder",
    );
  } else {
    io.out("No acknowledged entry was lost");
  }
  return 0;
}
