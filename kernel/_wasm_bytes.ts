/**
 * Byte-level helpers for the WebAssembly rewriter of `fuel.ts` (private to `kernel/`): a bounds-checked
 * reader with LEB128 decoding, LEB128 encoders, and a chunked byte sink.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { encodeSleb128, encodeUleb128 } from "../air/mod.ts";

/** Throws the rewriter's one error: `AOS_WASM_INVALID`, located by byte offset. */
export function wasmInvalid(message: string, offset: number): never {
  throw new AosError("AOS_WASM_INVALID", `Cannot instrument wasm module: ${message} (at byte ${offset})`);
}

/** Reads a byte range of a module; every read past `end` fails with `AOS_WASM_INVALID`. */
export class WasmReader {
  readonly bytes: Uint8Array;
  readonly end: number;
  pos: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  /** True when every byte of the range was read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** One byte. */
  byte(): number {
    if (this.pos >= this.end) wasmInvalid("unexpected end of data", this.pos);
    return this.bytes[this.pos++]!;
  }

  /** Skips `count` bytes. */
  skip(count: number): void {
    if (count > this.end - this.pos) {
      wasmInvalid(`${count} bytes expected, ${this.end - this.pos} left`, this.pos);
    }
    this.pos += count;
  }

  /** Unsigned LEB128 of at most 32 bits (at most 5 bytes). */
  u32(): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffff_ffff) wasmInvalid("u32 out of range", start);
        return value;
      }
    }
    return wasmInvalid("u32 longer than 5 bytes", start);
  }

  /** Skips a LEB128 number (signed or unsigned) of at most `maxBytes` bytes. */
  skipLeb(maxBytes: number): void {
    const start = this.pos;
    for (let i = 0; i < maxBytes; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    wasmInvalid(`LEB128 number longer than ${maxBytes} bytes`, start);
  }

  /** A length-prefixed name (bytes kept undecoded). */
  name(): Uint8Array {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    return this.bytes.subarray(start, start + length);
  }
}

/** Unsigned LEB128 of an integer in [0, 2^32). */
export const uleb: (value: number) => number[] = encodeUleb128;

/** Signed LEB128 of an i32. */
export const sleb: (value: number) => number[] = encodeSleb128;

/** Collects output chunks (views into the input are kept, not copied) and joins them once. */
export class ByteSink {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  /** Appends bytes (a `Uint8Array` is kept by reference: do not mutate it afterwards). */
  push(bytes: Uint8Array | readonly number[]): void {
    const chunk = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Bytes appended so far. */
  get length(): number {
    return this.#length;
  }

  /** The appended bytes, in one array. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}
