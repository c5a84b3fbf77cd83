/**
 * `aos journal show`: one line (or one JSON object) per journal entry.
 *
 * @module
 */
import { AosError, stringifyJson } from "../air/mod.ts";
import { type CliIo, printJson, withWorld } from "./context.ts";
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
  return await withWorld(io, world, (w) => {
    for (const entry of w.journal.entries(Math.min(from, w.height))) {
      io.out(options.json ? stringifyJson(entryJson(entry, w.defs)) : entryLine(entry, w.defs));
    }
    return 0;
  });
}

/**
 * `aos journal verify`: opens the world, which checks every frame (length, CRC-32C), the hash chain, the
 * seqs and `.aos/head`, and replays the tail after the latest snapshot; reports the first problem.
 */
export async function runJournalVerify(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, (w) => {
    if (options.json) printJson(io, { ok: true, height: BigInt(w.height) });
    else io.out(`Journal OK: ${w.height} entries; frames, hash chain and head intact`);
    return 0;
  });
}
