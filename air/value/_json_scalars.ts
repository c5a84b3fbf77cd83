/**
 * Private to `air/`: the JSON spellings of scalar values (AIR §3) shared by the plain and tagged forms,
 * and the type-free CBOR projection of a value used to order tagged sets and maps.
 *
 * @module
 */
import type { JsonValue } from "../base/mod.ts";
import { bytesToHashRef, type CborValue, Dec128Item, hashRefToBytes, isHashRef, toHex } from "../cbor/mod.ts";
import { dec128ToBits, normalizeDec128, parseDec128 } from "./dec128.ts";
import { checkIntegerRange, dec128AtPath, typeMismatch, type ValuePath } from "./type_view.ts";
import type { PrimitiveName } from "./types.ts";
import type { Value } from "./value.ts";

/** The key of each scalar's tagged form (`{"bytes_b64": "AAE="}`); unit's is `null`. */
export const TAGGED_SCALAR_KEYS: Readonly<Record<PrimitiveName, string>> = {
  bool: "bool",
  int: "int",
  nat: "nat",
  dec128: "dec128",
  bytes: "bytes_b64",
  text: "text",
  time: "time_ns",
  duration: "duration_ns",
  hash: "hash",
  uuid: "uuid",
  unit: "null",
};

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** True when `json` is an object (not an array or null). */
export function isObject(json: JsonValue): json is JsonObject {
  return json !== null && typeof json === "object" && !Array.isArray(json);
}

/** Sets an own enumerable property (safe for keys such as `__proto__`). */
export function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The variant value `{$tag, $value}` (AIR §3). */
export function variantValue(tag: string, payload: Value): Value {
  return {
    kind: "record",
    value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", payload]]),
  };
}

/** A short description of a JSON value for error messages. */
export function describeJson(json: JsonValue): string {
  if (json === null) return "got null";
  if (typeof json === "boolean") return `got ${json}`;
  if (typeof json === "bigint") return `got the integer ${json}`;
  if (typeof json === "string") {
    return `got the string ${JSON.stringify(json.length > 40 ? `${json.slice(0, 40)}…` : json)}`;
  }
  return Array.isArray(json) ? "got an array" : "got an object";
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DECIMAL = /^-?\d{1,30}$/; // 30 digits is past every 64-bit value, so the range check decides

/** Padded base64 (RFC 4648 §4). */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of padded base64, or undefined unless `text` is exactly the canonical spelling of its bytes. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return encodeBase64(bytes) === text ? bytes : undefined; // rejects non-zero padding bits
}

/** Canonical uuid text (lowercase 8-4-4-4-12) of 16 bytes. */
export function formatUuid(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function daysFromCivil(year: number, month: number, day: number): number {
  // Howard Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian calendar.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Nanoseconds since the Unix epoch of an RFC 3339 date-time, or undefined when malformed. */
export function parseRfc3339Ns(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (monthDays === undefined || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const offsetSign = m[8] === "-" ? -1 : 1;
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
    offsetSign * (offsetHours * 3600 + offsetMinutes * 60);
  return BigInt(seconds) * 1_000_000_000n + BigInt((m[7] ?? "").padEnd(9, "0"));
}

function integerFromJson(
  kind: "int" | "nat" | "time" | "duration",
  json: JsonValue,
  path: ValuePath,
): bigint {
  if (typeof json === "bigint") return checkIntegerRange(json, kind, path);
  if (typeof json === "string" && DECIMAL.test(json)) return checkIntegerRange(BigInt(json), kind, path);
  if (kind === "time" && typeof json === "string") {
    const ns = parseRfc3339Ns(json);
    if (ns !== undefined) return checkIntegerRange(ns, kind, path);
  }
  const expected = kind === "nat"
    ? "an unsigned integer or a decimal string"
    : kind === "time"
    ? "integer nanoseconds or an RFC 3339 date-time"
    : "an integer or a decimal string";
  throw typeMismatch(path, kind, `expected ${expected}, ${describeJson(json)}`);
}

/** Reads the plain JSON spelling of a scalar (also the payload of its tagged form). */
export function scalarFromJson(kind: PrimitiveName, json: JsonValue, path: ValuePath): Value {
  const expected = (what: string) => typeMismatch(path, kind, `expected ${what}, ${describeJson(json)}`);
  switch (kind) {
    case "bool":
      if (typeof json !== "boolean") throw expected("true or false");
      return { kind, value: json };
    case "int":
    case "nat":
    case "time":
    case "duration":
      return { kind, value: integerFromJson(kind, json, path) };
    case "dec128": {
      if (typeof json !== "string" && typeof json !== "bigint") throw expected("a decimal string");
      return { kind, value: dec128AtPath(path, () => normalizeDec128(String(json))) };
    }
    case "bytes": {
      const bytes = typeof json === "string" ? decodeBase64(json) : undefined;
      if (bytes === undefined) throw expected("padded base64");
      return { kind, value: bytes };
    }
    case "text":
      if (typeof json !== "string" || !json.isWellFormed()) throw expected("a string of valid Unicode");
      return { kind, value: json };
    case "hash":
      if (typeof json !== "string" || !isHashRef(json)) {
        throw expected('"sha256:" and 64 lowercase hex digits');
      }
      return { kind, value: hashRefToBytes(json) };
    case "uuid":
      if (typeof json !== "string" || !UUID.test(json)) throw expected("a lowercase 8-4-4-4-12 uuid");
      return { kind, value: Uint8Array.from(json.replaceAll("-", "").match(/../g)!, (h) => parseInt(h, 16)) };
    case "unit":
      if (json !== null) throw expected("null");
      return { kind: "unit" };
  }
}

/** The plain JSON spelling of a scalar value (unit and none are null). */
export function scalarToJson(value: Value): JsonValue {
  switch (value.kind) {
    case "bool":
    case "text":
    case "int":
    case "nat":
    case "time":
    case "duration":
      return value.value;
    case "dec128":
      return normalizeDec128(value.value);
    case "bytes":
      return encodeBase64(value.value);
    case "hash":
      return bytesToHashRef(value.value);
    case "uuid":
      if (value.value.length !== 16) throw new RangeError(`A uuid needs 16 bytes, got ${value.value.length}`);
      return formatUuid(value.value);
    case "unit":
    case "none":
      return null;
    default:
      throw new TypeError(`scalarToJson() got a ${value.kind}`);
  }
}

/**
 * The CBOR item a value would have under its type, derived from the value alone (records drop none
 * fields, unit and none are null). Equal to the typed item for every well-typed value, so it orders
 * tagged sets and map keys exactly as the typed encoder does.
 */
export function itemOfValue(value: Value): CborValue {
  switch (value.kind) {
    case "dec128":
      return new Dec128Item(dec128ToBits(parseDec128(value.value)));
    case "bytes":
    case "hash":
    case "uuid":
      return value.value;
    case "list":
    case "set":
      return value.value.map(itemOfValue);
    case "map":
      return new Map(value.value.map(([k, v]) => [itemOfValue(k), itemOfValue(v)]));
    case "record": {
      const out = new Map<CborValue, CborValue>();
      for (const [name, field] of value.value) if (field.kind !== "none") out.set(name, itemOfValue(field));
      return out;
    }
    default:
      return scalarToJson(value) as CborValue;
  }
}
