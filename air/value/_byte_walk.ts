/**
 * Private to `air/value/`: typed values read straight from canonical bytes, without the generic decoded
 * item. {@linkcode conformsBytes} checks a value (a reducer's new state, an emitted event), and
 * {@linkcode valueFromBytes} builds one (a receipt payload, effect params, a plan's input). Both accept only
 * what they can prove in one pass and answer false or undefined for anything else, which then goes through
 * the strict decoder and `valueFromCbor`: those stay the reference, and their errors are the only errors.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { asciiText } from "../cbor/mod.ts";
import { compareTextKeys, type ValuePath, viewType } from "./type_view.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";

const NO_PATH: ValuePath = [];

/** A record type's field names in canonical order, and which are options, for one resolver and depth. */
export interface RecordLayout {
  schemas: SchemaResolver;
  names: string[];
  optional: boolean[];
}

/** Layouts by the record's `fields` object (schemas are not mutated once loaded), then by depth. */
const recordLayouts = new WeakMap<object, Map<number, RecordLayout>>();

/**
 * The layout of a record type's fields at `depth` (the depth its field types are viewed at), computed once;
 * undefined when a field type does not resolve there (the caller then meets the error at that field).
 */
export function recordLayout(
  fields: { [name: string]: TypeExpr },
  schemas: SchemaResolver,
  depth: number,
): RecordLayout | undefined {
  let byDepth = recordLayouts.get(fields);
  const cached = byDepth?.get(depth);
  if (cached !== undefined && cached.schemas === schemas) return cached;
  const names = Object.keys(fields).sort(compareTextKeys);
  let optional: boolean[];
  try {
    optional = names.map((name) => viewType(fields[name]!, schemas, [], depth).kind === "option");
  } catch {
    return undefined;
  }
  const layout = { schemas, names, optional };
  if (byDepth === undefined) recordLayouts.set(fields, byDepth = new Map());
  byDepth.set(depth, layout);
  return layout;
}

/**
 * Whether `bytes` are one canonical item that is a valid value of `type`, read straight from the bytes
 * (no decoded item: a reducer's new state is checked on every step). It accepts only what it can prove in
 * one pass — shortest heads, ASCII text, record keys exactly in canonical order, integers below 2^32, and
 * the types `conforms` accepts except maps — and answers false for anything else, which then goes through
 * the decoder and `valueFromCbor`, so an error is the same to the letter. It must never accept what they
 * refuse (conforms_bytes_test.ts compares them on random and damaged values).
 */
export function conformsBytes(type: TypeExpr, bytes: Uint8Array, schemas: SchemaResolver): boolean {
  const walk = { bytes, at: 0 };
  try {
    return conformsAt(type, walk, schemas, 0) && walk.at === bytes.length;
  } catch (error) {
    if (error instanceof AosError) return false;
    throw error;
  }
}

/** The deepest item {@linkcode conformsBytes} reads (the decoder's own limit is higher). */
const CONFORMS_DEPTH_MAX = 64;

/**
 * The argument of the head at `walk.at` when its major type is `major` and it is in shortest form below
 * 2^32 (consumed), else -1 (nothing consumed that matters: the caller answers false).
 */
function headArgument(walk: { bytes: Uint8Array; at: number }, major: number): number {
  const b = walk.bytes;
  const at = walk.at;
  if (at >= b.length) return -1;
  const initial = b[at]!;
  if (initial >> 5 !== major) return -1;
  const info = initial & 0x1f;
  if (info < 24) {
    walk.at = at + 1;
    return info;
  }
  if (info === 24) {
    if (at + 2 > b.length) return -1;
    const n = b[at + 1]!;
    if (n < 24) return -1;
    walk.at = at + 2;
    return n;
  }
  if (info === 25) {
    if (at + 3 > b.length) return -1;
    const n = (b[at + 1]! << 8) | b[at + 2]!;
    if (n < 0x100) return -1;
    walk.at = at + 3;
    return n;
  }
  if (info === 26) {
    if (at + 5 > b.length) return -1;
    const n = b[at + 1]! * 0x100_0000 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    if (n < 0x10000) return -1;
    walk.at = at + 5;
    return n;
  }
  return -1;
}

function conformsAt(
  type: TypeExpr,
  walk: { bytes: Uint8Array; at: number },
  schemas: SchemaResolver,
  depth: number,
): boolean {
  if (depth > CONFORMS_DEPTH_MAX) return false;
  const view = viewType(type, schemas, NO_PATH, depth);
  const b = walk.bytes;
  switch (view.kind) {
    case "bool": {
      const byte = b[walk.at];
      if (byte !== 0xf4 && byte !== 0xf5) return false;
      walk.at++;
      return true;
    }
    case "unit":
      if (b[walk.at] !== 0xf6) return false;
      walk.at++;
      return true;
    case "nat":
    case "time":
      return headArgument(walk, 0) >= 0;
    case "int":
    case "duration":
      return headArgument(walk, 0) >= 0 || headArgument(walk, 1) >= 0;
    case "bytes":
    case "hash":
    case "uuid": {
      const n = headArgument(walk, 2);
      if (n < 0 || walk.at + n > b.length) return false;
      if ((view.kind === "hash" && n !== 32) || (view.kind === "uuid" && n !== 16)) return false;
      walk.at += n;
      return true;
    }
    case "text": {
      const n = headArgument(walk, 3);
      if (n < 0 || walk.at + n > b.length) return false;
      for (let i = walk.at; i < walk.at + n; i++) if (b[i]! >= 0x80) return false;
      walk.at += n;
      return true;
    }
    case "option":
      if (b[walk.at] === 0xf6) {
        walk.at++;
        return true;
      }
      return conformsAt(view.item, walk, schemas, depth + 1);
    case "list": {
      const n = headArgument(walk, 4);
      if (n < 0 || n > b.length - walk.at) return false;
      for (let i = 0; i < n; i++) if (!conformsAt(view.item, walk, schemas, depth + 1)) return false;
      return true;
    }
    case "record": {
      const n = headArgument(walk, 5);
      if (n < 0 || n > b.length - walk.at) return false;
      const layout = recordLayout(view.fields, schemas, depth + 1);
      if (layout === undefined) return false;
      // Canonical keys come in the layout's order (sorted by encoding): each key is the next field present.
      let next = 0;
      for (let k = 0; k < n; k++) {
        const length = headArgument(walk, 3);
        if (length < 0 || walk.at + length > b.length) return false;
        let field = -1;
        while (next < layout.names.length) {
          const name = layout.names[next]!;
          if (asciiKeyAt(b, walk.at, length, name)) {
            field = next++;
            break;
          }
          if (!layout.optional[next]) return false;
          next++;
        }
        if (field < 0) return false;
        walk.at += length;
        // An absent option is left out, never null (as `conforms` has it).
        if (layout.optional[field] && b[walk.at] === 0xf6) return false;
        if (!conformsAt(view.fields[layout.names[field]!]!, walk, schemas, depth + 1)) return false;
      }
      for (; next < layout.names.length; next++) if (!layout.optional[next]) return false;
      return true;
    }
    case "variant": {
      const tag = variantTagAt(walk, view.tags);
      if (tag === undefined) return false;
      return conformsAt(view.tags[tag]!, walk, schemas, depth + 1);
    }
    default:
      // dec128, set, map: the decoder and valueFromCbor decide.
      return false;
  }
}

/** A variant's head: a map of two entries, then the key `"$tag"`. */
const VARIANT_TAG_HEAD = Uint8Array.of(0xa2, 0x64, 0x24, 0x74, 0x61, 0x67);
/** The key `"$value"`. */
const VARIANT_VALUE_KEY = Uint8Array.of(0x66, 0x24, 0x76, 0x61, 0x6c, 0x75, 0x65);

/** Whether the bytes at `at` are `expected`. */
function bytesAt(b: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > b.length) return false;
  for (let i = 0; i < expected.length; i++) if (b[at + i] !== expected[i]) return false;
  return true;
}

/**
 * The tag of the variant at `walk.at`, one of `tags`, with `walk` moved to its payload:
 * `{"$tag": tag, "$value": payload}`, the keys in canonical order (shorter first). Undefined otherwise.
 */
function variantTagAt(
  walk: { bytes: Uint8Array; at: number },
  tags: { [tag: string]: TypeExpr },
): string | undefined {
  const b = walk.bytes;
  if (!bytesAt(b, walk.at, VARIANT_TAG_HEAD)) return undefined;
  walk.at += VARIANT_TAG_HEAD.length;
  const length = headArgument(walk, 3);
  if (length < 0 || walk.at + length > b.length) return undefined;
  let tag: string | undefined;
  for (const name of tagNames(tags)) {
    if (asciiKeyAt(b, walk.at, length, name)) {
      tag = name;
      break;
    }
  }
  if (tag === undefined) return undefined;
  walk.at += length;
  if (!bytesAt(b, walk.at, VARIANT_VALUE_KEY)) return undefined;
  walk.at += VARIANT_VALUE_KEY.length;
  return tag;
}

/** A variant type's own tag names, by its `tags` object (schemas are not mutated once loaded). */
const variantTagNames = new WeakMap<object, readonly string[]>();

function tagNames(tags: { [tag: string]: TypeExpr }): readonly string[] {
  let names = variantTagNames.get(tags);
  if (names === undefined) {
    names = Object.keys(tags);
    variantTagNames.set(tags, names);
  }
  return names;
}

/** Whether the `length` bytes at `at` are the ASCII `name`. */
function asciiKeyAt(b: Uint8Array, at: number, length: number, name: string): boolean {
  if (name.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0x80 || unit !== b[at + i]) return false;
  }
  return true;
}

/** The `bytes` being read and where. */
interface Walk {
  bytes: Uint8Array;
  at: number;
}

/** Longest text read as plain ASCII first (as the decoder does); longer or other text is decoded as UTF-8. */
const ASCII_FAST_MAX = 64;
/** Strict UTF-8 that keeps a leading U+FEFF, as the decoder reads text. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The `n` bytes at `at` as strict UTF-8, or undefined when they are not. */
function utf8Text(b: Uint8Array, at: number, n: number): string | undefined {
  try {
    return strictUtf8.decode(b.subarray(at, at + n));
  } catch {
    return undefined;
  }
}

const U32 = 0x1_0000_0000n;
const I64_MAX = (1n << 63n) - 1n;

/**
 * The argument of the head at `walk.at` as a bigint when its major type is `major` and it is in shortest
 * form (consumed), else undefined. Heads below 2^32 go through {@linkcode headArgument}.
 */
function bigHeadArgument(walk: Walk, major: number): bigint | undefined {
  const b = walk.bytes;
  const at = walk.at;
  if (at < b.length && b[at] === ((major << 5) | 27)) {
    if (at + 9 > b.length) return undefined;
    const high = b[at + 1]! * 0x100_0000 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    const low = b[at + 5]! * 0x100_0000 + ((b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!);
    // Shortest form: a value that fits in 32 bits has a shorter head.
    if (high === 0) return undefined;
    walk.at = at + 9;
    return BigInt(high) * U32 + BigInt(low);
  }
  const n = headArgument(walk, major);
  return n < 0 ? undefined : BigInt(n);
}

/**
 * The value `decodeTyped(type, bytes, schemas)` returns, read straight from the bytes, or undefined when
 * this walk cannot tell (the caller then decodes the general way, which also gives any error). It reads
 * what typed values mostly are — shortest heads, ASCII text, record keys exactly in canonical order,
 * variants, lists, maps and sets whose keys or elements it sees increase — and leaves dec128, non-ASCII
 * text and anything malformed to the decoder. Byte strings are copied, as the decoder copies them.
 * `typed_roundtrip_test.ts` holds it to the general decoder on random and damaged values.
 */
export function valueFromBytes(
  type: TypeExpr,
  bytes: Uint8Array,
  schemas: SchemaResolver,
): Value | undefined {
  const walk: Walk = { bytes, at: 0 };
  let value: Value | undefined;
  try {
    value = valueAt(type, walk, schemas, 0);
  } catch (error) {
    if (error instanceof AosError) return undefined;
    throw error;
  }
  return walk.at === bytes.length ? value : undefined;
}

function valueAt(type: TypeExpr, walk: Walk, schemas: SchemaResolver, depth: number): Value | undefined {
  if (depth > CONFORMS_DEPTH_MAX) return undefined;
  const view = viewType(type, schemas, NO_PATH, depth);
  const b = walk.bytes;
  switch (view.kind) {
    case "bool": {
      const byte = b[walk.at];
      if (byte !== 0xf4 && byte !== 0xf5) return undefined;
      walk.at++;
      return { kind: "bool", value: byte === 0xf5 };
    }
    case "unit":
      if (b[walk.at] !== 0xf6) return undefined;
      walk.at++;
      return { kind: "unit" };
    case "nat":
    case "time": {
      const n = bigHeadArgument(walk, 0);
      return n === undefined ? undefined : { kind: view.kind, value: n };
    }
    case "int":
    case "duration": {
      const positive = bigHeadArgument(walk, 0);
      if (positive !== undefined) {
        return positive > I64_MAX ? undefined : { kind: view.kind, value: positive };
      }
      const negative = bigHeadArgument(walk, 1);
      // -1 - n, at least -2^63.
      if (negative === undefined || negative > I64_MAX) return undefined;
      return { kind: view.kind, value: -1n - negative };
    }
    case "bytes":
    case "hash":
    case "uuid": {
      const n = headArgument(walk, 2);
      if (n < 0 || walk.at + n > b.length) return undefined;
      if ((view.kind === "hash" && n !== 32) || (view.kind === "uuid" && n !== 16)) return undefined;
      const value = b.slice(walk.at, walk.at + n);
      walk.at += n;
      return { kind: view.kind, value };
    }
    case "text": {
      const n = headArgument(walk, 3);
      if (n < 0 || walk.at + n > b.length) return undefined;
      const value = (n <= ASCII_FAST_MAX ? asciiText(b, walk.at, n) : undefined) ?? utf8Text(b, walk.at, n);
      if (value === undefined) return undefined;
      walk.at += n;
      return { kind: "text", value };
    }
    case "option":
      if (b[walk.at] === 0xf6) {
        walk.at++;
        return { kind: "none" };
      }
      return valueAt(view.item, walk, schemas, depth + 1);
    case "list":
    case "set": {
      const n = headArgument(walk, 4);
      if (n < 0 || n > b.length - walk.at) return undefined;
      const values: Value[] = [];
      let previous = -1;
      let previousEnd = -1;
      for (let i = 0; i < n; i++) {
        const start = walk.at;
        const element = valueAt(view.item, walk, schemas, depth + 1);
        if (element === undefined) return undefined;
        // A set's elements increase strictly by their encodings.
        if (view.kind === "set" && previous >= 0 && !increases(b, previous, previousEnd, start, walk.at)) {
          return undefined;
        }
        previous = start;
        previousEnd = walk.at;
        values.push(element);
      }
      return { kind: view.kind, value: values };
    }
    case "map": {
      const n = headArgument(walk, 5);
      if (n < 0 || n > b.length - walk.at) return undefined;
      const pairs: Array<[Value, Value]> = [];
      let previous = -1;
      let previousEnd = -1;
      for (let i = 0; i < n; i++) {
        const start = walk.at;
        const key = valueAt(view.key, walk, schemas, depth + 1);
        if (key === undefined) return undefined;
        // Keys increase strictly by their encodings (sorted, none repeated).
        if (previous >= 0 && !increases(b, previous, previousEnd, start, walk.at)) return undefined;
        previous = start;
        previousEnd = walk.at;
        const value = valueAt(view.value, walk, schemas, depth + 1);
        if (value === undefined) return undefined;
        pairs.push([key, value]);
      }
      return { kind: "map", value: pairs };
    }
    case "record": {
      const n = headArgument(walk, 5);
      if (n < 0 || n > b.length - walk.at) return undefined;
      const layout = recordLayout(view.fields, schemas, depth + 1);
      if (layout === undefined) return undefined;
      // Canonical keys come in the layout's order (sorted by encoding): each key is the next field present,
      // and a field skipped on the way is an absent option.
      const out = new Map<string, Value>();
      const names = layout.names;
      let next = 0;
      for (let k = 0; k < n; k++) {
        const length = headArgument(walk, 3);
        if (length < 0 || walk.at + length > b.length) return undefined;
        let field = -1;
        while (next < names.length) {
          const name = names[next]!;
          if (asciiKeyAt(b, walk.at, length, name)) {
            field = next++;
            break;
          }
          if (!layout.optional[next]) return undefined;
          out.set(name, { kind: "none" });
          next++;
        }
        if (field < 0) return undefined;
        walk.at += length;
        // An absent option is left out, never null.
        if (layout.optional[field] && b[walk.at] === 0xf6) return undefined;
        const name = names[field]!;
        const value = valueAt(view.fields[name]!, walk, schemas, depth + 1);
        if (value === undefined) return undefined;
        out.set(name, value);
      }
      for (; next < names.length; next++) {
        if (!layout.optional[next]) return undefined;
        out.set(names[next]!, { kind: "none" });
      }
      return { kind: "record", value: out };
    }
    case "variant": {
      const tag = variantTagAt(walk, view.tags);
      if (tag === undefined) return undefined;
      const payload = valueAt(view.tags[tag]!, walk, schemas, depth + 1);
      if (payload === undefined) return undefined;
      return {
        kind: "record",
        value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", payload]]),
      };
    }
    default:
      // dec128: the decoder and valueFromCbor decide.
      return undefined;
  }
}

/** Whether the encoding at `start..end` of `b` is bytewise greater than the one at `previous..previousEnd`. */
function increases(
  b: Uint8Array,
  previous: number,
  previousEnd: number,
  start: number,
  end: number,
): boolean {
  const n = Math.min(previousEnd - previous, end - start);
  for (let i = 0; i < n; i++) {
    const x = b[previous + i]!;
    const y = b[start + i]!;
    if (x !== y) return y > x;
  }
  return end - start > previousEnd - previous;
}
