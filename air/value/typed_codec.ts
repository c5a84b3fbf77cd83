/**
 * Schema-directed canonical CBOR (AIR §2, §4.2): the typed encoder and decoder for payloads (state,
 * events, effect params, receipts, plan input and output), and zero values (AIR §9.5).
 *
 * Error codes: a value or item of the wrong shape (kind, range, length, missing or extra field, unknown
 * tag) is `AOS_TYPE_MISMATCH`; a value whose encoding is not the canonical one (unsorted or duplicate set
 * elements, unsorted map keys, a none option field written as null, a non-normalized dec128) is
 * `AOS_CBOR_NON_CANONICAL`; an unknown `ref` is `AOS_SCHEMA_UNKNOWN`; a malformed type, an invalid
 * `option`/`map`/`set` element type or nesting beyond `limits.nestingDepthMax` is `AOS_AIR_INVALID`.
 * Every error carries the JSON path of the offending value in `context.path`.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import {
  bytesEqual,
  type CborValue,
  compareBytes,
  Dec128Item,
  decodeCanonical,
  encodeCanonical,
  toHex,
} from "../cbor/mod.ts";
import { dec128FromBits, dec128ToBits, formatDec128, parseDec128 } from "./dec128.ts";
import {
  airInvalid,
  checkIntegerRange,
  compareTextKeys,
  dec128AtPath,
  hasOwn,
  nonCanonical,
  pathAt,
  typeMismatch,
  type ValuePath,
  viewType,
  withPathOnError,
} from "./type_view.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";
import { conformsBytes, recordLayout, valueFromBytes } from "./_byte_walk.ts";
import { typedBytes } from "./_typed_write.ts";

export { conformsBytes };

function describe(value: Value): string {
  return `got ${value.kind}`;
}

/** The typed CBOR item of `value` (AIR §2 table). Set elements are sorted and deduplicated. */
export function valueToCbor(
  type: TypeExpr,
  value: Value,
  schemas: SchemaResolver,
  path: ValuePath = [],
  depth = 0,
): CborValue {
  return withPathOnError(path, (at) => toCbor(type, value, schemas, at, depth));
}

function toCbor(
  type: TypeExpr,
  value: Value,
  schemas: SchemaResolver,
  path: ValuePath,
  depth: number,
): CborValue {
  const view = viewType(type, schemas, path, depth);
  switch (view.kind) {
    case "bool":
    case "text":
    case "bytes":
      if (value.kind !== view.kind) {
        throw typeMismatch(path, view.kind, `expected a ${view.kind} value, ${describe(value)}`);
      }
      if (value.kind === "text" && !value.value.isWellFormed()) {
        throw typeMismatch(path, "text", "contains a lone surrogate (not encodable as UTF-8)");
      }
      return value.value;
    case "int":
    case "nat":
    case "time":
    case "duration":
      if (value.kind !== view.kind) {
        throw typeMismatch(path, view.kind, `expected a ${view.kind} value, ${describe(value)}`);
      }
      return checkIntegerRange(value.value, view.kind, path);
    case "dec128": {
      if (value.kind !== "dec128") {
        throw typeMismatch(path, "dec128", `expected a dec128 value, ${describe(value)}`);
      }
      return new Dec128Item(dec128ToBits(dec128AtPath(path, () => parseDec128(value.value))));
    }
    case "hash":
    case "uuid": {
      if (value.kind !== view.kind) {
        throw typeMismatch(path, view.kind, `expected a ${view.kind} value, ${describe(value)}`);
      }
      const size = view.kind === "hash" ? 32 : 16;
      if (value.value.length !== size) {
        throw typeMismatch(path, view.kind, `expected ${size} bytes, got ${value.value.length}`);
      }
      return value.value;
    }
    case "unit":
      if (value.kind !== "unit") throw typeMismatch(path, "unit", `expected unit, ${describe(value)}`);
      return null;
    case "option":
      return value.kind === "none" ? null : toCbor(view.item, value, schemas, path, depth + 1);
    case "list":
    case "set": {
      if (value.kind !== view.kind) {
        throw typeMismatch(path, view.kind, `expected a ${view.kind} value, ${describe(value)}`);
      }
      const items = value.value.map((item, i) =>
        toCbor(view.item, item, schemas, pathAt(path, i), depth + 1)
      );
      return view.kind === "list" ? items : sortedUnique(items);
    }
    case "map": {
      if (value.kind !== "map") throw typeMismatch(path, "map", `expected a map value, ${describe(value)}`);
      const out = new Map<CborValue, CborValue>();
      const seen = new Set<string>();
      value.value.forEach(([k, v], i) => {
        const segment = k.kind === "text" ? k.value : i;
        const key = toCbor(view.key, k, schemas, pathAt(path, segment), depth + 1);
        const encoded = toHex(encodeCanonical(key));
        if (seen.has(encoded)) throw typeMismatch(pathAt(path, segment), "map", "duplicate key");
        seen.add(encoded);
        out.set(key, toCbor(view.value, v, schemas, pathAt(path, segment), depth + 1));
      });
      return out;
    }
    case "record": {
      if (value.kind !== "record") {
        throw typeMismatch(path, "record", `expected a record value, ${describe(value)}`);
      }
      for (const name of value.value.keys()) {
        if (!hasOwn(view.fields, name)) {
          throw typeMismatch(pathAt(path, name), "record", `unexpected field "${name}"`);
        }
      }
      const out = new Map<CborValue, CborValue>();
      const layout = recordLayout(view.fields, schemas, depth + 1);
      const names = layout?.names ?? Object.keys(view.fields).sort(compareTextKeys);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const fieldType = view.fields[name]!;
        const field = value.value.get(name);
        const optional = layout?.optional[i] ??
          viewType(fieldType, schemas, pathAt(path, name), depth + 1).kind === "option";
        if (field === undefined && !optional) {
          throw typeMismatch(pathAt(path, name), "record", `missing field "${name}"`);
        }
        if (field === undefined || (optional && field.kind === "none")) continue; // none fields are omitted
        out.set(name, toCbor(fieldType, field, schemas, pathAt(path, name), depth + 1));
      }
      return out;
    }
    case "variant": {
      if (value.kind !== "record") {
        throw typeMismatch(path, "variant", `expected a {$tag, $value} record, ${describe(value)}`);
      }
      const tag = value.value.get("$tag");
      if (tag?.kind !== "text") throw typeMismatch(pathAt(path, "$tag"), "variant", "expected a text $tag");
      if (!hasOwn(view.tags, tag.value)) {
        throw typeMismatch(pathAt(path, "$tag"), "variant", `unknown tag "${tag.value}"`);
      }
      for (const name of value.value.keys()) {
        if (name !== "$tag" && name !== "$value") {
          throw typeMismatch(pathAt(path, name), "variant", `unexpected field "${name}"`);
        }
      }
      const payload = value.value.get("$value") ?? { kind: "unit" };
      const item = toCbor(view.tags[tag.value]!, payload, schemas, pathAt(path, "$value"), depth + 1);
      return new Map<CborValue, CborValue>([["$tag", tag.value], ["$value", item]]);
    }
  }
}

function sortedUnique(items: CborValue[]): CborValue[] {
  const keyed = items.map((item) => ({ item, bytes: encodeCanonical(item) }));
  keyed.sort((a, b) => compareBytes(a.bytes, b.bytes));
  return keyed.filter((k, i) => i === 0 || !bytesEqual(k.bytes, keyed[i - 1]!.bytes)).map((k) => k.item);
}

function describeItem(item: CborValue): string {
  if (item === null) return "got null";
  if (typeof item === "number" || typeof item === "bigint") return `got the integer ${item}`;
  if (typeof item === "string") return "got a text string";
  if (typeof item === "boolean") return `got ${item}`;
  if (item instanceof Uint8Array) return `got a byte string of ${item.length} bytes`;
  if (item instanceof Dec128Item) return "got a dec128";
  if (Array.isArray(item)) return "got an array";
  return "got a map";
}

function entriesOf(item: CborValue): Array<[CborValue, CborValue]> | undefined {
  if (item instanceof Map) return [...item];
  if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined;
  if (item instanceof Uint8Array || item instanceof Dec128Item) return undefined;
  return Object.entries(item);
}

/** Checks that encoded items are strictly increasing (sorted, no duplicates). */
function checkSorted(items: CborValue[], path: ValuePath, what: string): void {
  let previous: Uint8Array | undefined;
  items.forEach((item, i) => {
    const bytes = encodeCanonical(item);
    if (previous !== undefined) {
      const order = compareBytes(previous, bytes);
      if (order === 0) throw nonCanonical([...path, i], `duplicate ${what}`);
      if (order > 0) throw nonCanonical([...path, i], `${what}s are not sorted by their canonical encoding`);
    }
    previous = bytes;
  });
}

/**
 * The value of a typed CBOR item, checked against `type` (AIR §4.2). `keysSorted`: the item comes from the
 * strict canonical decoder, which already refused unsorted or repeated map keys.
 */
export function valueFromCbor(
  type: TypeExpr,
  item: CborValue,
  schemas: SchemaResolver,
  path: ValuePath = [],
  depth = 0,
  keysSorted = false,
): Value {
  const view = viewType(type, schemas, path, depth);
  const at = (segment: string | number): ValuePath => [...path, segment];
  switch (view.kind) {
    case "bool":
      if (typeof item !== "boolean") {
        throw typeMismatch(path, "bool", `expected true or false, ${describeItem(item)}`);
      }
      return { kind: "bool", value: item };
    case "int":
    case "nat":
    case "time":
    case "duration": {
      if (typeof item !== "bigint" && (typeof item !== "number" || !Number.isInteger(item))) {
        const expected = view.kind === "nat" || view.kind === "time" ? "an unsigned integer" : "an integer";
        throw typeMismatch(path, view.kind, `expected ${expected}, ${describeItem(item)}`);
      }
      return { kind: view.kind, value: checkIntegerRange(BigInt(item), view.kind, path) };
    }
    case "dec128": {
      if (!(item instanceof Dec128Item)) {
        throw typeMismatch(path, "dec128", `expected tag 2000, ${describeItem(item)}`);
      }
      return { kind: "dec128", value: formatDec128(dec128AtPath(path, () => dec128FromBits(item.bits))) };
    }
    case "bytes":
    case "hash":
    case "uuid": {
      if (!(item instanceof Uint8Array)) {
        throw typeMismatch(path, view.kind, `expected a byte string, ${describeItem(item)}`);
      }
      const size = view.kind === "hash" ? 32 : view.kind === "uuid" ? 16 : item.length;
      if (item.length !== size) {
        throw typeMismatch(path, view.kind, `expected ${size} bytes, got ${item.length}`);
      }
      return { kind: view.kind, value: item };
    }
    case "text":
      if (typeof item !== "string") {
        throw typeMismatch(path, "text", `expected a text string, ${describeItem(item)}`);
      }
      return { kind: "text", value: item };
    case "unit":
      if (item !== null) throw typeMismatch(path, "unit", `expected null, ${describeItem(item)}`);
      return { kind: "unit" };
    case "option":
      return item === null
        ? { kind: "none" }
        : valueFromCbor(view.item, item, schemas, path, depth + 1, keysSorted);
    case "list":
    case "set": {
      if (!Array.isArray(item)) {
        throw typeMismatch(path, view.kind, `expected an array, ${describeItem(item)}`);
      }
      const values = item.map((element, i) =>
        valueFromCbor(view.item, element, schemas, at(i), depth + 1, keysSorted)
      );
      if (view.kind === "set") checkSorted(item, path, "set element");
      return { kind: view.kind, value: values };
    }
    case "map": {
      const entries = entriesOf(item);
      if (entries === undefined) throw typeMismatch(path, "map", `expected a map, ${describeItem(item)}`);
      // Bytes read by the strict decoder have sorted, distinct keys already (decodeTyped).
      if (!keysSorted) checkSorted(entries.map(([k]) => k), path, "map key");
      const pairs = entries.map(([k, v], i): [Value, Value] => {
        const key = valueFromCbor(view.key, k, schemas, at(i), depth + 1, keysSorted);
        const segment = key.kind === "text" ? key.value : i;
        return [key, valueFromCbor(view.value, v, schemas, at(segment), depth + 1, keysSorted)];
      });
      return { kind: "map", value: pairs };
    }
    case "record": {
      const entries = entriesOf(item);
      if (entries === undefined) throw typeMismatch(path, "record", `expected a map, ${describeItem(item)}`);
      const present = new Map<string, CborValue>();
      for (const [name, field] of entries) {
        if (typeof name !== "string") throw typeMismatch(path, "record", "expected text field names");
        if (!hasOwn(view.fields, name)) throw typeMismatch(at(name), "record", `unexpected field "${name}"`);
        present.set(name, field);
      }
      const out = new Map<string, Value>();
      const layout = recordLayout(view.fields, schemas, depth + 1);
      const names = layout?.names ?? Object.keys(view.fields).sort(compareTextKeys);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const fieldType = view.fields[name]!;
        const optional = layout?.optional[i] ??
          viewType(fieldType, schemas, at(name), depth + 1).kind === "option";
        const field = present.get(name);
        if (field === undefined && !optional) {
          throw typeMismatch(at(name), "record", `missing field "${name}"`);
        }
        if (field === null && optional) {
          throw nonCanonical(at(name), "a none option field must be omitted, not null");
        }
        out.set(
          name,
          field === undefined
            ? { kind: "none" }
            : valueFromCbor(fieldType, field, schemas, at(name), depth + 1, keysSorted),
        );
      }
      return { kind: "record", value: out };
    }
    case "variant": {
      const entries = entriesOf(item);
      if (entries === undefined) throw typeMismatch(path, "variant", `expected a map, ${describeItem(item)}`);
      const fields = new Map(entries);
      const tag = fields.get("$tag");
      if (entries.length !== 2 || !fields.has("$value") || typeof tag !== "string") {
        throw typeMismatch(path, "variant", 'expected exactly the keys "$tag" (text) and "$value"');
      }
      if (!hasOwn(view.tags, tag)) throw typeMismatch(at("$tag"), "variant", `unknown tag "${tag}"`);
      const payload = valueFromCbor(
        view.tags[tag]!,
        fields.get("$value")!,
        schemas,
        at("$value"),
        depth + 1,
        keysSorted,
      );
      return {
        kind: "record",
        value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", payload]]),
      };
    }
  }
}

/**
 * Encodes a value with the typed canonical encoder.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { toHex } from "../cbor/mod.ts";
 * const schemas = { resolve: () => undefined };
 * import type { Value } from "./value.ts";
 * const value: Value = { kind: "record", value: new Map<string, Value>([["count", { kind: "nat", value: 3n }]]) };
 * strictEqual(toHex(encodeTyped({ record: { count: { nat: {} } } }, value, schemas)), "a165636f756e7403");
 * ```
 */
export function encodeTyped(type: TypeExpr, value: Value, schemas: SchemaResolver): Uint8Array {
  // Most values are written straight into the encoder; the rest, and every error, the general way.
  return typedBytes(type, value, schemas) ?? encodeCanonical(valueToCbor(type, value, schemas));
}

/**
 * Decodes canonical bytes against a type: strict generic decoding, then the typed checks of AIR §4.2.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { fromHex } from "../cbor/mod.ts";
 * const value = decodeTyped({ nat: {} }, fromHex("1901f4"), { resolve: () => undefined });
 * deepStrictEqual(value, { kind: "nat", value: 500n });
 * ```
 */
export function decodeTyped(type: TypeExpr, bytes: Uint8Array, schemas: SchemaResolver): Value {
  // Most values are read straight from the bytes; the rest, and every error, the general way.
  return valueFromBytes(type, bytes, schemas) ??
    valueFromCbor(type, decodeCanonical(bytes, { useMaps: true }), schemas, [], 0, true);
}

/**
 * Throws what {@linkcode decodeTyped} throws for these bytes, without building the value: for checks whose
 * result is not used (a reducer's new state, an emitted event, effect params), where building the value
 * was most of what a reducer step allocated. A quick walk of the decoded item accepts what it can prove
 * valid; anything else goes through `decodeTyped`'s own checks, so the errors are the same to the letter.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { fromHex } from "../cbor/mod.ts";
 * checkTyped({ nat: {} }, fromHex("1901f4"), { resolve: () => undefined });
 * throws(() => checkTyped({ nat: {} }, fromHex("20"), { resolve: () => undefined }));
 * ```
 */
export function checkTyped(type: TypeExpr, bytes: Uint8Array, schemas: SchemaResolver): void {
  if (conformsBytes(type, bytes, schemas)) return;
  checkedItem(type, bytes, schemas);
}

/**
 * {@linkcode checkTyped}, returning the generic item the bytes decode to (maps as `Map`): for a caller that
 * reads a part of a value it must first check whole, without building the typed value.
 */
export function checkedItem(type: TypeExpr, bytes: Uint8Array, schemas: SchemaResolver): CborValue {
  const item = decodeCanonical(bytes, { useMaps: true });
  let valid = false;
  try {
    valid = conforms(type, item, schemas, 0);
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
  }
  if (!valid) valueFromCbor(type, item, schemas, [], 0, true);
  return item;
}

const NO_PATH: ValuePath = [];
const I64_MIN_NUMBER = -Number.MAX_SAFE_INTEGER;

/**
 * Whether `item` (from the strict canonical decoder, maps as `Map`) is a valid value of `type`, as
 * {@linkcode valueFromCbor} decides it; false (or an `AosError`) when it is not or this walk cannot tell.
 * It must never accept what `valueFromCbor` refuses.
 */
function conforms(type: TypeExpr, item: CborValue, schemas: SchemaResolver, depth: number): boolean {
  const view = viewType(type, schemas, NO_PATH, depth);
  switch (view.kind) {
    case "bool":
      return typeof item === "boolean";
    case "int":
    case "duration":
      // A number from the decoder is a safe integer, inside the signed 64-bit range.
      return typeof item === "number" ? Number.isInteger(item) && item >= I64_MIN_NUMBER : false;
    case "nat":
    case "time":
      return typeof item === "number" ? Number.isInteger(item) && item >= 0 : false;
    case "bytes":
      return item instanceof Uint8Array;
    case "hash":
      return item instanceof Uint8Array && item.length === 32;
    case "uuid":
      return item instanceof Uint8Array && item.length === 16;
    case "text":
      return typeof item === "string";
    case "unit":
      return item === null;
    case "option":
      return item === null || conforms(view.item, item, schemas, depth + 1);
    case "list": {
      if (!Array.isArray(item)) return false;
      for (const element of item) if (!conforms(view.item, element, schemas, depth + 1)) return false;
      return true;
    }
    case "map": {
      if (!(item instanceof Map)) return false;
      for (const [k, v] of item) {
        if (!conforms(view.key, k, schemas, depth + 1) || !conforms(view.value, v, schemas, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case "record": {
      if (!(item instanceof Map)) return false;
      const layout = recordLayout(view.fields, schemas, depth + 1);
      if (layout === undefined) return false;
      let matched = 0;
      for (let i = 0; i < layout.names.length; i++) {
        const name = layout.names[i]!;
        const field = item.get(name);
        if (field === undefined) {
          if (!layout.optional[i]) return false;
          continue;
        }
        if (field === null && layout.optional[i]) return false;
        if (!conforms(view.fields[name]!, field, schemas, depth + 1)) return false;
        matched++;
      }
      // Every key was a field name: no unexpected field, and none that is not text.
      return matched === item.size;
    }
    case "variant": {
      if (!(item instanceof Map) || item.size !== 2) return false;
      const tag = item.get("$tag");
      const payload = item.get("$value");
      if (typeof tag !== "string" || payload === undefined || !hasOwn(view.tags, tag)) return false;
      return conforms(view.tags[tag]!, payload, schemas, depth + 1);
    }
    default:
      // dec128, set (sorted by encoding): valueFromCbor decides.
      return false;
  }
}

/**
 * Throws unless `bytes` decode against `type` and re-encode to exactly the same bytes.
 *
 * @example
 * ```ts
 * import { fromHex } from "../cbor/mod.ts";
 * validateTypedBytes({ list: { text: {} } }, fromHex("816161"), { resolve: () => undefined });
 * ```
 */
export function validateTypedBytes(type: TypeExpr, bytes: Uint8Array, schemas: SchemaResolver): void {
  const again = encodeTyped(type, decodeTyped(type, bytes, schemas), schemas);
  if (!bytesEqual(again, bytes)) {
    throw new AosError("AOS_CBOR_NON_CANONICAL", "Non-canonical value: decode then encode changes the bytes");
  }
}

/**
 * The zero value of a type (AIR §9.5): 0, `""`, empty bytes/list/set/map, zero-filled hash and uuid,
 * `false`, none, dec128 `0`, unit, records of zero fields, and for a variant the first tag in canonical
 * key order (shorter first, then bytewise — independent of how the schema was written) with a zero payload.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(zeroValue({ option: { nat: {} } }, { resolve: () => undefined }), { kind: "none" });
 * ```
 */
export function zeroValue(type: TypeExpr, schemas: SchemaResolver, path: ValuePath = [], depth = 0): Value {
  const view = viewType(type, schemas, path, depth);
  switch (view.kind) {
    case "bool":
      return { kind: "bool", value: false };
    case "int":
    case "nat":
    case "time":
    case "duration":
      return { kind: view.kind, value: 0n };
    case "dec128":
      return { kind: "dec128", value: "0" };
    case "bytes":
    case "hash":
    case "uuid":
      return {
        kind: view.kind,
        value: new Uint8Array(view.kind === "hash" ? 32 : view.kind === "uuid" ? 16 : 0),
      };
    case "text":
      return { kind: "text", value: "" };
    case "unit":
      return { kind: "unit" };
    case "option":
      return { kind: "none" };
    case "list":
    case "set":
      return { kind: view.kind, value: [] };
    case "map":
      return { kind: "map", value: [] };
    case "record": {
      const out = new Map<string, Value>();
      for (const name of Object.keys(view.fields).sort(compareTextKeys)) {
        out.set(name, zeroValue(view.fields[name]!, schemas, [...path, name], depth + 1));
      }
      return { kind: "record", value: out };
    }
    case "variant": {
      const tag = Object.keys(view.tags).sort(compareTextKeys)[0];
      if (tag === undefined) throw airInvalid(path, "a variant needs at least one tag");
      const payload = zeroValue(view.tags[tag]!, schemas, [...path, "$value"], depth + 1);
      return {
        kind: "record",
        value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", payload]]),
      };
    }
  }
}
