/**
 * Journal frames (KERNEL §8.1): `u32 LE length | CBOR bytes | u32 LE CRC-32C(CBOR bytes)`, and a scanner
 * that splits a segment into frames and says whether a bad frame is a torn tail or corruption.
 *
 * @module
 */
import CRC32C from "crc-32/crc32c.js";
import { assert as invariant, limits } from "../air/mod.ts";
import type { JournalEntry } from "./entry.ts";

/** Bytes of the length header. */
export const FRAME_HEADER_SIZE_BYTES = 4;
/** Bytes of the CRC trailer. */
export const FRAME_TRAILER_SIZE_BYTES = 4;
/** Header plus trailer: a frame is this much larger than its entry. */
export const FRAME_OVERHEAD_SIZE_BYTES = FRAME_HEADER_SIZE_BYTES + FRAME_TRAILER_SIZE_BYTES;

/**
 * CRC-32C (Castagnoli) of bytes, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32c } from "./frame.ts";
 *
 * assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * ```
 */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

/** The on-disk frame of an entry. */
export function encodeFrame(entry: Pick<JournalEntry, "bytes">): Uint8Array {
  const frame = new Uint8Array(FRAME_OVERHEAD_SIZE_BYTES + entry.bytes.length);
  writeFrame(frame, 0, entry.bytes);
  return frame;
}

/**
 * Writes the frame of entry bytes `bytes` into `target` at `at` (it must have room for
 * `bytes.length + FRAME_OVERHEAD_SIZE_BYTES`); returns the offset after it. Throws `RangeError` for an
 * empty entry or one above `limits.journalEntrySizeBytesMax`.
 */
export function writeFrame(target: Uint8Array, at: number, bytes: Uint8Array): number {
  const size = bytes.length;
  if (size === 0 || size > limits.journalEntrySizeBytesMax) {
    throw new RangeError(
      `Cannot frame entry: size ${size} bytes is outside 1..${limits.journalEntrySizeBytesMax}`,
    );
  }
  putUint32LE(target, at, size);
  target.set(bytes, at + FRAME_HEADER_SIZE_BYTES);
  putUint32LE(target, at + FRAME_HEADER_SIZE_BYTES + size, crc32c(bytes));
  return at + FRAME_OVERHEAD_SIZE_BYTES + size;
}

function putUint32LE(target: Uint8Array, at: number, n: number): void {
  target[at] = n;
  target[at + 1] = n >>> 8;
  target[at + 2] = n >>> 16;
  target[at + 3] = n >>> 24;
}

/** One intact frame found by {@linkcode scanFrames}: CRC checked, CBOR not yet decoded. */
export interface Frame {
  /** Byte offset of the frame (its length header) in the scanned bytes. */
  offset: number;
  /** The entry's CBOR bytes (a view into the scanned bytes). */
  payload: Uint8Array;
}

/**
 * Why scanning stopped early. `torn` is a frame at the very end that an interrupted write explains: a partial
 * header, fewer bytes than the header says, a zero-filled tail, or a CRC mismatch in a frame that ends
 * exactly at the end. `corrupt` is anything else.
 */
export interface FrameProblem {
  kind: "torn" | "corrupt";
  /** Byte offset of the bad frame. */
  offset: number;
  reason: string;
}

/** The frames of one segment, up to the first problem. */
export interface FrameScan {
  frames: Frame[];
  problem?: FrameProblem;
}

/**
 * Splits segment bytes into frames, checking each length and CRC-32C. Stops at the first bad frame and
 * classifies it; the caller decides what a torn frame means (only the last segment may have one).
 */
export function scanFrames(
  bytes: Uint8Array,
  entrySizeBytesMax: number = limits.journalEntrySizeBytesMax,
): FrameScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const problem = checkFrameAt(bytes, view, offset, entrySizeBytesMax);
    if (problem !== undefined) return { frames, problem };
    const size = view.getUint32(offset, true);
    const payload = bytes.subarray(offset + FRAME_HEADER_SIZE_BYTES, offset + FRAME_HEADER_SIZE_BYTES + size);
    frames.push({ offset, payload });
    offset += FRAME_OVERHEAD_SIZE_BYTES + size;
  }
  invariant(offset === bytes.length, "frames cover the scanned bytes exactly");
  return { frames };
}

function checkFrameAt(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  entrySizeBytesMax: number,
): FrameProblem | undefined {
  const remaining = bytes.length - offset;
  const torn = (reason: string): FrameProblem => ({ kind: "torn", offset, reason });
  const corrupt = (reason: string): FrameProblem => ({ kind: "corrupt", offset, reason });
  if (isAllZero(bytes, offset)) return torn(`${remaining} zero bytes where a frame should start`);
  if (remaining < FRAME_HEADER_SIZE_BYTES) {
    return torn(`partial length header: ${remaining} of ${FRAME_HEADER_SIZE_BYTES} bytes`);
  }
  const size = view.getUint32(offset, true);
  // A writer never produces these lengths, so they are damage, not an interrupted write.
  if (size === 0) return corrupt("frame length is 0");
  if (size > entrySizeBytesMax) {
    return corrupt(`frame length ${size} exceeds the entry limit ${entrySizeBytesMax}`);
  }
  const frameSize = FRAME_OVERHEAD_SIZE_BYTES + size;
  if (frameSize > remaining) {
    // A damaged length header mid-segment also points past the end; intact frames after it give it away.
    const next = findIntactFrame(bytes, view, offset + 1, entrySizeBytesMax);
    if (next !== undefined) {
      return corrupt(
        `frame length ${size} points past the end, but an intact frame starts at offset ${next}`,
      );
    }
    return torn(`frame needs ${frameSize} bytes, ${remaining} present`);
  }
  const payload = bytes.subarray(offset + FRAME_HEADER_SIZE_BYTES, offset + FRAME_HEADER_SIZE_BYTES + size);
  const stored = view.getUint32(offset + FRAME_HEADER_SIZE_BYTES + size, true);
  const actual = crc32c(payload);
  if (stored !== actual) {
    const reason = `CRC-32C mismatch: stored ${hex32(stored)}, computed ${hex32(actual)}`;
    return frameSize === remaining ? torn(reason) : corrupt(reason);
  }
  return undefined;
}

// Every entry is a 4-key map whose first key is "seq" (canonical order: shortest key first).
const ENTRY_PREFIX = new Uint8Array([0xa4, 0x63, 0x73, 0x65, 0x71]);

/** Offset of the first intact frame (length in range, CRC correct) at or after `from`, found via the entry prefix. */
function findIntactFrame(
  bytes: Uint8Array,
  view: DataView,
  from: number,
  entrySizeBytesMax: number,
): number | undefined {
  for (let at = from; at + FRAME_OVERHEAD_SIZE_BYTES + ENTRY_PREFIX.length <= bytes.length; at++) {
    if (!ENTRY_PREFIX.every((byte, i) => bytes[at + FRAME_HEADER_SIZE_BYTES + i] === byte)) continue;
    const size = view.getUint32(at, true);
    if (size === 0 || size > entrySizeBytesMax || at + FRAME_OVERHEAD_SIZE_BYTES + size > bytes.length) {
      continue;
    }
    const payload = bytes.subarray(at + FRAME_HEADER_SIZE_BYTES, at + FRAME_HEADER_SIZE_BYTES + size);
    if (view.getUint32(at + FRAME_HEADER_SIZE_BYTES + size, true) === crc32c(payload)) return at;
  }
  return undefined;
}

function isAllZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
