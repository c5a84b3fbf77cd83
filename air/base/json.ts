/**
 * JSON with lossless integers: every JSON integer is parsed to a `bigint` (AIR has no floats, so a
 * number with a fraction or exponent is rejected with its JSON path).
 *
 * @module
 */
import { AosError } from "./errors.ts";

/** A parsed JSON value; integers are bigints. */
export type JsonValue = null | boolean | string | bigint | JsonValue[] | { [key: string]: JsonValue };

/** JSON path segments joined as `$.a[0].b` (keys that are not identifiers use `["…"]`). */
export function jsonPath(segments: ReadonlyArray<string | number>): string {
  let out = "$";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

interface ReviverContext {
  source?: string;
}

/**
 * Parses JSON text. Integers become bigints; floats are rejected.
 * @param file named in errors
 */
export function parseJson(text: string, file?: string): JsonValue {
  const floats: string[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      text,
      function (this: unknown, _key: string, value: unknown, context?: ReviverContext) {
        if (typeof value === "number") {
          const source = context?.source ?? String(value);
          if (!/^-?\d+$/.test(source)) {
            floats.push(source);
            return value;
          }
          return BigInt(source);
        }
        return value;
      },
    );
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new AosError("AOS_JSON_INVALID", `Invalid JSON${file ? ` in "${file}"` : ""}: ${message}`, {
      cause,
      context: file === undefined ? {} : { file },
    });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw new AosError(
      "AOS_JSON_INVALID",
      `Invalid JSON${file ? ` in "${file}"` : ""} at ${duplicate.path}: duplicate key "${duplicate.key}"`,
      { context: { ...(file === undefined ? {} : { file }), path: duplicate.path } },
    );
  }
  if (floats.length > 0) {
    const path = findFloatPath(parsed, []) ?? "$";
    throw new AosError(
      "AOS_JSON_INVALID",
      `Invalid JSON${file ? ` in "${file}"` : ""} at ${path}: number "${
        floats[0]
      }" is not an integer (AIR has no floats)`,
      { context: { ...(file === undefined ? {} : { file }), path } },
    );
  }
  return parsed as JsonValue;
}

interface Frame {
  /** The object's keys so far; undefined for an array. */
  keys: Set<string> | undefined;
  expectKey: boolean;
  index: number;
  key: string;
  parent: Frame | undefined;
  /** Where this container sits in its parent: a key or an index (unused at the top). */
  at: string | number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Finds the first duplicate object key in syntactically valid JSON text (`JSON.parse` keeps the last one
 * silently, which would let two spellings claim one input). Returns its JSON path.
 *
 * One pass over the text: a string is skipped with `indexOf` to its closing quote (a quote preceded by an
 * odd run of backslashes is escaped), and a container's path is built only for the duplicate it reports,
 * so a large string or deep nesting costs time in proportion to the text.
 */
function findDuplicateKey(text: string): { key: string; path: string } | undefined {
  let top: Frame | undefined;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      if (top?.keys !== undefined && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: jsonPath([...framePath(top), key]) };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) { // { [
      const at = top === undefined ? "" : top.keys !== undefined ? top.key : top.index;
      top = {
        keys: c === 0x7b ? new Set() : undefined,
        expectKey: c === 0x7b,
        index: 0,
        key: "",
        parent: top,
        at,
      };
    } else if (c === 0x7d || c === 0x5d) { // } ]
      top = top?.parent;
    } else if (c === 0x2c && top !== undefined) { // ,
      if (top.keys !== undefined) top.expectKey = true;
      else top.index++;
    }
    i++;
  }
  return undefined;
}

/** The path segments from the top value to `frame`'s container. */
function framePath(frame: Frame): Array<string | number> {
  const out: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) out.push(f.at);
  return out.reverse();
}

function findFloatPath(value: unknown, at: Array<string | number>): string | undefined {
  if (typeof value === "number") return jsonPath(at);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findFloatPath(value[i], [...at, i]);
      if (p) return p;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const p = findFloatPath(v, [...at, k]);
      if (p) return p;
    }
  }
  return undefined;
}

/** Serializes JSON with bigints written as plain integers. `indent` as in `JSON.stringify`. */
export function stringifyJson(value: JsonValue, indent?: number): string {
  return JSON.stringify(
    value,
    (
      _key,
      v,
    ) => (typeof v === "bigint"
      ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString())
      : v),
    indent,
  );
}

/** Converts a plain JS value (numbers allowed) into a JsonValue (integers as bigints). */
export function toJsonValue(value: unknown): JsonValue {
  if (
    value === null || typeof value === "boolean" || typeof value === "string" || typeof value === "bigint"
  ) {
    return value;
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`Not an integer: ${value}`);
    return BigInt(value);
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) out[k] = toJsonValue(v);
    }
    return out;
  }
  throw new TypeError(`Not JSON: ${typeof value}`);
}
