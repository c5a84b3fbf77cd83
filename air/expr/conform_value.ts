/**
 * Conformance (AIR §3): an Expr result written into a typed position (effect params, event, key, local,
 * result) is converted to the target type or rejected.
 *
 * @module
 */
import {
  compareTextKeys,
  dec128AtPath,
  hasOwn,
  normalizeDec128,
  pathAt,
  type SchemaResolver,
  type TypeExpr,
  typeMismatch,
  type Value,
  type ValuePath,
  viewType,
  withPathOnError,
} from "../value/mod.ts";
import { compareElements, fitsRange, isInteger, sortedUnique } from "./_values.ts";

/** A record type's field names in canonical key order, sorted once per `fields` object. */
const sortedFieldNames = new WeakMap<object, readonly string[]>();

function fieldNames(fields: { [name: string]: TypeExpr }): readonly string[] {
  let names = sortedFieldNames.get(fields);
  if (names === undefined) {
    names = Object.keys(fields).sort(compareTextKeys);
    sortedFieldNames.set(fields, names);
  }
  return names;
}

function conform(
  value: Value,
  type: TypeExpr,
  schemas: SchemaResolver,
  path: ValuePath,
  depth: number,
): Value {
  const view = viewType(type, schemas, path, depth);
  switch (view.kind) {
    case "option":
      if (value.kind === "none" || value.kind === "unit") return { kind: "none" };
      return conform(value, view.item, schemas, path, depth + 1);
    case "int":
    case "nat":
    case "time":
    case "duration":
      if (!isInteger(value)) throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      if (!fitsRange(value.value, view.kind)) {
        throw typeMismatch(path, view.kind, `${value.value} is out of range`);
      }
      return value.kind === view.kind ? value : { kind: view.kind, value: value.value };
    case "bool":
    case "bytes":
      if (value.kind !== view.kind) throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      return value;
    case "text":
      if (value.kind !== "text") throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      if (!value.value.isWellFormed()) throw typeMismatch(path, view.kind, "contains a lone surrogate");
      return value;
    case "dec128": {
      if (value.kind !== "dec128") throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      const text = value.value;
      return { kind: "dec128", value: dec128AtPath(path, () => normalizeDec128(text)) };
    }
    case "hash":
    case "uuid": {
      if (value.kind !== view.kind) throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      const size = view.kind === "hash" ? 32 : 16;
      if (value.value.length !== size) {
        throw typeMismatch(path, view.kind, `expected ${size} bytes, got ${value.value.length}`);
      }
      return value;
    }
    case "unit":
      if (value.kind !== "unit" && value.kind !== "none") {
        throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      }
      return { kind: "unit" };
    case "list":
      if (value.kind !== "list") throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      return {
        kind: "list",
        value: value.value.map((item, i) => conform(item, view.item, schemas, pathAt(path, i), depth + 1)),
      };
    case "set": {
      if (value.kind !== "list" && value.kind !== "set") {
        throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      }
      const items = value.value.map((item, i) =>
        conform(item, view.item, schemas, pathAt(path, i), depth + 1)
      );
      return { kind: "set", value: sortedUnique(items) };
    }
    case "map": {
      let pairs: Array<[Value, Value]>;
      if (value.kind === "map") pairs = value.value;
      else if (value.kind === "record") {
        pairs = [...value.value].map(([name, field]) => [{ kind: "text", value: name }, field]);
      } else throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      const out = pairs.map(([key, item], i): [Value, Value] => {
        const segment = key.kind === "text" ? key.value : i;
        return [
          conform(key, view.key, schemas, pathAt(path, segment), depth + 1),
          conform(item, view.value, schemas, pathAt(path, segment), depth + 1),
        ];
      }).sort(([a], [b]) => compareElements(a, b));
      if (out.some(([key], i) => i > 0 && compareElements(out[i - 1]![0], key) === 0)) {
        throw typeMismatch(path, view.kind, "duplicate keys after conversion");
      }
      return { kind: "map", value: out };
    }
    case "record": {
      if (value.kind !== "record") throw typeMismatch(path, view.kind, `got a ${value.kind} value`);
      for (const [name, field] of value.value) {
        // A none field equals an absent one (value_equal.ts), so only a present extra field is an error.
        if (!hasOwn(view.fields, name) && field.kind !== "none") {
          throw typeMismatch(pathAt(path, name), "record", `unexpected field "${name}"`);
        }
      }
      const out = new Map<string, Value>();
      for (const name of fieldNames(view.fields)) {
        const fieldType = view.fields[name]!;
        const field = value.value.get(name);
        if (field !== undefined) {
          out.set(name, conform(field, fieldType, schemas, pathAt(path, name), depth + 1));
        } else if (viewType(fieldType, schemas, pathAt(path, name), depth + 1).kind === "option") {
          out.set(name, { kind: "none" });
        } else throw typeMismatch(pathAt(path, name), "record", `missing field "${name}"`);
      }
      return { kind: "record", value: out };
    }
    case "variant": {
      if (value.kind !== "record") throw typeMismatch(path, view.kind, "expected a {$tag, $value} record");
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
      const inner = conform(payload, view.tags[tag.value]!, schemas, pathAt(path, "$value"), depth + 1);
      return { kind: "record", value: new Map<string, Value>([["$tag", tag], ["$value", inner]]) };
    }
  }
}

/**
 * Converts a value into `type` by the Conformance rule of AIR §3: int, nat, time and duration convert
 * into each other when in range; a record becomes a `map<text,V>`; a list becomes a set (deduplicated,
 * sorted); unit/none is none and any other value *some* for an option; an absent record field is none
 * for an option field; a `{$tag, $value}` record is a variant value. Anything else throws
 * `AOS_TYPE_MISMATCH` with the value's path in `context.path` (an unknown schema: `AOS_SCHEMA_UNKNOWN`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * const schemas = { resolve: () => undefined };
 * deepStrictEqual(conformValue({ kind: "int", value: 5n }, { nat: {} }, schemas), { kind: "nat", value: 5n });
 * deepStrictEqual(conformValue({ kind: "unit" }, { option: { text: {} } }, schemas), { kind: "none" });
 * ```
 */
export function conformValue(
  value: Value,
  type: TypeExpr,
  schemas: SchemaResolver,
  path: ValuePath = [],
): Value {
  return withPathOnError(path, (at) => conform(value, type, schemas, at, 0));
}
