/**
 * `aos info`: height, manifest, reducers, failures and pending work of a world.
 *
 * @module
 */
import { count } from "./render.ts";
import { type CliIo, printJson, withWorld } from "./context.ts";

/** `aos info`. */
export async function runInfo(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, async (w) => {
    const reducers = [...w.defs.modules.keys()].sort().map((name) => ({
      name,
      has_state: w.kernel.cellsOf(name).length > 0,
      cells: BigInt(w.kernel.cellsOf(name).length),
    }));
    const info = {
      world: w.dir,
      height: BigInt(w.height),
      manifest_hash: w.defs.manifestHash,
      reducers,
      failures: BigInt(w.failureCount()),
      pending: {
        inbox: BigInt(await w.pendingInbox()),
        receipts: BigInt((await w.receiptInbox.list()).length),
        outbox: BigInt(w.kernel.outbox().length),
        plans: BigInt(w.kernel.plans().filter((p) => p.status !== "ok" && p.status !== "error").length),
      },
      snapshot: w.lastSnapshot ? { height: BigInt(w.lastSnapshot.height), hash: w.lastSnapshot.hash } : null,
      unusable_snapshots: w.unusableSnapshots.map((s) => ({
        height: BigInt(s.height),
        hash: s.hash,
        code: s.code,
        message: s.message,
      })),
      budgets: w.kernel.budgets().map((b) => ({
        grant: b.grant,
        dimension: b.dimension,
        limit: b.limit,
        spent: b.spent,
        reserved: b.reserved,
        exhausted: b.exhausted,
      })),
    };
    if (options.json) printJson(io, info);
    else {
      io.out(`world     ${info.world}`);
      io.out(`height    ${info.height}`);
      io.out(`manifest  ${info.manifest_hash}`);
      io.out(
        `reducers  ${
          reducers.map((r) =>
            `${r.name}${!r.has_state ? " (no state)" : w.isKeyed(r.name) ? ` (${r.cells} cells)` : ""}`
          ).join(", ") || "(none)"
        }`,
      );
      io.out(`failures  ${info.failures} reducer error${info.failures === 1n ? "" : "s"}`);
      io.out(
        `pending   ${info.pending.inbox} queued in the inbox, ` +
          `${count(info.pending.receipts, "receipt")} in the drop box, ` +
          `${count(info.pending.outbox, "intent")} awaiting receipts, ` +
          `${count(info.pending.plans, "plan instance")} running`,
      );
      io.out(`snapshot  ${info.snapshot ? `height ${info.snapshot.height} ${info.snapshot.hash}` : "none"}`);
      for (const s of w.unusableSnapshots) {
        io.out(
          `          unusable: height ${s.height} (${s.code}); opened from the one before it or genesis`,
        );
      }
      if (info.budgets.length === 0) io.out("budgets   none");
      for (const [i, b] of info.budgets.entries()) {
        io.out(
          `${
            i === 0 ? "budgets " : "        "
          }  ${b.grant} ${b.dimension}: spent ${b.spent} of ${b.limit}, ` +
            `${b.reserved} reserved${b.exhausted ? ", EXHAUSTED" : ""}`,
        );
      }
    }
    return 0;
  });
}
