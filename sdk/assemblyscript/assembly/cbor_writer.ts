/**
 * Canonical CBOR writer (AIR §4.1) for AssemblyScript reducers.
 *
 * The writer produces shortest-form heads and definite lengths by construction. It cannot reorder map
 * entries after the fact, so it checks instead: every map key must sort strictly after the previous key
 * of the same map (bytewise order of the encodings: shorter text keys first, then byte by byte), and
 * every container must receive exactly the number of items its header announced. A mistake aborts at
 * once, pointing at the reducer's own encoder instead of surfacing later as a host-side `bad_output`.
 */
import {
  assertCanonical,
  compareEncoded,
  DEC128_TAG,
  describeKey,
  MAJOR_ARRAY,
  MAJOR_BYTES,
  MAJOR_MAP,
  MAJOR_NEGINT,
  MAJOR_SIMPLE,
  MAJOR_TAG,
  MAJOR_TEXT,
  MAJOR_UINT,
} from "./cbor_reader";

/** An open array or map: how many items it still expects and where its last key sits in the buffer. */
class Frame {
  constructor(
    public isMap: bool,
    // Items still expected; a map of n pairs expects 2n (keys and values alternate, key first).
    public remaining: u64,
  ) {}
  keyStart: i32 = 0;
  previousKeyStart: i32 = -1;
  previousKeyLength: i32 = 0;
}

export class CborWriter {
  private buffer: Uint8Array = new Uint8Array(64);
  private length: i32 = 0;
  private frames: Array<Frame> = [];
  private rootWritten: bool = false;

  writeUint(value: u64): void {
    this.beginItem();
    this.head(MAJOR_UINT, value);
    this.endItem();
  }

  writeInt(value: i64): void {
    this.beginItem();
    // Major 1 encodes -1 - n, i.e. the bitwise complement of n.
    if (value >= 0) this.head(MAJOR_UINT, <u64> value);
    else this.head(MAJOR_NEGINT, <u64> ~value);
    this.endItem();
  }

  writeBool(value: bool): void {
    this.beginItem();
    this.byte(value ? 0xf5 : 0xf4);
    this.endItem();
  }

  writeNull(): void {
    this.beginItem();
    this.byte(0xf6);
    this.endItem();
  }

  writeBytes(value: Uint8Array): void {
    this.beginItem();
    this.head(MAJOR_BYTES, <u64> value.length);
    this.copy(value.dataStart, value.length);
    this.endItem();
  }

  /** Text as UTF-8; a string with a lone surrogate (not valid UTF-8) aborts. */
  writeText(value: string): void {
    const units = value.length;
    const chars = changetype<usize>(value);
    let ascii = true;
    for (let i = 0; i < units; i++) {
      if (load<u16>(chars + (<usize> i << 1)) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // ASCII (keys nearly always are): its UTF-8 is its code units, written in place.
      this.beginItem();
      this.head(MAJOR_TEXT, <u64> units);
      this.reserve(units);
      const at = this.buffer.dataStart + <usize> this.length;
      for (let i = 0; i < units; i++) store<u8>(at + <usize> i, <u8> load<u16>(chars + (<usize> i << 1)));
      this.length += units;
      this.endItem();
      return;
    }
    const utf8 = String.UTF8.encode(value, false, String.UTF8.ErrorMode.ERROR);
    this.beginItem();
    this.head(MAJOR_TEXT, <u64> utf8.byteLength);
    this.copy(changetype<usize>(utf8), utf8.byteLength);
    this.endItem();
  }

  /** A dec128 value: tag 2000 over its 16 BID bytes (AIR §4.3). */
  writeDec128(bits: Uint8Array): void {
    assert(bits.length == 16, "CBOR writer: dec128 needs 16 bytes");
    this.beginItem();
    this.head(MAJOR_TAG, DEC128_TAG);
    this.head(MAJOR_BYTES, 16);
    this.copy(bits.dataStart, 16);
    this.endItem();
  }

  /** Opens an array of `count` items; write exactly that many items next. */
  writeArrayHeader(count: i32): void {
    this.openContainer(false, count);
  }

  /** Opens a map of `count` pairs; write key, value, key, value… in canonical key order. */
  writeMapHeader(count: i32): void {
    this.openContainer(true, count);
  }

  /** Copies one already-encoded item (validated: it must be exactly one canonical item). */
  writeRaw(item: Uint8Array): void {
    assertCanonical(item);
    this.beginItem();
    this.copy(item.dataStart, item.length);
    this.endItem();
  }

  /** The encoded bytes; aborts unless exactly one complete top-level item was written. */
  finish(): Uint8Array {
    assert(this.rootWritten && this.frames.length == 0, "CBOR writer: item incomplete");
    const out = new Uint8Array(this.length);
    memory.copy(out.dataStart, this.buffer.dataStart, <usize> this.length);
    return out;
  }

  private openContainer(isMap: bool, count: i32): void {
    assert(count >= 0, "CBOR writer: negative container size");
    this.beginItem();
    this.head(isMap ? MAJOR_MAP : MAJOR_ARRAY, <u64> count);
    if (count == 0) {
      this.endItem();
    } else {
      this.frames.push(new Frame(isMap, isMap ? <u64> count * 2 : <u64> count));
    }
  }

  private beginItem(): void {
    if (this.frames.length == 0) {
      assert(!this.rootWritten, "CBOR writer: more than one top-level item");
      return;
    }
    const frame = this.frames[this.frames.length - 1];
    if (frame.isMap && frame.remaining % 2 == 0) frame.keyStart = this.length;
  }

  /** Counts a finished item against its container, closing containers that become complete. */
  private endItem(): void {
    while (this.frames.length > 0) {
      const frame = this.frames[this.frames.length - 1];
      if (frame.isMap && frame.remaining % 2 == 0) {
        const keyLength = this.length - frame.keyStart;
        if (frame.previousKeyStart >= 0) {
          const base = this.buffer.dataStart;
          const order = compareEncoded(
            base + <usize> frame.previousKeyStart,
            <usize> frame.previousKeyLength,
            base + <usize> frame.keyStart,
            <usize> keyLength,
          );
          if (order >= 0) {
            abort(
              "CBOR writer: map keys unsorted or duplicated: " +
                describeKey(base + <usize> frame.keyStart, <usize> keyLength) + " written after " +
                describeKey(base + <usize> frame.previousKeyStart, <usize> frame.previousKeyLength) +
                " (write a map's keys in canonical order: shorter first, then bytewise)",
            );
          }
        }
        frame.previousKeyStart = frame.keyStart;
        frame.previousKeyLength = keyLength;
      }
      frame.remaining -= 1;
      if (frame.remaining > 0) return;
      // The container is complete, which completes one item of its parent.
      this.frames.pop();
    }
    this.rootWritten = true;
  }

  /** Writes a head in its shortest form. */
  private head(major: i32, value: u64): void {
    const top = <u32> (major << 5);
    if (value < 24) {
      this.byte(top | <u32> value);
    } else if (value <= 0xff) {
      this.byte(top | 24);
      this.byte(<u32> value);
    } else if (value <= 0xffff) {
      this.byte(top | 25);
      this.bigEndian(value, 2);
    } else if (value <= 0xffffffff) {
      this.byte(top | 26);
      this.bigEndian(value, 4);
    } else {
      this.byte(top | 27);
      this.bigEndian(value, 8);
    }
  }

  private bigEndian(value: u64, byteCount: i32): void {
    for (let i = byteCount - 1; i >= 0; i--) this.byte(<u32> ((value >> (<u64> i * 8)) & 0xff));
  }

  private byte(value: u32): void {
    this.reserve(1);
    store<u8>(this.buffer.dataStart + <usize> this.length, <u8> value);
    this.length += 1;
  }

  private copy(source: usize, count: i32): void {
    this.reserve(count);
    memory.copy(this.buffer.dataStart + <usize> this.length, source, <usize> count);
    this.length += count;
  }

  private reserve(extra: i32): void {
    const needed = this.length + extra;
    assert(needed >= this.length, "CBOR writer: output too large");
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    if (capacity < needed) capacity = needed;
    const grown = new Uint8Array(capacity);
    memory.copy(grown.dataStart, this.buffer.dataStart, <usize> this.length);
    this.buffer = grown;
  }
}
