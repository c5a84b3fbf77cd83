/**
 * LEB128, the variable-length integers of the WASM binary format: the kernel's load-time fuel
 * instrumentation and WASM builder write them, and so does the SHA-256 module's assembler (`air/cbor`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSleb128, encodeUleb128 } from "./leb128.ts";
 *
 * assert.deepEqual(encodeUleb128(624_485), [0xe5, 0x8e, 0x26]);
 * assert.deepEqual(encodeSleb128(-123_456), [0xc0, 0xbb, 0x78]);
 * ```
 *
 * @module
 */

const U32_MAX = 0xffff_ffff;
const I32_MIN = -0x8000_0000;

/** Unsigned LEB128 of an integer in [0, 2^32). */
export function encodeUleb128(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`Cannot encode "${value}" as unsigned LEB128: expected an integer in [0, 2^32)`);
  }
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    out.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  return out;
}

/**
 * Signed LEB128 of an i32. Values in [2^31, 2^32) are taken as their two's-complement i32, so an address
 * or bit mask can be written as an unsigned number.
 */
export function encodeSleb128(value: number): number[] {
  if (!Number.isInteger(value) || value < I32_MIN || value > U32_MAX) {
    throw new RangeError(`Cannot encode "${value}" as signed LEB128: expected an i32 or u32`);
  }
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const low = rest & 0x7f;
    rest >>= 7; // arithmetic shift keeps the sign
    const done = (rest === 0 && (low & 0x40) === 0) || (rest === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return out;
  }
}
