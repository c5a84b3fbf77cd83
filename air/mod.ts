/**
 * AIR data layer: types, runtime values, canonical CBOR (generic and schema-directed), dec128, the plain
 * and tagged JSON forms of values, and the hashes that give schemas, values and nodes their identity.
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

// Generic canonical CBOR and byte helpers
export {
  bytesEqual,
  type CborValue,
  compareBytes,
  DEC128_TAG,
  Dec128Item,
  decodeCanonical,
  type DecodeOptions,
  encodeCanonical,
  fromHex,
  toHex,
} from "./cbor.ts";
// Errors and limits
export { AosError, type AosErrorCode, type AosErrorContext, assert } from "./errors.ts";
export { limits } from "./limits.ts";
// Types and values
export type { Empty, PrimitiveName, SchemaResolver, TypeExpr } from "./types.ts";
export type { Value, ValueKind } from "./value.ts";
export {
  checkIntegerRange,
  compareTextKeys,
  typeMismatch,
  type TypeView,
  type ValuePath,
  viewType,
} from "./type_view.ts";
export { valueEquals, valueKey } from "./value_equal.ts";
// JSON
export { jsonPath, type JsonValue, parseJson, stringifyJson, toJsonValue } from "./json.ts";
export {
  type JsonForm,
  valueFromJson,
  type ValueFromJsonOptions,
  valueFromTaggedJson,
  valueToPlainJson,
  valueToTaggedJson,
} from "./value_json.ts";
// dec128
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
// Typed (schema-directed) codec
export {
  decodeTyped,
  encodeTyped,
  validateTypedBytes,
  valueFromCbor,
  valueToCbor,
  zeroValue,
} from "./typed_codec.ts";
// Hashing
export { bytesToHashRef, type HashRef, hashRefOf, hashRefToBytes, isHashRef, sha256 } from "./hash.ts";
export { expandType, schemaHash, valueHash } from "./schema_hash.ts";
// AIR nodes, bundles and diagnostics
export {
  AIR_KINDS,
  CAP_TYPES,
  capGrantSchema,
  defModuleSchema,
  defSchemaSchema,
  EFFECT_KINDS,
  HASH_PATTERN,
  IDENTIFIER_PATTERN,
  jsonValueSchema,
  manifestSchema,
  NAME_PATTERN,
  parseAirNode,
  RESERVED_KINDS,
  typeExprIssues,
  typeExprSchema,
  UNSUPPORTED_KINDS,
} from "./nodes.ts";
export type {
  AirNode,
  Budget,
  CapGrant,
  CapType,
  DefModule,
  DefSchema,
  EffectKind,
  Manifest,
  ModuleBinding,
  NamedRef,
  NodeIssue,
  NodeKind,
  ParseNodeResult,
  ReducerAbi,
  RoutingEvent,
  RoutingInbox,
  Trigger,
} from "./nodes.ts";
export { nodeBytes, nodeHash, normalizeNode } from "./node_hash.ts";
export { builtinCapTypes, builtinSchemaHash, builtinSchemas, microEffectReceiptEvents } from "./builtins.ts";
export {
  AIR_DIAGNOSTIC_CODES,
  bundleKey,
  checkModuleBlobs,
  formatDiagnostic,
  loadAirBundle,
  moduleWasmHashes,
} from "./bundle.ts";
export type { AirBundle, AirDiagnosticCode, AirFile, BundleNode, Diagnostic, ModuleWasm } from "./bundle.ts";
export { SchemaIndex } from "./schema_index.ts";
export { moduleByName, moduleRefByName, routesFor } from "./manifest_view.ts";
// Patches (AIR §15)
export {
  applyPatch,
  DEF_KINDS,
  type DefKind,
  type NodeStore,
  parsePatchDocument,
  patchBytes,
  type PatchDocument,
  patchDocumentToJson,
  PatchError,
  patchHash,
  type PatchOp,
  type PatchResult,
} from "./patch.ts";
// Expr (AIR §12.3) and the effect catalog (AIR §9.1)
export * from "./expr/mod.ts";
export { EFFECT_CATALOG, type EffectSpec, effectSpec } from "./effect_catalog.ts";
