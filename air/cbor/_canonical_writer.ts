/**
 * The canonical CBOR encoder of the hot path (private to `air/cbor/`). It writes exactly what cborg writes
 * with its RFC 8949 deterministic options — shortest integers and lengths, definite lengths, map keys sorted
 * bytewise by their encodings — for the restricted AIR data model only, straight into one reused buffer.
 * cborg builds a token tree and sorts map entries by re-encoding keys, which made a 150-byte journal entry
 * cost about 12 µs; this writer takes about 1 µs. `cbor_writer_test.ts` checks it against cborg on random
 * values, byte for byte.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { slabCopy } from "./slab.ts";

/** The only CBOR tag AIR allows: dec128 as a 16-byte BID payload (AIR §4.3). */
export const DEC128_TAG = 2000;

/** A tag-2000 item: the 16-byte IEEE 754 decimal128 (BID, big-endian) payload. */
export class Dec128Item {
  constructor(readonly bits: Uint8Array) {}
}

/**
 * The generic CBOR data model. Integers are `number` when safe and `bigint` otherwise (both accepted on
 * encode); maps are plain objects (text keys) or `Map` (any comparable keys, as decoded with `useMaps`).
 */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | Dec128Item
  | CborValue[]
  | Map<CborValue, CborValue>
  | { [key: string]: CborValue };

const U64_MAX = (1n << 64n) - 1n;
const DEPTH_MAX = 128;
const KEY_CACHE_MAX = 4_096;
const textEncoder = new TextEncoder();

/** Encoded text keys (a small, fixed vocabulary in practice), bounded. */
const keyCache = new Map<string, Uint8Array>();

function invalid(detail: string): AosError {
  return new AosError("AOS_CBOR_INVALID", `Cannot encode CBOR: ${detail}`);
}

function checkedText(text: string): string {
  // A lone surrogate has no UTF-8 encoding; TextEncoder would silently write U+FFFD instead.
  if (!text.isWellFormed()) throw invalid("text contains a lone surrogate");
  return text;
}

/** A growable byte buffer, reused across calls (encoding never re-enters). */
class Writer {
  bytes = new Uint8Array(4_096);
  view = new DataView(this.bytes.buffer);
  at = 0;

  reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.at));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  head(major: number, n: number): void {
    this.reserve(9);
    const m = major << 5;
    if (n < 24) {
      this.bytes[this.at++] = m | n;
    } else if (n < 0x100) {
      this.bytes[this.at++] = m | 24;
      this.bytes[this.at++] = n;
    } else if (n < 0x10000) {
      this.bytes[this.at++] = m | 25;
      this.view.setUint16(this.at, n);
      this.at += 2;
    } else if (n < 0x1_0000_0000) {
      this.bytes[this.at++] = m | 26;
      this.view.setUint32(this.at, n);
      this.at += 4;
    } else {
      this.bytes[this.at++] = m | 27;
      this.view.setBigUint64(this.at, BigInt(n));
      this.at += 8;
    }
  }

  headBig(major: number, n: bigint): void {
    if (n <= 0xffff_ffffn) {
      this.head(major, Number(n));
      return;
    }
    this.reserve(9);
    this.bytes[this.at++] = (major << 5) | 27;
    this.view.setBigUint64(this.at, n);
    this.at += 8;
  }

  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.reserve(n);
    if (n <= RAW_LOOP_MAX) {
      // A few bytes (keys, small states, text heads) copy faster one by one than through `set`.
      const out = this.bytes;
      const at = this.at;
      for (let i = 0; i < n; i++) out[at + i] = bytes[i]!;
    } else {
      this.bytes.set(bytes, this.at);
    }
    this.at += n;
  }

  text(text: string): void {
    // Short ASCII text (keys, schema names, sources, kinds) is written in place: calling the encoder costs
    // more, and so does looking it up in the key cache (a text built per event, such as an origin's source,
    // is hashed for the lookup: in a step of counter events that was 3% of the time).
    const n = text.length;
    if (n <= ASCII_FAST_MAX) {
      this.reserve(9 + n);
      const headAt = this.at;
      this.head(3, n);
      const bytes = this.bytes;
      let at = this.at;
      let i = 0;
      for (; i < n; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        bytes[at++] = code;
      }
      if (i === n) {
        this.at = at;
        return;
      }
      this.at = headAt; // not ASCII: undo, and take the general path
    }
    const cached = keyCache.get(text);
    if (cached !== undefined) {
      this.raw(cached);
      return;
    }
    const bytes = textEncoder.encode(checkedText(text));
    this.head(3, bytes.length);
    this.raw(bytes);
  }
}

/** Longest byte string {@linkcode Writer.raw} copies in a loop (`set` costs more below about this size). */
const RAW_LOOP_MAX = 16;

/** Longest text the writer and reader try as plain ASCII before using the UTF-8 codec. */
const ASCII_FAST_MAX = 64;

/** The writer the sink writes to: the shared one, or a spare for an encoding inside another (see `busy`). */
let writer = new Writer();
/**
 * Whether the current writer's bytes are in use: an encoding is writing them, or a view of them is lent out
 * (see {@linkcode writeCanonicalLent}). An encoding started then (by a `fill` or a `use`) gets a writer of its
 * own, so it never overwrites the one in progress.
 */
let busy = false;

function encodeInt(w: Writer, value: number): void {
  if (!Number.isSafeInteger(value)) throw invalid(`"${value}" is not a safe integer (no floats)`);
  if (value >= 0) w.head(0, value);
  else w.head(1, -1 - value);
}

function encodeBig(w: Writer, value: bigint): void {
  // AIR integers are 64-bit: u64 for nat/time, i64 for int/duration; CBOR majors 0/1 cover both.
  if (value > U64_MAX || value < -(U64_MAX + 1n)) throw invalid(`integer "${value}" is outside 64 bits`);
  if (value >= 0n) w.headBig(0, value);
  else w.headBig(1, -1n - value);
}

/** The canonical encoding of one item on its own (map keys, which sort by it). */
function encodeAlone(value: CborValue, depth: number): Uint8Array {
  const scratch = new Writer();
  write(scratch, value, depth);
  return scratch.bytes.slice(0, scratch.at);
}

function textKey(key: string): Uint8Array {
  let bytes = keyCache.get(key);
  if (bytes === undefined) {
    const scratch = new Writer();
    scratch.text(key);
    bytes = scratch.bytes.slice(0, scratch.at);
    if (keyCache.size < KEY_CACHE_MAX) keyCache.set(key, bytes);
  }
  return bytes;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function writeEntries(w: Writer, entries: Array<[Uint8Array, CborValue]>, depth: number): void {
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1]![0], entries[i]![0]) === 0) {
      throw invalid(`duplicate map key "${toHexString(entries[i]![0])}"`);
    }
  }
  w.head(5, entries.length);
  for (const [key, value] of entries) {
    w.raw(key);
    write(w, value, depth + 1);
  }
}

function toHexString(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function write(w: Writer, value: CborValue, depth: number): void {
  if (depth > DEPTH_MAX) throw invalid("nesting too deep");
  switch (typeof value) {
    case "number":
      encodeInt(w, value);
      return;
    case "bigint":
      encodeBig(w, value);
      return;
    case "string":
      w.text(value);
      return;
    case "boolean":
      w.reserve(1);
      w.bytes[w.at++] = value ? 0xf5 : 0xf4;
      return;
    case "object":
      break;
    case "undefined":
      throw invalid("undefined is not allowed");
    default:
      throw invalid(`unsupported value of type "${typeof value}"`);
  }
  if (value === null) {
    w.reserve(1);
    w.bytes[w.at++] = 0xf6;
  } else if (value instanceof Uint8Array) {
    w.head(2, value.length);
    w.raw(value);
  } else if (Array.isArray(value)) {
    w.head(4, value.length);
    for (const item of value) {
      if (item === undefined) throw invalid("undefined is not allowed");
      write(w, item, depth + 1);
    }
  } else if (value instanceof Dec128Item) {
    if (!(value.bits instanceof Uint8Array) || value.bits.length !== 16) {
      throw invalid("dec128 needs 16 bytes");
    }
    w.head(6, DEC128_TAG);
    w.head(2, 16);
    w.raw(value.bits);
  } else if (value instanceof Map) {
    const entries: Array<[Uint8Array, CborValue]> = [];
    for (const [key, item] of value) {
      if (key === undefined || item === undefined) throw invalid("undefined is not allowed");
      entries.push([typeof key === "string" ? textKey(key) : encodeAlone(key, depth + 1), item]);
    }
    writeEntries(w, entries, depth);
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    writeObject(w, value as { [key: string]: CborValue }, depth);
  } else {
    throw invalid(`unsupported object "${Object.prototype.toString.call(value)}"`);
  }
}

/**
 * A text-keyed map. Keys sort by their encodings: a shorter UTF-8 key first, then bytewise; for keys whose
 * UTF-8 length equals their UTF-16 length (ASCII, the usual case) that is length, then code-unit order.
 */
function writeObject(w: Writer, object: { [key: string]: CborValue }, depth: number): void {
  // The keys go in a scratch array of this depth (nested objects use the next ones): no array per object.
  const keys = objectKeys[depth] ??= [];
  let present = 0;
  let ascii = true;
  for (const key in object) {
    if (!Object.hasOwn(object, key) || object[key] === undefined) continue;
    keys[present++] = key;
    if (ascii && textKey(key).length - headLength(key.length) !== key.length) ascii = false;
  }
  keys.length = present;
  if (ascii) {
    // Insertion sort, in place: objects have a handful of keys. Shorter first, then code-unit order.
    for (let i = 1; i < present; i++) {
      const key = keys[i]!;
      let j = i - 1;
      while (j >= 0 && compareAsciiKeys(keys[j]!, key) > 0) {
        keys[j + 1] = keys[j]!;
        j--;
      }
      keys[j + 1] = key;
    }
    w.head(5, present);
    for (let i = 0; i < present; i++) {
      const key = keys[i]!;
      w.raw(textKey(key));
      write(w, object[key]!, depth + 1);
    }
    return;
  }
  writeEntries(w, keys.map((key) => [textKey(key), object[key]!]), depth);
}

/** Scratch key arrays of {@linkcode writeObject}, one per nesting depth. */
const objectKeys: string[][] = [];

/**
 * Text map keys in the order a canonical map writes them (bytewise by their encodings: a shorter UTF-8 key
 * first), for a {@linkcode CanonicalSink} caller that writes a map's entries itself. Throws for a duplicate.
 */
export function canonicalKeyOrder(keys: readonly string[]): string[] {
  const sorted = [...keys].sort((a, b) => compareBytes(textKey(checkedText(a)), textKey(checkedText(b))));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1] === sorted[i]) throw invalid(`duplicate map key "${sorted[i]}"`);
  }
  return sorted;
}

function compareAsciiKeys(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}

/**
 * Writes one item piece by piece, for a caller that knows its shape: each map's keys must come in
 * canonical order (shorter encoding first, then bytewise) and its header must count them.
 */
export interface CanonicalSink {
  /** A map header of `entries` keys. */
  map(entries: number): void;
  /** An array header of `items` items. */
  array(items: number): void;
  /** A text string (a key or a value). */
  text(text: string): void;
  /** A byte string. */
  bytes(bytes: Uint8Array): void;
  /** An unsigned integer (a safe `number` or a `bigint` up to 2^64 - 1). */
  uint(n: number | bigint): void;
  /** Any value, canonically. */
  value(value: CborValue): void;
  /**
   * Bytes that are already canonical CBOR, written as they are: the fixed keys (and values) of a layout the
   * caller writes on every call, encoded once (a key written with {@linkcode text} is encoded anew each
   * time). The caller answers for them being canonical and in their place.
   */
  raw(bytes: Uint8Array): void;
}

const sink: CanonicalSink = {
  map: (entries) => writer.head(5, entries),
  array: (items) => writer.head(4, items),
  text: (text) => writer.text(text),
  bytes: (bytes) => {
    writer.head(2, bytes.length);
    writer.raw(bytes);
  },
  uint: (n) => {
    if (typeof n === "bigint" ? n < 0n : n < 0) throw invalid(`"${n}" is not an unsigned integer`);
    if (typeof n === "number") encodeInt(writer, n);
    else encodeBig(writer, n);
  },
  value: (value) => write(writer, value, 1),
  raw: (bytes) => writer.raw(bytes),
};

/**
 * Encodes what `fill` writes to the sink into a fresh `Uint8Array`, or with `inSlab` into a view of a shared
 * slab when short (see `slab.ts`).
 */
export function writeCanonicalWith(fill: (sink: CanonicalSink) => void, inSlab = false): Uint8Array {
  if (busy) {
    // Inside another encoding, or while its bytes are lent: a writer of its own.
    const outer = writer;
    writer = new Writer();
    try {
      fill(sink);
      return written(inSlab);
    } finally {
      writer = outer;
    }
  }
  busy = true;
  writer.at = 0;
  try {
    fill(sink);
    return written(inSlab);
  } finally {
    busy = false;
    rewind();
  }
}

/** A copy of what the writer holds. */
function written(inSlab: boolean): Uint8Array {
  return inSlab ? slabCopy(writer.bytes.subarray(0, writer.at)) : writer.bytes.slice(0, writer.at);
}

/** Readies the shared writer for the next encoding; a huge value must not pin a huge buffer for good. */
function rewind(): void {
  if (writer.bytes.length > 1 << 20) {
    writer.bytes = new Uint8Array(4_096);
    writer.view = new DataView(writer.bytes.buffer);
  }
  writer.at = 0;
}

/**
 * Encodes what `fill` writes and hands `use` a view of the encoder's own buffer instead of a copy: for bytes
 * used once right away (a reducer's input, copied into its memory). The view is valid only during `use`;
 * encoding inside `use` works (on a spare buffer) and leaves it intact.
 */
export function writeCanonicalLent<T>(fill: (sink: CanonicalSink) => void, use: (bytes: Uint8Array) => T): T {
  if (busy) return use(writeCanonicalWith(fill));
  busy = true;
  writer.at = 0;
  try {
    fill(sink);
    return use(writer.bytes.subarray(0, writer.at));
  } finally {
    busy = false;
    rewind();
  }
}

/** Encodes `value` canonically into a fresh `Uint8Array` (with `inSlab`, see {@linkcode writeCanonicalWith}). */
export function writeCanonical(value: CborValue, inSlab = false): Uint8Array {
  return writeCanonicalWith(() => write(writer, value, 0), inSlab);
}
