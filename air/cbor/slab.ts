/**
 * Small byte strings carved out of shared slabs. Every `ArrayBuffer` this runtime allocates gets a backing
 * store of its own outside the heap, however small: `new Uint8Array(32)` or a `slice` of a few bytes took
 * 0.4–0.6 µs on the 2-core build machine, while a view of a larger buffer (`subarray`) took 0.04–0.07 µs.
 * Bytes made once for every journal entry (its encoding and its hash on append, its copy out of a segment
 * read and its hash on every read) are therefore views of a slab.
 *
 * A view keeps its whole slab alive: a slab's size is the most memory one view kept alone can hold. The
 * default slabs ({@linkcode slabBytes}, 16 KiB) are for bytes that die young or are kept together with the
 * rest of their slab (a journal kept in memory); a {@linkcode ByteSlab} of smaller slabs suits bytes whose
 * parts may be kept one by one (an entry read back, whose body values the kernel may keep).
 *
 * @module
 */

/** Bytes per slab of {@linkcode slabBytes}. */
export const SLAB_SIZE_BYTES = 16 * 1024;

/** Slabs of one size, handed out front to back; a new one when the current one is full. */
export class ByteSlab {
  readonly #size: number;
  readonly #itemMax: number;
  #slab: Uint8Array;
  #used = 0;

  /** Slabs of `size` bytes; byte strings longer than `size / 16` get a buffer of their own. */
  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 16) throw new RangeError(`Invalid slab size "${size}"`);
    this.#size = size;
    this.#itemMax = Math.floor(size / 16);
    this.#slab = new Uint8Array(size);
  }

  /**
   * `length` zero bytes, a view of the current slab when short (a new buffer otherwise). Its `buffer` is the
   * slab's: read it through the view's `byteOffset` and `byteLength`.
   */
  bytes(length: number): Uint8Array {
    if (length > this.#itemMax) return new Uint8Array(length);
    if (this.#used + length > this.#size) {
      // Fresh memory: what the last slab handed out stays with the views of it.
      this.#slab = new Uint8Array(this.#size);
      this.#used = 0;
    }
    const out = this.#slab.subarray(this.#used, this.#used + length);
    this.#used += length;
    return out;
  }

  /** A copy of `source` (see {@linkcode bytes}). */
  copy(source: Uint8Array): Uint8Array {
    const out = this.bytes(source.length);
    out.set(source);
    return out;
  }
}

const shared = new ByteSlab(SLAB_SIZE_BYTES);

/** `length` zero bytes from the shared 16 KiB slabs (see {@linkcode ByteSlab.bytes}). */
export function slabBytes(length: number): Uint8Array {
  return shared.bytes(length);
}

/** A copy of `source` in the shared 16 KiB slabs (see {@linkcode ByteSlab.copy}). */
export function slabCopy(source: Uint8Array): Uint8Array {
  return shared.copy(source);
}
