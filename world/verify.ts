/**
 * `replay --verify` (KERNEL §8.5): replays a world from genesis in a fresh kernel without adapters,
 * demands every derived entry byte for byte, and compares the whole kernel state — every reducer and cell
 * state hash, plan instances, the outbox, the settled set, the budget ledger — with the live world (latest
 * snapshot plus tail). Reads only; the world is left untouched. The testkit's replay assertion and the CLI share it.
 *
 * @module
 */
import {
  type AosErrorCode,
  type AosErrorContext,
  bytesEqual,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  type HashRef,
  isAosError,
  toHex,
} from "../air/mod.ts";
import { type Cas, FsCas, type Journal, type JournalEntry, readJournalDir } from "../journal/mod.ts";
import { lockWorld, type WorldLock } from "../journal/mod.ts";
import { type BudgetLine, type Divergence, Kernel } from "../kernel/mod.ts";
import { ControlPlaneLibrary } from "./content.ts";
import { checkHead, FileHeadStore, type Head } from "./head.ts";
import { worldPaths } from "./paths.ts";
import { genesisOf, replayWithContent, restoreLatest } from "./restore.ts";

/** The result of a verification. */
export interface VerifyReport {
  ok: boolean;
  /** Entries in the journal. */
  height: number;
  /** Entries replayed from genesis. */
  replayed: number;
  reducers: Array<{ reducer: string; replayed?: HashRef; live?: HashRef }>;
  /** Plan instances and outbox intents compared (when the cells matched); budgets are compared too. */
  plans?: number;
  outbox?: number;
  divergence?: Divergence;
  error?: { code: string; message: string; context: AosErrorContext };
}

/** The damage verification reports instead of throwing. */
const REPORTED_CODES: readonly AosErrorCode[] = [
  "AOS_JOURNAL_CORRUPT",
  "AOS_JOURNAL_TORN",
  "AOS_CAS_MISSING",
  "AOS_CAS_CORRUPT",
  "AOS_AIR_INVALID",
  "AOS_WASM_INVALID",
  "AOS_CBOR_INVALID",
  "AOS_CBOR_NON_CANONICAL",
  "AOS_TYPE_MISMATCH",
  "AOS_WORLD_NOT_FOUND",
];

/** The parts of the kernel snapshot compared beyond cells. */
const SNAPSHOT_PARTS = [
  "manifest_hash",
  "pinned_manifests",
  "governance",
  "plans",
  "outbox",
  "settled_recent",
  "budgets",
  "next_instance_id",
  "generation",
  "height",
];

/** Verifies the world folder `dir`; never throws for corrupt or diverging worlds, it reports them. */
export async function verifyWorld(dir: string): Promise<VerifyReport> {
  const paths = worldPaths(dir);
  // Read while no writer is mid-append (a half-written frame would look like a torn tail).
  let lock: WorldLock | undefined;
  try {
    await Deno.stat(paths.aos);
    lock = await lockWorld(paths.lock);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    let journal: Pick<Journal, "height" | "entries">;
    let head: Head | undefined;
    try {
      const { entries } = await readJournalDir(paths.journal);
      journal = journalView(entries);
      head = await new FileHeadStore(paths.head).read();
    } catch (error) {
      if (!isAosError(error, REPORTED_CODES)) throw error;
      return {
        ok: false,
        height: 0,
        replayed: 0,
        reducers: [],
        error: { code: error.code, message: error.message, context: error.context },
      };
    }
    return await verifyReplay(journal, new FsCas(paths.store), head);
  } finally {
    lock?.release();
  }
}

/**
 * Verifies a journal and store: the acknowledged `head` (when given), replay from genesis, then the live
 * world (latest snapshot plus tail) against it.
 */
export async function verifyReplay(
  journal: Pick<Journal, "height" | "entries">,
  cas: Cas,
  head?: Head,
): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, height: journal.height, replayed: 0, reducers: [] };
  try {
    checkHead(journal, head);
    const { manifestHash } = genesisOf(journal, "The journal");
    const library = new ControlPlaneLibrary(cas);
    const defs = await library.loadDefs(manifestHash);
    const fresh = new Kernel(defs, library.host, library);
    // From genesis: every applied manifest is loaded where the journal applies it.
    const divergence = await replayWithContent(fresh, [...journal.entries(0)], library);
    report.replayed = fresh.height;
    if (divergence) {
      report.divergence = divergence;
      return report;
    }
    const live = await restoreLatest(journal, cas, library);
    const liveDivergence = await replayWithContent(live.kernel, [...journal.entries(live.fromSeq)], library);
    if (liveDivergence) {
      report.divergence = liveDivergence;
      return report;
    }
    report.ok = compareKernels(fresh, live.kernel, report);
    return report;
  } catch (error) {
    if (!isAosError(error, REPORTED_CODES)) throw error;
    report.error = { code: error.code, message: error.message, context: error.context };
    return report;
  }
}

/**
 * Compares a kernel replayed from genesis with the live one: cells one by one (labelled `reducer` or
 * `reducer#<key hex>`), then plan instances, the outbox and the settled set. Fills `report` and returns
 * whether they are equal.
 */
function compareKernels(fresh: Kernel, live: Kernel, report: VerifyReport): boolean {
  const label = (
    s: { reducer: string; key?: Uint8Array },
  ) => (s.key ? `${s.reducer}#${toHex(s.key)}` : s.reducer);
  const replayed = new Map(fresh.stateHashes().map((s) => [label(s), s.hash]));
  const liveHashes = new Map(live.stateHashes().map((s) => [label(s), s.hash]));
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
  if (!same) return false;
  if (!compareBudgets(fresh, live, report)) return false;
  // Beyond cells: the canonical snapshot covers plan instances, the outbox and the settled set.
  const replayedSnapshot = decodeCanonical(fresh.snapshot()) as { [key: string]: CborValue };
  const liveSnapshot = decodeCanonical(live.snapshot()) as { [key: string]: CborValue };
  for (const part of SNAPSHOT_PARTS) {
    const a = encodeCanonical(replayedSnapshot[part] ?? null);
    const b = encodeCanonical(liveSnapshot[part] ?? null);
    if (!bytesEqual(a, b)) {
      report.divergence = {
        seq: fresh.height - 1,
        message: `${part.replace("_", " ")} from genesis differ from the live world`,
      };
      return false;
    }
  }
  // Whatever else the snapshot holds must match too: equal snapshot bytes mean equal worlds.
  if (!bytesEqual(fresh.snapshot(), live.snapshot())) {
    report.divergence = {
      seq: fresh.height - 1,
      message: "kernel state from genesis differs from the live world",
    };
    return false;
  }
  report.plans = fresh.plans().length;
  report.outbox = fresh.outbox().length;
  return true;
}

/** Compares the budget ledgers grant by grant (sorted), naming the first grant whose accounts differ. */
function compareBudgets(fresh: Kernel, live: Kernel, report: VerifyReport): boolean {
  const byGrant = (lines: BudgetLine[]) => {
    const map = new Map<string, string[]>();
    for (const l of lines) {
      const text = `${l.dimension} limit ${l.limit} spent ${l.spent} reserved ${l.reserved}${
        l.exhausted ? " exhausted" : ""
      }`;
      map.set(l.grant, [...(map.get(l.grant) ?? []), text]);
    }
    return map;
  };
  const replayed = byGrant(fresh.budgets());
  const liveLines = byGrant(live.budgets());
  for (const grant of [...new Set([...replayed.keys(), ...liveLines.keys()])].sort()) {
    const r = (replayed.get(grant) ?? ["none"]).join(", ");
    const l = (liveLines.get(grant) ?? ["none"]).join(", ");
    if (r !== l) {
      report.divergence = {
        seq: fresh.height - 1,
        grant,
        message: `budget of grant "${grant}" from genesis (${r}) differs from the live world (${l})`,
      };
      return false;
    }
  }
  return true;
}

/** A read-only journal over entries already read and checked. */
function journalView(entries: readonly JournalEntry[]): Pick<Journal, "height" | "entries"> {
  return {
    height: entries.length,
    *entries(fromSeq = 0) {
      for (let seq = fromSeq; seq < entries.length; seq++) yield entries[seq]!;
    },
  };
}
