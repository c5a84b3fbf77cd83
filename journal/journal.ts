/**
 * The `Journal` port (KERNEL §8.1) and its in-memory implementation. The file-system implementation lives in
 * `fs_journal.ts` (re-exported here) and the shared contract suite in `testing/journal_contract.ts`.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { assertChained, chainRecords, entriesFrom, linkProblem } from "./_chain.ts";
import { decodeEntry, type EntryRecord, type JournalEntry, ZERO_HASH } from "./entry.ts";

export {
  FsJournal,
  type FsJournalOptions,
  type JournalDirReport,
  type JournalSegment,
  readJournalDir,
  type TornTail,
  verifyJournalDir,
} from "./fs_journal.ts";

/**
 * The append-only, hash-chained log of entries. `append` assigns seqs and writes without syncing;
 * `sync` makes everything appended so far durable with one fsync (group commit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryJournal } from "./journal.ts";
 *
 * const journal = new MemoryJournal();
 * const [entry] = journal.append([{ kind: "apply_requested", body: { proposal_id: 1, ingress_ns: 0 } }]);
 * await journal.sync();
 * assert.equal(entry?.seq, 0);
 * assert.equal(journal.height, 1);
 * ```
 */
export interface Journal {
  /** Number of entries, which is also the next seq. */
  readonly height: number;
  /** Hash of the last entry; 32 zero bytes when the journal is empty. */
  readonly lastHash: Uint8Array;
  /**
   * The entries from `fromSeq` (default 0) to the height when called, in seq order, produced lazily (a
   * journal on disk reads them as they are iterated and checks each one; damage throws
   * `AOS_JOURNAL_CORRUPT`). Throws `RangeError` at once for a `fromSeq` outside `0..height`.
   */
  entries(fromSeq?: number): Iterable<JournalEntry>;
  /**
   * The entries from the last one (at the height when called) down to seq 0 (or the first one held, for a
   * journal that continues another), produced lazily, each checked against the hash chain from `lastHash`
   * backwards: for finding the latest entry of some kind without reading the whole journal.
   */
  entriesBackward(): Iterable<JournalEntry>;
  /**
   * Encodes, chains and writes `records` (not yet durable) and returns their entries. The whole batch is
   * encoded first, so a bad record (`TypeError`, or `RangeError` over the entry size limit) writes nothing.
   */
  append(records: readonly EntryRecord[]): JournalEntry[];
  /** Makes every entry appended before this call durable. */
  sync(): Promise<void>;
  /**
   * Optional: lets a store start sending what was appended so far, before the `sync` that makes it durable
   * and acknowledged (a database writes it inside the transaction that sync commits), so the store works
   * while the caller keeps computing. Resolves after giving I/O a turn. A long step calls it now and then.
   */
  sendAhead?(): Promise<void>;
  /** Releases resources without syncing. `append` and `sync` throw afterwards; reads keep working. */
  close(): void;
}

/**
 * A journal that may hold only its entries from {@linkcode firstHeldSeq} on (a world on PostgreSQL opens
 * holding the entries from its latest snapshot to its head): `entries(fromSeq)` throws `RangeError` below the
 * first held seq, and `entriesBackward` stops there. `preload(fromSeq)` fetches the older entries from the
 * store, checks their seqs and hash chain (the last fetched one must hash to the first held one's `prev`)
 * and holds them from then on.
 */
export interface PreloadableJournal extends Journal {
  /** Seq of the first entry held (0 when the whole journal is held). */
  readonly firstHeldSeq: number;
  /** Fetches and chain-checks the entries from `fromSeq` up to the first held one; `AOS_JOURNAL_CORRUPT` on damage. */
  preload(fromSeq?: number): Promise<void>;
}

/** True when `journal` can hold only a tail of its entries and fetch the rest ({@linkcode PreloadableJournal}). */
export function isPreloadable(journal: object): journal is PreloadableJournal {
  return "preload" in journal && typeof (journal as { preload?: unknown }).preload === "function" &&
    "firstHeldSeq" in journal;
}

/** Seq of the first entry `journal` holds: 0 for a journal that holds them all (file and memory stores). */
export function firstHeldSeq(journal: object): number {
  return isPreloadable(journal) ? journal.firstHeldSeq : 0;
}

/**
 * Makes `journal` hold its entries from `fromSeq` (default 0) on, fetching and checking older ones from its
 * store when it holds only a tail; a no-op for a journal that holds them all. Call before reading entries
 * older than the latest snapshot (verify, export, `journal show`, the snapshot list of a rollback).
 */
export async function preloadJournal(journal: object, fromSeq = 0): Promise<void> {
  if (isPreloadable(journal) && fromSeq < journal.firstHeldSeq) await journal.preload(fromSeq);
}

/**
 * A journal held in memory, for tests and simulation. It records how far it was synced, so a simulated
 * crash can keep only `entries().slice(0, syncedHeight)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryJournal } from "./journal.ts";
 *
 * const journal = new MemoryJournal();
 * journal.append([{ kind: "apply_requested", body: { proposal_id: 1, ingress_ns: 0 } }]);
 * assert.equal(journal.syncedHeight, 0);
 * const reopened = MemoryJournal.from(journal.entries());
 * assert.deepEqual(reopened.lastHash, journal.lastHash);
 * ```
 */
export class MemoryJournal implements Journal {
  readonly #entries: JournalEntry[] = [];
  /** Seq of `#entries[0]`: 0, or the height a continuing journal starts at. */
  #base = 0;
  #baseHash: Uint8Array = ZERO_HASH;
  #syncedHeight = 0;
  #closed = false;

  /**
   * An empty journal that continues another at `height` whose last entry hashed `lastHash`: its first
   * entry gets seq `height` and chains to `lastHash`. Entries before `height` are not held (a fork).
   */
  static continuing(height: number, lastHash: Uint8Array): MemoryJournal {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new TypeError(`Invalid height "${height}": expected a uint`);
    }
    if (!(lastHash instanceof Uint8Array) || lastHash.length !== ZERO_HASH.length) {
      throw new TypeError(`Invalid lastHash: expected ${ZERO_HASH.length} bytes`);
    }
    const journal = new MemoryJournal();
    journal.#base = height;
    journal.#baseHash = lastHash.slice();
    journal.#syncedHeight = height;
    return journal;
  }

  /**
   * A journal holding `entries`, checked like a journal on disk: each entry's bytes decode to it, seqs are
   * dense from 0 and the hash chain is intact; otherwise `AOS_JOURNAL_CORRUPT` naming the seq.
   */
  static from(entries: Iterable<JournalEntry>): MemoryJournal {
    const journal = new MemoryJournal();
    for (const given of entries) {
      const entry = decodeEntry(given.bytes);
      const problem = linkProblem(journal.height, journal.lastHash, entry);
      if (problem !== undefined) {
        throw new AosError("AOS_JOURNAL_CORRUPT", `Corrupt journal at seq ${entry.seq}: ${problem}`, {
          context: { seq: entry.seq },
        });
      }
      journal.#entries.push(entry);
    }
    journal.#syncedHeight = journal.height;
    return journal;
  }

  get height(): number {
    return this.#base + this.#entries.length;
  }

  get lastHash(): Uint8Array {
    return (this.#entries.at(-1)?.hash ?? this.#baseHash).slice();
  }

  /** Entries made durable by `sync()` (all of them for a journal built with `from`). */
  get syncedHeight(): number {
    return this.#syncedHeight;
  }

  entries(fromSeq = 0): Iterable<JournalEntry> {
    const height = this.height;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < this.#base || fromSeq > height) {
      throw new RangeError(`Invalid fromSeq "${fromSeq}": expected an integer in ${this.#base}..${height}`);
    }
    return entriesFrom(this.#entries, fromSeq - this.#base);
  }

  entriesBackward(): Iterable<JournalEntry> {
    const entries = this.#entries;
    const count = entries.length;
    return (function* () {
      for (let index = count - 1; index >= 0; index--) yield entries[index]!;
    })();
  }

  append(records: readonly EntryRecord[]): JournalEntry[] {
    if (this.#closed) throw new TypeError("Cannot append: the journal is closed");
    const entries = chainRecords(this.height, this.lastHash, records);
    assertChained(this.height, this.lastHash, entries);
    for (const entry of entries) this.#entries.push(entry);
    return entries;
  }

  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new TypeError("Cannot sync: the journal is closed"));
    this.#syncedHeight = this.height;
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
  }
}
