/**
 * Canonical CBOR (AIR §4): RFC 8949 core deterministic encoding restricted to integers, byte and text
 * strings, arrays, maps, tag 2000 (dec128), booleans and null — and a strict decoder that accepts only
 * bytes this encoder would produce, so two byte strings never claim one value.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";

import {
  canonicalKeyOrder,
  type CanonicalSink,
  type CborValue,
  DEC128_TAG,
  Dec128Item,
  writeCanonical,
  writeCanonicalLent,
  writeCanonicalWith,
} from "./_canonical_writer.ts";
import { readCanonical } from "./_canonical_reader.ts";

export { type CborValue, DEC128_TAG, Dec128Item };

/**
 * Encodes a value canonically (sorted keys by encoded bytes, shortest forms, definite lengths), with the
 * hot-path writer; byte-identical to `encodeCanonicalReference` (cborg's RFC 8949 options, `cbor_reference.ts`).
 */
export function encodeCanonical(value: CborValue, options: EncodeOptions = {}): Uint8Array {
  return writeCanonical(value, options.inSlab === true);
}

/** Options of {@linkcode encodeCanonical} and {@linkcode encodeCanonicalWith}. */
export interface EncodeOptions {
  /**
   * The bytes as a view of a shared slab when short (`slab.ts`): for bytes made once per journal entry, not
   * for bytes kept one by one among many that die (each would keep its slab alive).
   */
  inSlab?: boolean;
}

export { canonicalKeyOrder, type CanonicalSink };

/**
 * The canonical encodings of `texts`, one after another: the fixed keys (and text values) of a layout, encoded
 * once for {@linkcode CanonicalSink.raw} to write or `CanonicalCursor.skip` to match.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { canonicalTexts, toHex } from "./cbor.ts";
 * strictEqual(toHex(canonicalTexts("kind", "ok")), "646b696e64626f6b");
 * ```
 */
export function canonicalTexts(...texts: string[]): Uint8Array {
  const parts = texts.map((text) => encodeCanonical(text));
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Encodes an item of a known shape piece by piece (see {@linkcode CanonicalSink}): for hot paths that write
 * one record shape many times. The caller orders each map's keys canonically; tests compare the result with
 * {@linkcode encodeCanonical}.
 */
export function encodeCanonicalWith(
  fill: (sink: CanonicalSink) => void,
  options: EncodeOptions = {},
): Uint8Array {
  return writeCanonicalWith(fill, options.inSlab === true);
}

/**
 * {@linkcode encodeCanonicalWith}, but `use` gets a view of the encoder's buffer, valid only while it runs,
 * instead of a copy: for bytes consumed once on the spot. Returns what `use` returns.
 */
export function encodeCanonicalLent<T>(
  fill: (sink: CanonicalSink) => void,
  use: (bytes: Uint8Array) => T,
): T {
  return writeCanonicalLent(fill, use);
}

/** Options for {@linkcode decodeCanonical}. */
export interface DecodeOptions {
  /**
   * Decode maps as `Map` (needed for non-text keys, i.e. typed `map<int,…>`); `"non-text"`: a map whose
   * keys are all text as a plain object, any other as a `Map`.
   */
  useMaps?: boolean | "non-text";
  /**
   * Byte strings as views into the input instead of copies (default false): no allocation of their own, but
   * the input must not change afterwards and stays in memory while any of them does. For a large input
   * decoded into many small byte strings, such as an inbox batch.
   */
  byteViews?: boolean;
}

/**
 * Decodes strictly: rejects non-shortest integers and lengths, indefinite lengths, duplicate or unsorted
 * map keys, floats, tags other than 2000, simple values other than true/false/null, invalid UTF-8 and
 * trailing bytes. The final guard re-encodes the decoded value and demands identical bytes.
 */
export function decodeCanonical(bytes: Uint8Array, options: DecodeOptions = {}): CborValue {
  const useMaps = options.useMaps ?? false;
  return readCanonical(
    bytes,
    useMaps === "non-text" ? "mixed" : useMaps ? "maps" : "objects",
    options.byteViews ?? false,
  );
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX_BYTE[bytes[i]!]!;
  return out;
}

/** The two lowercase hex digits of each byte value. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Bytes of a hex string (even length, 0-9a-f). */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw new AosError("AOS_CBOR_INVALID", `Invalid hex: "${hex.slice(0, 20)}"`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
  }
  return out;
}

/** The value of one hex digit's char code (already checked to be 0-9, a-f or A-F). */
function hexDigit(code: number): number {
  return code <= 0x39 ? code - 0x30 : (code | 0x20) - 0x57;
}

/** Bytewise comparison (the canonical ordering of encoded items). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when both byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
