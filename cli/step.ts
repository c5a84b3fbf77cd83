/**
 * `aos step`: admits queued inputs and reports what was journaled.
 *
 * @module
 */
import { type CliIo, printJson, withWorld } from "./context.ts";

/** `aos step`. */
export async function runStep(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, async (w) => {
    const r = await w.step();
    if (options.json) {
      printJson(io, {
        admitted: BigInt(r.admitted),
        height_before: BigInt(r.heightBefore),
        height: BigInt(r.height),
        entries: r.entries.map((e) => ({ seq: BigInt(e.seq), kind: e.kind })),
        reducer_errors: r.reducerErrors.map((e) => ({
          seq: BigInt(e.seq),
          reducer: e.reducer,
          event_seq: BigInt(e.eventSeq),
          code: e.code,
          message: e.message,
        })),
        snapshot: r.snapshot ? { height: BigInt(r.snapshot.height), hash: r.snapshot.hash } : null,
      });
    } else {
      io.out(
        `Admitted ${r.admitted} input${
          r.admitted === 1 ? "" : "s"
        }: height ${r.heightBefore} -> ${r.height}, ` +
          `${r.reducerErrors.length} reducer error${r.reducerErrors.length === 1 ? "" : "s"}`,
      );
      for (const e of r.reducerErrors) {
        io.out(`  seq ${e.seq}: ${e.reducer} failed on event ${e.eventSeq}: ${e.code}: ${e.message}`);
      }
      if (r.snapshot) io.out(`  snapshot at height ${r.snapshot.height} (${r.snapshot.hash})`);
    }
    return 0;
  });
}
