/**
 * `aos rollback --to SEQ`: rolls the world back to the snapshot taken at height SEQ (KERNEL §8.6), as a
 * journaled input; the abandoned entries stay in the journal for audit.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { type CliIo, printJson, withWorld } from "./context.ts";

/** `aos rollback --to SEQ [--json]`. */
export async function runRollback(
  io: CliIo,
  world: string | undefined,
  options: { to?: string; json?: boolean },
): Promise<number> {
  const to = options.to !== undefined && /^\d+$/.test(options.to) ? Number(options.to) : NaN;
  if (!Number.isSafeInteger(to)) {
    throw new AosError(
      "AOS_USAGE",
      `--to takes the height of a snapshot (a whole number; see "aos snapshot ls"), got "${options.to}"`,
    );
  }
  return await withWorld(io, world, async (w) => {
    const r = await w.rollback(to);
    if (options.json) {
      printJson(io, {
        seq: BigInt(r.seq),
        to_height: BigInt(r.toHeight),
        snapshot_hash: r.snapshotHash,
        generation: r.generation,
        abandoned: r.abandoned ? { from: BigInt(r.abandoned.from), to: BigInt(r.abandoned.to) } : null,
        height: BigInt(r.height),
      });
      return 0;
    }
    io.out(
      `Rolled back to the snapshot at height ${r.toHeight} (${r.snapshotHash}): journaled as seq ${r.seq}, ` +
        `generation ${r.generation}`,
    );
    io.out(
      r.abandoned
        ? `${
          r.abandoned.from === r.abandoned.to
            ? `Entry ${r.abandoned.from} is`
            : `Entries ${r.abandoned.from}..${r.abandoned.to} are`
        } abandoned (kept in the journal for audit); ` +
          "receipts for their intents will be ignored"
        : "No entries were abandoned",
    );
    return 0;
  });
}
