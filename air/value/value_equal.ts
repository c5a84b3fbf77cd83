/**
 * Structural equality of runtime values (AIR §3), the equality Expr's `eq` and set/map membership use.
 *
 * - int, nat, time and duration compare by numeric value (`nat 5` equals `int 5`), as they convert
 *   into each other under conformance;
 * - dec128 compares numerically (`"0.20"` equals `"0.2"`);
 * - `unit` equals `none`: both are null in every encoding (CBOR, plain and tagged JSON);
 * - records, sets and maps are order-insensitive; a record field holding none (or unit) equals an
 *   absent field, as the tagged form and option decoding cannot tell them apart;
 * - bytes, hash and uuid are distinct kinds even with equal bytes.
 *
 * @module
 */
import { bytesEqual, toHex } from "../cbor/mod.ts";
import { normalizeDec128 } from "./dec128.ts";
import type { Value } from "./value.ts";

const NUMERIC: ReadonlySet<string> = new Set(["int", "nat", "time", "duration"]);

function isNullLike(value: Value): boolean {
  return value.kind === "unit" || value.kind === "none";
}

function dec128Key(text: string): string {
  try {
    return `d${normalizeDec128(text)}`;
  } catch {
    return `d?${JSON.stringify(text)}`; // not a valid dec128: equal only to the same text
  }
}

/**
 * A string that is equal for two values exactly when {@linkcode valueEquals} holds: a canonical key for
 * hashing values into JS `Map`s and `Set`s (deduplicating a set, indexing a map).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(valueKey({ kind: "nat", value: 5n }), valueKey({ kind: "int", value: 5n }));
 * ```
 */
export function valueKey(value: Value): string {
  switch (value.kind) {
    case "bool":
      return value.value ? "T" : "F";
    case "int":
    case "nat":
    case "time":
    case "duration":
      return `n${value.value}`;
    case "dec128":
      return dec128Key(value.value);
    case "text":
      return `s${JSON.stringify(value.value)}`;
    case "bytes":
      return `b${toHex(value.value)};`;
    case "hash":
      return `h${toHex(value.value)};`;
    case "uuid":
      return `u${toHex(value.value)};`;
    case "unit":
    case "none":
      return "z";
    case "list":
      return `l[${value.value.map(valueKey).join(",")}]`;
    case "set":
      return `S[${[...new Set(value.value.map(valueKey))].sort().join(",")}]`;
    case "map": {
      const entries = value.value.map(([k, v]) => `${valueKey(k)}=${valueKey(v)}`);
      return `m[${[...new Set(entries)].sort().join(",")}]`;
    }
    case "record": {
      const fields: string[] = [];
      for (const [name, field] of value.value) {
        if (!isNullLike(field)) fields.push(`${JSON.stringify(name)}:${valueKey(field)}`);
      }
      return `r{${fields.sort().join(",")}}`;
    }
  }
}

function presentFields(record: Map<string, Value>): number {
  let count = 0;
  for (const field of record.values()) if (!isNullLike(field)) count++;
  return count;
}

/**
 * Structural equality (see the module doc for the rules).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { Value } from "./value.ts";
 * const x: Value = { kind: "text", value: "x" };
 * const y: Value = { kind: "text", value: "y" };
 * const a: Value = { kind: "set", value: [x, y] };
 * const b: Value = { kind: "set", value: [y, x] };
 * strictEqual(valueEquals(a, b), true);
 * strictEqual(valueEquals({ kind: "dec128", value: "0.2" }, { kind: "dec128", value: "0.20" }), true);
 * ```
 */
export function valueEquals(a: Value, b: Value): boolean {
  if (NUMERIC.has(a.kind) && NUMERIC.has(b.kind)) {
    return (a as { value: bigint }).value === (b as { value: bigint }).value;
  }
  const aNull = isNullLike(a);
  const bNull = isNullLike(b);
  if (aNull || bNull) return aNull && bNull;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "bool":
    case "text":
      return a.value === (b as typeof a).value;
    case "dec128":
      return a.value === (b as typeof a).value || dec128Key(a.value) === dec128Key((b as typeof a).value);
    case "bytes":
    case "hash":
    case "uuid":
      return bytesEqual(a.value, (b as typeof a).value);
    case "list": {
      const other = (b as typeof a).value;
      return a.value.length === other.length && a.value.every((item, i) => valueEquals(item, other[i]!));
    }
    case "record": {
      const other = (b as typeof a).value;
      if (presentFields(a.value) !== presentFields(other)) return false;
      for (const [name, field] of a.value) {
        if (isNullLike(field)) continue;
        const match = other.get(name);
        if (match === undefined || !valueEquals(field, match)) return false;
      }
      return true;
    }
    default:
      // Sets and maps: order-insensitive, compared through their canonical keys.
      return valueKey(a) === valueKey(b);
  }
}
