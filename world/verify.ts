/**
 * `replay --verify` (KERNEL §8.5): replays a world from genesis in a fresh kernel without adapters,
 * demands every derived entry byte for byte, and compares the whole kernel state — every reducer and cell
 * state hash, plan instances, the outbox, the settled set — with the live world (latest snapshot plus
 * tail): byte for byte at the snapshot's height, or part by part when they differ (see
 * {@linkcode verifyReplay}). Reads only; the world is left untouched. The testkit's replay assertion and
 * the CLI share it.
 *
 * @module
 */
import {
  AosError,
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
import {
  type Cas,
  FsCas,
  FsJournal,
  type Journal,
  type JournalEntry,
  lockWorld,
  openPgWorld,
  type PgWorldStore,
  preloadJournal,
  type TornTail,
  type WorldLock,
} from "../journal/mod.ts";
import { readWorldConfig } from "./config.ts";
import { type BudgetLine, type Divergence, Kernel, type ReplayCheckpoint } from "../kernel/mod.ts";
import { ControlPlaneLibrary } from "./content.ts";
import { checkHead, FileHeadStore, type Head, requireHead } from "./head.ts";
import { type WorldPaths, worldPaths } from "./paths.ts";
import {
  genesisOf,
  type InboxPosition,
  inboxPositionOf,
  isAfter,
  newestSnapshotMarker,
  NO_INBOX_POSITION,
  replayWithContent,
  restoreLatest,
  type SnapshotMarker,
} from "./restore.ts";

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
  /** A torn last frame (a crash mid-write): reported, left in place, not damage; the rest is verified. */
  tornTail?: TornTail;
  /** Derived entries missing at the end of the last block (a crash): completed in memory, as open does. */
  incompleteBlock?: number;
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

/** Runs `fn` on the world folder `dir` under its lock (when it has `.aos/`), so no writer is mid-append. */
async function underLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
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
    return await fn();
  } finally {
    lock?.release();
  }
}

/**
 * The database store of the world folder `dir` when its config names one (opened under the world's
 * advisory lock, its journal checked while loading), with damage as a reported error; undefined for a world
 * on the file store.
 */
async function openDatabaseStore(
  dir: string,
): Promise<PgWorldStore | { error: ReturnType<typeof reportedError> } | undefined> {
  let store;
  try {
    store = (await readWorldConfig(worldPaths(dir).config)).store;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return undefined;
    throw error;
  }
  if (store === undefined) return undefined;
  try {
    return await openPgWorld({ url: store.url, worldId: store.worldId });
  } catch (error) {
    return { error: reportedError(error) };
  }
}

function reportedError(error: unknown): { code: string; message: string; context: AosErrorContext } {
  if (!isAosError(error, REPORTED_CODES)) throw error;
  return { code: error.code, message: error.message, context: error.context };
}

/**
 * Verifies the world folder `dir`; never throws for corrupt or diverging worlds, it reports them. Reads the
 * journal read-only and streams it: nothing holds the whole journal.
 */
export async function verifyWorld(dir: string): Promise<VerifyReport> {
  const paths = worldPaths(dir);
  return await underLock(dir, async () => {
    const db = await openDatabaseStore(dir);
    if (db !== undefined) {
      if ("error" in db) return { ok: false, height: 0, replayed: 0, reducers: [], error: db.error };
      try {
        return await verifyReplay(db.journal, db.cas, await db.head.read());
      } finally {
        await db.close();
      }
    }
    let journal: FsJournal;
    let head: Head | undefined;
    try {
      ({ journal, head } = await openForCheck(paths));
    } catch (error) {
      return { ok: false, height: 0, replayed: 0, reducers: [], error: reportedError(error) };
    }
    const torn = journal.tornTail === undefined ? {} : { tornTail: journal.tornTail };
    try {
      try {
        requireHead(journal.height, head, paths.head);
      } catch (error) {
        return {
          ok: false,
          height: journal.height,
          replayed: 0,
          reducers: [],
          error: reportedError(error),
          ...torn,
        };
      }
      return { ...await verifyReplay(journal, new FsCas(paths.store), head), ...torn };
    } finally {
      journal.close();
    }
  });
}

/** The result of `aos journal verify`. */
export interface JournalVerifyReport {
  ok: boolean;
  /** Entries in the journal (0 when it could not be opened). */
  height: number;
  /** Segment files (0 for a journal in a database). */
  segments: number;
  /** For a journal in a database: `PostgreSQL world <id>`. */
  store?: string;
  error?: { code: string; message: string; context: AosErrorContext };
  /** A torn last frame (a crash mid-write): reported, left in place, not damage; the rest is verified. */
  tornTail?: TornTail;
}

/**
 * Opens the journal of the world folder at `paths` read-only for a full check: the head is read first (a
 * torn-looking frame among acknowledged entries is corruption), a torn tail is skipped and reported.
 */
async function openForCheck(paths: WorldPaths): Promise<{ journal: FsJournal; head: Head | undefined }> {
  const head = await new FileHeadStore(paths.head).read();
  const journal = await FsJournal.open(paths.journal, {
    readOnly: true,
    tolerateTornTail: true,
    ...(head === undefined ? {} : { acknowledgedHeight: head.height }),
  });
  return { journal, head };
}

/**
 * Checks the journal of the world folder `dir` in full, from genesis, read-only and streaming: every frame,
 * CRC, strict decode, dense seqs and the hash chain across segments, every segment index, and the
 * acknowledged head (its hash, and the inbox position and failure count it records). Never throws for
 * damage; it reports it.
 */
export async function verifyJournal(dir: string): Promise<JournalVerifyReport> {
  const paths = worldPaths(dir);
  return await underLock(dir, async () => {
    const db = await openDatabaseStore(dir);
    if (db !== undefined) {
      if ("error" in db) return { ok: false, height: 0, segments: 0, error: db.error };
      const report: JournalVerifyReport = {
        ok: false,
        height: db.journal.height,
        segments: 0,
        store: `PostgreSQL world ${db.worldId}`,
      };
      try {
        const head = await db.head.read();
        checkHead(db.journal, head);
        await preloadJournal(db.journal, 0);
        const tally = new HeadTally(head);
        for (const entry of db.journal.entries(0)) tally.see(entry);
        tally.check(db.journal.height);
        report.ok = true;
      } catch (error) {
        report.error = reportedError(error);
      } finally {
        await db.close();
      }
      return report;
    }
    let journal: FsJournal;
    let head: Head | undefined;
    try {
      ({ journal, head } = await openForCheck(paths));
    } catch (error) {
      return { ok: false, height: 0, segments: 0, error: reportedError(error) };
    }
    const report: JournalVerifyReport = {
      ok: false,
      height: journal.height,
      segments: journal.segments.length,
      ...(journal.tornTail === undefined ? {} : { tornTail: journal.tornTail }),
    };
    try {
      requireHead(journal.height, head, paths.head);
      checkHead(journal, head);
      const tally = new HeadTally(head);
      for (const entry of journal.entries(0)) tally.see(entry);
      tally.check(journal.height);
      report.ok = true;
    } catch (error) {
      report.error = reportedError(error);
    } finally {
      journal.close();
    }
    return report;
  });
}

/**
 * What the entries up to the acknowledged head add up to, compared with what the head records: the hash of
 * its last entry, the last inbox position and the failure count (the last two only when recorded).
 */
class HeadTally {
  readonly #head: Head | undefined;
  #hash: Uint8Array | undefined;
  #inbox: InboxPosition = { ...NO_INBOX_POSITION };
  #failures = 0;

  constructor(head: Head | undefined) {
    this.#head = head;
  }

  see(entry: Pick<JournalEntry, "seq" | "kind" | "body" | "hash">): void {
    if (this.#head === undefined || entry.seq >= this.#head.height) return;
    if (entry.kind === "reducer_error") this.#failures++;
    const at = inboxPositionOf(entry);
    if (at !== undefined && isAfter(at, this.#inbox)) this.#inbox = at;
    if (entry.seq === this.#head.height - 1) this.#hash = entry.hash;
  }

  /** Throws `AOS_JOURNAL_CORRUPT` when the entries seen (all of them, up to `height`) disagree with the head. */
  check(height: number): void {
    const head = this.#head;
    if (head === undefined) return;
    const corrupt = (message: string) =>
      new AosError("AOS_JOURNAL_CORRUPT", `The acknowledged head disagrees with the journal: ${message}`, {
        context: { seq: Math.max(0, head.height - 1) },
      });
    if (height < head.height) throw corrupt(`${head.height} entries acknowledged, ${height} present`);
    if (head.height > 0 && (this.#hash === undefined || !bytesEqual(this.#hash, head.hash))) {
      throw corrupt(`entry ${head.height - 1} does not hash to ${toHex(head.hash).slice(0, 16)}…`);
    }
    if (head.failures !== undefined && head.failures !== this.#failures) {
      throw corrupt(`it records ${head.failures} reducer errors, the journal has ${this.#failures}`);
    }
    if (
      head.inbox !== undefined &&
      (head.inbox.batch !== this.#inbox.batch || head.inbox.index !== this.#inbox.index)
    ) {
      throw corrupt(
        `it records inbox position ${head.inbox.batch}:${head.inbox.index}, the journal ${this.#inbox.batch}:${this.#inbox.index}`,
      );
    }
  }
}

/** Passes `entries` through, showing each to `see`. */
function* tap<T>(entries: Iterable<T>, see: (entry: T) => void): Generator<T, void, undefined> {
  for (const entry of entries) {
    see(entry);
    yield entry;
  }
}

/**
 * Verifies a journal and store: the acknowledged `head` (when given), replay from genesis (streamed), the
 * head's records against the entries, and the live world against the replay.
 *
 * The live world is what opening it builds: the latest usable snapshot, restored, then the entries after
 * it. When the replay from genesis reaches the latest snapshot's height, the replayed kernel's snapshot
 * must equal it byte for byte: the stored snapshot is then exactly what the kernel writes for the state
 * replay computes, and restoring it gives that state (kernel tests hold `restore` to `snapshot`). From there
 * the live world and the replay apply the same entries, which the replay has matched byte for byte, so the
 * tail is not replayed a second time, nor the snapshot restored (on the bench's fetch-notify world those,
 * with the restored kernel's snapshot, were about a fifth of a verify). Opening the world restores the
 * snapshot, replays that tail from it and checks it against the journal each time. When the bytes differ,
 * or the latest snapshot is unusable and opening falls back to an older one, the tail is replayed from the
 * snapshot opening uses and the two worlds are compared part by part, naming the reducer, cell or part that
 * differs.
 */
export async function verifyReplay(
  journal: Pick<Journal, "height" | "entries" | "entriesBackward">,
  cas: Cas,
  head?: Head,
): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, height: journal.height, replayed: 0, reducers: [] };
  try {
    checkHead(journal, head);
    await preloadJournal(journal, 0);
    const { manifestHash } = genesisOf(journal, "The journal");
    const library = new ControlPlaneLibrary(cas);
    const defs = await library.loadDefs(manifestHash);
    let fresh = new Kernel(defs, library.host, library);
    const tally = new HeadTally(head);
    const newest = newestSnapshotMarker(journal);
    const latest = newest && await snapshotBytes(newest, cas);
    // Set when the replay reaches the latest snapshot's height and its snapshot equals it byte for byte.
    let sameAtSnapshot = false;
    const checkpoint: ReplayCheckpoint | undefined = latest === undefined ? undefined : {
      seq: latest.seq,
      check(kernel) {
        sameAtSnapshot = bytesEqual(kernel.snapshot(), latest.bytes);
        return undefined;
      },
    };
    let divergence: Divergence | undefined;
    try {
      // From genesis, streamed: every applied manifest is loaded where the journal applies it, and every
      // rollback restores its snapshot (the kernel returned is the one the journal ends on).
      ({ kernel: fresh, divergence } = await replayWithContent(
        fresh,
        tap(journal.entries(0), (entry) => tally.see(entry)),
        library,
        checkpoint,
      ));
    } finally {
      report.replayed = fresh.height;
    }
    // A last block a crash cut short is completed in memory, as opening the world completes it.
    if (divergence && divergence.incompleteBlock === undefined) {
      report.divergence = divergence;
      return report;
    }
    if (divergence?.incompleteBlock) report.incompleteBlock = divergence.incompleteBlock.length;
    tally.check(journal.height);
    if (newest !== undefined && !sameAtSnapshot) {
      // The snapshot differs from the replay, or its blob is damaged (opening falls back past it): the tail
      // is replayed from the snapshot opening uses, and the two worlds are compared part by part to name
      // what differs.
      const live = await restoreLatest(journal, cas, library, newest);
      const liveReplay = await replayWithContent(live.kernel, journal.entries(live.fromSeq), library);
      if (liveReplay.divergence && liveReplay.divergence.incompleteBlock === undefined) {
        report.divergence = liveReplay.divergence;
        return report;
      }
      report.ok = compareKernels(fresh, liveReplay.kernel, report);
      return report;
    }
    // The live world is the replay's state at the snapshot, then the same entries: its hashes are the replay's.
    for (const { reducer, hash } of labelledHashes(fresh)) {
      report.reducers.push({ reducer, replayed: hash, live: hash });
    }
    report.plans = fresh.plans().length;
    report.outbox = fresh.outbox().length;
    report.ok = true;
    return report;
  } catch (error) {
    report.error = reportedError(error);
    return report;
  }
}

/** The marked snapshot's blob, read from the store; undefined when it is missing or damaged. */
async function snapshotBytes(
  marker: SnapshotMarker,
  cas: Cas,
): Promise<SnapshotMarker & { bytes: Uint8Array } | undefined> {
  try {
    return { ...marker, bytes: await cas.get("blobs", marker.hash) };
  } catch (error) {
    if (isAosError(error, ["AOS_CAS_MISSING", "AOS_CAS_CORRUPT"])) return undefined;
    throw error;
  }
}

/** The state hashes of a kernel's reducers and cells, labelled `reducer` or `reducer#<key hex>`, sorted. */
function labelledHashes(kernel: Kernel): Array<{ reducer: string; hash: HashRef }> {
  return kernel.stateHashes()
    .map((s) => ({ reducer: s.key ? `${s.reducer}#${toHex(s.key)}` : s.reducer, hash: s.hash }))
    .sort((a, b) => (a.reducer < b.reducer ? -1 : a.reducer > b.reducer ? 1 : 0));
}

/**
 * Compares a kernel replayed from genesis with the live one: cells one by one (labelled `reducer` or
 * `reducer#<key hex>`), then plan instances, the outbox and the settled set. Fills `report` and returns
 * whether they are equal.
 */
function compareKernels(fresh: Kernel, live: Kernel, report: VerifyReport): boolean {
  const replayed = new Map(labelledHashes(fresh).map((s) => [s.reducer, s.hash]));
  const liveHashes = new Map(labelledHashes(live).map((s) => [s.reducer, s.hash]));
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
  // Beyond cells: the canonical snapshot covers plan instances, the outbox and the settled set. Equal
  // snapshot bytes mean equal worlds; only when they differ are the parts compared, to name the first.
  const freshBytes = fresh.snapshot();
  const liveBytes = live.snapshot();
  if (bytesEqual(freshBytes, liveBytes)) {
    report.plans = fresh.plans().length;
    report.outbox = fresh.outbox().length;
    return true;
  }
  const replayedSnapshot = decodeCanonical(freshBytes) as { [key: string]: CborValue };
  const liveSnapshot = decodeCanonical(liveBytes) as { [key: string]: CborValue };
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
  // Whatever else the snapshot holds differs.
  report.divergence = {
    seq: fresh.height - 1,
    message: "kernel state from genesis differs from the live world",
  };
  return false;
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
