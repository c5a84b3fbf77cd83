/**
 * Strict canonical CBOR reader (AIR §4.2) for AssemblyScript reducers.
 *
 * A reader validates its whole input once, when it is created: exactly one item, shortest-form heads,
 * definite lengths, valid UTF-8, map keys strictly increasing in bytewise order of their encodings, no
 * floats, no simple values other than false/true/null, no tag other than 2000 (dec128). Anything else
 * aborts, which the host turns into a trap. After that, the typed `read*` calls only have to check that
 * the next item has the kind the caller expects, and a reducer can walk maps in any way it likes knowing
 * that the bytes were canonical.
 */

/** CBOR major types, as returned by {@link CborReader.peekMajor}. */
export const MAJOR_UINT: i32 = 0;
export const MAJOR_NEGINT: i32 = 1;
export const MAJOR_BYTES: i32 = 2;
export const MAJOR_TEXT: i32 = 3;
export const MAJOR_ARRAY: i32 = 4;
export const MAJOR_MAP: i32 = 5;
export const MAJOR_TAG: i32 = 6;
export const MAJOR_SIMPLE: i32 = 7;

/** The only tag AIR allows: a 16-byte IEEE 754 decimal128 payload (AIR §4.3). */
export const DEC128_TAG: u64 = 2000;

/** Nesting bound for validation; AIR values are shallow and the wasm stack is small. */
export const MAX_DEPTH: i32 = 64;

const SIMPLE_FALSE: u64 = 20;
const SIMPLE_TRUE: u64 = 21;
const SIMPLE_NULL: u64 = 22;
const I64_MAX: u64 = 0x7fffffffffffffff;

export class CborReader {
  private pos: usize;
  private end: usize;
  // Keeps the source array reachable for runtimes that collect garbage (the stub runtime never does).
  private owner: Uint8Array | null = null;
  // Argument of the head read last by `head()`.
  private arg: u64 = 0;
  // False for a reader made by `fixedLayout`: nothing was validated up front, so text is checked when read.
  private validated: bool = true;

  /**
   * Reads `length` bytes of linear memory at `start`; aborts unless they hold one canonical item.
   * (`validate` false is `fixedLayout`'s: call that instead.)
   */
  constructor(start: usize, length: usize, validate: bool = true) {
    assert(start + length >= start, "CBOR: range wraps around memory");
    this.pos = start;
    this.end = start + length;
    this.validated = validate;
    if (validate) {
      this.skipItem(0);
      assert(this.pos == this.end, "CBOR: trailing bytes after the item");
      this.pos = start;
    }
  }

  /**
   * A reader that validates as it reads instead of up front, for a caller that reads every item of a layout
   * it fixes in advance, item by item, and ends with `expectEnd` (the SDK's `decodeInput` reads the input
   * envelope this way). Then nothing goes unchecked: every head is checked for shortest form and bounds as
   * it is read, text for UTF-8 (`readText`) or for equality with an expected key (`expectKey`), map keys
   * for their one order by reading them in that order, and the end for trailing bytes. What such a caller
   * skips or peeks at is validated as usual (`skip`, `readRaw`), but nested maps read with
   * `readMapHeader` and keys read with `readText` are not checked for key order: use the validating
   * constructor (or `of`) for anything else.
   */
  static fixedLayout(start: usize, length: usize): CborReader {
    return new CborReader(start, length, false);
  }

  /** A reader over a byte array (for example the `state` or `event.value` of an envelope). */
  static of(bytes: Uint8Array): CborReader {
    const reader = new CborReader(bytes.dataStart, <usize> bytes.length);
    reader.owner = bytes;
    return reader;
  }

  /** True once the single top-level item has been read completely. */
  atEnd(): bool {
    return this.pos == this.end;
  }

  /** Aborts unless the whole input has been read. */
  expectEnd(): void {
    assert(this.pos == this.end, "CBOR: item not fully read");
  }

  /** The major type of the next item without consuming it. */
  peekMajor(): i32 {
    assert(this.pos < this.end, "CBOR: unexpected end of input");
    return <i32> (load<u8>(this.pos) >> 5);
  }

  /** True when the next item is null (not consumed). */
  peekNull(): bool {
    assert(this.pos < this.end, "CBOR: unexpected end of input");
    return load<u8>(this.pos) == 0xf6;
  }

  readNull(): void {
    assert(this.head() == MAJOR_SIMPLE && this.arg == SIMPLE_NULL, "CBOR: expected null");
  }

  readBool(): bool {
    assert(this.head() == MAJOR_SIMPLE, "CBOR: expected a boolean");
    assert(this.arg == SIMPLE_FALSE || this.arg == SIMPLE_TRUE, "CBOR: expected a boolean");
    return this.arg == SIMPLE_TRUE;
  }

  /** An unsigned integer (major 0): AIR `nat` and `time`. */
  readUint(): u64 {
    assert(this.head() == MAJOR_UINT, "CBOR: expected an unsigned integer");
    return this.arg;
  }

  /** A signed 64-bit integer (major 0 or 1): AIR `int` and `duration`. */
  readInt(): i64 {
    const major = this.head();
    assert(major == MAJOR_UINT || major == MAJOR_NEGINT, "CBOR: expected an integer");
    assert(this.arg <= I64_MAX, "CBOR: integer outside the signed 64-bit range");
    // Major 1 encodes -1 - n, i.e. the bitwise complement of n.
    return major == MAJOR_UINT ? <i64> this.arg : ~(<i64> this.arg);
  }

  /** A byte string, copied out. */
  readBytes(): Uint8Array {
    assert(this.head() == MAJOR_BYTES, "CBOR: expected a byte string");
    return this.takeBytes(<usize> this.arg);
  }

  /** A text string (its UTF-8 was validated when the reader was created, or is now by `fixedLayout`). */
  readText(): string {
    assert(this.head() == MAJOR_TEXT, "CBOR: expected a text string");
    const length = <usize> this.arg;
    if (!this.validated) assert(isValidUtf8(this.pos, length), "CBOR: invalid UTF-8 in text");
    const text = String.UTF8.decodeUnsafe(this.pos, length);
    this.pos += length;
    return text;
  }

  /** The header of an array; returns its element count. */
  readArrayHeader(): i32 {
    assert(this.head() == MAJOR_ARRAY, "CBOR: expected an array");
    return <i32> this.arg;
  }

  /** The header of a map; returns its number of key/value pairs. */
  readMapHeader(): i32 {
    assert(this.head() == MAJOR_MAP, "CBOR: expected a map");
    return <i32> this.arg;
  }

  /** The header of a map that must have exactly `count` pairs (a record without option fields). */
  expectMapHeader(count: i32): void {
    assert(this.readMapHeader() == count, "CBOR: map has an unexpected number of entries");
  }

  /** A text map key that must equal `name` (read record fields in canonical key order). */
  expectKey(name: string): void {
    assert(this.head() == MAJOR_TEXT, "CBOR: expected a text string");
    assert(this.textEquals(name), "CBOR: unexpected map key");
  }

  /** True when the next item is the text `name` (not consumed); for optional record fields. */
  peekKey(name: string): bool {
    if (this.peekMajor() != MAJOR_TEXT) return false;
    const saved = this.pos;
    this.head();
    const matches = this.textEquals(name);
    this.pos = saved;
    return matches;
  }

  /**
   * Consumes the text whose head was just read and tells whether it is `name`, comparing its bytes in
   * place: a text as long in bytes as `name` in UTF-16 units equals it only if `name` is ASCII (any other
   * character takes more bytes in UTF-8) and the bytes are its code units; a longer one is decoded.
   */
  private textEquals(name: string): bool {
    const length = <usize> this.arg;
    const start = this.pos;
    this.pos += length;
    const units = <usize> name.length;
    if (length == units) {
      const chars = changetype<usize>(name);
      for (let i: usize = 0; i < units; i++) {
        const unit = <u32> load<u16>(chars + (i << 1));
        if (unit >= 0x80 || unit != <u32> load<u8>(start + i)) return false;
      }
      return true;
    }
    // UTF-8 never takes fewer bytes than UTF-16 units.
    if (length < units) return false;
    if (!this.validated && !isValidUtf8(start, length)) return false;
    return String.UTF8.decodeUnsafe(start, length) == name;
  }

  /** A dec128 (tag 2000 + 16-byte string); returns the 16 BID bytes. */
  readDec128(): Uint8Array {
    assert(this.head() == MAJOR_TAG && this.arg == DEC128_TAG, "CBOR: expected a dec128");
    assert(this.head() == MAJOR_BYTES && this.arg == 16, "CBOR: dec128 needs 16 bytes");
    return this.takeBytes(16);
  }

  /** The encoded bytes of the next item, whatever it is (to embed or forward it unchanged). */
  readRaw(): Uint8Array {
    const start = this.pos;
    this.skipItem(0);
    const length = this.pos - start;
    this.pos = start;
    return this.takeBytes(length);
  }

  /** Skips the next item. */
  skip(): void {
    this.skipItem(0);
  }

  private takeBytes(length: usize): Uint8Array {
    assert(length <= this.end - this.pos, "CBOR: string runs past the end");
    const out = new Uint8Array(<i32> length);
    memory.copy(out.dataStart, this.pos, length);
    this.pos += length;
    return out;
  }

  private byte(): u64 {
    assert(this.pos < this.end, "CBOR: unexpected end of input");
    const value = load<u8>(this.pos);
    this.pos += 1;
    return <u64> value;
  }

  /**
   * Reads one head, stores its argument in `arg` and returns the major type. Rejects non-shortest
   * arguments, indefinite lengths, reserved encodings, floats and simple values other than
   * false/true/null, and lengths that cannot fit in what is left of the input.
   */
  private head(): i32 {
    const initial = this.byte();
    const major = <i32> (initial >> 5);
    const info = initial & 31;
    let arg: u64 = 0;
    if (info < 24) {
      arg = info;
    } else if (info == 24) {
      arg = this.byte();
      assert(arg >= 24, "CBOR: non-shortest integer or length");
    } else if (info == 25) {
      arg = (this.byte() << 8) | this.byte();
      assert(arg > 0xff, "CBOR: non-shortest integer or length");
    } else if (info == 26) {
      for (let i = 0; i < 4; i++) arg = (arg << 8) | this.byte();
      assert(arg > 0xffff, "CBOR: non-shortest integer or length");
    } else if (info == 27) {
      for (let i = 0; i < 8; i++) arg = (arg << 8) | this.byte();
      assert(arg > 0xffffffff, "CBOR: non-shortest integer or length");
    } else {
      // 28–30 are reserved, 31 is an indefinite length or "break".
      abort("CBOR: reserved or indefinite-length encoding");
    }
    if (major == MAJOR_SIMPLE) {
      // Only the one-byte false/true/null; info 24..27 would be other simple values or floats.
      assert(info >= SIMPLE_FALSE && info <= SIMPLE_NULL, "CBOR: float or unsupported simple value");
    }
    if (major == MAJOR_BYTES || major == MAJOR_TEXT) {
      assert(arg <= <u64> (this.end - this.pos), "CBOR: string runs past the end");
    } else if (major == MAJOR_ARRAY || major == MAJOR_MAP) {
      // Every item takes at least one byte, which also bounds the loops below.
      assert(arg <= <u64> (this.end - this.pos), "CBOR: container longer than the input");
    }
    this.arg = arg;
    return major;
  }

  /** Validates and skips one item (see the class comment for what is checked). */
  private skipItem(depth: i32): void {
    assert(depth <= MAX_DEPTH, "CBOR: nesting too deep");
    const major = this.head();
    const arg = this.arg;
    if (major == MAJOR_BYTES) {
      this.pos += <usize> arg;
    } else if (major == MAJOR_TEXT) {
      assert(isValidUtf8(this.pos, <usize> arg), "CBOR: invalid UTF-8 in text");
      this.pos += <usize> arg;
    } else if (major == MAJOR_ARRAY) {
      for (let i: u64 = 0; i < arg; i++) this.skipItem(depth + 1);
    } else if (major == MAJOR_MAP) {
      let previousStart: usize = 0;
      let previousLength: usize = 0;
      for (let i: u64 = 0; i < arg; i++) {
        const keyStart = this.pos;
        this.skipItem(depth + 1);
        const keyLength = this.pos - keyStart;
        if (i > 0) {
          assert(
            compareEncoded(previousStart, previousLength, keyStart, keyLength) < 0,
            "CBOR: map keys unsorted or duplicated",
          );
        }
        previousStart = keyStart;
        previousLength = keyLength;
        this.skipItem(depth + 1);
      }
    } else if (major == MAJOR_TAG) {
      assert(arg == DEC128_TAG, "CBOR: tag other than 2000 (dec128)");
      assert(this.head() == MAJOR_BYTES && this.arg == 16, "CBOR: dec128 needs 16 bytes");
      this.pos += 16;
    }
    // Integers and false/true/null carry everything in their head.
  }
}

/** Bytewise order of two encoded items (a proper prefix sorts first): the canonical key order. */
export function compareEncoded(a: usize, aLength: usize, b: usize, bLength: usize): i32 {
  const common = aLength < bLength ? aLength : bLength;
  const order = memory.compare(a, b, common);
  if (order != 0) return order;
  if (aLength == bLength) return 0;
  return aLength < bLength ? -1 : 1;
}

/**
 * A map key for an error message: a text key as `"name"` (its UTF-8 decoded), any other key by its major
 * type. `start`/`length` span the key's whole encoding (head and payload).
 */
export function describeKey(start: usize, length: usize): string {
  if (length == 0) return "an empty key";
  const first = <u32> load<u8>(start);
  if ((first >> 5) != <u32> MAJOR_TEXT) return "a key of major type " + (first >> 5).toString();
  const info = first & 0x1f;
  const head: usize = info < 24 ? 1 : info == 24 ? 2 : info == 25 ? 3 : info == 26 ? 5 : 9;
  if (head > length) return "a truncated text key";
  return '"' + String.UTF8.decodeUnsafe(start + head, length - head) + '"';
}

/** True when `bytes` hold exactly one canonical CBOR item. Aborts otherwise (there is no "false"). */
export function assertCanonical(bytes: Uint8Array): void {
  CborReader.of(bytes);
}

/** UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
function isValidUtf8(start: usize, length: usize): bool {
  let p = start;
  const end = start + length;
  while (p < end) {
    const b0 = <u32> load<u8>(p);
    if (b0 < 0x80) {
      p += 1;
      continue;
    }
    let need: usize = 0;
    let low: u32 = 0x80;
    let high: u32 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 == 0xe0) low = 0xa0; // overlong
      if (b0 == 0xed) high = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 == 0xf0) low = 0x90; // overlong
      if (b0 == 0xf4) high = 0x8f; // above U+10FFFF
    } else {
      return false;
    }
    if (end - p <= need) return false;
    // Only the first continuation byte has a narrowed range; the rest are plain 0x80..0xbf.
    const b1 = <u32> load<u8>(p + 1);
    if (b1 < low || b1 > high) return false;
    for (let i: usize = 2; i <= need; i++) {
      const b = <u32> load<u8>(p + i);
      if (b < 0x80 || b > 0xbf) return false;
    }
    p += need + 1;
  }
  return true;
}
