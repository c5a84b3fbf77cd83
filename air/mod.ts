/**
 * AIR data layer: types, runtime values, canonical CBOR (generic and schema-directed), dec128, the plain
 * and tagged JSON forms of values, and the hashes that give schemas, values and nodes their identity.
 *
 * This module re-exports its folders, each a module of its own, listed bottom-up (a folder imports only
 * the folders above it, through their `mod.ts`):
 * - `base/` — errors, limits and JSON text with bigint integers;
 * - `cbor/` — canonical CBOR and SHA-256 hash references;
 * - `value/` — the type system, values, the typed codec, the JSON forms of values, dec128, schema hashes;
 * - `nodes/` — AIR nodes (zod schemas and their types), node hashes, the effect catalog, the built-ins;
 * - `expr/` — plan expressions: parse, type-check, evaluate;
 * - `bundle/` — loading and validating a bundle of AIR files, plans included, and views over it;
 * - `patch/` — AIR patches.
 *
 * @example Encode an event typed by a schema and hash it
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { encodeTyped, parseJson, schemaHash, toHex, valueFromJson } from "./mod.ts";
 * import type { SchemaResolver, TypeExpr } from "./mod.ts";
 *
 * const schemas: SchemaResolver = { resolve: () => undefined };
 * const type: TypeExpr = { record: { count: { nat: {} } } };
 * const value = valueFromJson(type, parseJson('{"count": 3}'), schemas);
 * strictEqual(toHex(encodeTyped(type, value, schemas)), "a165636f756e7403");
 * strictEqual(toHex(schemaHash(type, schemas)).slice(0, 8), "e67190b6");
 * ```
 *
 * @module
 */
export * from "./base/mod.ts";
export * from "./cbor/mod.ts";
export * from "./value/mod.ts";
export * from "./nodes/mod.ts";
export * from "./expr/mod.ts";
export * from "./bundle/mod.ts";
export * from "./patch/mod.ts";
