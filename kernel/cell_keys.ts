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
  checkTyped,
  decodeTyped,
  type DefModule,
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

/** Computes the cell key of `event` for a keyed route. */
export function cellKeyFor(
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
