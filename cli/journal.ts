/**
 * `aos journal show`: one line (or one JSON object) per journal entry.
 *
 * @module
 */
import { AosError, stringifyJson } from "../air/mod.ts";
import { verifyJournal } from "../world/mod.ts";
import { type CliIo, locateWorld, printJson, withWorld } from "./context.ts";
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
  return await withWorld(io, world, (w) => {
    for (const entry of w.journal.entries(Math.min(from, w.height))) {
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
  if (options.json) {
    printJson(io, {
      ok: r.ok,
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
    io.err(`error[${code}]: Journal damaged: ${r.error?.message ?? "unknown problem"}${hintFor(code)}`);
  }
  return r.ok ? 0 : 1;
}
