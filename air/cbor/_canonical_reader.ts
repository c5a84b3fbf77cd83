/**
 * The strict canonical CBOR decoder of the hot path (private to `air/cbor/`). It accepts exactly the bytes
 * the canonical writer produces for the AIR data model — shortest integers and lengths, definite lengths,
 * map keys unique and sorted bytewise by their encodings, valid UTF-8, tag 2000 around 16 bytes only,
 * no floats, no simple values but false/true/null, nothing after the item — and rejects everything else
 * with `AOS_CBOR_INVALID` (malformed) or `AOS_CBOR_NON_CANONICAL` (well-formed but not canonical). The
 * cborg-based decoder (`cbor_reference.ts`) stays as the reference; `cbor_fast_test.ts` compares both on
 * random and mutated inputs.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { type CborValue, DEC128_TAG, Dec128Item } from "./_canonical_writer.ts";

const DEPTH_MAX = 128;
/** Strict UTF-8 that keeps a leading U+FEFF: a text string's content is exact, and a BOM is content. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Longest text tried as plain ASCII before the UTF-8 decoder (short keys and names are the common case). */
const ASCII_FAST_MAX = 64;

/**
 * `n` bytes at `at` as a string when every one is ASCII (which is valid UTF-8 as it is), else undefined. A
 * short text is looked up first among the short texts read before (see {@linkcode SHORT_TEXTS}).
 */
export function asciiText(bytes: Uint8Array, at: number, n: number): string | undefined {
  if (n === 0) return "";
  if (n > SHORT_TEXT_MAX) return newAsciiText(bytes, at, n);
  // The slot by the length and three of the bytes; a text found there is compared whole (and is ASCII).
  const hash = Math.imul(n ^ (bytes[at]! << 8) ^ (bytes[at + (n >> 1)]! << 16), 0x9e3779b1) ^
    Math.imul(bytes[at + n - 1]!, 0x85ebca6b);
  const slot = (hash >>> 22) & (SHORT_TEXTS.length - 1);
  const known = SHORT_TEXTS[slot];
  if (known !== undefined && known.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (known.charCodeAt(i) !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const text = newAsciiText(bytes, at, n);
  if (text !== undefined) SHORT_TEXTS[slot] = text;
  return text;
}

function newAsciiText(bytes: Uint8Array, at: number, n: number): string | undefined {
  // The codes go in a reused array of exactly `n` slots: one string made, not one per character.
  const codes = asciiCodes[n] ??= new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const byte = bytes[at + i]!;
    if (byte >= 0x80) return undefined;
    codes[i] = byte;
  }
  return String.fromCharCode.apply(null, codes);
}
/** Scratch arrays of {@linkcode asciiText}, by length. */
const asciiCodes: number[][] = [];

/** The longest text {@linkcode SHORT_TEXTS} holds: map keys, kinds, names and statuses are shorter. */
const SHORT_TEXT_MAX = 24;

/**
 * Short texts read recently, by a hash of their bytes (a slot holds the last one that hashed there): map keys
 * and names repeat in every entry and body, and making each again was a string per key to allocate and, as a
 * property key, to look up in the engine's string table on every store. A text found here is the same
 * string, so nothing read changes.
 */
const SHORT_TEXTS: Array<string | undefined> = new Array(1024).fill(undefined);

function invalid(detail: string): AosError {
  return new AosError("AOS_CBOR_INVALID", `Invalid CBOR: ${detail}`);
}

function nonCanonical(detail: string, offset: number): AosError {
  return new AosError("AOS_CBOR_NON_CANONICAL", `Non-canonical CBOR: ${detail} at offset ${offset}`);
}

/**
 * How maps decode: every map as a `Map`, every map as a plain object (text keys only), or a plain object
 * when all its keys are text and a `Map` otherwise.
 */
export type MapMode = "maps" | "objects" | "mixed";

/** Keys and values of the maps being read, pushed in pairs (one stack for all depths). */
const pairs: CborValue[] = [];

class Reader {
  at = 0;
  // No DataView: making one for every item decoded (entries, envelopes, states) cost more than reading the
  // few multi-byte heads byte by byte.
  constructor(readonly bytes: Uint8Array, readonly mode: MapMode, readonly byteViews = false) {}

  /** The big-endian u32 at `at` (checked present). */
  u32(at: number): number {
    const b = this.bytes;
    return (b[at]! * 0x100_0000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  }

  need(n: number): void {
    if (this.at + n > this.bytes.length) {
      throw invalid(`unexpected end of input at offset ${this.bytes.length}`);
    }
  }

  /** Reads a head's argument as a number or (above 2^53 - 1) a bigint; demands the shortest form. */
  argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24: {
        this.need(1);
        const n = this.bytes[this.at++]!;
        if (n < 24) throw invalid(`integer encoded with more bytes than needed at offset ${start}`);
        return n;
      }
      case 25: {
        this.need(2);
        const n = (this.bytes[this.at]! << 8) | this.bytes[this.at + 1]!;
        this.at += 2;
        if (n < 0x100) throw invalid(`integer encoded with more bytes than needed at offset ${start}`);
        return n;
      }
      case 26: {
        this.need(4);
        const n = this.u32(this.at);
        this.at += 4;
        if (n < 0x10000) throw invalid(`integer encoded with more bytes than needed at offset ${start}`);
        return n;
      }
      case 27: {
        this.need(8);
        const high = this.u32(this.at);
        const low = this.u32(this.at + 4);
        this.at += 8;
        if (high === 0) throw invalid(`integer encoded with more bytes than needed at offset ${start}`);
        // Below 2^53 (high < 2^21) the number is exact; above, a bigint.
        return high < 0x20_0000 ? high * 0x1_0000_0000 + low : (BigInt(high) << 32n) | BigInt(low);
      }
      case 31:
        throw invalid(`indefinite length at offset ${start}`);
      default:
        throw invalid(`reserved additional information ${info} at offset ${start}`);
    }
  }

  length(info: number, start: number): number {
    const n = this.argument(info, start);
    if (typeof n === "bigint" || n > this.bytes.length) {
      throw invalid(`length ${n} at offset ${start} runs past the end of input`);
    }
    return n;
  }

  /** The next `n` bytes (checked present), consumed: a copy, or a view with `byteViews`. */
  take(n: number): Uint8Array {
    const start = this.at;
    this.at += n;
    return this.byteViews ? this.bytes.subarray(start, this.at) : this.bytes.slice(start, this.at);
  }

  item(depth: number): CborValue {
    if (depth > DEPTH_MAX) throw invalid("nesting too deep");
    const start = this.at;
    this.need(1);
    const initial = this.bytes[this.at++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info, start);
      case 1: {
        const n = this.argument(info, start);
        if (typeof n === "number") {
          return n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
        }
        return -1n - n;
      }
      case 2: {
        const n = this.length(info, start);
        this.need(n);
        return this.take(n);
      }
      case 3: {
        const n = this.length(info, start);
        this.need(n);
        let text: string | undefined;
        if (n <= ASCII_FAST_MAX) text = asciiText(this.bytes, this.at, n);
        if (text !== undefined) {
          this.at += n;
          return text;
        }
        try {
          text = strictUtf8.decode(this.bytes.subarray(this.at, this.at + n));
        } catch (cause) {
          throw new AosError("AOS_CBOR_INVALID", "Invalid CBOR: text string is not valid UTF-8", { cause });
        }
        this.at += n;
        return text;
      }
      case 4: {
        const n = this.length(info, start);
        const out: CborValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.item(depth + 1);
        return out;
      }
      case 5:
        return this.map(this.length(info, start), depth);
      case 6: {
        const tag = this.argument(info, start);
        if (tag !== DEC128_TAG) throw invalid(`tag "${tag}" is not a 16-byte dec128`);
        const content = this.item(depth + 1);
        if (!(content instanceof Uint8Array) || content.length !== 16) {
          throw invalid(`tag "${tag}" is not a 16-byte dec128`);
        }
        return new Dec128Item(content);
      }
      default:
        return this.simple(info, start);
    }
  }

  simple(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25:
      case 26:
      case 27:
        throw invalid("floats are not allowed");
      case 31:
        throw invalid(`unexpected break at offset ${start}`);
      default:
        throw invalid(`simple value ${info} at offset ${start} is not allowed`);
    }
  }

  /**
   * A map: its keys and values go on the shared pair stack (checked unique and sorted by their encodings),
   * then become a plain object or a `Map` as the mode says.
   */
  map(n: number, depth: number): CborValue {
    const base = pairs.length;
    let allText = true;
    let previousStart = -1;
    let previousEnd = -1;
    try {
      for (let i = 0; i < n; i++) {
        const keyStart = this.at;
        const key = this.item(depth + 1);
        const keyEnd = this.at;
        if (previousStart >= 0) {
          const order = compareRanges(this.bytes, previousStart, previousEnd, keyStart, keyEnd);
          if (order === 0) throw invalid(`duplicate map key at offset ${keyStart}`);
          if (order > 0) throw nonCanonical("map keys are not sorted", keyStart);
        }
        previousStart = keyStart;
        previousEnd = keyEnd;
        const value = this.item(depth + 1);
        if (typeof key !== "string") {
          if (this.mode === "objects") throw invalid(`non-string map key at offset ${keyStart}`);
          allText = false;
        }
        pairs.push(key, value);
      }
      if (this.mode === "maps" || !allText) {
        const map = new Map<CborValue, CborValue>();
        for (let j = base; j < pairs.length; j += 2) map.set(pairs[j]!, pairs[j + 1]!);
        return map;
      }
      const object: { [key: string]: CborValue } = {};
      for (let j = base; j < pairs.length; j += 2) setData(object, pairs[j] as string, pairs[j + 1]!);
      return object;
    } finally {
      pairs.length = base;
    }
  }
}

/**
 * Sets a key as an own data property. Plain assignment keeps objects in V8's fast mode; a "__proto__" key
 * goes through defineProperty so it stays data wherever `Object.prototype.__proto__` is an accessor.
 */
function setData(object: { [key: string]: CborValue }, key: string, value: CborValue): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

function compareRanges(
  bytes: Uint8Array,
  aStart: number,
  aEnd: number,
  bStart: number,
  bEnd: number,
): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = bytes[aStart + i]! - bytes[bStart + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/**
 * Decodes one canonical item that must span all of `bytes`; with `byteViews`, byte strings are views into
 * `bytes` instead of copies.
 */
export function readCanonical(bytes: Uint8Array, mode: MapMode, byteViews = false): CborValue {
  const reader = new Reader(bytes, mode, byteViews);
  const value = reader.item(0);
  if (reader.at !== bytes.length) throw invalid(`${bytes.length - reader.at} bytes after the item`);
  return value;
}

/**
 * Reads a canonical item piece by piece, for a decoder of one known layout (the journal's `domain_event`
 * entries): it matches the fixed bytes of the layout and reads each variable item strictly, as
 * {@linkcode readCanonical} would. Whatever does not match is the caller's to decode the general way.
 */
export class CanonicalCursor {
  readonly #reader: Reader;

  /** With `byteViews`, byte strings and {@linkcode take}n bytes are views into `bytes`, not copies. */
  constructor(bytes: Uint8Array, mode: MapMode, byteViews = false) {
    this.#reader = new Reader(bytes, mode, byteViews);
  }

  /** Consumes `literal` when the next bytes are exactly it; false (and nothing consumed) otherwise. */
  skip(literal: Uint8Array): boolean {
    const reader = this.#reader;
    const bytes = reader.bytes;
    const at = reader.at;
    if (at + literal.length > bytes.length) return false;
    for (let i = 0; i < literal.length; i++) if (bytes[at + i] !== literal[i]) return false;
    reader.at = at + literal.length;
    return true;
  }

  /**
   * The element count of the array whose head is next, consumed, read strictly (shortest form, as
   * {@linkcode readCanonical} does; throws otherwise); undefined, nothing consumed, when the next item is no
   * array.
   */
  arrayHeader(): number | undefined {
    const reader = this.#reader;
    const initial = reader.bytes[reader.at];
    if (initial === undefined || initial >> 5 !== 4) return undefined;
    const start = reader.at++;
    return reader.length(initial & 0x1f, start);
  }

  /** The next byte, consumed; undefined at the end. */
  byte(): number | undefined {
    const reader = this.#reader;
    return reader.at < reader.bytes.length ? reader.bytes[reader.at++] : undefined;
  }

  /** The next `n` bytes (copied, or a view with `byteViews`); undefined when fewer are left. */
  take(n: number): Uint8Array | undefined {
    const reader = this.#reader;
    return reader.at + n > reader.bytes.length ? undefined : reader.take(n);
  }

  /**
   * One whole item, strictly (throws as {@linkcode readCanonical} does), nested `depth` levels deep in the
   * item being read (for the nesting limit).
   */
  item(depth: number): CborValue {
    return this.#reader.item(depth);
  }

  /** True when every byte was consumed. */
  get done(): boolean {
    return this.#reader.at === this.#reader.bytes.length;
  }

  /** How many bytes were consumed. */
  get offset(): number {
    return this.#reader.at;
  }
}
