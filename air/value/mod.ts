/**
 * Types and values (AIR §2–§5): the {@linkcode TypeExpr} type system and the runtime {@linkcode Value}s it
 * describes; the schema-directed canonical CBOR codec ({@linkcode encodeTyped} / {@linkcode decodeTyped})
 * and zero values; the plain and tagged JSON forms of values; value equality; dec128 decimals; and the
 * schema and value hashes that give types and values their identity.
 *
 * @example Read an event from JSON against its schema, encode it and hash the schema
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { encodeTyped, schemaHash, valueFromJson } from "./mod.ts";
 * import type { SchemaResolver, TypeExpr } from "./mod.ts";
 * import { parseJson } from "../base/mod.ts";
 * import { toHex } from "../cbor/mod.ts";
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
export {
  compareDec128,
  type Dec128,
  DEC128_COEFFICIENT_MAX,
  DEC128_EXPONENT_MAX,
  DEC128_EXPONENT_MIN,
  dec128FromBits,
  dec128ToBits,
  formatDec128,
  isNormalizedDec128,
  normalizeDec128,
  parseDec128,
} from "./dec128.ts";
export { expandType, schemaHash, valueHash } from "./schema_hash.ts";
export { valueFromTaggedJson, valueToTaggedJson } from "./tagged_json.ts";
export {
  checkIntegerRange,
  compareTextKeys,
  dec128AtPath,
  hasOwn,
  pathAt,
  refType,
  typeMismatch,
  type TypeView,
  UNTRACKED_PATH,
  type ValuePath,
  viewType,
  withPathOnError,
} from "./type_view.ts";
export {
  checkedItem,
  checkTyped,
  decodeTyped,
  encodeTyped,
  validateTypedBytes,
  valueFromCbor,
  valueToCbor,
  zeroValue,
} from "./typed_codec.ts";
export type { Empty, PrimitiveName, SchemaResolver, TypeExpr } from "./types.ts";
export type { Value, ValueKind } from "./value.ts";
export { valueEquals, valueKey } from "./value_equal.ts";
export { type JsonForm, valueFromJson, type ValueFromJsonOptions, valueToPlainJson } from "./value_json.ts";
