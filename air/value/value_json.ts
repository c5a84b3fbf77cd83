/**
 * The two JSON text forms of values (AIR §3): the **plain** form, read against a type, and the
 * self-describing **tagged** form (`{"nat":400}`, `{"record":{…}}`).
 *
 * Reading against a type ({@linkcode valueFromJson}) decides by the expected type first. An object that
 * is exactly the tagged shape of the expected kind (one key: `nat`, `bytes_b64`, `list`, `record`,
 * `variant`, `map`, `null` for unit/none, …) is read as tagged when the plain form could not read it
 * (scalars, lists and sets are never objects in the plain form; a record without a field of that name,
 * a variant without such a tag, a map whose keys are not text). When both could (a record whose field is
 * named `record`, a `map<text,…>` with the key `map`), the plain reading wins and the tagged one is only
 * tried if the plain one fails. So `{"text":"x"}` is the record `{text: "x"}` where a record with a
 * `text` field is expected, and the text `"x"` where text is expected.
 *
 * Plain scalars: int/nat/duration as JSON integers or decimal strings; time as integer ns, a decimal
 * string or an RFC 3339 string (`2024-01-02T03:04:05.5Z`); dec128 as a string (or integer); bytes as
 * padded base64; hash as `sha256:…`; uuid as lowercase 8-4-4-4-12.
 *
 * @module
 */
import { AosError, type JsonValue } from "../base/mod.ts";
import { compareBytes, encodeCanonical, toHex } from "../cbor/mod.ts";
import {
  describeJson,
  isObject,
  type JsonObject,
  scalarFromJson,
  scalarToJson,
  setOwn,
  TAGGED_SCALAR_KEYS,
  variantValue,
} from "./_json_scalars.ts";
import {
  compareTextKeys,
  hasOwn,
  typeMismatch,
  type TypeView,
  type ValuePath,
  viewType,
} from "./type_view.ts";
import { valueToCbor } from "./typed_codec.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";

/** The payload of `json` when it is an object with exactly the one key `key`. */
function soleEntry(json: JsonValue, key: string): JsonValue | undefined {
  if (!isObject(json)) return undefined;
  const keys = Object.keys(json);
  return keys.length === 1 && keys[0] === key ? json[key] : undefined;
}

const TAGGED_KEY: Readonly<Record<TypeView["kind"], string>> = {
  ...TAGGED_SCALAR_KEYS,
  list: "list",
  set: "set",
  map: "map",
  record: "record",
  variant: "variant",
  option: "null",
};

/** True when the plain reading of `view` could accept an object whose only key is `key`. */
function plainMayRead(view: TypeView, key: string, schemas: SchemaResolver, depth: number): boolean {
  switch (view.kind) {
    case "record":
      return hasOwn(view.fields, key);
    case "variant":
      return hasOwn(view.tags, key);
    case "map":
      return viewType(view.key, schemas, [], depth + 1).kind === "text";
    case "option":
      return plainMayRead(viewType(view.item, schemas, [], depth + 1), key, schemas, depth + 1);
    default:
      return false;
  }
}

/** Which JSON form {@linkcode valueFromJson} accepts: both (the default), only plain, or only tagged. */
export type JsonForm = "auto" | "plain" | "tagged";

/** Options of {@linkcode valueFromJson}. */
export interface ValueFromJsonOptions {
  /**
   * `"auto"` (default) reads plain and tagged as the module doc describes; `"tagged"` reads only the tagged
   * form, checked against the type (no ambiguity: use it for canonical tagged data such as CapGrant
   * params); `"plain"` reads only the plain form.
   */
  form?: JsonForm;
}

interface Reader {
  readonly schemas: SchemaResolver;
  readonly form: JsonForm;
}

/**
 * Reads a value of `type` from JSON in the plain form (tagged accepted too; see the module doc for the
 * rule). Sets come out sorted and deduplicated, maps sorted by key, records with every declared field
 * (absent option fields are none). Errors are `AOS_TYPE_MISMATCH` with the JSON path in `context.path`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * const schemas = { resolve: () => undefined };
 * const type = { record: { by: { nat: {} } } };
 * const plain = valueFromJson(type, { by: 2n }, schemas);
 * deepStrictEqual(valueFromJson(type, { record: { by: { nat: 2n } } }, schemas), plain);
 * ```
 */
export function valueFromJson(
  type: TypeExpr,
  json: JsonValue,
  schemas: SchemaResolver,
  path: ValuePath = [],
  options: ValueFromJsonOptions = {},
): Value {
  return read(type, json, { schemas, form: options.form ?? "auto" }, path, 0);
}

function read(type: TypeExpr, json: JsonValue, reader: Reader, path: ValuePath, depth: number): Value {
  const { schemas, form } = reader;
  const view = viewType(type, schemas, path, depth);
  const key = TAGGED_KEY[view.kind];
  const payload = form === "plain" ? undefined : soleEntry(json, key);
  const isTaggedNull = payload !== undefined && isObject(payload) && Object.keys(payload).length === 0;
  if (view.kind === "option") {
    if (form === "tagged") {
      return isTaggedNull ? { kind: "none" } : read(view.item, json, reader, path, depth + 1);
    }
    if (json === null) return { kind: "none" };
    if (!isTaggedNull) return read(view.item, json, reader, path, depth + 1);
    if (!plainMayRead(view, key, schemas, depth)) return { kind: "none" };
    try {
      return read(view.item, json, reader, path, depth + 1);
    } catch (error) {
      if (error instanceof AosError && error.code === "AOS_TYPE_MISMATCH") return { kind: "none" };
      throw error;
    }
  }
  if (form === "tagged") {
    if (payload === undefined) {
      throw typeMismatch(path, view.kind, `expected the tagged form {"${key}": …}, ${describeJson(json)}`);
    }
    return fromTagged(view, payload, reader, [...path, key], depth);
  }
  if (payload === undefined) return fromPlain(view, json, reader, path, depth);
  const tagged = () => fromTagged(view, payload, reader, [...path, key], depth);
  if (!plainMayRead(view, key, schemas, depth)) return tagged();
  try {
    return fromPlain(view, json, reader, path, depth);
  } catch (plainError) {
    if (!(plainError instanceof AosError) || plainError.code !== "AOS_TYPE_MISMATCH") throw plainError;
    try {
      return tagged();
    } catch {
      throw plainError;
    }
  }
}

function sortedSet(itemType: TypeExpr, items: Value[], schemas: SchemaResolver, path: ValuePath): Value[] {
  const keyed = items.map((value, i) => ({
    value,
    bytes: encodeCanonical(valueToCbor(itemType, value, schemas, [...path, i])),
  }));
  keyed.sort((a, b) => compareBytes(a.bytes, b.bytes));
  return keyed.filter((k, i) => i === 0 || compareBytes(k.bytes, keyed[i - 1]!.bytes) !== 0).map((k) =>
    k.value
  );
}

function sortedMap(
  keyType: TypeExpr,
  pairs: Array<[Value, Value]>,
  schemas: SchemaResolver,
  path: ValuePath,
): Array<[Value, Value]> {
  const keyed = pairs.map((pair, i) => ({
    pair,
    bytes: encodeCanonical(valueToCbor(keyType, pair[0], schemas, [...path, i])),
  }));
  keyed.sort((a, b) => compareBytes(a.bytes, b.bytes));
  keyed.forEach((k, i) => {
    if (i > 0 && compareBytes(k.bytes, keyed[i - 1]!.bytes) === 0) {
      throw typeMismatch(path, "map", `duplicate key ${toHex(k.bytes)}`);
    }
  });
  return keyed.map((k) => k.pair);
}

function recordFromObject(
  fields: Readonly<Record<string, TypeExpr>>,
  json: JsonObject,
  reader: Reader,
  path: ValuePath,
  depth: number,
): Value {
  for (const name of Object.keys(json)) {
    if (!hasOwn(fields, name)) throw typeMismatch([...path, name], "record", `unexpected field "${name}"`);
  }
  const out = new Map<string, Value>();
  for (const name of Object.keys(fields).sort(compareTextKeys)) {
    const fieldType = fields[name]!;
    if (hasOwn(json, name)) {
      out.set(name, read(fieldType, json[name]!, reader, [...path, name], depth + 1));
    } else if (viewType(fieldType, reader.schemas, [...path, name], depth + 1).kind === "option") {
      out.set(name, { kind: "none" });
    } else {
      throw typeMismatch([...path, name], "record", `missing field "${name}"`);
    }
  }
  return { kind: "record", value: out };
}

function fromPlain(
  view: TypeView,
  json: JsonValue,
  reader: Reader,
  path: ValuePath,
  depth: number,
): Value {
  const at = (segment: string | number): ValuePath => [...path, segment];
  switch (view.kind) {
    case "list":
    case "set": {
      if (!Array.isArray(json)) {
        throw typeMismatch(path, view.kind, `expected an array, ${describeJson(json)}`);
      }
      const items = json.map((item, i) => read(view.item, item, reader, at(i), depth + 1));
      return {
        kind: view.kind,
        value: view.kind === "set" ? sortedSet(view.item, items, reader.schemas, path) : items,
      };
    }
    case "map": {
      let pairs: Array<[Value, Value]>;
      if (Array.isArray(json)) {
        pairs = json.map((entry, i): [Value, Value] => {
          if (!Array.isArray(entry) || entry.length !== 2) {
            throw typeMismatch(at(i), "map", "expected a [key, value] pair");
          }
          const key = read(view.key, entry[0]!, reader, [...at(i), 0], depth + 1);
          return [key, read(view.value, entry[1]!, reader, [...at(i), 1], depth + 1)];
        });
      } else if (isObject(json)) {
        pairs = Object.entries(json).map(([k, v]): [Value, Value] => [
          read(view.key, k, reader, at(k), depth + 1),
          read(view.value, v, reader, at(k), depth + 1),
        ]);
      } else {
        throw typeMismatch(
          path,
          "map",
          `expected an object or an array of [key, value] pairs, ${describeJson(json)}`,
        );
      }
      return { kind: "map", value: sortedMap(view.key, pairs, reader.schemas, path) };
    }
    case "record":
      if (!isObject(json)) throw typeMismatch(path, "record", `expected an object, ${describeJson(json)}`);
      return recordFromObject(view.fields, json, reader, path, depth);
    case "variant": {
      const tags = isObject(json) ? Object.keys(json) : [];
      const tag = tags[0];
      if (tags.length !== 1 || tag === undefined) {
        throw typeMismatch(path, "variant", `expected an object with exactly one tag, ${describeJson(json)}`);
      }
      if (!hasOwn(view.tags, tag)) throw typeMismatch(at(tag), "variant", `unknown tag "${tag}"`);
      return variantValue(
        tag,
        read(view.tags[tag]!, (json as JsonObject)[tag]!, reader, at(tag), depth + 1),
      );
    }
    case "option":
      throw new TypeError("fromPlain() never sees options");
    default:
      return scalarFromJson(view.kind, json, path);
  }
}

function fromTagged(
  view: TypeView,
  payload: JsonValue,
  reader: Reader,
  path: ValuePath,
  depth: number,
): Value {
  const at = (segment: string | number): ValuePath => [...path, segment];
  switch (view.kind) {
    case "list":
    case "set":
    case "record":
      return fromPlain(view, payload, reader, path, depth);
    case "map": {
      if (!Array.isArray(payload)) {
        throw typeMismatch(path, "map", `expected an array of {key, value}, ${describeJson(payload)}`);
      }
      const pairs = payload.map((entry, i): [Value, Value] => {
        const keys = isObject(entry) ? Object.keys(entry).sort().join(",") : "";
        if (!isObject(entry) || keys !== "key,value") {
          throw typeMismatch(at(i), "map", 'expected {"key": …, "value": …}');
        }
        return [
          read(view.key, entry.key!, reader, [...at(i), "key"], depth + 1),
          read(view.value, entry.value!, reader, [...at(i), "value"], depth + 1),
        ];
      });
      return { kind: "map", value: sortedMap(view.key, pairs, reader.schemas, path) };
    }
    case "variant": {
      const keys = isObject(payload) ? Object.keys(payload) : [];
      const tag = isObject(payload) ? payload.tag : undefined;
      if (typeof tag !== "string" || !keys.every((k) => k === "tag" || k === "value")) {
        throw typeMismatch(path, "variant", 'expected {"tag": text, "value"?: …}');
      }
      if (!hasOwn(view.tags, tag)) throw typeMismatch(at("tag"), "variant", `unknown tag "${tag}"`);
      // An omitted value is unit (or none for an option payload).
      const value = hasOwn(payload as JsonObject, "value") ? (payload as JsonObject).value! : { null: {} };
      return variantValue(tag, read(view.tags[tag]!, value, reader, at("value"), depth + 1));
    }
    case "unit":
      if (!isObject(payload) || Object.keys(payload).length !== 0) {
        throw typeMismatch(path, "unit", 'expected {"null": {}}');
      }
      return { kind: "unit" };
    case "option":
      throw new TypeError("fromTagged() never sees options");
    default:
      return scalarFromJson(view.kind, payload, path);
  }
}

/**
 * The plain JSON form of a value of `type` (inverse of {@linkcode valueFromJson}): records without none
 * fields and with fields in canonical order, sets sorted and deduplicated, `map<text,…>` as an object and
 * other maps as `[[k, v], …]` sorted by key, variants as `{"Tag": payload}`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Value } from "./value.ts";
 * const value: Value = { kind: "record", value: new Map<string, Value>([["by", { kind: "nat", value: 2n }]]) };
 * deepStrictEqual(valueToPlainJson({ record: { by: { nat: {} } } }, value, { resolve: () => undefined }), { by: 2n });
 * ```
 */
export function valueToPlainJson(type: TypeExpr, value: Value, schemas: SchemaResolver): JsonValue {
  valueToCbor(type, value, schemas); // validates kinds, ranges, fields and tags once, with paths
  return toPlain(type, value, schemas, 0);
}

function toPlain(type: TypeExpr, value: Value, schemas: SchemaResolver, depth: number): JsonValue {
  const view = viewType(type, schemas, [], depth);
  switch (view.kind) {
    case "option":
      return value.kind === "none" ? null : toPlain(view.item, value, schemas, depth + 1);
    case "list":
    case "set": {
      if (value.kind !== "list" && value.kind !== "set") {
        throw new TypeError("toPlain() needs a validated value");
      }
      const items = view.kind === "set" ? sortedSet(view.item, value.value, schemas, []) : value.value;
      return items.map((item) => toPlain(view.item, item, schemas, depth + 1));
    }
    case "map": {
      if (value.kind !== "map") throw new TypeError("toPlain() needs a validated value");
      const pairs = sortedMap(view.key, value.value, schemas, []);
      if (viewType(view.key, schemas, [], depth + 1).kind !== "text") {
        return pairs.map((
          [k, v],
        ) => [toPlain(view.key, k, schemas, depth + 1), toPlain(view.value, v, schemas, depth + 1)]);
      }
      const out: JsonObject = {};
      for (const [k, v] of pairs) {
        setOwn(out, (k as { value: string }).value, toPlain(view.value, v, schemas, depth + 1));
      }
      return out;
    }
    case "record": {
      if (value.kind !== "record") throw new TypeError("toPlain() needs a validated value");
      const out: JsonObject = {};
      for (const name of Object.keys(view.fields).sort(compareTextKeys)) {
        const field = value.value.get(name);
        if (field !== undefined && field.kind !== "none") {
          setOwn(out, name, toPlain(view.fields[name]!, field, schemas, depth + 1));
        }
      }
      return out;
    }
    case "variant": {
      if (value.kind !== "record") throw new TypeError("toPlain() needs a validated value");
      const tag = (value.value.get("$tag") as { value: string }).value;
      const out: JsonObject = {};
      setOwn(
        out,
        tag,
        toPlain(view.tags[tag]!, value.value.get("$value") ?? { kind: "unit" }, schemas, depth + 1),
      );
      return out;
    }
    default:
      return scalarToJson(value);
  }
}
