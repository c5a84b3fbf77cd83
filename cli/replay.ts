/**
 * `aos replay --verify`: replays the journal from genesis in a fresh kernel and compares.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { verifyWorld } from "../world/mod.ts";
import { count } from "./render.ts";
import { hintFor } from "./errors.ts";
import { type CliIo, locateWorld, printJson, tornTailJson, tornTailWarning } from "./context.ts";

/** `aos replay --verify`. */
export async function runReplay(
  io: CliIo,
  world: string | undefined,
  options: { verify?: boolean; json?: boolean },
): Promise<number> {
  if (!options.verify) throw new AosError("AOS_USAGE", "aos replay needs --verify (the only mode so far)");
  const dir = await locateWorld(io, world);
  const r = await verifyWorld(dir);
  if (r.tornTail !== undefined) io.err(tornTailWarning(r.tornTail, dir));
  if (options.json) {
    printJson(io, {
      ok: r.ok,
      torn_tail: tornTailJson(r.tornTail, dir),
      incomplete_block: r.incompleteBlock === undefined ? null : BigInt(r.incompleteBlock),
      height: BigInt(r.height),
      replayed: BigInt(r.replayed),
      reducers: r.reducers.map((x) => ({
        reducer: x.reducer,
        replayed: x.replayed ?? null,
        live: x.live ?? null,
      })),
      plans: r.plans === undefined ? null : BigInt(r.plans),
      outbox: r.outbox === undefined ? null : BigInt(r.outbox),
      divergence: r.divergence
        ? {
          seq: BigInt(r.divergence.seq),
          reducer: r.divergence.reducer ?? null,
          grant: r.divergence.grant ?? null,
          message: r.divergence.message,
        }
        : null,
      error: r.error
        ? {
          code: r.error.code,
          message: r.error.message,
          segment: r.error.context.segment ?? null,
          offset: r.error.context.offset === undefined ? null : BigInt(r.error.context.offset),
          seq: r.error.context.seq === undefined ? null : BigInt(r.error.context.seq),
        }
        : null,
    });
  } else if (r.ok) {
    io.out(`Replay OK: ${r.replayed} entries replayed from genesis, derived entries byte-identical`);
    if (r.incompleteBlock !== undefined) {
      io.out(
        `  the last block lacks ${r.incompleteBlock} derived entries (a crash): completed in memory; ` +
          "the next writing command journals them",
      );
    }
    if (r.plans || r.outbox) {
      io.out(
        `  ${count(r.plans ?? 0, "plan instance")} and ${count(r.outbox ?? 0, "pending intent")} identical`,
      );
    }
    for (const x of r.reducers) io.out(`  ${x.reducer} ${x.replayed}`);
  } else if (r.error) {
    io.err(`error[${r.error.code}]: Replay failed: ${r.error.message}${hintFor(r.error.code)}`);
  } else if (r.divergence) {
    io.err(
      `Replay diverged at seq ${r.divergence.seq}${
        r.divergence.reducer
          ? ` (reducer ${r.divergence.reducer})`
          : r.divergence.grant
          ? ` (grant ${r.divergence.grant})`
          : ""
      }: ${r.divergence.message}`,
    );
  }
  return r.ok ? 0 : 1;
}
