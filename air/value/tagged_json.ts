/**
 * The self-describing tagged JSON form of values (AIR §3), which needs no schema: `{"nat":400}`,
 * `{"bytes_b64":"AAE="}`, `{"record":{…}}`, `{"variant":{"tag":"T","value":…}}`, `{"null":{}}`. It is the
 * form of Expr literals and (canonically) of CapGrant params; `value_json.ts` re-exports it.
 *
 * @module
 */
import type { JsonValue } from "../base/mod.ts";
import { compareBytes, encodeCanonical, toHex } from "../cbor/mod.ts";
import {
  describeJson,
  isObject,
  itemOfValue,
  type JsonObject,
  scalarFromJson,
  scalarToJson,
  setOwn,
  TAGGED_SCALAR_KEYS,
  variantValue,
} from "./_json_scalars.ts";
import { compareTextKeys, hasOwn, typeMismatch, type ValuePath } from "./type_view.ts";
import type { PrimitiveName } from "./types.ts";
import type { Value } from "./value.ts";

const SCALAR_BY_TAGGED_KEY: ReadonlyMap<string, PrimitiveName> = new Map(
  Object.entries(TAGGED_SCALAR_KEYS).filter(([kind]) => kind !== "unit").map((
    [kind, key],
  ) => [key, kind as PrimitiveName]),
);

function untypedSorted<T>(
  items: T[],
  itemOf: (x: T) => Value,
  path: ValuePath,
  duplicate: "drop" | "reject",
): T[] {
  const keyed = items.map((x) => ({ x, bytes: encodeCanonical(itemOfValue(itemOf(x))) }));
  keyed.sort((a, b) => compareBytes(a.bytes, b.bytes));
  return keyed.filter((k, i) => {
    const repeated = i > 0 && compareBytes(k.bytes, keyed[i - 1]!.bytes) === 0;
    if (repeated && duplicate === "reject") {
      throw typeMismatch(path, "map", `duplicate key ${toHex(k.bytes)}`);
    }
    return !repeated;
  }).map((k) => k.x);
}

/**
 * The self-describing tagged form of a value: `{"nat": 400}`, `{"set": […]}`,
 * `{"map": [{"key": k, "value": v}]}`, `{"record": {…}}` (none fields omitted), a `{$tag, $value}` record
 * as `{"variant": {"tag": "T", "value": …}}` (`value` omitted for unit), unit and none as `{"null": {}}`.
 * Sets come out sorted and deduplicated and maps sorted by key, in canonical CBOR order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Value } from "./value.ts";
 * const value: Value = { kind: "record", value: new Map<string, Value>([["by", { kind: "nat", value: 2n }]]) };
 * deepStrictEqual(valueToTaggedJson(value), { record: { by: { nat: 2n } } });
 * ```
 */
export function valueToTaggedJson(value: Value): JsonValue {
  switch (value.kind) {
    case "unit":
    case "none":
      return { null: {} };
    case "list":
      return { list: value.value.map(valueToTaggedJson) };
    case "set":
      return { set: untypedSorted(value.value, (v) => v, [], "drop").map(valueToTaggedJson) };
    case "map": {
      const pairs = untypedSorted(value.value, ([k]) => k, [], "reject");
      return { map: pairs.map(([k, v]) => ({ key: valueToTaggedJson(k), value: valueToTaggedJson(v) })) };
    }
    case "record": {
      const tag = value.value.get("$tag");
      const payload = value.value.get("$value");
      if (value.value.size === 2 && tag?.kind === "text" && payload !== undefined) {
        const variant: JsonObject = { tag: tag.value };
        if (payload.kind !== "unit") variant.value = valueToTaggedJson(payload);
        return { variant };
      }
      const out: JsonObject = {};
      for (const name of [...value.value.keys()].sort(compareTextKeys)) {
        const field = value.value.get(name)!;
        if (field.kind !== "none") setOwn(out, name, valueToTaggedJson(field));
      }
      return { record: out };
    }
    default: {
      const out: JsonObject = {};
      setOwn(out, TAGGED_SCALAR_KEYS[value.kind], scalarToJson(value));
      return out;
    }
  }
}

/**
 * Reads the tagged form without a type (inverse of {@linkcode valueToTaggedJson}); `{"null": {}}` reads
 * as none, a variant without `value` as a unit payload. Errors are `AOS_TYPE_MISMATCH` with the path.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(valueFromTaggedJson({ bytes_b64: "AAE=" }), { kind: "bytes", value: new Uint8Array([0, 1]) });
 * ```
 */
export function valueFromTaggedJson(json: JsonValue, path: ValuePath = []): Value {
  const keys = isObject(json) ? Object.keys(json) : [];
  const key = keys[0];
  if (!isObject(json) || keys.length !== 1 || key === undefined) {
    throw typeMismatch(
      path,
      "the tagged form",
      `expected an object with one key such as "nat", ${describeJson(json)}`,
    );
  }
  const payload = json[key]!;
  const at: ValuePath = [...path, key];
  const expected = (what: string) => typeMismatch(at, key, `expected ${what}, ${describeJson(payload)}`);
  switch (key) {
    case "null":
      if (!isObject(payload) || Object.keys(payload).length !== 0) throw expected("{}");
      return { kind: "none" };
    case "list":
    case "set": {
      if (!Array.isArray(payload)) throw expected("an array");
      const items = payload.map((item, i) => valueFromTaggedJson(item, [...at, i]));
      return { kind: key, value: key === "set" ? untypedSorted(items, (v) => v, at, "drop") : items };
    }
    case "map": {
      if (!Array.isArray(payload)) throw expected("an array");
      const pairs = payload.map((entry, i): [Value, Value] => {
        if (!isObject(entry) || Object.keys(entry).sort().join(",") !== "key,value") {
          throw typeMismatch([...at, i], "map", 'expected {"key": …, "value": …}');
        }
        return [
          valueFromTaggedJson(entry.key!, [...at, i, "key"]),
          valueFromTaggedJson(entry.value!, [...at, i, "value"]),
        ];
      });
      return { kind: "map", value: untypedSorted(pairs, ([k]) => k, at, "reject") };
    }
    case "record": {
      if (!isObject(payload)) throw expected("an object");
      const out = new Map<string, Value>();
      for (const name of Object.keys(payload).sort(compareTextKeys)) {
        out.set(name, valueFromTaggedJson(payload[name]!, [...at, name]));
      }
      return { kind: "record", value: out };
    }
    case "variant": {
      const tag = isObject(payload) ? payload.tag : undefined;
      if (
        !isObject(payload) || typeof tag !== "string" ||
        !Object.keys(payload).every((k) => k === "tag" || k === "value")
      ) {
        throw expected('{"tag": text, "value"?: …}');
      }
      const inner = hasOwn(payload, "value")
        ? valueFromTaggedJson(payload.value!, [...at, "value"])
        : { kind: "unit" as const };
      return variantValue(tag, inner);
    }
    default: {
      const kind = SCALAR_BY_TAGGED_KEY.get(key);
      if (kind === undefined) throw typeMismatch(path, "the tagged form", `unknown key "${key}"`);
      return scalarFromJson(kind, payload, at);
    }
  }
}
