/**
 * Small byte strings carved out of shared slabs. Every `ArrayBuffer` this runtime allocates gets a backing
 * store of its own outside the heap, however small: `new Uint8Array(32)` or a `slice` of a few bytes took
 * 0.4–0.6 µs on the 2-core build machine, while a view of a larger buffer (`subarray`) took 0.04–0.07 µs.
 * Bytes made once for every journal entry (its encoding and its hash, on append and on every read) are
 * therefore views of a slab.
 *
 * A view keeps its whole slab alive. Use slabs only for bytes that either die young or are kept together with
 * the rest of their slab (a journal kept in memory): never for bytes kept one by one among many that die
 * (a reducer's state, an intent hash), which would each pin a slab.
 *
 * @module
 */

/** Bytes per slab. */
export const SLAB_SIZE_BYTES = 16 * 1024;

/** Longer byte strings get a buffer of their own: a slab holds at least 16 of the longest. */
export const SLAB_ITEM_SIZE_BYTES_MAX = 1024;

let slab = new Uint8Array(SLAB_SIZE_BYTES);
let used = 0;

/**
 * `length` zero bytes, a view of the current slab when short (a new buffer otherwise). Its `buffer` is the
 * slab's: read it through the view's `byteOffset` and `byteLength`.
 */
export function slabBytes(length: number): Uint8Array {
  if (length > SLAB_ITEM_SIZE_BYTES_MAX) return new Uint8Array(length);
  if (used + length > SLAB_SIZE_BYTES) {
    // Fresh memory: what the last slab handed out stays with the views of it.
    slab = new Uint8Array(SLAB_SIZE_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  used += length;
  return out;
}

/** A copy of `source` (see {@linkcode slabBytes}). */
export function slabCopy(source: Uint8Array): Uint8Array {
  const out = slabBytes(source.length);
  out.set(source);
  return out;
}
