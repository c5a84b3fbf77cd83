/**
 * Private to `kernel/`: the self-describing form of plan variables in snapshots (KERNEL §8.4). Plan
 * variables, step outputs and buffered events are dynamically typed, so they are stored as the tagged
 * JSON shapes of AIR §3 written as CBOR instead of JSON text:
 *
 * - the keys are the tagged keys of AIR §3 (`bool`, `int`, `nat`, `dec128`, `bytes_b64`, `text`,
 *   `time_ns`, `duration_ns`, `hash`, `uuid`, `list`, `set`, `map`, `record`, `variant`, `null`);
 * - integers are CBOR integers, texts CBOR texts, booleans CBOR booleans;
 * - byte payloads (`bytes_b64`, `hash`, `uuid`) are bstr (not base64/`sha256:`/uuid text), `dec128` is its
 *   tag-2000 item;
 * - `map` is an array of `{key, value}` maps, `variant` is `{tag, value?}` (`value` omitted for unit).
 *
 * Two additions make the form lossless, because the evaluator can tell these values apart (`@var:r.f` on
 * a none field is none, on an absent field an error; a unit and a none give different error messages):
 * a record keeps its none fields (as `{"null": {}}`) instead of omitting them, and `unit` is written
 * `{"unit": {}}` while none stays `{"null": {}}`. Lists, sets and map entries keep their stored order
 * (values only ever hold sets and maps in canonical order), so decode-then-encode gives the same bytes.
 *
 * @module
 */
import {
  AosError,
  type CborValue,
  compareTextKeys,
  dec128FromBits,
  Dec128Item,
  dec128ToBits,
  formatDec128,
  parseDec128,
  type Value,
} from "../air/mod.ts";

type CborMap = { [key: string]: CborValue };

function isVariant(fields: Map<string, Value>): boolean {
  return fields.size === 2 && fields.get("$tag")?.kind === "text" && fields.has("$value");
}

/** Writes a value in the tagged CBOR form described in the module doc. */
export function valueToTaggedCbor(value: Value): CborValue {
  switch (value.kind) {
    case "bool":
    case "int":
    case "nat":
    case "text":
      return { [value.kind]: value.value };
    case "time":
      return { time_ns: value.value };
    case "duration":
      return { duration_ns: value.value };
    case "dec128":
      return { dec128: new Dec128Item(dec128ToBits(parseDec128(value.value))) };
    case "bytes":
      return { bytes_b64: value.value };
    case "hash":
    case "uuid":
      return { [value.kind]: value.value };
    case "unit":
      return { unit: {} };
    case "none":
      return { null: {} };
    case "list":
    case "set":
      return { [value.kind]: value.value.map(valueToTaggedCbor) };
    case "map":
      return {
        map: value.value.map(([k, v]) => ({ key: valueToTaggedCbor(k), value: valueToTaggedCbor(v) })),
      };
    case "record": {
      if (isVariant(value.value)) {
        const tag = value.value.get("$tag") as { kind: "text"; value: string };
        const payload = value.value.get("$value")!;
        const variant: CborMap = { tag: tag.value };
        if (payload.kind !== "unit") variant.value = valueToTaggedCbor(payload);
        return { variant };
      }
      const fields: CborMap = {};
      for (const name of [...value.value.keys()].sort(compareTextKeys)) {
        const item = valueToTaggedCbor(value.value.get(name)!);
        if (name !== "__proto__") {
          fields[name] = item;
          continue;
        }
        // defineProperty, so a "__proto__" field stays data.
        Object.defineProperty(fields, name, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return { record: fields };
    }
  }
}

function bad(path: string, detail: string): AosError {
  return new AosError("AOS_JOURNAL_CORRUPT", `Snapshot plan value at ${path} is malformed: ${detail}`);
}

function isMap(item: CborValue | undefined): item is CborMap {
  return typeof item === "object" && item !== null && !Array.isArray(item) && !(item instanceof Uint8Array) &&
    !(item instanceof Dec128Item) && !(item instanceof Map);
}

function integer(item: CborValue, path: string): bigint {
  if (typeof item === "bigint") return item;
  if (typeof item === "number" && Number.isInteger(item)) return BigInt(item);
  throw bad(path, "expected an integer");
}

function bytes(item: CborValue, path: string, size?: number): Uint8Array {
  if (!(item instanceof Uint8Array)) throw bad(path, "expected a byte string");
  if (size !== undefined && item.length !== size) throw bad(path, `expected ${size} bytes`);
  return item;
}

function empty(item: CborValue, path: string): void {
  if (!isMap(item) || Object.keys(item).length !== 0) throw bad(path, "expected {}");
}

function items(item: CborValue, path: string): CborValue[] {
  if (!Array.isArray(item)) throw bad(path, "expected an array");
  return item;
}

/** Reads the tagged CBOR form (inverse of {@linkcode valueToTaggedCbor}); malformed input is corruption. */
export function valueFromTaggedCbor(item: CborValue, path = "$"): Value {
  const keys = isMap(item) ? Object.keys(item) : [];
  const key = keys[0];
  if (!isMap(item) || keys.length !== 1 || key === undefined) throw bad(path, "expected a one-key map");
  const payload = item[key]!;
  const at = `${path}.${key}`;
  switch (key) {
    case "bool":
      if (typeof payload !== "boolean") throw bad(at, "expected a boolean");
      return { kind: "bool", value: payload };
    case "int":
    case "nat":
      return { kind: key, value: integer(payload, at) };
    case "time_ns":
      return { kind: "time", value: integer(payload, at) };
    case "duration_ns":
      return { kind: "duration", value: integer(payload, at) };
    case "text":
      if (typeof payload !== "string") throw bad(at, "expected a text string");
      return { kind: "text", value: payload };
    case "dec128":
      if (!(payload instanceof Dec128Item)) throw bad(at, "expected a tag-2000 item");
      return { kind: "dec128", value: formatDec128(dec128FromBits(payload.bits)) };
    case "bytes_b64":
      return { kind: "bytes", value: bytes(payload, at) };
    case "hash":
      return { kind: "hash", value: bytes(payload, at, 32) };
    case "uuid":
      return { kind: "uuid", value: bytes(payload, at, 16) };
    case "unit":
      empty(payload, at);
      return { kind: "unit" };
    case "null":
      empty(payload, at);
      return { kind: "none" };
    case "list":
    case "set":
      return { kind: key, value: items(payload, at).map((x, i) => valueFromTaggedCbor(x, `${at}[${i}]`)) };
    case "map":
      return {
        kind: "map",
        value: items(payload, at).map((entry, i): [Value, Value] => {
          if (
            !isMap(entry) || Object.keys(entry).length !== 2 || !Object.hasOwn(entry, "key") ||
            !Object.hasOwn(entry, "value")
          ) {
            throw bad(`${at}[${i}]`, "expected {key, value}");
          }
          return [
            valueFromTaggedCbor(entry.key!, `${at}[${i}].key`),
            valueFromTaggedCbor(entry.value!, `${at}[${i}].value`),
          ];
        }),
      };
    case "record": {
      if (!isMap(payload)) throw bad(at, "expected a map");
      const fields = new Map<string, Value>();
      for (const name of Object.keys(payload).sort(compareTextKeys)) {
        fields.set(name, valueFromTaggedCbor(payload[name]!, `${at}.${name}`));
      }
      return { kind: "record", value: fields };
    }
    case "variant": {
      const tag = isMap(payload) ? payload.tag : undefined;
      if (
        !isMap(payload) || typeof tag !== "string" ||
        !Object.keys(payload).every((k) => k === "tag" || k === "value")
      ) {
        throw bad(at, "expected {tag, value?}");
      }
      const inner = Object.hasOwn(payload, "value")
        ? valueFromTaggedCbor(payload.value!, `${at}.value`)
        : { kind: "unit" as const };
      return {
        kind: "record",
        value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", inner]]),
      };
    }
    default:
      throw bad(path, `unknown key "${key}"`);
  }
}
