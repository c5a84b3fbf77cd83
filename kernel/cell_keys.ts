/**
 * Cell keys (KERNEL §9): a keyed route's key is the `key_field` of the decoded event, encoded with the
 * module's `key_schema` (or the field's own type). An explicit event key must equal it when the field
 * exists and is used when it does not.
 *
 * @module
 */
import {
  AosError,
  bytesEqual,
  type CborValue,
  checkedItem,
  checkTyped,
  decodeTyped,
  type DefModule,
  encodeCanonical,
  encodeTyped,
  refType,
  type SchemaResolver,
  type TypeExpr,
  viewType,
} from "../air/mod.ts";

/** The key of a cell, or why there is none. */
export type CellKeyResult =
  | { ok: true; key: Uint8Array }
  | { ok: false; code: "missing_key" | "bad_key"; message: string };

/** The key type of a keyed module for an event schema's `key_field`. */
export function keyTypeOf(
  module: DefModule,
  eventSchema: string,
  keyField: string,
  schemas: SchemaResolver,
): TypeExpr | undefined {
  if (module.key_schema !== undefined) return refType(module.key_schema);
  const view = viewType(refType(eventSchema), schemas);
  return view.kind === "record" ? view.fields[keyField] : undefined;
}

/**
 * Key kinds whose typed encoding is the canonical encoding of the generic item (a text is its CBOR text, a
 * nat its CBOR uint, and so on): for them {@linkcode cellKeyFor} encodes the field's item as it was decoded.
 */
const SCALAR_KEY_KINDS: ReadonlySet<string> = new Set([
  "text",
  "nat",
  "int",
  "time",
  "duration",
  "bytes",
  "hash",
  "uuid",
  "bool",
]);

/** By module, then event schema, then key field: the scalar kind shared by the key type and the field, or null. */
const scalarKeyKinds = new WeakMap<
  DefModule,
  Map<string, Map<string, { schemas: SchemaResolver; kind: string | null }>>
>();

/**
 * The kind of a key that is a scalar of the same kind as the event's field, so the field's canonical item is
 * the key's bytes; null when the types are anything else (then the key is encoded the general way).
 */
function scalarKeyKind(
  keyField: string,
  module: DefModule,
  eventSchema: string,
  keyType: TypeExpr,
  schemas: SchemaResolver,
): string | null {
  let bySchema = scalarKeyKinds.get(module);
  if (bySchema === undefined) scalarKeyKinds.set(module, bySchema = new Map());
  let byField = bySchema.get(eventSchema);
  if (byField === undefined) bySchema.set(eventSchema, byField = new Map());
  const known = byField.get(keyField);
  if (known !== undefined && known.schemas === schemas) return known.kind;
  let kind: string | null = null;
  try {
    const keyKind = viewType(keyType, schemas).kind;
    const event = viewType(refType(eventSchema), schemas);
    const field = event.kind === "record" ? event.fields[keyField] : undefined;
    if (SCALAR_KEY_KINDS.has(keyKind) && field !== undefined && viewType(field, schemas).kind === keyKind) {
      kind = keyKind;
    }
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
  }
  byField.set(keyField, { schemas, kind });
  return kind;
}

/** Computes the cell key of `event` for a keyed route. */
export function cellKeyFor(
  keyField: string,
  module: DefModule,
  event: { schema: string; value: Uint8Array; key?: Uint8Array },
  schemas: SchemaResolver,
): CellKeyResult {
  const keyType = keyTypeOf(module, event.schema, keyField, schemas);
  if (keyType && scalarKeyKind(keyField, module, event.schema, keyType, schemas) !== null) {
    // The value is checked whole (as decoding it would), and the field's item is the key: no typed value.
    let item: CborValue;
    try {
      item = checkedItem(refType(event.schema), event.value, schemas);
    } catch (error) {
      if (!(error instanceof AosError)) throw error;
      return { ok: false, code: "bad_key", message: error.message };
    }
    const field = item instanceof Map ? item.get(keyField) : undefined;
    if (field !== undefined && field !== null) {
      const key = encodeCanonical(field);
      if (event.key !== undefined && !bytesEqual(event.key, key)) {
        return { ok: false, code: "bad_key", message: `explicit key differs from the event's "${keyField}"` };
      }
      return { ok: true, key };
    }
  }
  return cellKeyForReference(keyField, module, event, schemas);
}

/** {@linkcode cellKeyFor} through the typed value, for every type: what its direct path is tested against. */
export function cellKeyForReference(
  keyField: string,
  module: DefModule,
  event: { schema: string; value: Uint8Array; key?: Uint8Array },
  schemas: SchemaResolver,
): CellKeyResult {
  const keyType = keyTypeOf(module, event.schema, keyField, schemas);
  if (!keyType) return { ok: false, code: "missing_key", message: `no key type for field "${keyField}"` };
  try {
    const value = decodeTyped(refType(event.schema), event.value, schemas);
    const field = value.kind === "record" ? value.value.get(keyField) : undefined;
    if (field === undefined || field.kind === "none") {
      if (event.key === undefined) {
        return { ok: false, code: "missing_key", message: `event has no "${keyField}" and no explicit key` };
      }
      checkTyped(keyType, event.key, schemas);
      return { ok: true, key: event.key };
    }
    const key = encodeTyped(keyType, field, schemas);
    if (event.key !== undefined && !bytesEqual(event.key, key)) {
      return { ok: false, code: "bad_key", message: `explicit key differs from the event's "${keyField}"` };
    }
    return { ok: true, key };
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    return { ok: false, code: "bad_key", message: error.message };
  }
}
