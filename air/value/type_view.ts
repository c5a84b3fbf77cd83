/**
 * Type views (AIR §2): resolve `ref`s with a depth bound, check the outer type expression, and the
 * shared error and ordering helpers of the typed codecs (`typed_codec.ts`, `value_json.ts`).
 *
 * @module
 */
import { AosError, type AosErrorCode, jsonPath, limits } from "../base/mod.ts";
import { compareBytes } from "../cbor/mod.ts";
import type { PrimitiveName, SchemaResolver, TypeExpr } from "./types.ts";

/** JSON path segments locating a value (`["items", 2, "by"]` is `$.items[2].by`). */
export type ValuePath = ReadonlyArray<string | number>;

/**
 * The path of a walk that does not track where it is (see {@linkcode withPathOnError}): {@linkcode pathAt}
 * keeps it as it is.
 */
export const UNTRACKED_PATH: ValuePath = Object.freeze([]);

/** `path` and up to three segments after it; {@linkcode UNTRACKED_PATH} stays as it is. */
export function pathAt(
  path: ValuePath,
  a: string | number,
  b?: string | number,
  c?: string | number,
): ValuePath {
  if (path === UNTRACKED_PATH) return UNTRACKED_PATH;
  if (b === undefined) return [...path, a];
  return c === undefined ? [...path, a, b] : [...path, a, b, c];
}

/**
 * Runs a pure walk over a value (an evaluation, a conversion, an encoding) without tracking its path, then,
 * only when it fails with an `AosError`, runs it again from `path`: the same walk fails the same way and its
 * error names where. The paths a walk makes for every node (and the closures that made them) were most of
 * what it allocated, for an error path it almost never needs.
 */
export function withPathOnError<T>(path: ValuePath, walk: (path: ValuePath) => T): T {
  try {
    return walk(UNTRACKED_PATH);
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    return walk(path);
  }
}

/** A type with refs resolved one level, as a discriminated union. */
export type TypeView =
  | { kind: PrimitiveName }
  | { kind: "record"; fields: Readonly<Record<string, TypeExpr>> }
  | { kind: "variant"; tags: Readonly<Record<string, TypeExpr>> }
  | { kind: "list" | "set" | "option"; item: TypeExpr }
  | { kind: "map"; key: TypeExpr; value: TypeExpr };

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveName>(
  ["bool", "int", "nat", "dec128", "bytes", "text", "time", "duration", "hash", "uuid", "unit"],
);
const COMPARABLE: ReadonlySet<string> = new Set(["int", "nat", "text", "uuid", "hash"]);
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const utf8 = new TextEncoder();

/** A type mismatch at `path`: `Value at $.count does not match nat: expected an unsigned integer`. */
export function typeMismatch(path: ValuePath, typeName: string, detail: string): AosError {
  const at = jsonPath(path);
  return new AosError("AOS_TYPE_MISMATCH", `Value at ${at} does not match ${typeName}: ${detail}`, {
    context: { path: at },
  });
}

/** A non-canonical encoding at `path` (`AOS_CBOR_NON_CANONICAL`). */
export function nonCanonical(path: ValuePath, detail: string): AosError {
  const at = jsonPath(path);
  return new AosError("AOS_CBOR_NON_CANONICAL", `Non-canonical value at ${at}: ${detail}`, {
    context: { path: at },
  });
}

/** An invalid type for the value at `path` (`AOS_AIR_INVALID` unless `code` says otherwise). */
export function airInvalid(
  path: ValuePath,
  detail: string,
  code: AosErrorCode = "AOS_AIR_INVALID",
): AosError {
  const at = jsonPath(path);
  return new AosError(code, `Invalid type for the value at ${at}: ${detail}`, { context: { path: at } });
}

/** Canonical order of text keys: the order of their CBOR encodings (shorter UTF-8 first, then bytewise). */
export function compareTextKeys(a: string, b: string): number {
  const la = utf8LengthWithoutSurrogates(a);
  const lb = utf8LengthWithoutSurrogates(b);
  if (la >= 0 && lb >= 0) {
    // Without surrogates a code unit is a code point, and UTF-8 keeps code point order: no encoding needed.
    if (la !== lb) return la - lb;
    for (let i = 0; i < a.length && i < b.length; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length - b.length;
  }
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  return x.length !== y.length ? x.length - y.length : compareBytes(x, y);
}

/** The UTF-8 length of `text`, or -1 when it holds a surrogate (paired or lone: encode it to know). */
function utf8LengthWithoutSurrogates(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit >= 0xd800 && unit <= 0xdfff) return -1;
    length += unit < 0x800 ? 1 : 2;
  }
  return length;
}

/** True when `object` has `key` as an own property (never a prototype member like `toString`). */
export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Keeps a view that needed no nested view for {@linkcode viewType} to look up; returns it. */
function remember(type: TypeExpr, schemas: SchemaResolver, hops: number, view: TypeView): TypeView {
  if (typeof type === "object" && type !== null) simpleViews.set(type, { schemas, view, hops });
  return view;
}

/**
 * Resolves refs (bounded by `limits.nestingDepthMax` counting `depth`) and validates the outer type:
 * one known key, `option` not of `option`/`unit`, `map` keys and `set` elements comparable.
 */
export function viewType(type: TypeExpr, schemas: SchemaResolver, path: ValuePath = [], depth = 0): TypeView {
  // A type whose view needs no nested view (a primitive, a record, a variant or a list, through refs) is
  // looked up: the same type object, resolver and depth limit give the same view (schemas are not mutated
  // once loaded), and every reducer step checks its state through here.
  const cached = typeof type === "object" && type !== null ? simpleViews.get(type) : undefined;
  if (cached !== undefined && cached.schemas === schemas && depth + cached.hops <= limits.nestingDepthMax) {
    return cached.view;
  }
  return resolveView(type, schemas, path, depth);
}

/**
 * The type `{ref: name}`, one frozen object per schema name. {@linkcode viewType} looks a view up by the type
 * object, so a check, encode or decode against a schema by name should pass this rather than a fresh
 * `{ref: name}`, which misses the lookup and resolves (and records) the view again every time.
 */
export function refType(name: string): TypeExpr {
  let type = refTypes.get(name);
  if (type === undefined) refTypes.set(name, type = Object.freeze({ ref: name }));
  return type;
}

/** The types of {@linkcode refType}, by schema name (as many as the names a process has seen). */
const refTypes = new Map<string, TypeExpr>();

/** Views of types that need no nested view, by type object: with the resolver and the ref hops they took. */
const simpleViews = new WeakMap<object, { schemas: SchemaResolver; view: TypeView; hops: number }>();

function resolveView(type: TypeExpr, schemas: SchemaResolver, path: ValuePath, depth: number): TypeView {
  let current: TypeExpr = type;
  for (let hops = 0;; hops++) {
    if (depth + hops > limits.nestingDepthMax) {
      throw airInvalid(path, `nesting exceeds ${limits.nestingDepthMax} levels (is a ref cyclic?)`);
    }
    const keys = typeof current === "object" && current !== null ? Object.keys(current) : [];
    const kind = keys[0];
    if (keys.length !== 1 || kind === undefined) throw airInvalid(path, "expected a one-key type expression");
    if (PRIMITIVES.has(kind)) return remember(type, schemas, hops, { kind: kind as PrimitiveName });
    if ("ref" in current) {
      const target = schemas.resolve(current.ref);
      if (target === undefined) {
        throw airInvalid(path, `unknown schema "${current.ref}"`, "AOS_SCHEMA_UNKNOWN");
      }
      current = target;
      continue;
    }
    if ("record" in current) return remember(type, schemas, hops, { kind: "record", fields: current.record });
    if ("variant" in current) {
      return remember(type, schemas, hops, { kind: "variant", tags: current.variant });
    }
    if ("list" in current) return remember(type, schemas, hops, { kind: "list", item: current.list });
    if ("set" in current) {
      const item = viewType(current.set, schemas, path, depth + hops + 1).kind;
      if (!COMPARABLE.has(item)) {
        throw airInvalid(path, `set elements must be int, nat, text, uuid or hash, not ${item}`);
      }
      return { kind: "set", item: current.set };
    }
    if ("map" in current) {
      const key = viewType(current.map.key, schemas, path, depth + hops + 1).kind;
      if (!COMPARABLE.has(key)) {
        throw airInvalid(path, `map keys must be int, nat, text, uuid or hash, not ${key}`);
      }
      return { kind: "map", key: current.map.key, value: current.map.value };
    }
    if ("option" in current) {
      const item = viewType(current.option, schemas, path, depth + hops + 1).kind;
      if (item === "option" || item === "unit") throw airInvalid(path, `option of ${item} is not allowed`);
      return { kind: "option", item: current.option };
    }
    throw airInvalid(path, `unknown type "${kind}"`);
  }
}

/** Checks an integer against the range of `typeName` (u64 for nat/time, i64 for int/duration). */
export function checkIntegerRange(value: bigint, typeName: string, path: ValuePath): bigint {
  const unsigned = typeName === "nat" || typeName === "time";
  if (unsigned && (value < 0n || value > U64_MAX)) {
    throw typeMismatch(path, typeName, `${value} is outside the unsigned 64-bit range`);
  }
  if (!unsigned && (value < I64_MIN || value > I64_MAX)) {
    throw typeMismatch(path, typeName, `${value} is outside the signed 64-bit range`);
  }
  return value;
}

/** Rewraps a dec128 error with the value's path, keeping its code. */
export function dec128AtPath<T>(path: ValuePath, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    if (!(cause instanceof AosError)) throw cause;
    const at = jsonPath(path);
    throw new AosError(cause.code, `Value at ${at} does not match dec128: ${cause.message}`, {
      cause,
      context: { path: at },
    });
  }
}
