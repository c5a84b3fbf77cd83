/**
 * `replay --verify` (KERNEL §8.5): replays a world from genesis in a fresh kernel without adapters,
 * demands every derived entry byte for byte, and compares every reducer state hash with the live world
 * (latest snapshot plus tail). Reads only; the world is left untouched.
 *
 * @module
 */
import {
  AosError,
  type AosErrorContext,
  bytesEqual,
  bytesToHashRef,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  type HashRef,
  toHex,
} from "../air/mod.ts";
import { readJournalDir } from "../journal/mod.ts";
import { FsCas } from "../journal/cas.ts";
import { lockWorld, type WorldLock } from "../journal/lock.ts";
import { loadDefs } from "./defs.ts";
import { checkHead, readHead } from "./head.ts";
import { Kernel } from "./kernel.ts";
import { ReducerHost } from "./reducer_host.ts";
import { type Divergence, replayInto } from "./replay.ts";
import { restoreLatest, worldPaths } from "./world.ts";

/** The result of a verification. */
export interface VerifyReport {
  ok: boolean;
  /** Entries in the journal. */
  height: number;
  /** Entries replayed from genesis. */
  replayed: number;
  reducers: Array<{ reducer: string; replayed?: HashRef; live?: HashRef }>;
  /** Plan instances and outbox intents compared (when the cells matched). */
  plans?: number;
  outbox?: number;
  divergence?: Divergence;
  error?: { code: string; message: string; context: AosErrorContext };
}

/** Verifies the world in `dir`; never throws for corrupt or diverging worlds, it reports them. */
export async function verifyWorld(dir: string): Promise<VerifyReport> {
  const paths = worldPaths(dir);
  const report: VerifyReport = { ok: false, height: 0, replayed: 0, reducers: [] };
  // Read while no writer is mid-append (a half-written frame would look like a torn tail).
  let lock: WorldLock | undefined;
  try {
    await Deno.stat(paths.aos);
    lock = await lockWorld(paths.lock);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    const { entries } = await readJournalDir(paths.journal);
    report.height = entries.length;
    checkHead(entries, await readHead(paths.head));
    const genesis = entries[0];
    if (!genesis || genesis.kind !== "genesis" || !(genesis.body.manifest_hash instanceof Uint8Array)) {
      throw new AosError("AOS_JOURNAL_CORRUPT", "Journal does not start with a genesis entry", {
        context: { seq: 0 },
      });
    }
    const cas = new FsCas(paths.store);
    const host = new ReducerHost();
    const defs = await loadDefs(cas, bytesToHashRef(genesis.body.manifest_hash), host);
    const fresh = new Kernel(defs, host);
    const divergence = replayInto(fresh, entries);
    report.replayed = fresh.height;
    if (divergence) {
      report.divergence = divergence;
      return report;
    }
    const live = await restoreLatest(entries, cas, defs, host);
    const liveDivergence = replayInto(live.kernel, entries.slice(live.from));
    if (liveDivergence) {
      report.divergence = liveDivergence;
      return report;
    }
    // Cells are compared one by one; the label is "reducer" or "reducer#<key hex>".
    const label = (
      s: { reducer: string; key?: Uint8Array },
    ) => (s.key ? `${s.reducer}#${toHex(s.key)}` : s.reducer);
    const replayed = new Map(fresh.stateHashes().map((s) => [label(s), s.hash]));
    const liveHashes = new Map(live.kernel.stateHashes().map((s) => [label(s), s.hash]));
    const names = [...new Set([...replayed.keys(), ...liveHashes.keys()])].sort();
    let same = true;
    for (const reducer of names) {
      const r = replayed.get(reducer);
      const l = liveHashes.get(reducer);
      report.reducers.push({ reducer, ...(r ? { replayed: r } : {}), ...(l ? { live: l } : {}) });
      if (r !== l && !report.divergence) {
        same = false;
        report.divergence = {
          seq: fresh.height - 1,
          reducer,
          message: `state hash from genesis ${r ?? "none"} differs from the live state ${l ?? "none"}`,
        };
      }
    }
    // Beyond cells: plan instances, the outbox and the settled set must match too. The canonical
    // snapshot covers all of them, so equal snapshot bytes mean equal worlds.
    if (same) {
      const replayedSnapshot = decodeCanonical(fresh.snapshot()) as { [key: string]: CborValue };
      const liveSnapshot = decodeCanonical(live.kernel.snapshot()) as { [key: string]: CborValue };
      for (const part of ["plans", "outbox", "settled_recent", "next_instance_id", "generation", "height"]) {
        const a = encodeCanonical(replayedSnapshot[part] ?? null);
        const b = encodeCanonical(liveSnapshot[part] ?? null);
        if (!bytesEqual(a, b)) {
          same = false;
          report.divergence = {
            seq: fresh.height - 1,
            message: `${part.replace("_", " ")} from genesis differ from the live world`,
          };
          break;
        }
      }
      report.plans = fresh.plans().length;
      report.outbox = fresh.outbox().length;
    }
    report.ok = same;
    return report;
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    report.error = { code: error.code, message: error.message, context: error.context };
    return report;
  } finally {
    lock?.release();
  }
}
