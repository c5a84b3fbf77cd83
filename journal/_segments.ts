/**
 * Journal segments on disk (private to `journal/`): naming, the per-segment index files, opening in
 * O(tail), and streaming reads that check every frame they touch (length, CRC, strict decode, seq and hash
 * link) and throw `AOS_JOURNAL_CORRUPT` naming segment, offset and seq.
 *
 * Each segment `NNNNN.log` may have an index `NNNNN.idx`: canonical CBOR `{first_seq, last_seq, first_prev,
 * last_hash, size_bytes, digest, stride, offsets}` describing its first `size_bytes` bytes — the seqs they
 * hold, the chain link into them and out of them, the SHA-256 of those bytes, and the byte offset of every
 * `stride`-th entry (so a read can start anywhere without walking the whole segment).
 *
 * - A sealed segment (every one but the last) never changes once the writer rolls past it; its index
 *   covers all of it and is written crash-safely at the first sync after the roll. Opening trusts it when it
 *   matches the segment's size and links to the segment before; otherwise the segment is checked in full
 *   and its index rebuilt. Opening never reads a sealed segment's frames.
 * - The last segment's index is a checkpoint of a prefix that was checked in full (or written by the
 *   writer itself). Opening hashes that prefix and compares it with the digest — every byte is checked,
 *   without decoding — and checks every frame after it in full. A digest that does not match (or no
 *   checkpoint) means a full check of the whole segment, which names any damage exactly. A checkpoint is
 *   only ever trusted for bytes that hash to it, so it needs no fsync.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import {
  AosError,
  type AosErrorContext,
  assert as invariant,
  bytesEqual,
  ByteSlab,
  decodeCanonical,
  encodeCanonical,
  limits,
  sha256,
  toHex,
} from "../air/mod.ts";
import { linkProblem } from "./_chain.ts";
import {
  frameInRange,
  hashFileRange,
  isProblem,
  readAt,
  readFrameAt,
  SegmentFrameReader,
} from "./_segment_reader.ts";
import { decodeEntry, HASH_SIZE_BYTES, type JournalEntry, ZERO_HASH } from "./entry.ts";
import {
  type Frame,
  FRAME_HEADER_SIZE_BYTES,
  FRAME_OVERHEAD_SIZE_BYTES,
  type FrameProblem,
} from "./frame.ts";

/**
 * A torn last frame found on open (a crash mid-write): cut off by a writer (its bytes kept in quarantine
 * first), or only reported by a read-only open (the journal then ends before it, and nothing is changed).
 */
export interface TornTail {
  /** Segment file name, e.g. `00003.log`. */
  segment: string;
  /** Where the torn frame started; the segment ends here once it is cut. */
  offset: number;
  /** Bytes from `offset` to the end of the segment: what was (or would be) cut. */
  sizeBytes: number;
  reason: string;
  /** True when the bytes were cut off the segment; false when a read-only open only skipped them. */
  cut: boolean;
  /** Where the cut bytes were kept (a writer's open); undefined when nothing was cut. */
  quarantineFile?: string;
}

/** One segment file and its size. */
export interface JournalSegment {
  name: string;
  sizeBytes: number;
}

/** Entries between two recorded byte offsets in a segment index. */
export const INDEX_STRIDE = 1024;

/** What is known of (a prefix of) one segment without reading it. */
export interface SegmentInfo {
  name: string;
  /** Seq of its first entry (the next seq when it holds none). */
  firstSeq: number;
  /** Entries it holds. */
  count: number;
  /** `prev` of its first entry: the hash of the last entry of the segment before (zero for the first). */
  firstPrev: Uint8Array;
  /** Hash of its last entry (`firstPrev` when it holds none). */
  lastHash: Uint8Array;
  /** Bytes of its frames. */
  sizeBytes: number;
  /** Byte offset of entry `firstSeq + k * INDEX_STRIDE`, for every such entry it holds. */
  offsets: number[];
  /** SHA-256 of its `sizeBytes` bytes, when known (sealed segments, from their index or a full check). */
  digest?: Uint8Array;
}

/** A segment that holds nothing yet, starting at `firstSeq` after an entry hashed `firstPrev`. */
export function emptySegment(name: string, firstSeq: number, firstPrev: Uint8Array): SegmentInfo {
  return { name, firstSeq, count: 0, firstPrev, lastHash: firstPrev, sizeBytes: 0, offsets: [] };
}

const SEGMENT_NAME = /^(\d{5})\.log$/;
const SEGMENT_NUMBER_MAX = 99_999;

/** The file name of segment `number` (1-based): `00001.log`. */
export function segmentName(number: number): string {
  if (!Number.isSafeInteger(number) || number < 1 || number > SEGMENT_NUMBER_MAX) {
    throw new RangeError(`Invalid segment number "${number}": expected 1..${SEGMENT_NUMBER_MAX}`);
  }
  return `${String(number).padStart(5, "0")}.log`;
}

/** The index file name of a segment: `00001.idx` for `00001.log`. */
export function indexName(segment: string): string {
  return segment.replace(/\.log$/, ".idx");
}

/** The `AOS_JOURNAL_CORRUPT` error for damage in `segment` at `offset`. */
export function corruptAt(
  dir: string,
  segment: string,
  offset: number,
  detail: string,
  seq?: number,
  cause?: unknown,
): AosError {
  const context: AosErrorContext = { file: `${dir}/${segment}`, segment, offset };
  if (seq !== undefined) context.seq = seq;
  const where = seq === undefined ? "" : ` (seq ${seq})`;
  return new AosError(
    "AOS_JOURNAL_CORRUPT",
    `Corrupt journal in ${segment} at offset ${offset}${where}: ${detail}`,
    {
      context,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** The `AOS_JOURNAL_TORN` error for a torn tail that is not to be cut. */
export function tornAt(dir: string, tail: TornTail): AosError {
  return new AosError(
    "AOS_JOURNAL_TORN",
    `Torn journal tail in ${tail.segment} at offset ${tail.offset}: ${tail.reason}`,
    { context: { file: `${dir}/${tail.segment}`, segment: tail.segment, offset: tail.offset } },
  );
}

/** The segment file names of `dir`, in order; refuses gaps and anything that looks like a misnamed segment. */
export async function listSegments(dir: string): Promise<string[]> {
  const numbers: number[] = [];
  try {
    for await (const item of Deno.readDir(dir)) {
      const match = SEGMENT_NAME.exec(item.name);
      if (match === null) {
        // A misnamed segment would silently drop entries, so anything that looks like one is refused.
        if (item.name.endsWith(".log")) {
          throw corruptAt(dir, item.name, 0, "unexpected file name: expected NNNNN.log");
        }
        continue;
      }
      if (!item.isFile) throw corruptAt(dir, item.name, 0, "segment is not a regular file");
      if (Number(match[1]) === 0) {
        throw corruptAt(dir, item.name, 0, "unexpected file name: segments start at 00001.log");
      }
      numbers.push(Number(match[1]));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new AosError("AOS_WORLD_NOT_FOUND", `Journal directory "${dir}" does not exist`, {
        context: { file: dir },
        cause: error,
      });
    }
    throw error;
  }
  numbers.sort((a, b) => a - b);
  return numbers.map((number, index) => {
    if (number !== index + 1) throw corruptAt(dir, segmentName(index + 1), 0, "segment is missing");
    return segmentName(number);
  });
}

/** The bytes of an index of `info` (which holds at least one entry), whose bytes hash to `digest`. */
export function encodeIndex(info: SegmentInfo, digest: Uint8Array): Uint8Array {
  invariant(info.count > 0, "only a segment with entries is indexed");
  invariant(info.offsets.length === Math.ceil(info.count / INDEX_STRIDE), "an index has every offset");
  return encodeCanonical({
    first_seq: info.firstSeq,
    last_seq: info.firstSeq + info.count - 1,
    first_prev: info.firstPrev,
    last_hash: info.lastHash,
    size_bytes: info.sizeBytes,
    digest,
    stride: INDEX_STRIDE,
    offsets: info.offsets,
  });
}

function isUint(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE_BYTES;
}

/** The index of `segment`, or undefined when it is missing or malformed (the segment is then checked). */
export function readIndex(dir: string, segment: string): SegmentInfo & { digest: Uint8Array } | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${dir}/${indexName(segment)}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = decodeCanonical(bytes);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== "object" || Object.keys(raw).length !== 8) return undefined;
  const { first_seq, last_seq, first_prev, last_hash, size_bytes, digest, stride, offsets } = raw as {
    [key: string]: unknown;
  };
  if (
    !isUint(first_seq) || !isUint(last_seq) || last_seq < first_seq || !isHash(first_prev) ||
    !isHash(last_hash) || !isUint(size_bytes) || size_bytes === 0 || !isHash(digest) ||
    stride !== INDEX_STRIDE || !Array.isArray(offsets)
  ) {
    return undefined;
  }
  const count = last_seq - first_seq + 1;
  if (offsets.length !== Math.ceil(count / INDEX_STRIDE) || offsets[0] !== 0) return undefined;
  for (const [k, offset] of offsets.entries()) {
    if (!isUint(offset) || offset >= size_bytes || (k > 0 && offset <= offsets[k - 1])) return undefined;
  }
  return {
    name: segment,
    firstSeq: first_seq,
    count,
    firstPrev: first_prev,
    lastHash: last_hash,
    sizeBytes: size_bytes,
    offsets: offsets as number[],
    digest,
  };
}

/**
 * Where a frame read back is copied out of the reader's buffer (which the next read overwrites): the entry and
 * its byte strings are views of the copy, and an `ArrayBuffer` per frame cost more than decoding it (see
 * `slab.ts`). The slabs are small because the kernel may keep a byte string of a body (a plan's input) long
 * after the rest of its slab is dead: one such view keeps at most 4 KiB alive; entries over 256 bytes get a
 * buffer of their own.
 */
const FRAME_SLAB = new ByteSlab(4 * 1024);

/** Decodes a frame's entry strictly; `AOS_JOURNAL_CORRUPT` at its offset otherwise. */
function decodeFrame(dir: string, segment: string, frame: Frame): JournalEntry {
  try {
    return decodeEntry(FRAME_SLAB.copy(frame.payload));
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw corruptAt(dir, segment, frame.offset, detail, undefined, cause);
  }
}

function problemError(dir: string, segment: string, problem: FrameProblem): AosError {
  const detail = problem.kind === "torn"
    ? `segment ends mid-frame but is not the last one: ${problem.reason}`
    : problem.reason;
  return corruptAt(dir, segment, problem.offset, detail);
}

/** A segment checked frame by frame, and a torn last frame if one was found. */
interface ScannedSegment {
  info: SegmentInfo;
  torn?: FrameProblem;
}

/**
 * Checks a segment frame by frame from the end of `known` (a prefix already checked, or an empty segment)
 * up to `endOffset`: every frame, CRC, strict decode, dense seqs and the chain. Feeds the bytes of the
 * frames checked to `hasher`. A torn last frame is returned when `allowTorn`; every other problem is thrown.
 */
function scanSegment(
  dir: string,
  known: SegmentInfo,
  endOffset: number,
  allowTorn: boolean,
  hasher: Hash,
): ScannedSegment {
  const name = known.name;
  const reader = new SegmentFrameReader(`${dir}/${name}`, endOffset, {
    startOffset: known.sizeBytes,
    hasher,
  });
  const { digest: _prefixDigest, ...rest } = known;
  const info: SegmentInfo = { ...rest, offsets: [...known.offsets] };
  try {
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
      if (isProblem(frame)) {
        if (frame.kind === "torn" && allowTorn) {
          reader.flushHash();
          return { info, torn: frame };
        }
        throw problemError(dir, name, frame);
      }
      const entry = decodeFrame(dir, name, frame);
      const problem = linkProblem(info.firstSeq + info.count, info.lastHash, entry);
      if (problem !== undefined) throw corruptAt(dir, name, frame.offset, problem, entry.seq);
      if (info.count % INDEX_STRIDE === 0) info.offsets.push(frame.offset);
      info.count++;
      info.lastHash = entry.hash;
      info.sizeBytes = reader.offset;
    }
    reader.flushHash();
  } finally {
    reader.close();
  }
  invariant(info.sizeBytes === endOffset, "a scan without a problem reaches the end");
  return { info };
}

/** A journal directory opened in O(tail). */
export interface OpenedSegments {
  /** What is known of each segment; the last one's `sizeBytes` ends before a torn frame, if any. */
  segments: SegmentInfo[];
  /** Sealed segments whose index was missing or stale and was rebuilt in memory (the writer stores them). */
  rebuiltIndexes: SegmentInfo[];
  /** SHA-256 state over the last segment's checked bytes, for the writer to continue. */
  tailHasher: Hash;
  /** How much of the last segment its stored checkpoint covers (0 when it has none that matched). */
  checkpointedSizeBytes: number;
  tornTail?: TornTail;
}

function fileSize(dir: string, segment: string): number {
  return Deno.statSync(`${dir}/${segment}`).size;
}

function digestOf(hasher: Hash): Uint8Array {
  return new Uint8Array(hasher.copy().digest());
}

/**
 * Opens a journal directory reading only what it must: each sealed segment's index (or the segment itself
 * when its index is missing or does not match it), and the last segment — its checkpointed prefix by
 * digest, the rest frame by frame. A torn last frame is returned; every other problem is thrown.
 */
export async function openSegments(dir: string): Promise<OpenedSegments> {
  const names = await listSegments(dir);
  const segments: SegmentInfo[] = [];
  const rebuiltIndexes: SegmentInfo[] = [];
  let nextSeq = 0;
  let prevHash: Uint8Array = ZERO_HASH;
  for (const [position, name] of names.entries()) {
    const sizeBytes = fileSize(dir, name);
    const index = readIndex(dir, name);
    const links = index !== undefined && index.firstSeq === nextSeq && bytesEqual(index.firstPrev, prevHash);
    if (position === names.length - 1) {
      let known = emptySegment(name, nextSeq, prevHash);
      let hasher = createHash("sha256");
      if (links && index.sizeBytes <= sizeBytes) {
        if (
          hashFileRange(`${dir}/${name}`, 0, index.sizeBytes, hasher) &&
          bytesEqual(digestOf(hasher), index.digest)
        ) {
          known = index;
        } else {
          hasher = createHash("sha256");
        }
      }
      const scanned = scanSegment(dir, known, sizeBytes, true, hasher);
      segments.push(scanned.info);
      const opened = { segments, rebuiltIndexes, tailHasher: hasher, checkpointedSizeBytes: known.sizeBytes };
      if (scanned.torn === undefined) return opened;
      const { offset, reason } = scanned.torn;
      return {
        ...opened,
        tornTail: { segment: name, offset, sizeBytes: sizeBytes - offset, reason, cut: false },
      };
    }
    if (sizeBytes === 0) throw corruptAt(dir, name, 0, "segment is empty but is not the last one");
    let info: SegmentInfo;
    if (links && index.sizeBytes === sizeBytes) {
      info = index;
    } else {
      const hasher = createHash("sha256");
      info = scanSegment(dir, emptySegment(name, nextSeq, prevHash), sizeBytes, false, hasher).info;
      info.digest = digestOf(hasher);
      rebuiltIndexes.push(info);
    }
    segments.push(info);
    nextSeq = info.firstSeq + info.count;
    prevHash = info.lastHash;
  }
  return {
    segments,
    rebuiltIndexes,
    tailHasher: createHash("sha256"),
    checkpointedSizeBytes: 0,
  };
}

/** The position of `seq` among `segments`: the index of the segment holding it. */
function segmentOf(segments: readonly SegmentInfo[], seq: number): number {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (segments[middle]!.firstSeq <= seq) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** A segment that does not hold what the journal knows of it (from its index, or from opening). */
function indexMismatch(dir: string, segment: SegmentInfo, offset: number, detail: string): AosError {
  const last = segment.firstSeq + segment.count - 1;
  return corruptAt(
    dir,
    segment.name,
    offset,
    `${detail}: expected seqs ${segment.firstSeq}..${last} in ${segment.sizeBytes} bytes (index ${
      indexName(segment.name)
    }, or what was read when the journal was opened)`,
  );
}

/**
 * The entries from `fromSeq` up to `height`, read lazily segment after segment, each frame checked (CRC,
 * strict decode, seq, chain) as it is read. `segments` is what the journal knew when the read started. A
 * read starts at the recorded offset nearest before `fromSeq` and steps over the frames before it by their
 * lengths, hashing the one just before `fromSeq` so the first entry's link is checked too. A sealed segment
 * read from its start to its end is also checked against its index (offsets, last hash, digest).
 */
export function* readEntries(
  dir: string,
  segments: readonly SegmentInfo[],
  fromSeq: number,
  height: number,
): Generator<JournalEntry, void, undefined> {
  if (fromSeq >= height) return;
  const first = segmentOf(segments, fromSeq);
  let seq = 0;
  let prev: Uint8Array | undefined;
  for (let position = first; position < segments.length && seq < height; position++) {
    const segment = segments[position]!;
    const sealed = position < segments.length - 1;
    let startOffset = 0;
    if (position === first) {
      const target = Math.max(fromSeq - 1, segment.firstSeq);
      const block = Math.min(
        Math.floor((target - segment.firstSeq) / INDEX_STRIDE),
        segment.offsets.length - 1,
      );
      startOffset = block > 0 ? segment.offsets[block]! : 0;
      seq = segment.firstSeq + Math.max(block, 0) * INDEX_STRIDE;
      prev = fromSeq === segment.firstSeq ? segment.firstPrev : undefined;
    }
    invariant(
      startOffset > 0 || seq === segment.firstSeq,
      "a segment read from its start starts at its first seq",
    );
    const whole = startOffset === 0;
    const hasher = whole && sealed && segment.digest !== undefined ? createHash("sha256") : undefined;
    const reader = new SegmentFrameReader(`${dir}/${segment.name}`, segment.sizeBytes, {
      startOffset,
      ...(hasher === undefined ? {} : { hasher }),
    });
    const end = segment.firstSeq + segment.count;
    try {
      for (; seq < end && seq < height; seq++) {
        const at = reader.offset;
        const k = seq - segment.firstSeq;
        if (whole && k % INDEX_STRIDE === 0 && segment.offsets[k / INDEX_STRIDE] !== at) {
          throw indexMismatch(
            dir,
            segment,
            at,
            `entry ${seq} starts at offset ${at}, not where the index says`,
          );
        }
        const frame = reader.next(seq >= fromSeq - 1 || hasher !== undefined);
        if (frame === undefined) {
          throw indexMismatch(dir, segment, reader.offset, `segment ends after seq ${seq - 1}`);
        }
        if (isProblem(frame)) throw problemError(dir, segment.name, frame);
        if (seq < fromSeq - 1) continue;
        if (seq === fromSeq - 1) {
          prev = sha256(frame.payload);
          continue;
        }
        const entry = decodeFrame(dir, segment.name, frame);
        invariant(prev !== undefined, "the link of the first entry read is known");
        const problem = linkProblem(seq, prev, entry);
        if (problem !== undefined) throw corruptAt(dir, segment.name, frame.offset, problem, entry.seq);
        prev = entry.hash;
        yield entry;
      }
      if (!sealed) return;
      const extra = reader.next(false);
      if (extra !== undefined) {
        throw indexMismatch(dir, segment, reader.offset, "segment holds more than its index says");
      }
      if (prev !== undefined && !bytesEqual(prev, segment.lastHash)) {
        throw indexMismatch(dir, segment, reader.offset, "segment's last hash differs from its index");
      }
      if (hasher !== undefined) {
        reader.flushHash();
        if (!bytesEqual(new Uint8Array(hasher.digest()), segment.digest!)) {
          throw indexMismatch(dir, segment, 0, "segment's bytes differ from the digest in its index");
        }
      }
    } finally {
      reader.close();
    }
  }
}

/**
 * The entries from `height - 1` down to 0, lazily, a block of `INDEX_STRIDE` entries at a time: a block's
 * frame offsets are found by stepping over its length headers from the recorded offset of its first entry,
 * then its frames are read and checked one at a time from the last. The chain is checked backwards from
 * `lastHash` (each entry must hash to the `prev` of the one after it).
 */
export function* readEntriesBackward(
  dir: string,
  segments: readonly SegmentInfo[],
  height: number,
  lastHash: Uint8Array,
): Generator<JournalEntry, void, undefined> {
  let seq = height - 1;
  let expectedHash = lastHash;
  for (let position = segments.length - 1; position >= 0 && seq >= 0; position--) {
    const segment = segments[position]!;
    const count = Math.min(segment.count, height - segment.firstSeq);
    if (count <= 0) continue;
    if (
      segment.firstSeq + count - 1 !== seq ||
      (count === segment.count && !bytesEqual(segment.lastHash, expectedHash))
    ) {
      throw indexMismatch(dir, segment, segment.sizeBytes, `segment does not end at seq ${seq}`);
    }
    const file = Deno.openSync(`${dir}/${segment.name}`, { read: true });
    try {
      for (let block = Math.ceil(count / INDEX_STRIDE) - 1; block >= 0; block--) {
        const blockCount = Math.min(INDEX_STRIDE, count - block * INDEX_STRIDE);
        // The block's bytes in one read when they are few (one read per frame cost more than decoding it),
        // up to where the next block starts; its frames are found by stepping their length headers in memory.
        const start = segment.offsets[block]!;
        const rangeEnd = block + 1 < segment.offsets.length ? segment.offsets[block + 1]! : segment.sizeBytes;
        let range: Uint8Array | undefined;
        let offsets: number[] | undefined;
        if (rangeEnd - start <= BACKWARD_RANGE_SIZE_BYTES_MAX) {
          range = new Uint8Array(rangeEnd - start);
          if (readAt(file, start, range) === range.length) offsets = offsetsInRange(range, start, blockCount);
        }
        if (offsets === undefined) {
          // Large frames, or headers that do not add up (the reader below names the damage).
          range = undefined;
          offsets = frameOffsets(dir, segment, start, blockCount);
        }
        for (let k = blockCount - 1; k >= 0; k--, seq--) {
          const frame = range === undefined
            ? readFrameAt(file, offsets[k]!, segment.sizeBytes)
            : frameInRange(range, start, offsets[k]!, segment.sizeBytes);
          if (isProblem(frame)) throw problemError(dir, segment.name, frame);
          const entry = decodeFrame(dir, segment.name, frame);
          if (entry.seq !== seq) {
            throw corruptAt(
              dir,
              segment.name,
              frame.offset,
              `seq gap: expected seq ${seq}, found ${entry.seq}`,
              entry.seq,
            );
          }
          if (!bytesEqual(entry.hash, expectedHash)) {
            throw corruptAt(
              dir,
              segment.name,
              frame.offset,
              `hash chain broken: seq ${seq} hashes to ${toHex(entry.hash)}, but the entry after it expects ${
                toHex(expectedHash)
              }`,
              seq,
            );
          }
          expectedHash = entry.prev;
          yield entry;
        }
      }
    } finally {
      file.close();
    }
    if (!bytesEqual(expectedHash, segment.firstPrev)) {
      throw indexMismatch(dir, segment, 0, "segment's first link differs from its index");
    }
  }
}

/**
 * The most bytes of a block {@linkcode readEntriesBackward} reads at once (a block of large entries is read
 * frame by frame).
 */
const BACKWARD_RANGE_SIZE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Offsets of the first `count` frames in `range` (a segment's bytes from `rangeOffset`), by their length
 * headers; undefined when a header is zero, too large, or points past the range (then
 * {@linkcode frameOffsets} reads them from the file and reports what is wrong).
 */
function offsetsInRange(range: Uint8Array, rangeOffset: number, count: number): number[] | undefined {
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + FRAME_HEADER_SIZE_BYTES > range.length) return undefined;
    const size = (range[at]! | (range[at + 1]! << 8) | (range[at + 2]! << 16) | (range[at + 3]! << 24)) >>> 0;
    if (size === 0 || size > limits.journalEntrySizeBytesMax) return undefined;
    offsets.push(rangeOffset + at);
    at += FRAME_OVERHEAD_SIZE_BYTES + size;
    if (at > range.length) return undefined;
  }
  return offsets;
}

/** Offsets of `count` frames of a segment from `startOffset`, by their length headers. */
function frameOffsets(dir: string, segment: SegmentInfo, startOffset: number, count: number): number[] {
  const offsets: number[] = [];
  const reader = new SegmentFrameReader(`${dir}/${segment.name}`, segment.sizeBytes, { startOffset });
  try {
    while (offsets.length < count) {
      const at = reader.offset;
      const frame = reader.next(false);
      if (frame === undefined) {
        throw indexMismatch(dir, segment, at, `segment ends after ${offsets.length} frames of a block`);
      }
      if (isProblem(frame)) throw problemError(dir, segment.name, frame);
      offsets.push(at);
    }
  } finally {
    reader.close();
  }
  return offsets;
}
