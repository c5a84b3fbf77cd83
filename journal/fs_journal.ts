/**
 * The on-disk journal (KERNEL §8.1, §8.5): segments `00001.log`, `00002.log`, … of CRC-checked frames,
 * validated in full on open, appended with group commit.
 *
 * @module
 */
import { assert as invariant, limits } from "../air/mod.ts";
import { assertChained, chainRecords, entriesFrom } from "./_chain.ts";
import { exists, parentOf, syncDirectory, writeAllSync } from "./durable_fs.ts";
import {
  type JournalSegment,
  type LoadedJournal,
  loadJournal,
  segmentName,
  tornAt,
  type TornTail,
} from "./_segments.ts";
import { type EntryRecord, type JournalEntry, ZERO_HASH } from "./entry.ts";
import { encodeFrame } from "./frame.ts";
import type { Journal } from "./journal.ts";

export type { JournalSegment, TornTail };

/** Options of {@linkcode FsJournal.open}. */
export interface FsJournalOptions {
  /** Create the directory when it does not exist (default false). */
  create?: boolean;
  /** Roll to a new segment before one would grow past this (default `limits.journalSegmentSizeBytesMax`). */
  segmentSizeBytesMax?: number;
  /** Cut a torn last frame off instead of throwing `AOS_JOURNAL_TORN`; see {@linkcode FsJournal.tornTail}. */
  truncateTornTail?: boolean;
}

/**
 * Reads a journal directory without changing it, validating every frame, seq and hash link.
 * Throws `AOS_JOURNAL_TORN` for a torn tail and `AOS_JOURNAL_CORRUPT` for anything else wrong.
 */
export async function readJournalDir(
  dir: string,
): Promise<{ entries: JournalEntry[]; segments: JournalSegment[] }> {
  const loaded = await loadJournal(dir);
  if (loaded.tornTail !== undefined) throw tornAt(dir, loaded.tornTail);
  return { entries: loaded.entries, segments: loaded.segments };
}

/**
 * The on-disk journal: `<dir>/00001.log`, `00002.log`, … Every entry stays in memory once read or appended.
 * Appends go to the last segment opened for append; a new segment starts when the next frame would push the
 * current one past `segmentSizeBytesMax`, after the current one is fsynced, so only the last segment can
 * ever end in a torn frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FsJournal } from "./fs_journal.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const journal = await FsJournal.open(`${dir}/journal`, { create: true });
 * journal.append([{ kind: "apply_requested", body: { proposal_id: 1, ingress_ns: 0 } }]);
 * await journal.sync();
 * journal.close();
 * const reopened = await FsJournal.open(`${dir}/journal`);
 * assert.equal(reopened.height, 1);
 * reopened.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FsJournal implements Journal {
  /** The journal directory. */
  readonly dir: string;
  /** Set when `truncateTornTail` cut a torn last frame off while opening. */
  readonly tornTail?: TornTail;
  readonly #segmentSizeBytesMax: number;
  readonly #entries: JournalEntry[];
  readonly #segments: JournalSegment[];
  #file: Deno.FsFile | undefined;
  #fileUnsynced = false;
  #dirUnsynced = false;
  #closed = false;
  #failure: unknown = undefined;
  #syncTail: Promise<void> = Promise.resolve();

  private constructor(dir: string, loaded: LoadedJournal, segmentSizeBytesMax: number) {
    this.dir = dir;
    if (loaded.tornTail !== undefined) this.tornTail = loaded.tornTail;
    this.#entries = loaded.entries;
    this.#segments = loaded.segments;
    this.#segmentSizeBytesMax = segmentSizeBytesMax;
  }

  /**
   * Opens (or with `create`, creates) the journal in `dir` and validates all of it. Throws `AOS_JOURNAL_TORN`
   * for a torn last frame unless `truncateTornTail`, `AOS_JOURNAL_CORRUPT` for any other damage (never
   * repaired), and `AOS_WORLD_NOT_FOUND` when `dir` is missing and `create` is not set.
   */
  static async open(dir: string, options: FsJournalOptions = {}): Promise<FsJournal> {
    const segmentSizeBytesMax = options.segmentSizeBytesMax ?? limits.journalSegmentSizeBytesMax;
    if (!Number.isSafeInteger(segmentSizeBytesMax) || segmentSizeBytesMax < 1) {
      throw new RangeError(
        `Invalid segmentSizeBytesMax "${segmentSizeBytesMax}": expected a positive integer`,
      );
    }
    if (options.create === true && !(await exists(dir))) {
      await Deno.mkdir(dir, { recursive: true });
      syncDirectory(parentOf(dir));
    }
    const loaded = await loadJournal(dir);
    const torn = loaded.tornTail;
    if (torn !== undefined) {
      if (options.truncateTornTail !== true) throw tornAt(dir, torn);
      const file = await Deno.open(`${dir}/${torn.segment}`, { write: true });
      try {
        await file.truncate(torn.offset);
        await file.sync();
      } finally {
        file.close();
      }
      const last = loaded.segments.at(-1);
      invariant(last !== undefined && last.name === torn.segment, "a torn tail is in the last segment");
      last.sizeBytes = torn.offset;
    }
    const journal = new FsJournal(dir, loaded, segmentSizeBytesMax);
    await journal.#makeExistingDurable();
    return journal;
  }

  // A previous process may have appended without syncing before it died; what we read and build on must
  // be durable before anything that follows it is.
  async #makeExistingDurable(): Promise<void> {
    const last = this.#segments.at(-1);
    if (last !== undefined) {
      const file = await Deno.open(`${this.dir}/${last.name}`, { append: true });
      try {
        await file.syncData();
      } catch (error) {
        file.close();
        throw error;
      }
      this.#file = file;
    }
    syncDirectory(this.dir);
  }

  get height(): number {
    return this.#entries.length;
  }

  get lastHash(): Uint8Array {
    return (this.#entries.at(-1)?.hash ?? ZERO_HASH).slice();
  }

  /** The segment files and their sizes, oldest first. */
  get segments(): JournalSegment[] {
    return this.#segments.map((segment) => ({ ...segment }));
  }

  entries(fromSeq = 0): Iterable<JournalEntry> {
    return entriesFrom(this.#entries, fromSeq);
  }

  append(records: readonly EntryRecord[]): JournalEntry[] {
    this.#checkWritable("append");
    const entries = chainRecords(this.height, this.lastHash, records);
    assertChained(this.height, this.lastHash, entries);
    try {
      this.#write(entries.map(encodeFrame));
    } catch (error) {
      // What reached the file is unknown now; reopening (and cutting a torn tail) is the way back.
      this.#failure = error;
      throw error;
    }
    for (const entry of entries) this.#entries.push(entry);
    return entries;
  }

  #write(frames: Uint8Array[]): void {
    let chunk: Uint8Array[] = [];
    let chunkSizeBytes = 0;
    for (const frame of frames) {
      const current = this.#segments.at(-1);
      const sizeBytes = (current?.sizeBytes ?? 0) + chunkSizeBytes;
      if (current === undefined || (sizeBytes > 0 && sizeBytes + frame.length > this.#segmentSizeBytesMax)) {
        this.#writeChunk(chunk, chunkSizeBytes);
        chunk = [];
        chunkSizeBytes = 0;
        this.#roll();
      }
      chunk.push(frame);
      chunkSizeBytes += frame.length;
    }
    this.#writeChunk(chunk, chunkSizeBytes);
  }

  #writeChunk(frames: Uint8Array[], sizeBytes: number): void {
    if (frames.length === 0) return;
    const segment = this.#segments.at(-1);
    invariant(segment !== undefined, "a segment exists before writing");
    const bytes = new Uint8Array(sizeBytes);
    let at = 0;
    for (const frame of frames) {
      bytes.set(frame, at);
      at += frame.length;
    }
    invariant(at === sizeBytes, "chunk size matches its frames");
    this.#file ??= Deno.openSync(`${this.dir}/${segment.name}`, { append: true, create: true });
    this.#fileUnsynced = true;
    writeAllSync(this.#file, bytes);
    segment.sizeBytes += sizeBytes;
  }

  // Makes the current segment durable before starting the next one, so a torn frame can only be last.
  #roll(): void {
    if (this.#file !== undefined) {
      if (this.#fileUnsynced) this.#file.syncDataSync();
      this.#file.close();
      this.#file = undefined;
      this.#fileUnsynced = false;
    }
    const name = segmentName(this.#segments.length + 1);
    this.#file = Deno.openSync(`${this.dir}/${name}`, { append: true, create: true });
    this.#segments.push({ name, sizeBytes: 0 });
    this.#dirUnsynced = true;
  }

  sync(): Promise<void> {
    try {
      this.#checkWritable("sync");
    } catch (error) {
      return Promise.reject(error);
    }
    // Syncs run one after another: a sync that finds nothing new to flush must still wait for the one in
    // flight, which may be flushing this caller's writes.
    const run = this.#syncTail.then(() => this.#syncNow());
    this.#syncTail = run.catch(() => {/* the failure is kept in #failure */});
    return run;
  }

  async #syncNow(): Promise<void> {
    this.#checkWritable("sync");
    try {
      // Flags drop before the await: a write that races this sync marks them again for the next one.
      if (this.#file !== undefined && this.#fileUnsynced) {
        this.#fileUnsynced = false;
        await this.#file.syncData();
      }
      if (this.#dirUnsynced) {
        this.#dirUnsynced = false;
        syncDirectory(this.dir);
      }
    } catch (error) {
      // After a failed fsync the page cache may have dropped the data; nothing later can be trusted.
      this.#failure = error;
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file?.close();
    this.#file = undefined;
  }

  #checkWritable(operation: string): void {
    if (this.#closed) throw new TypeError(`Cannot ${operation}: the journal is closed`);
    if (this.#failure !== undefined) {
      throw new Error(`Cannot ${operation}: an earlier write or sync of the journal failed; reopen it`, {
        cause: this.#failure,
      });
    }
  }
}
