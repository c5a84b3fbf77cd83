/**
 * The reference implementation of canonical CBOR the fast encoder and decoder (`cbor.ts`) are tested
 * against: cborg with its RFC 8949 deterministic options, and a strict cborg decode followed by a
 * re-encoding check. Only tests use it: it is kept out of `cbor.ts` so that no command loads cborg at
 * start (about 25 ms of each one).
 *
 * @module
 */
import {
  decode as cborgDecode,
  encode as cborgEncode,
  rfc8949EncodeOptions,
  Tagged,
  type Token,
  Tokenizer,
  Type,
} from "cborg";
import { AosError } from "../base/mod.ts";
import { type CborValue, DEC128_TAG, Dec128Item, type DecodeOptions, toHex } from "./cbor.ts";

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

function checkedText(text: string): string {
  // A lone surrogate has no UTF-8 encoding; TextEncoder would silently write U+FFFD instead.
  if (!text.isWellFormed()) {
    throw new AosError("AOS_CBOR_INVALID", "Cannot encode CBOR: text contains a lone surrogate");
  }
  return text;
}

function toCborgInput(value: CborValue, depth: number): unknown {
  if (depth > 128) throw new AosError("AOS_CBOR_INVALID", "Cannot encode CBOR: nesting too deep");
  if (typeof value === "string") return checkedText(value);
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new AosError(
        "AOS_CBOR_INVALID",
        `Cannot encode CBOR: "${value}" is not a safe integer (no floats)`,
      );
    }
    return value;
  }
  if (typeof value === "bigint") {
    // AIR integers are 64-bit: u64 for nat/time, i64 for int/duration; CBOR majors 0/1 cover both.
    if (value > U64_MAX || value < -(U64_MAX + 1n)) {
      throw new AosError("AOS_CBOR_INVALID", `Cannot encode CBOR: integer "${value}" is outside 64 bits`);
    }
    return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : value;
  }
  if (value instanceof Uint8Array) return value;
  if (value instanceof Dec128Item) {
    if (value.bits.length !== 16) {
      throw new AosError("AOS_CBOR_INVALID", "Cannot encode CBOR: dec128 needs 16 bytes");
    }
    return new Tagged(DEC128_TAG, value.bits);
  }
  if (Array.isArray(value)) return value.map((item) => toCborgInput(item, depth + 1));
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    const seen = new Set<string>();
    for (const [k, v] of value) {
      const key = toCborgInput(k, depth + 1);
      // `Map` dedupes byte-string keys by identity only; equal encodings would be duplicate CBOR keys.
      if (typeof key === "object" && key !== null) {
        const encoded = toHex(cborgEncode(key, encodeOptions));
        if (seen.has(encoded)) {
          throw new AosError("AOS_CBOR_INVALID", `Cannot encode CBOR: duplicate map key "${encoded}"`);
        }
        seen.add(encoded);
      }
      out.set(key, toCborgInput(v, depth + 1));
    }
    return out;
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item === undefined) continue; // absent optional field
      out[checkedText(key)] = toCborgInput(item, depth + 1);
    }
    return out;
  }
  throw new AosError("AOS_CBOR_INVALID", `Cannot encode CBOR: unsupported value of type "${typeof value}"`);
}

const encodeOptions = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    undefined: () => {
      throw new AosError("AOS_CBOR_INVALID", "Cannot encode CBOR: undefined is not allowed");
    },
  },
};

/**
 * Checks a value the way {@linkcode toCborgInput} does and tells whether it must be converted first
 * (dec128 items, absent fields, maps with byte-string keys). Most values — journal records, envelopes —
 * need no conversion, and copying them dominated the cost of encoding.
 */
function needsConversion(value: CborValue, depth: number): boolean {
  if (depth > 128) throw new AosError("AOS_CBOR_INVALID", "Cannot encode CBOR: nesting too deep");
  switch (typeof value) {
    case "string":
      checkedText(value);
      return false;
    case "boolean":
      return false;
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new AosError(
          "AOS_CBOR_INVALID",
          `Cannot encode CBOR: "${value}" is not a safe integer (no floats)`,
        );
      }
      return false;
    case "bigint":
      if (value > U64_MAX || value < -(U64_MAX + 1n)) {
        throw new AosError("AOS_CBOR_INVALID", `Cannot encode CBOR: integer "${value}" is outside 64 bits`);
      }
      return false;
    case "object": {
      if (value === null || value instanceof Uint8Array) return false;
      if (value instanceof Dec128Item || value instanceof Map) return true;
      let convert = false;
      if (Array.isArray(value)) {
        for (const item of value) convert = needsConversion(item, depth + 1) || convert;
        return convert;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return true; // let toCborgInput decide
      for (const key of Object.keys(value)) {
        const item = value[key];
        if (item === undefined) return true;
        checkedText(key);
        convert = needsConversion(item, depth + 1) || convert;
      }
      return convert;
    }
    default:
      return true;
  }
}

/** The same encoding through cborg: the reference the fast writer is tested against. */
export function encodeCanonicalReference(value: CborValue): Uint8Array {
  const input = needsConversion(value, 0) ? toCborgInput(value, 0) : value;
  return plainBytes(cborgEncode(input, encodeOptions));
}

/** Strict UTF-8 that keeps a leading U+FEFF: a text string's content is exact, and a BOM is content. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * cborg quietly turns a float with an integral value (`f9 3c00`) into a number and invalid UTF-8 into
 * U+FFFD; both would then fail only as "non-canonical". Reject them here with the precise error instead.
 * It also drops a leading U+FEFF from a text string: the text is decoded again here, keeping it.
 */
class StrictTokenizer extends Tokenizer {
  override next(): Token {
    const token = super.next();
    if (Type.equals(token.type, Type.float)) {
      throw new AosError("AOS_CBOR_INVALID", "Invalid CBOR: floats are not allowed");
    }
    if (Type.equals(token.type, Type.string) && token.byteValue !== undefined) {
      try {
        token.value = strictUtf8.decode(token.byteValue);
      } catch (cause) {
        throw new AosError("AOS_CBOR_INVALID", "Invalid CBOR: text string is not valid UTF-8", { cause });
      }
    }
    return token;
  }
}

/** cborg hands out Node `Buffer`s when `process` exists (as under Deno); callers get plain Uint8Arrays. */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fromCborg(value: unknown): CborValue {
  if (value instanceof Tagged) {
    if (value.tag !== DEC128_TAG || !(value.value instanceof Uint8Array) || value.value.length !== 16) {
      throw new AosError("AOS_CBOR_INVALID", `Invalid CBOR: tag "${value.tag}" is not a 16-byte dec128`);
    }
    return new Dec128Item(plainBytes(value.value));
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new AosError("AOS_CBOR_INVALID", "Invalid CBOR: floats are not allowed");
    }
    return value;
  }
  if (typeof value === "bigint") {
    if (value < I64_MIN - (1n << 63n) || value > U64_MAX) {
      throw new AosError("AOS_CBOR_INVALID", "Invalid CBOR: integer outside 64 bits");
    }
    return value;
  }
  if (value instanceof Uint8Array) return plainBytes(value);
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(fromCborg);
  if (value instanceof Map) {
    const out = new Map<CborValue, CborValue>();
    const seenBytes = new Set<string>();
    for (const [k, v] of value) {
      const key = fromCborg(k);
      if (key instanceof Uint8Array) {
        // cborg's duplicate check compares byte-string keys by identity.
        const hex = toHex(key);
        if (seenBytes.has(hex)) {
          throw new AosError("AOS_CBOR_INVALID", `Invalid CBOR: duplicate map key h'${hex}'`);
        }
        seenBytes.add(hex);
      }
      out.set(key, fromCborg(v));
    }
    return out;
  }
  if (typeof value === "object") {
    const out: Record<string, CborValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = fromCborg(v);
    return out;
  }
  throw new AosError("AOS_CBOR_INVALID", `Invalid CBOR: unsupported item "${String(value)}"`);
}

/** Maps whose keys are all text as plain objects (keys kept as data), other maps as `Map`, all the way down. */
function textKeyedAsObjects(value: CborValue): CborValue {
  if (Array.isArray(value)) return value.map(textKeyedAsObjects);
  if (!(value instanceof Map)) return value;
  const entries = [...value].map(([k, v]) => [textKeyedAsObjects(k), textKeyedAsObjects(v)] as const);
  if (!entries.every(([k]) => typeof k === "string")) return new Map(entries);
  const out: { [key: string]: CborValue } = {};
  for (const [k, v] of entries) {
    Object.defineProperty(out, k as string, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** The same strict decoding through cborg plus a re-encoding check: the reference of the fast reader. */
export function decodeCanonicalReference(bytes: Uint8Array, options: DecodeOptions = {}): CborValue {
  let raw: unknown;
  try {
    const cborgOptions = {
      strict: true,
      allowIndefinite: false,
      allowUndefined: false,
      allowInfinity: false,
      allowNaN: false,
      allowBigInt: true,
      rejectDuplicateMapKeys: true,
      retainStringBytes: true,
      useMaps: (options.useMaps ?? false) !== false,
      tags: Tagged.preserve(DEC128_TAG),
    };
    raw = cborgDecode(bytes, { ...cborgOptions, tokenizer: new StrictTokenizer(bytes, cborgOptions) });
  } catch (cause) {
    if (cause instanceof AosError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new AosError("AOS_CBOR_INVALID", `Invalid CBOR: ${message}`, { cause });
  }
  const value = options.useMaps === "non-text" ? textKeyedAsObjects(fromCborg(raw)) : fromCborg(raw);
  let again: Uint8Array;
  try {
    again = encodeCanonicalReference(value);
  } catch (cause) {
    if (cause instanceof AosError) throw cause; // e.g. duplicate byte-string keys, which cborg's Map cannot see
    throw new AosError("AOS_CBOR_NON_CANONICAL", "Non-canonical CBOR: value cannot be re-encoded", { cause });
  }
  if (again.length !== bytes.length || firstDifference(again, bytes) !== bytes.length) {
    const at = firstDifference(again, bytes);
    throw new AosError(
      "AOS_CBOR_NON_CANONICAL",
      `Non-canonical CBOR: bytes differ from the canonical encoding at offset ${at}`,
    );
  }
  return value;
}
