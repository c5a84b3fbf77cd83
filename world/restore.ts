/**
 * Rebuilding a live kernel from a journal: the latest snapshot (or genesis) plus the tail, and where the
 * inbox was when the journal ends.
 *
 * @module
 */
import {
  AosError,
  type AosErrorCode,
  bytesToHashRef,
  type CborValue,
  type HashRef,
  isAosError,
} from "../air/mod.ts";
import {
  type Cas,
  firstHeldSeq,
  isRecord,
  type Journal,
  type JournalEntry,
  preloadJournal,
} from "../journal/mod.ts";
import {
  type Divergence,
  isGovernanceInput,
  Kernel,
  type KernelEntry,
  type ReplayCheckpoint,
  replayInto,
  type WorldDefs,
} from "../kernel/mod.ts";
import type { ControlPlaneLibrary } from "./content.ts";
import type { Head } from "./head.ts";

/** A kernel restored from a journal, and the seq to replay from. */
export interface Restored {
  kernel: Kernel;
  /** The first seq still to replay (the snapshot marker's seq, or 0). */
  fromSeq: number;
  lastSnapshot?: { height: number; hash: HashRef };
  /** The size of the snapshot restored from, in bytes (absent when restored from genesis). */
  snapshotBytes?: number;
  /** Later snapshots that could not be used (newest first), when the restore fell back past them. */
  unusable?: UnusableSnapshot[];
}

/** A snapshot the restore had to skip, and why. */
export interface UnusableSnapshot {
  height: number;
  hash: HashRef;
  code: string;
  message: string;
}

/** The genesis entry of a journal and the manifest it names; `AOS_JOURNAL_CORRUPT` when there is none. */
export function genesisOf(journal: Pick<Journal, "entries">, where: string): { manifestHash: HashRef } {
  const [genesis] = journal.entries(0);
  if (!genesis || genesis.seq !== 0 || !isRecord(genesis, "genesis")) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `${where} does not start with a genesis entry`, {
      context: { seq: 0 },
    });
  }
  return { manifestHash: bytesToHashRef(genesis.body.manifest_hash) };
}

/**
 * Builds a kernel from the latest snapshot in the journal (found by reading backwards from its end), on the
 * manifest in force when it was taken (and the manifests its running plans pinned), or from genesis on the
 * genesis manifest when there is none. Returns it with the seq of the first entry still to replay
 * ({@linkcode replayWithContent}). Snapshots are read through `library` (on the same store as `_cas`).
 * `newest`, the journal's newest snapshot marker when the caller has already found it
 * ({@linkcode newestSnapshotMarker}), spares a second backward read to it.
 */
export async function restoreLatest(
  journal: Pick<Journal, "entries" | "entriesBackward">,
  _cas: Cas,
  library: ControlPlaneLibrary,
  newest?: SnapshotMarker,
): Promise<Restored> {
  const unusable: UnusableSnapshot[] = [];
  // A journal holding only its tail (a world on PostgreSQL) fetches the rest when no held snapshot is usable,
  // and goes on below the entries already tried.
  let tried = Number.POSITIVE_INFINITY;
  if (newest !== undefined) {
    const found = await usable(newest.seq, newest.hash, library, unusable);
    if (found !== undefined) return found;
    tried = newest.seq;
  }
  for (;;) {
    const held = firstHeldSeq(journal);
    const found = await latestUsable(journal.entriesBackward(), tried, library, unusable);
    if (found !== undefined) return found;
    if (held === 0) break;
    tried = held;
    await preloadJournal(journal, 0);
  }
  const defs = await library.loadDefs(genesisOf(journal, "The journal").manifestHash);
  return {
    kernel: new Kernel(defs, library.host, library),
    fromSeq: 0,
    ...(unusable.length > 0 ? { unusable } : {}),
  };
}

/** The newest usable snapshot among `backward` entries below seq `below`; unusable ones are added to `unusable`. */
async function latestUsable(
  backward: Iterable<JournalEntry>,
  below: number,
  library: ControlPlaneLibrary,
  unusable: UnusableSnapshot[],
): Promise<Restored | undefined> {
  for (const entry of backward) {
    if (entry.seq >= below || !isRecord(entry, "snapshot") || entry.seq === 0) continue;
    const found = await usable(entry.seq, bytesToHashRef(entry.body.snapshot_hash), library, unusable);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The kernel of the snapshot `hash` marked at `seq`, or undefined (added to `unusable`) when it is unusable. */
async function usable(
  seq: number,
  hash: HashRef,
  library: ControlPlaneLibrary,
  unusable: UnusableSnapshot[],
): Promise<Restored | undefined> {
  try {
    const { kernel, bytes } = await restoreSnapshot(seq, hash, library);
    return {
      kernel,
      fromSeq: seq,
      lastSnapshot: { height: seq, hash },
      snapshotBytes: bytes.length,
      ...(unusable.length > 0 ? { unusable } : {}),
    };
  } catch (error) {
    // A damaged snapshot blob must not block the world: fall back to the one before it (or to genesis),
    // and say so. The journal, not the snapshot, is the record.
    if (!isAosError(error, SNAPSHOT_DAMAGE_CODES)) throw error;
    unusable.push({ height: seq, hash, code: error.code, message: error.message });
    return undefined;
  }
}

/** A snapshot marker in the journal: its seq and the snapshot's hash. */
export interface SnapshotMarker {
  seq: number;
  hash: HashRef;
}

/** The journal's newest snapshot marker other than at seq 0 (read backwards from its end), if any. */
export function newestSnapshotMarker(journal: Pick<Journal, "entriesBackward">): SnapshotMarker | undefined {
  for (const entry of journal.entriesBackward()) {
    if (isRecord(entry, "snapshot") && entry.seq !== 0) {
      return { seq: entry.seq, hash: bytesToHashRef(entry.body.snapshot_hash) };
    }
  }
  return undefined;
}

/** What makes a snapshot unusable (its blob missing or damaged); anything else propagates. */
const SNAPSHOT_DAMAGE_CODES: readonly AosErrorCode[] = [
  "AOS_CAS_MISSING",
  "AOS_CAS_CORRUPT",
  "AOS_JOURNAL_CORRUPT",
  "AOS_CBOR_INVALID",
  "AOS_CBOR_NON_CANONICAL",
  "AOS_TYPE_MISMATCH",
];

/** The kernel of the snapshot `hash` journaled at `seq`, and the snapshot's bytes. */
async function restoreSnapshot(
  seq: number,
  hash: HashRef,
  library: ControlPlaneLibrary,
): Promise<{ kernel: Kernel; bytes: Uint8Array }> {
  const { bytes, defs } = await library.loadSnapshot(hash);
  const kernel = Kernel.restore(defs, library.host, bytes, library);
  if (kernel.height !== seq) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `Snapshot at seq ${seq} claims height ${kernel.height}`, {
      context: { seq },
    });
  }
  return { kernel, bytes };
}

/**
 * The kernel after a `rollback` entry (KERNEL §8.6): the snapshot it names, loaded from the store with its
 * control plane, restored by {@linkcode Kernel.rollBack}. A snapshot the store no longer holds intact is
 * `AOS_JOURNAL_CORRUPT` at the rollback's seq (the journal cannot be replayed past it).
 */
export async function rolledBack(
  kernel: Kernel,
  entry: KernelEntry,
  library: ControlPlaneLibrary,
): Promise<Kernel> {
  if (!isRecord(entry, "rollback")) return kernel.rollBack(entry, new Uint8Array(), kernel.defs);
  const hash = bytesToHashRef(entry.body.snapshot_hash);
  let loaded: { bytes: Uint8Array; defs: WorldDefs };
  try {
    loaded = await library.loadSnapshot(hash);
  } catch (error) {
    if (!isAosError(error, SNAPSHOT_DAMAGE_CODES)) throw error;
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Entry ${entry.seq}: the snapshot ${hash} the rollback restores is unusable (${error.code}: ${error.message})`,
      { context: { seq: entry.seq }, cause: error },
    );
  }
  return kernel.rollBack(entry, loaded.bytes, loaded.defs);
}

/** What {@linkcode replayWithContent} ends with: the kernel (a rollback replaces it) and any divergence. */
export interface Replayed {
  kernel: Kernel;
  divergence?: Divergence;
}

/**
 * Replays `entries` through `kernel` like {@linkcode replayInto}, streaming, and loads into `library` what
 * each governance input needs (its patch, the manifest it applies) just before the kernel meets it: replay
 * from genesis switches to every applied manifest where the journal applied it. A `rollback` entry
 * replaces the kernel by the snapshot it names (KERNEL §8.5: "`rollback` restores its snapshot"); the
 * kernel returned is the one the entries end on. A `checkpoint` runs when the replay reaches its seq (see
 * {@linkcode replayInto}).
 */
export async function replayWithContent(
  kernel: Kernel,
  entries: Iterable<KernelEntry>,
  library: ControlPlaneLibrary,
  checkpoint?: ReplayCheckpoint,
): Promise<Replayed> {
  const iterator = entries[Symbol.iterator]();
  let held: KernelEntry | undefined;
  let current = kernel;
  try {
    for (;;) {
      let stop: KernelEntry | undefined;
      const first = held;
      held = undefined;
      // One run of entries up to (not including) the next governance input or rollback.
      const chunk = function* (): Generator<KernelEntry> {
        if (first !== undefined) yield first;
        for (;;) {
          const next = iterator.next();
          if (next.done === true) return;
          if (isGovernanceInput(next.value.kind) || next.value.kind === "rollback") {
            stop = next.value;
            return;
          }
          yield next.value;
        }
      };
      const divergence = replayInto(current, chunk(), checkpoint);
      if (divergence) return { kernel: current, divergence };
      if (stop === undefined) return { kernel: current };
      if (stop.kind === "rollback") {
        if (stop.seq !== current.height) {
          return {
            kernel: current,
            divergence: { seq: stop.seq, message: `expected seq ${current.height}, journal has ${stop.seq}` },
          };
        }
        try {
          current = await rolledBack(current, stop, library);
        } catch (error) {
          if (isAosError(error, ["AOS_JOURNAL_CORRUPT"])) {
            return { kernel: current, divergence: { seq: stop.seq, message: error.message } };
          }
          throw error;
        }
        continue;
      }
      if (stop.seq === current.height) await library.prepare(current.contentNeeds(stop));
      held = stop;
    }
  } finally {
    iterator.return?.();
  }
}

/** A position in the inbox: batch number and event index within it. */
export interface InboxPosition {
  batch: number;
  index: number;
}

/** The position before the first inbox event. */
export const NO_INBOX_POSITION: InboxPosition = Object.freeze({ batch: 0, index: -1 });

const INBOX_PREFIX = "inbox:";

/** The `origin.source` of an event admitted from the inbox. */
export function inboxSource(position: InboxPosition): string {
  return `inbox:${position.batch}:${position.index}`;
}

/** The inbox position an entry admitted, or undefined when it is not an event from the inbox. */
export function inboxPositionOf(entry: Pick<JournalEntry, "kind" | "body">): InboxPosition | undefined {
  if (entry.kind !== "domain_event") return undefined;
  const source = (entry.body.origin as { source?: CborValue } | undefined)?.source;
  return typeof source === "string" ? parseInboxSource(source) : undefined;
}

/**
 * The position in an `inbox:<batch>:<index>` source (ASCII digits, at least one each), or undefined: what
 * `/^inbox:(\d+):(\d+)$/` matches, read without a match object (every admitted event's source is read).
 */
export function parseInboxSource(source: string): InboxPosition | undefined {
  if (!source.startsWith(INBOX_PREFIX)) return undefined;
  const start = INBOX_PREFIX.length;
  const colon = source.indexOf(":", start);
  if (colon <= start || colon === source.length - 1) return undefined;
  for (let i = start; i < source.length; i++) {
    if (i === colon) continue;
    const code = source.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return undefined;
  }
  return { batch: Number(source.slice(start, colon)), index: Number(source.slice(colon + 1)) };
}

/** True when `a` comes after `b` in the inbox. */
export function isAfter(a: InboxPosition, b: InboxPosition): boolean {
  return a.batch > b.batch || (a.batch === b.batch && a.index > b.index);
}

/**
 * The last inbox event the journal admitted (batch 0, index -1 when none), found by reading the journal
 * backwards to the last event from the inbox (events are admitted in inbox order). For worlds whose head
 * does not record it.
 */
export function lastAdmittedPosition(journal: Pick<Journal, "entriesBackward">): InboxPosition {
  for (const entry of journal.entriesBackward()) {
    const at = inboxPositionOf(entry);
    if (at !== undefined) return at;
  }
  return { ...NO_INBOX_POSITION };
}

/** Where the inbox stood and how many reducer errors there were at the end of a journal. */
export interface JournalTally {
  lastAdmitted: InboxPosition;
  /** Undefined when the head does not record it (a world from before it did); counting takes a full read. */
  failures: number | undefined;
}

/**
 * The inbox position and failure count at the end of `journal`, from what the acknowledged `head` records
 * plus the entries after it (normally none; a crash may leave a few). Without a head that records the
 * inbox position, it is found by reading backwards; without a recorded failure count, it stays unknown.
 */
export function tallyJournal(
  journal: Pick<Journal, "entries" | "entriesBackward">,
  head: Head | undefined,
): JournalTally {
  let lastAdmitted = head?.inbox;
  let failures = head?.failures;
  if (head !== undefined && (lastAdmitted !== undefined || failures !== undefined)) {
    for (const entry of journal.entries(head.height)) {
      if (failures !== undefined && entry.kind === "reducer_error") failures++;
      const at = inboxPositionOf(entry);
      if (lastAdmitted !== undefined && at !== undefined && isAfter(at, lastAdmitted)) lastAdmitted = at;
    }
  }
  return { lastAdmitted: lastAdmitted ?? lastAdmittedPosition(journal), failures };
}

/** Count of `reducer_error` entries among `entries`. */
export function countFailures(entries: Iterable<Pick<JournalEntry, "kind">>): number {
  let n = 0;
  for (const entry of entries) if (entry.kind === "reducer_error") n++;
  return n;
}

/** The error for a replay divergence, naming the seq and reducer. */
export function divergenceError(d: Divergence): AosError {
  const who = d.reducer ? ` (reducer ${d.reducer})` : "";
  return new AosError("AOS_REPLAY_DIVERGED", `Replay diverged at seq ${d.seq}${who}: ${d.message}`, {
    context: { seq: d.seq, ...(d.reducer ? { reducer: d.reducer } : {}) },
  });
}
