/**
 * Schema and value identities (AIR §5.2, §5.3): a schema hash is SHA-256 of the generic canonical CBOR
 * of the fully expanded type, so it does not depend on schema names; a value hash binds a value to its
 * schema hash.
 *
 * @module
 */
import { AosError, jsonPath, limits } from "../base/mod.ts";
import { type CborValue, encodeCanonical, sha256 } from "../cbor/mod.ts";
import { valueToCbor } from "./typed_codec.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";

const PRIMITIVES: ReadonlySet<string> = new Set(
  ["bool", "int", "nat", "dec128", "bytes", "text", "time", "duration", "hash", "uuid", "unit"],
);

function invalid(path: ReadonlyArray<string>, detail: string): AosError {
  const at = jsonPath(path);
  return new AosError("AOS_AIR_INVALID", `Invalid type at ${at}: ${detail}`, { context: { path: at } });
}

function expand(
  type: TypeExpr,
  schemas: SchemaResolver,
  path: string[],
  expanding: string[],
): TypeExpr {
  if (path.length + expanding.length > limits.nestingDepthMax) {
    throw invalid(path, `nesting exceeds ${limits.nestingDepthMax} levels`);
  }
  const keys = typeof type === "object" && type !== null ? Object.keys(type) : [];
  const kind = keys[0];
  if (keys.length !== 1 || kind === undefined) throw invalid(path, "expected a one-key type expression");
  if (PRIMITIVES.has(kind)) {
    const payload: unknown = (type as Record<string, unknown>)[kind];
    if (typeof payload !== "object" || payload === null || Object.keys(payload).length !== 0) {
      throw invalid(path, `"${kind}" takes an empty object`);
    }
    return { [kind]: {} } as TypeExpr;
  }
  const at = (segment: string) => [...path, segment];
  const each = (fields: Readonly<Record<string, TypeExpr>>, segment: string) => {
    const out: Record<string, TypeExpr> = {};
    for (const name of Object.keys(fields)) {
      Object.defineProperty(out, name, {
        value: expand(fields[name]!, schemas, [...at(segment), name], expanding),
        enumerable: true,
      });
    }
    return out;
  };
  if ("ref" in type) {
    const name = type.ref;
    if (expanding.includes(name)) {
      throw invalid(path, `ref cycle ${[...expanding, name].map((n) => `"${n}"`).join(" -> ")}`);
    }
    const target = schemas.resolve(name);
    if (target === undefined) {
      const where = jsonPath(path);
      throw new AosError("AOS_SCHEMA_UNKNOWN", `Unknown schema "${name}" at ${where}`, {
        context: { path: where, def: name },
      });
    }
    return expand(target, schemas, path, [...expanding, name]);
  }
  if ("record" in type) return { record: each(type.record, "record") };
  if ("variant" in type) return { variant: each(type.variant, "variant") };
  if ("list" in type) return { list: expand(type.list, schemas, at("list"), expanding) };
  if ("set" in type) return { set: expand(type.set, schemas, at("set"), expanding) };
  if ("option" in type) return { option: expand(type.option, schemas, at("option"), expanding) };
  if ("map" in type) {
    const map = type.map;
    const mapKeys = typeof map === "object" && map !== null ? Object.keys(map).sort().join(",") : "";
    if (mapKeys !== "key,value") throw invalid(at("map"), 'expected exactly "key" and "value"');
    return {
      map: {
        key: expand(map.key, schemas, [...at("map"), "key"], expanding),
        value: expand(map.value, schemas, [...at("map"), "value"], expanding),
      },
    };
  }
  throw invalid(path, `unknown type "${kind}"`);
}

/**
 * Replaces every `ref` by its target, recursively. A ref cycle or a malformed type is `AOS_AIR_INVALID`,
 * an unknown ref `AOS_SCHEMA_UNKNOWN`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * const schemas = { resolve: (name: string) => (name === "demo/Count@1" ? { nat: {} } : undefined) };
 * deepStrictEqual(expandType({ list: { ref: "demo/Count@1" } }, schemas), { list: { nat: {} } });
 * ```
 */
export function expandType(type: TypeExpr, schemas: SchemaResolver): TypeExpr {
  return expand(type, schemas, [], []);
}

function typeToCbor(type: TypeExpr): CborValue {
  // A TypeExpr is JSON made of objects only; the generic encoder takes it as text-keyed maps.
  const out: { [key: string]: CborValue } = {};
  for (const [key, inner] of Object.entries(type as Record<string, TypeExpr>)) {
    Object.defineProperty(out, key, { value: typeToCbor(inner), enumerable: true });
  }
  return out;
}

/**
 * The schema hash (AIR §5.2): SHA-256 of the generic canonical CBOR of the expanded type, 32 bytes.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { toHex } from "../cbor/mod.ts";
 * const hash = schemaHash({ record: { count: { nat: {} } } }, { resolve: () => undefined });
 * strictEqual(toHex(hash), "e67190b6424212e6ca9ee676cc9404932a715773c6ec34f329b36e0ac2b5730d");
 * ```
 */
export function schemaHash(type: TypeExpr, schemas: SchemaResolver): Uint8Array {
  return sha256(encodeCanonical(typeToCbor(expandType(type, schemas))));
}

/**
 * The value hash (AIR §5.3): SHA-256 of the canonical CBOR array `[schema_hash as bstr(32), value item]`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const hash = valueHash({ nat: {} }, { kind: "nat", value: 3n }, { resolve: () => undefined });
 * strictEqual(hash.length, 32);
 * ```
 */
export function valueHash(type: TypeExpr, value: Value, schemas: SchemaResolver): Uint8Array {
  return sha256(encodeCanonical([schemaHash(type, schemas), valueToCbor(type, value, schemas)]));
}
