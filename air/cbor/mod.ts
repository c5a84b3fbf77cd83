/**
 * Canonical CBOR (AIR §4) and the hashes built on it (AIR §1): {@linkcode encodeCanonical} writes the
 * deterministic encoding (integers, byte and text strings, arrays, maps with sorted keys, booleans, null
 * and the dec128 tag 2000), {@linkcode decodeCanonical} accepts only bytes that encoder would produce, and
 * {@linkcode hashRefOf} names bytes by their SHA-256 (`sha256:<hex>`).
 *
 * @example Encode, decode and hash a map
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCanonical, encodeCanonical, hashRefOf, toHex } from "./mod.ts";
 *
 * const bytes = encodeCanonical({ b: 1, a: "x" });
 * assert.equal(toHex(bytes), "a261616178616201");
 * assert.deepEqual(decodeCanonical(bytes), { a: "x", b: 1 });
 * assert.match(hashRefOf(bytes), /^sha256:[0-9a-f]{64}$/);
 * ```
 *
 * @module
 */
export {
  bytesEqual,
  canonicalKeyOrder,
  type CanonicalSink,
  canonicalTexts,
  type CborValue,
  compareBytes,
  DEC128_TAG,
  Dec128Item,
  decodeCanonical,
  type DecodeOptions,
  encodeCanonical,
  encodeCanonicalLent,
  encodeCanonicalWith,
  type EncodeOptions,
  fromHex,
  toHex,
} from "./cbor.ts";
export { asciiText, CanonicalCursor, type MapMode } from "./_canonical_reader.ts";
export {
  bytesToHashRef,
  type HashRef,
  hashRefOf,
  hashRefToBytes,
  isHashRef,
  sha256,
  sha256Slab,
} from "./hash.ts";
export { ByteSlab } from "./slab.ts";
