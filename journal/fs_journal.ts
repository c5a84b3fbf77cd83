/**
 * The on-disk journal (KERNEL §8.1, §8.5): segments `00001.log`, `00002.log`, … of CRC-checked frames,
 * appended with group commit. No entry is kept in memory: opening reads the sealed segments' index files
 * and checks only the last segment in full (O(tail)); reads stream from disk and check every frame they
 * touch.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { assert as invariant, limits } from "../air/mod.ts";
import { assertChained, chainRecords } from "./_chain.ts";
import { makeDirDurable, parentOf, syncDirectory, writeAllSync, writeFileAtomic } from "./durable_fs.ts";
import {
  corruptAt,
  emptySegment,
  encodeIndex,
  INDEX_STRIDE,
  indexName,
  type JournalSegment,
  openSegments,
  readEntries,
  readEntriesBackward,
  type SegmentInfo,
  segmentName,
  tornAt,
  type TornTail,
} from "./_segments.ts";
import { type EntryRecord, type JournalEntry, ZERO_HASH } from "./entry.ts";
import { FRAME_OVERHEAD_SIZE_BYTES, writeFrame } from "./frame.ts";
import type { Journal } from "./journal.ts";

/** Appended frames are written to the segment file once this many bytes wait (and at every sync or read). */
const WRITE_BUFFER_BYTES_MAX = 1 << 20;

export type { JournalSegment, TornTail };

/** Options of {@linkcode FsJournal.open}. */
export interface FsJournalOptions {
  /** Create the directory when it does not exist (default false). */
  create?: boolean;
  /** Roll to a new segment before one would grow past this (default `limits.journalSegmentSizeBytesMax`). */
  segmentSizeBytesMax?: number;
  /**
   * Cut a torn last frame off instead of throwing `AOS_JOURNAL_TORN`, after keeping its bytes in
   * `quarantineDir` (crash-safely); see {@linkcode FsJournal.tornTail}.
   */
  truncateTornTail?: boolean;
  /**
   * Where the bytes of a cut torn tail are kept, in a file named `<segment>@<offset>.torn` (default: the
   * `quarantine` folder next to the journal directory, i.e. `.aos/quarantine/`).
   */
  quarantineDir?: string;
  /**
   * Entries the driver acknowledged (its head): a torn-looking last frame among them is damage to an
   * acknowledged entry, `AOS_JOURNAL_CORRUPT`, never cut or skipped.
   */
  acknowledgedHeight?: number;
  /**
   * With `readOnly`: a torn last frame does not fail the open; the journal ends before it, nothing is
   * changed, and {@linkcode FsJournal.tornTail} reports it (`cut: false`).
   */
  tolerateTornTail?: boolean;
  /**
   * Open for reading only: nothing in the directory is changed (a torn tail is `AOS_JOURNAL_TORN` unless
   * `tolerateTornTail`, stale indexes are rebuilt in memory only), and `append`/`sync` throw.
   */
  readOnly?: boolean;
}

/**
 * Keeps the bytes of a torn tail before they are cut: `<quarantine>/<segment>@<offset>.torn`, written
 * crash-safely (temp file, fsync, rename, folder fsync), so a crash before the cut leaves both copies and
 * the next open writes the same file again. Returns its path.
 */
async function quarantineTornTail(dir: string, torn: TornTail, quarantineDir?: string): Promise<string> {
  const folder = quarantineDir ?? `${parentOf(dir)}/quarantine`;
  await makeDirDurable(folder);
  const bytes = new Uint8Array(torn.sizeBytes);
  const file = await Deno.open(`${dir}/${torn.segment}`, { read: true });
  try {
    await file.seek(torn.offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < bytes.length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    invariant(got === bytes.length, "the torn tail's bytes are read in full");
  } finally {
    file.close();
  }
  const path = `${folder}/${torn.segment}@${torn.offset}.torn`;
  await writeFileAtomic(path, bytes);
  return path;
}

/** What a full check of a journal directory found. */
export interface JournalDirReport {
  height: number;
  lastHash: Uint8Array;
  segments: JournalSegment[];
}

/**
 * Checks a journal directory from genesis without changing it: every frame, CRC, strict decode, dense seqs
 * and the hash chain across segments, and that every index matches its segment. Streams: `onEntry` sees
 * each entry once, in seq order, and nothing is kept. Throws `AOS_JOURNAL_TORN` for a torn tail and
 * `AOS_JOURNAL_CORRUPT` for anything else wrong.
 */
export async function verifyJournalDir(
  dir: string,
  onEntry: (entry: JournalEntry) => void = () => {},
): Promise<JournalDirReport> {
  const journal = await FsJournal.open(dir, { readOnly: true });
  try {
    for (const entry of journal.entries(0)) onEntry(entry);
    return { height: journal.height, lastHash: journal.lastHash, segments: journal.segments };
  } finally {
    journal.close();
  }
}

/**
 * Reads a whole journal directory into memory without changing it, checking all of it like
 * {@linkcode verifyJournalDir}. For tests and small journals; everything else streams.
 */
export async function readJournalDir(
  dir: string,
): Promise<{ entries: JournalEntry[]; segments: JournalSegment[] }> {
  const entries: JournalEntry[] = [];
  const { segments } = await verifyJournalDir(dir, (entry) => entries.push(entry));
  return { entries, segments };
}

/**
 * Bytes of the last segment past its checkpoint that make a sync (or an open) store a new checkpoint: about
 * a hundred small entries, all an open has to decode beyond the checkpoint's digest.
 */
const CHECKPOINT_EVERY_BYTES = 16 * 1024;

/**
 * The on-disk journal: `<dir>/00001.log`, `00002.log`, … It keeps only its height, last hash and what it
 * knows of each segment (first seq, count, links, size, every 1024th entry's offset) in memory; `entries`
 * and `entriesBackward` read from disk. Appends go to the last segment opened for append; a new segment
 * starts when the next frame would push the current one past `segmentSizeBytesMax`, after the current one
 * is fsynced, so only the last segment can ever end in a torn frame. The sealed segment's index is written
 * at the next `sync()`; the last segment's checkpoint whenever a sync finds enough new bytes behind it.
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
  /** Set when opening found a torn last frame: cut off (`truncateTornTail`) or skipped (`tolerateTornTail`). */
  readonly tornTail?: TornTail;
  readonly #segmentSizeBytesMax: number;
  readonly #readOnly: boolean;
  /** What is known of each segment; the last one's entry changes as entries are appended. */
  readonly #segments: SegmentInfo[];
  /** Sealed segments whose index file is still to be written (at the next sync). */
  #pendingIndexes: SegmentInfo[];
  /** SHA-256 state over every byte of the last segment. */
  #tailHasher: Hash;
  /** Frames appended but not yet handed to the OS: one write per batch instead of one per block. */
  /** Frames not handed to the OS yet: `#buffer[0, #bufferedBytes)`, allocated on the first write. */
  #buffer: Uint8Array | undefined;
  #bufferedBytes = 0;
  /** Bytes of the last segment its stored checkpoint covers. */
  #checkpointedSizeBytes: number;
  #file: Deno.FsFile | undefined;
  #fileUnsynced = false;
  #dirUnsynced = false;
  #closed = false;
  #failure: unknown = undefined;
  #syncTail: Promise<void> = Promise.resolve();

  private constructor(
    dir: string,
    opened: Awaited<ReturnType<typeof openSegments>>,
    options: { segmentSizeBytesMax: number; readOnly: boolean },
  ) {
    this.dir = dir;
    if (opened.tornTail !== undefined) this.tornTail = opened.tornTail;
    this.#segments = opened.segments;
    this.#pendingIndexes = opened.rebuiltIndexes;
    this.#tailHasher = opened.tailHasher;
    this.#checkpointedSizeBytes = opened.checkpointedSizeBytes;
    this.#segmentSizeBytesMax = options.segmentSizeBytesMax;
    this.#readOnly = options.readOnly;
  }

  /**
   * Opens (or with `create`, creates) the journal in `dir`, reading the sealed segments' indexes (a sealed
   * segment without a matching index is checked in full and its index rebuilt) and checking the last
   * segment in full (its checkpointed prefix by digest, the rest frame by frame). Throws `AOS_JOURNAL_TORN`
   * for a torn last frame unless `truncateTornTail`, `AOS_JOURNAL_CORRUPT` for any other damage found (never
   * repaired), and `AOS_WORLD_NOT_FOUND` when `dir` is missing and `create` is not set. Damage inside a
   * sealed segment is found when it is read.
   */
  static async open(dir: string, options: FsJournalOptions = {}): Promise<FsJournal> {
    const segmentSizeBytesMax = options.segmentSizeBytesMax ?? limits.journalSegmentSizeBytesMax;
    if (!Number.isSafeInteger(segmentSizeBytesMax) || segmentSizeBytesMax < 1) {
      throw new RangeError(
        `Invalid segmentSizeBytesMax "${segmentSizeBytesMax}": expected a positive integer`,
      );
    }
    const readOnly = options.readOnly === true;
    if (readOnly && (options.create === true || options.truncateTornTail === true)) {
      throw new TypeError("A read-only journal cannot be created or have its torn tail cut");
    }
    if (!readOnly && options.tolerateTornTail === true) {
      throw new TypeError(
        "Only a read-only journal tolerates a torn tail; a writer cuts it (truncateTornTail)",
      );
    }
    if (options.create === true) await makeDirDurable(dir);
    const opened = await openSegments(dir);
    const torn = opened.tornTail;
    if (torn !== undefined) {
      const last = opened.segments.at(-1);
      invariant(last !== undefined && last.name === torn.segment, "a torn tail is in the last segment");
      invariant(last.sizeBytes === torn.offset, "the last segment's frames end where the torn one starts");
      const height = last.firstSeq + last.count;
      if (options.acknowledgedHeight !== undefined && options.acknowledgedHeight > height) {
        // The head says this entry was fsynced and acknowledged: its damage is corruption, not a crash.
        throw corruptAt(
          dir,
          torn.segment,
          torn.offset,
          `acknowledged entry ${height} is damaged (${torn.reason}); the head covers ${options.acknowledgedHeight} entries`,
          height,
        );
      }
      if (readOnly && options.tolerateTornTail === true) {
        // Reported, never changed: the journal simply ends before the torn frame.
      } else if (options.truncateTornTail !== true) {
        throw tornAt(dir, torn);
      } else {
        torn.quarantineFile = await quarantineTornTail(dir, torn, options.quarantineDir);
        const file = await Deno.open(`${dir}/${torn.segment}`, { write: true });
        try {
          await file.truncate(torn.offset);
          await file.sync();
        } finally {
          file.close();
        }
        torn.cut = true;
      }
    }
    const journal = new FsJournal(dir, opened, { segmentSizeBytesMax, readOnly });
    if (!readOnly) {
      await journal.#makeExistingDurable();
      await journal.#writePendingIndexes();
      journal.#checkpointIfDue(journal.#segments.at(-1), journal.#tailHasher);
    }
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

  /** Writes the index files of sealed segments, each crash-safely (a missing one is rebuilt on open). */
  async #writePendingIndexes(): Promise<void> {
    const pending = this.#pendingIndexes;
    this.#pendingIndexes = [];
    for (const info of pending) {
      invariant(info.digest !== undefined, "a sealed segment's digest is known");
      await writeFileAtomic(`${this.dir}/${indexName(info.name)}`, encodeIndex(info, info.digest));
    }
  }

  /**
   * Stores a checkpoint of the last segment as described by `segment` (durable bytes, hashed by `hasher`)
   * when it covers enough new bytes. No fsync: a checkpoint is trusted only for bytes that hash to it, so a
   * lost or stale one costs a longer check on open, never a wrong one.
   */
  #checkpointIfDue(segment: SegmentInfo | undefined, hasher: Hash): void {
    if (segment === undefined || segment.count === 0) return;
    if (segment.sizeBytes - this.#checkpointedSizeBytes < CHECKPOINT_EVERY_BYTES) return;
    const path = `${this.dir}/${indexName(segment.name)}`;
    const temp = `${this.dir}/.${indexName(segment.name)}.tmp`;
    Deno.writeFileSync(temp, encodeIndex(segment, new Uint8Array(hasher.copy().digest())));
    Deno.renameSync(temp, path);
    this.#checkpointedSizeBytes = segment.sizeBytes;
  }

  get height(): number {
    const last = this.#segments.at(-1);
    return last === undefined ? 0 : last.firstSeq + last.count;
  }

  get lastHash(): Uint8Array {
    return (this.#segments.at(-1)?.lastHash ?? ZERO_HASH).slice();
  }

  /** The segment files and their sizes, oldest first. */
  get segments(): JournalSegment[] {
    return this.#segments.map(({ name, sizeBytes }) => ({ name, sizeBytes }));
  }

  entries(fromSeq = 0): Iterable<JournalEntry> {
    this.#flush();
    const height = this.height;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 0 || fromSeq > height) {
      throw new RangeError(`Invalid fromSeq "${fromSeq}": expected an integer in 0..${height}`);
    }
    return readEntries(this.dir, this.#segmentsNow(), fromSeq, height);
  }

  entriesBackward(): Iterable<JournalEntry> {
    this.#flush();
    return readEntriesBackward(this.dir, this.#segmentsNow(), this.height, this.lastHash);
  }

  /**
   * What is known of the segments now, for a read that must not see later appends. The offsets arrays are
   * shared: appends only add offsets past what a read started with uses.
   */
  #segmentsNow(): SegmentInfo[] {
    return this.#segments.map((segment) => ({ ...segment }));
  }

  append(records: readonly EntryRecord[]): JournalEntry[] {
    this.#checkWritable("append");
    // The last hash itself, not the getter's copy: chaining only reads it.
    const lastHash = this.#segments.at(-1)?.lastHash ?? ZERO_HASH;
    const entries = chainRecords(this.height, lastHash, records);
    assertChained(this.height, lastHash, entries);
    try {
      this.#write(entries);
    } catch (error) {
      // What reached the file is unknown now; reopening (and cutting a torn tail) is the way back.
      this.#failure = error;
      throw error;
    }
    return entries;
  }

  #write(entries: JournalEntry[]): void {
    let from = 0;
    let chunkSizeBytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const frameSizeBytes = entries[i]!.bytes.length + FRAME_OVERHEAD_SIZE_BYTES;
      const current = this.#segments.at(-1);
      const sizeBytes = (current?.sizeBytes ?? 0) + chunkSizeBytes;
      if (
        current === undefined || (sizeBytes > 0 && sizeBytes + frameSizeBytes > this.#segmentSizeBytesMax)
      ) {
        this.#writeChunk(entries, from, i, chunkSizeBytes);
        from = i;
        chunkSizeBytes = 0;
        this.#roll();
      }
      chunkSizeBytes += frameSizeBytes;
    }
    this.#writeChunk(entries, from, entries.length, chunkSizeBytes);
  }

  /**
   * Frames `entries[from..to)` (`sizeBytes` in all) straight into the write buffer for the current segment
   * (a chunk larger than the buffer gets one of its own, written at once).
   */
  #writeChunk(entries: JournalEntry[], from: number, to: number, sizeBytes: number): void {
    if (to === from) return;
    const segment = this.#segments.at(-1);
    invariant(segment !== undefined, "a segment exists before writing");
    this.#file ??= Deno.openSync(`${this.dir}/${segment.name}`, { append: true, create: true });
    this.#fileUnsynced = true;
    if (this.#bufferedBytes + sizeBytes > WRITE_BUFFER_BYTES_MAX) this.#flush();
    const own = sizeBytes > WRITE_BUFFER_BYTES_MAX;
    const bytes = own ? new Uint8Array(sizeBytes) : (this.#buffer ??= new Uint8Array(WRITE_BUFFER_BYTES_MAX));
    const start = own ? 0 : this.#bufferedBytes;
    const offsets: number[] = [];
    let at = start;
    for (let i = from; i < to; i++) {
      if ((segment.count + i - from) % INDEX_STRIDE === 0) offsets.push(segment.sizeBytes + at - start);
      at = writeFrame(bytes, at, entries[i]!.bytes);
    }
    invariant(at - start === sizeBytes, "chunk size matches its frames");
    if (own) this.#writeAll(bytes);
    else this.#bufferedBytes = at;
    segment.sizeBytes += sizeBytes;
    segment.count += to - from;
    segment.lastHash = entries[to - 1]!.hash;
    for (const offset of offsets) segment.offsets.push(offset);
  }

  /** Hands buffered frames to the OS in one write (they become durable at the next fsync). */
  #flush(): void {
    if (this.#bufferedBytes === 0) return;
    const bytes = this.#buffer!.subarray(0, this.#bufferedBytes);
    this.#bufferedBytes = 0;
    this.#writeAll(bytes);
  }

  /** Writes frames to the segment file and feeds them to the tail hash (which copies what it keeps). */
  #writeAll(bytes: Uint8Array): void {
    invariant(this.#file !== undefined, "a segment file is open while frames are written");
    try {
      writeAllSync(this.#file, bytes);
    } catch (error) {
      // What reached the file is unknown now; reopening (and cutting a torn tail) is the way back.
      this.#failure = error;
      throw error;
    }
    this.#tailHasher.update(bytes);
  }

  // Makes the current segment durable before starting the next one, so a torn frame can only be last.
  #roll(): void {
    this.#flush();
    const sealed = this.#segments.at(-1);
    if (this.#file !== undefined) {
      if (this.#fileUnsynced) this.#file.syncDataSync();
      this.#file.close();
      this.#file = undefined;
      this.#fileUnsynced = false;
    }
    if (sealed !== undefined) {
      sealed.digest = new Uint8Array(this.#tailHasher.digest());
      if (sealed.count > 0) this.#pendingIndexes.push({ ...sealed, offsets: [...sealed.offsets] });
    }
    const name = segmentName(this.#segments.length + 1);
    // An index left by an earlier segment of this name (a journal cut back by hand) must not describe this one.
    try {
      Deno.removeSync(`${this.dir}/${indexName(name)}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    this.#file = Deno.openSync(`${this.dir}/${name}`, { append: true, create: true });
    this.#segments.push(emptySegment(name, this.height, this.lastHash));
    this.#tailHasher = createHash("sha256");
    this.#checkpointedSizeBytes = 0;
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
    this.#flush();
    try {
      // What is written now is durable once this sync's fsync returns: the checkpoint may describe it.
      const last = this.#segments.at(-1);
      const durable = last && { ...last, offsets: [...last.offsets] };
      const hasher = this.#tailHasher.copy();
      // Flags drop before the await: a write that races this sync marks them again for the next one.
      if (this.#file !== undefined && this.#fileUnsynced) {
        this.#fileUnsynced = false;
        await this.#file.syncData();
      }
      if (this.#dirUnsynced) {
        this.#dirUnsynced = false;
        syncDirectory(this.dir);
      }
      await this.#writePendingIndexes();
      // A roll during the await sealed that segment; its full index is written instead.
      if (durable !== undefined && this.#segments.at(-1)?.name === durable.name) {
        this.#checkpointIfDue(durable, hasher);
      }
    } catch (error) {
      // After a failed fsync the page cache may have dropped the data; nothing later can be trusted.
      this.#failure = error;
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    try {
      if (this.#failure === undefined) this.#flush();
    } finally {
      this.#closed = true;
      this.#file?.close();
      this.#file = undefined;
    }
  }

  #checkWritable(operation: string): void {
    if (this.#closed) throw new TypeError(`Cannot ${operation}: the journal is closed`);
    if (this.#readOnly) throw new TypeError(`Cannot ${operation}: the journal is open read-only`);
    if (this.#failure !== undefined) {
      throw new Error(`Cannot ${operation}: an earlier write or sync of the journal failed; reopen it`, {
        cause: this.#failure,
      });
    }
  }
}
