/**
 * `aos info`: height, manifest, reducers, failures and pending work of a world.
 *
 * @module
 */
import { count } from "./render.ts";
import { worldPaths } from "../world/mod.ts";
import { type CliIo, printJson, readWorld, tornTailJson } from "./context.ts";

/** A cut torn tail kept in quarantine: `.aos/quarantine/<segment>@<offset>.torn`. */
const TORN_FILE = /^\.aos\/quarantine\/(\d{5}\.log)@(\d+)\.torn$/;

/** Every file under the quarantine folder (relative to the world folder, sorted), with its size. */
async function quarantineFiles(
  folder: string,
  root: string,
): Promise<Array<{ file: string; sizeBytes: number }>> {
  const found: Array<{ file: string; sizeBytes: number }> = [];
  const walk = async (dir: string): Promise<void> => {
    let items: Deno.DirEntry[];
    try {
      items = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const item of items) {
      const path = `${dir}/${item.name}`;
      if (item.isDirectory) await walk(path);
      else found.push({ file: path.slice(root.length + 1), sizeBytes: (await Deno.stat(path)).size });
    }
  };
  await walk(folder);
  return found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** `aos info`. */
export async function runInfo(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await readWorld(io, world, async (w) => {
    const quarantined = await quarantineFiles(worldPaths(w.dir).quarantine, w.dir);
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
      recovery: {
        torn_tail: tornTailJson(w.tornTail, w.dir),
        incomplete_block: w.incompleteBlock === undefined ? null : BigInt(w.incompleteBlock),
        quarantine: quarantined.map((q) => ({ file: q.file, size_bytes: BigInt(q.sizeBytes) })),
        torn_tails_cut: quarantined.flatMap((q) => {
          const m = TORN_FILE.exec(q.file);
          return m === null ? [] : [{
            segment: m[1]!,
            offset: BigInt(m[2]!),
            bytes_cut: BigInt(q.sizeBytes),
            quarantine_file: q.file,
          }];
        }),
      },
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
      if (w.tornTail !== undefined) {
        const t = w.tornTail;
        io.out(
          `recovery  torn journal tail in ${t.segment} at offset ${t.offset} (${t.sizeBytes} bytes, ${t.reason}): ` +
            "left in place; the next writing command cuts it into .aos/quarantine/",
        );
      }
      if (w.incompleteBlock !== undefined) {
        io.out(
          `recovery  the last block lacks ${w.incompleteBlock} derived entries (a crash): completed in memory; ` +
            "the next writing command journals them",
        );
      }
      for (const [i, q] of quarantined.entries()) {
        io.out(
          `${
            i === 0 && w.tornTail === undefined && w.incompleteBlock === undefined ? "recovery " : "         "
          } quarantined ${q.file} (${q.sizeBytes} bytes)`,
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
