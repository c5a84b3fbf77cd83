/**
 * Journal segments on disk (private to `journal/`): naming, the per-segment index files, opening in
 * O(tail), and streaming reads that check every frame they touch. Every frame's length and CRC, strict
 * decoding, dense seqs and the hash chain are checked whenever an entry is read; a problem is thrown as
 * `AOS_JOURNAL_CORRUPT` naming segment, offset and seq. A torn last frame of the last segment is returned
 * for the caller to cut or refuse.
 *
 * Sealed segments (all but the last) never change once the writer rolls past them. Each gets an index file
 * `NNNNN.idx` (canonical CBOR `{first_seq, last_seq, first_prev, last_hash, size_bytes}`), written
 * crash-safely at the first sync after the roll. Opening trusts an index only when it matches its
 * segment's size and links to the segment before; otherwise the segment is scanned in full and the index
 * rebuilt. Opening scans only the last segment in full.
 *
 * @module
 */
import { bytesEqual, decodeCanonical, encodeCanonical, toHex } from "../air/cbor.ts";
import { AosError, type AosErrorContext, assert as invariant } from "../air/errors.ts";
import { sha256 } from "../air/hash.ts";
import { linkProblem } from "./_chain.ts";
import { isProblem, readFrameAt, SegmentFrameReader } from "./_segment_reader.ts";
import { decodeEntry, HASH_SIZE_BYTES, type JournalEntry, ZERO_HASH } from "./entry.ts";
import type { Frame, FrameProblem } from "./frame.ts";

/** A torn last frame that was cut off on open; the driver reports it. */
export interface TornTail {
  /** Segment file name, e.g. `00003.log`. */
  segment: string;
  /** Where the torn frame started; the segment now ends here. */
  offset: number;
  reason: string;
}

/** One segment file and its size. */
export interface JournalSegment {
  name: string;
  sizeBytes: number;
}

/** What is known of one segment without reading it: where it sits in the chain and how large it is. */
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

/** The bytes of the index file of a sealed segment. */
export function encodeIndex(info: SegmentInfo): Uint8Array {
  invariant(info.count > 0, "only a segment with entries is indexed");
  return encodeCanonical({
    first_seq: info.firstSeq,
    last_seq: info.firstSeq + info.count - 1,
    first_prev: info.firstPrev,
    last_hash: info.lastHash,
    size_bytes: info.sizeBytes,
  });
}

/** The index of `segment`, or undefined when it is missing or malformed (it is then rebuilt). */
export function readIndex(dir: string, segment: string): SegmentInfo | undefined {
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
  if (raw === null || typeof raw !== "object") return undefined;
  const { first_seq, last_seq, first_prev, last_hash, size_bytes } = raw as { [key: string]: unknown };
  const isUint = (value: unknown): value is number =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  const isHash = (value: unknown): value is Uint8Array =>
    value instanceof Uint8Array && value.length === HASH_SIZE_BYTES;
  if (
    Object.keys(raw).length !== 5 || !isUint(first_seq) || !isUint(last_seq) || last_seq < first_seq ||
    !isHash(first_prev) || !isHash(last_hash) || !isUint(size_bytes) || size_bytes === 0
  ) {
    return undefined;
  }
  return {
    name: segment,
    firstSeq: first_seq,
    count: last_seq - first_seq + 1,
    firstPrev: first_prev,
    lastHash: last_hash,
    sizeBytes: size_bytes,
  };
}

/** Decodes a frame's entry strictly; `AOS_JOURNAL_CORRUPT` at its offset otherwise. */
function decodeFrame(dir: string, segment: string, frame: Frame): JournalEntry {
  try {
    return decodeEntry(frame.payload.slice());
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
 * Reads the first `sizeBytes` of a segment and checks all of it: every frame, CRC, strict decode, dense
 * seqs from `firstSeq` and the chain from `firstPrev`. A torn last frame is returned when `allowTorn`; every
 * other problem is thrown.
 */
function scanSegment(
  dir: string,
  segment: string,
  sizeBytes: number,
  firstSeq: number,
  firstPrev: Uint8Array,
  allowTorn: boolean,
): ScannedSegment {
  const reader = new SegmentFrameReader(`${dir}/${segment}`, sizeBytes);
  let count = 0;
  let lastHash = firstPrev;
  try {
    for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
      const info = { name: segment, firstSeq, count, firstPrev, lastHash, sizeBytes: reader.offset };
      if (isProblem(frame)) {
        if (frame.kind === "torn" && allowTorn) {
          return { info: { ...info, sizeBytes: frame.offset }, torn: frame };
        }
        throw problemError(dir, segment, frame);
      }
      const entry = decodeFrame(dir, segment, frame);
      const problem = linkProblem(firstSeq + count, lastHash, entry);
      if (problem !== undefined) throw corruptAt(dir, segment, frame.offset, problem, entry.seq);
      count++;
      lastHash = entry.hash;
    }
  } finally {
    reader.close();
  }
  return { info: { name: segment, firstSeq, count, firstPrev, lastHash, sizeBytes } };
}

/** A journal directory opened in O(tail): what is known of each segment, and a torn tail if any. */
export interface OpenedSegments {
  segments: SegmentInfo[];
  /** Indexes that were missing or stale and have been rebuilt in memory; the writer stores them. */
  rebuiltIndexes: SegmentInfo[];
  tornTail?: TornTail;
}

function fileSize(dir: string, segment: string): number {
  return Deno.statSync(`${dir}/${segment}`).size;
}

/**
 * Opens a journal directory reading only what it must: each sealed segment's index (or the segment
 * itself when its index is missing or does not match it), and all of the last segment. A torn last frame
 * is returned; every other problem is thrown.
 */
export async function openSegments(dir: string): Promise<OpenedSegments> {
  const names = await listSegments(dir);
  const segments: SegmentInfo[] = [];
  const rebuiltIndexes: SegmentInfo[] = [];
  let nextSeq = 0;
  let prevHash: Uint8Array = ZERO_HASH;
  for (const [position, name] of names.entries()) {
    const sizeBytes = fileSize(dir, name);
    if (position === names.length - 1) {
      const scanned = scanSegment(dir, name, sizeBytes, nextSeq, prevHash, true);
      segments.push(scanned.info);
      if (scanned.torn === undefined) return { segments, rebuiltIndexes };
      const { offset, reason } = scanned.torn;
      return { segments, rebuiltIndexes, tornTail: { segment: name, offset, reason } };
    }
    if (sizeBytes === 0) throw corruptAt(dir, name, 0, "segment is empty but is not the last one");
    let info = readIndex(dir, name);
    if (
      info === undefined || info.sizeBytes !== sizeBytes || info.firstSeq !== nextSeq ||
      !bytesEqual(info.firstPrev, prevHash)
    ) {
      info = scanSegment(dir, name, sizeBytes, nextSeq, prevHash, false).info;
      rebuiltIndexes.push(info);
    }
    segments.push(info);
    nextSeq = info.firstSeq + info.count;
    prevHash = info.lastHash;
  }
  return { segments, rebuiltIndexes };
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

/** A segment that does not hold what the journal knows of it (from its index, or from when it was opened). */
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
 * strict decode, seq, chain) as it is read. `segments` is what the journal knew when the read started.
 * Frames before `fromSeq` in its segment are stepped over by their lengths; the one just before is hashed
 * so the first entry's link is checked too.
 */
export function* readEntries(
  dir: string,
  segments: readonly SegmentInfo[],
  fromSeq: number,
  height: number,
): Generator<JournalEntry, void, undefined> {
  if (fromSeq >= height) return;
  let seq = segments[segmentOf(segments, fromSeq)]!.firstSeq;
  let prev: Uint8Array | undefined;
  for (let position = segmentOf(segments, fromSeq); position < segments.length; position++) {
    const segment = segments[position]!;
    const sealed = position < segments.length - 1;
    invariant(seq === segment.firstSeq, "segments are read one after another");
    prev ??= seq === fromSeq ? segment.firstPrev : undefined;
    const end = segment.firstSeq + segment.count;
    const reader = new SegmentFrameReader(`${dir}/${segment.name}`, segment.sizeBytes);
    try {
      for (; seq < end && seq < height; seq++) {
        const frame = reader.next(seq >= fromSeq - 1);
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
      if (seq >= height) return;
      if (sealed) {
        const extra = reader.next(false);
        if (extra !== undefined) {
          throw indexMismatch(dir, segment, reader.offset, "segment holds more frames than its index");
        }
        if (!bytesEqual(prev!, segment.lastHash)) {
          throw indexMismatch(dir, segment, reader.offset, "segment's last hash differs from its index");
        }
      }
    } finally {
      reader.close();
    }
  }
}

/**
 * The entries from `height - 1` down to 0, lazily: each segment's frame offsets are found by one forward
 * pass over its length headers, then frames are read and checked one at a time from the last. The chain is
 * checked backwards from `lastHash` (each entry must hash to the `prev` of the one after it).
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
    const offsets = frameOffsets(dir, segment, count);
    const file = Deno.openSync(`${dir}/${segment.name}`, { read: true });
    try {
      for (let k = count - 1; k >= 0; k--, seq--) {
        const frame = readFrameAt(file, offsets[k]!, segment.sizeBytes);
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
    } finally {
      file.close();
    }
    if (!bytesEqual(expectedHash, segment.firstPrev)) {
      throw indexMismatch(dir, segment, 0, "segment's first link differs from its index");
    }
  }
  if (seq === -1 && !bytesEqual(expectedHash, ZERO_HASH)) {
    throw corruptAt(
      dir,
      segments[0]!.name,
      0,
      `hash chain broken: prev of seq 0 is ${toHex(expectedHash)}, expected 32 zero bytes`,
      0,
    );
  }
}

/** Offsets of the first `count` frames of a segment, by their length headers. */
function frameOffsets(dir: string, segment: SegmentInfo, count: number): number[] {
  const offsets: number[] = [];
  const reader = new SegmentFrameReader(`${dir}/${segment.name}`, segment.sizeBytes);
  try {
    while (offsets.length < count) {
      const at = reader.offset;
      const frame = reader.next(false);
      if (frame === undefined) {
        throw indexMismatch(dir, segment, at, `segment ends after ${offsets.length} frames`);
      }
      if (isProblem(frame)) throw problemError(dir, segment.name, frame);
      offsets.push(at);
    }
  } finally {
    reader.close();
  }
  return offsets;
}
