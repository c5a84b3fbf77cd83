/**
 * Streaming reads of one journal segment file (private to `journal/`): frames one after another through a
 * small buffer, and single frames at known offsets. Nothing here holds more than one frame (plus the read
 * buffer) in memory; a problem is returned with the same torn/corrupt classification as
 * {@linkcode scanFrames} over the whole file.
 *
 * @module
 */
import type { Hash } from "node:crypto";
import { assert as invariant, limits } from "../air/mod.ts";
import {
  crc32c,
  type Frame,
  FRAME_HEADER_SIZE_BYTES,
  FRAME_OVERHEAD_SIZE_BYTES,
  type FrameProblem,
  scanFrames,
} from "./frame.ts";

/** Bytes read from a segment at a time. */
const READ_CHUNK_SIZE_BYTES = 1024 * 1024;

/** Reads `length` bytes at `position` of an open file (fewer only at the end of the file). */
export function readAt(file: Deno.FsFile, position: number, into: Uint8Array): number {
  file.seekSync(position, Deno.SeekMode.Start);
  let got = 0;
  while (got < into.length) {
    const n = file.readSync(into.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return got;
}

/**
 * The frames of one segment from `startOffset` up to `endOffset`, read forward through a buffer. `next()`
 * returns a frame (its payload is a view into the buffer, valid until the next call), a problem (after
 * which the reader is done), or undefined at `endOffset`. `checkCrc: false` skips the CRC of frames the
 * caller only steps over; lengths are always checked. With a `hasher`, every byte of the frames returned
 * is fed to it (in large pieces), up to {@linkcode SegmentFrameReader.offset} after `flushHash()`.
 */
export class SegmentFrameReader {
  readonly #file: Deno.FsFile;
  readonly #endOffset: number;
  readonly #entrySizeBytesMax: number;
  #buffer: Uint8Array;
  #view: DataView;
  /** File offset of `#buffer[0]`. */
  #bufferOffset: number;
  /** Valid bytes in `#buffer`. */
  #bufferLength = 0;
  /** File offset of the next frame. */
  #offset: number;
  #done = false;
  readonly #hasher: Hash | undefined;
  /** File offset up to which the frames returned were fed to `#hasher`. */
  #hashedTo: number;

  constructor(
    path: string,
    endOffset: number,
    options: { startOffset?: number; hasher?: Hash; entrySizeBytesMax?: number } = {},
  ) {
    const startOffset = options.startOffset ?? 0;
    const entrySizeBytesMax = options.entrySizeBytesMax ?? limits.journalEntrySizeBytesMax;
    invariant(startOffset >= 0 && startOffset <= endOffset, "a segment is read within its size");
    this.#file = Deno.openSync(path, { read: true });
    this.#endOffset = endOffset;
    this.#entrySizeBytesMax = entrySizeBytesMax;
    this.#buffer = new Uint8Array(Math.min(READ_CHUNK_SIZE_BYTES, Math.max(endOffset - startOffset, 16)));
    this.#view = new DataView(this.#buffer.buffer);
    this.#bufferOffset = startOffset;
    this.#offset = startOffset;
    this.#hasher = options.hasher;
    this.#hashedTo = startOffset;
  }

  /** Feeds the bytes of the frames returned so far to the hasher. */
  flushHash(): void {
    if (this.#hasher === undefined || this.#hashedTo === this.#offset) return;
    const from = this.#hashedTo - this.#bufferOffset;
    invariant(from >= 0, "bytes still to hash are in the buffer");
    this.#hasher.update(this.#buffer.subarray(from, this.#offset - this.#bufferOffset));
    this.#hashedTo = this.#offset;
  }

  /** File offset of the next frame (the end of the last frame returned). */
  get offset(): number {
    return this.#offset;
  }

  /** Makes `size` bytes from `#offset` available in the buffer; false when the file ends first. */
  #fill(size: number): boolean {
    const start = this.#offset - this.#bufferOffset;
    if (start + size <= this.#bufferLength) return true;
    this.flushHash();
    if (size > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(size, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(start, this.#bufferLength));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    } else {
      this.#buffer.copyWithin(0, start, this.#bufferLength);
    }
    this.#bufferLength -= start;
    this.#bufferOffset = this.#offset;
    const want = Math.min(this.#buffer.length, this.#endOffset - this.#bufferOffset) - this.#bufferLength;
    if (want > 0) {
      const got = readAt(
        this.#file,
        this.#bufferOffset + this.#bufferLength,
        this.#buffer.subarray(this.#bufferLength, this.#bufferLength + want),
      );
      this.#bufferLength += got;
    }
    return size <= this.#bufferLength;
  }

  /** The next frame, a problem, or undefined at the end. */
  next(checkCrc = true): Frame | FrameProblem | undefined {
    if (this.#done) return undefined;
    if (this.#offset >= this.#endOffset) {
      this.#done = true;
      return undefined;
    }
    const remaining = this.#endOffset - this.#offset;
    if (remaining < FRAME_HEADER_SIZE_BYTES || !this.#fill(FRAME_HEADER_SIZE_BYTES)) return this.#problem();
    const at = this.#offset - this.#bufferOffset;
    const size = this.#view.getUint32(at, true);
    const frameSize = FRAME_OVERHEAD_SIZE_BYTES + size;
    if (size === 0 || size > this.#entrySizeBytesMax || frameSize > remaining || !this.#fill(frameSize)) {
      return this.#problem();
    }
    const start = this.#offset - this.#bufferOffset;
    const payload = this.#buffer.subarray(
      start + FRAME_HEADER_SIZE_BYTES,
      start + FRAME_HEADER_SIZE_BYTES + size,
    );
    if (checkCrc && this.#view.getUint32(start + FRAME_HEADER_SIZE_BYTES + size, true) !== crc32c(payload)) {
      return this.#problem();
    }
    const frame = { offset: this.#offset, payload };
    this.#offset += frameSize;
    return frame;
  }

  /**
   * Classifies the bad frame at `#offset` exactly as a scan of the whole segment would: the rest of the
   * segment is read (an error path; normally a torn tail of a few bytes) and scanned.
   */
  #problem(): FrameProblem {
    this.#done = true;
    const rest = new Uint8Array(this.#endOffset - this.#offset);
    const got = readAt(this.#file, this.#offset, rest);
    const scan = scanFrames(rest.subarray(0, got), this.#entrySizeBytesMax);
    const problem = scan.problem ?? {
      kind: "corrupt",
      offset: got,
      reason: `segment ends at ${this.#offset + got} bytes, expected ${this.#endOffset}`,
    };
    return { ...problem, offset: this.#offset + problem.offset };
  }

  close(): void {
    this.#file.close();
  }
}

/** True when `value` is a problem rather than a frame. */
export function isProblem(value: Frame | FrameProblem): value is FrameProblem {
  return "kind" in value;
}

/**
 * The frame at `offset` of an open segment file whose frames end at `endOffset`, CRC checked; a problem
 * (always `corrupt`: a frame found earlier cannot be torn) when it is not intact.
 */
export function readFrameAt(file: Deno.FsFile, offset: number, endOffset: number): Frame | FrameProblem {
  const header = new Uint8Array(FRAME_HEADER_SIZE_BYTES);
  const got = readAt(file, offset, header);
  return checkedFrame(
    header,
    got,
    offset,
    endOffset,
    (rest) => readAt(file, offset + FRAME_HEADER_SIZE_BYTES, rest),
  );
}

/**
 * {@linkcode readFrameAt} for a frame inside `range`, the bytes of its segment from offset `rangeOffset`
 * (read at once for many frames): the frame's payload is copied out of it.
 */
export function frameInRange(
  range: Uint8Array,
  rangeOffset: number,
  offset: number,
  endOffset: number,
): Frame | FrameProblem {
  const at = offset - rangeOffset;
  const header = range.subarray(at, at + FRAME_HEADER_SIZE_BYTES);
  return checkedFrame(header, header.length, offset, endOffset, (rest) => {
    const from = range.subarray(at + FRAME_HEADER_SIZE_BYTES, at + FRAME_HEADER_SIZE_BYTES + rest.length);
    rest.set(from);
    return from.length;
  });
}

/** The checks of {@linkcode readFrameAt} on a frame's header (`got` bytes of it), reading the rest by `read`. */
function checkedFrame(
  header: Uint8Array,
  got: number,
  offset: number,
  endOffset: number,
  read: (rest: Uint8Array) => number,
): Frame | FrameProblem {
  const corrupt = (reason: string): FrameProblem => ({ kind: "corrupt", offset, reason });
  if (got < FRAME_HEADER_SIZE_BYTES) return corrupt("segment ends inside a length header");
  const size = (header[0]! | (header[1]! << 8) | (header[2]! << 16) | (header[3]! << 24)) >>> 0;
  if (size === 0 || size > limits.journalEntrySizeBytesMax) return corrupt(`frame length ${size} is invalid`);
  if (offset + FRAME_OVERHEAD_SIZE_BYTES + size > endOffset) {
    return corrupt(`frame length ${size} points past the end of the segment`);
  }
  const rest = new Uint8Array(size + FRAME_OVERHEAD_SIZE_BYTES - FRAME_HEADER_SIZE_BYTES);
  if (read(rest) < rest.length) return corrupt("segment ends inside a frame");
  const payload = rest.subarray(0, size);
  const stored = new DataView(rest.buffer).getUint32(size, true);
  const actual = crc32c(payload);
  if (stored !== actual) {
    return corrupt(`CRC-32C mismatch: stored 0x${hex32(stored)}, computed 0x${hex32(actual)}`);
  }
  return { offset, payload };
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

/** Feeds bytes `from` up to `to` of the file at `path` to `hasher`, a chunk at a time; false if the file is shorter. */
export function hashFileRange(path: string, from: number, to: number, hasher: Hash): boolean {
  const file = Deno.openSync(path, { read: true });
  try {
    const chunk = new Uint8Array(Math.min(READ_CHUNK_SIZE_BYTES, Math.max(to - from, 1)));
    for (let at = from; at < to;) {
      const want = Math.min(chunk.length, to - at);
      const got = readAt(file, at, chunk.subarray(0, want));
      if (got < want) return false;
      hasher.update(chunk.subarray(0, got));
      at += got;
    }
    return true;
  } finally {
    file.close();
  }
}
