/**
 * Turning what users type into what the journal holds, and back: external events and cell keys given as
 * plain JSON are validated against the manifest and encoded canonically; cell keys and states are decoded
 * for display. One codec per set of definitions.
 *
 * @module
 */
import {
  AosError,
  decodeTyped,
  type DefModule,
  encodeTyped,
  isAosError,
  type JsonValue,
  refType,
  toHex,
  type TypeExpr,
  valueFromJson,
  valueToPlainJson,
} from "../air/mod.ts";
import { keyTypeOf, type WorldDefs } from "../kernel/mod.ts";
import type { InboxEvent } from "./inbox.ts";

/** An external event as given by a user: schema name and plain (or tagged) JSON value. */
export interface EventInput {
  schema: string;
  value: JsonValue;
  key?: JsonValue;
}

/** Encodes and decodes events, keys and states for one set of definitions. */
export class EventCodec {
  constructor(readonly defs: WorldDefs) {}

  /** Validates an external event against the manifest and returns its canonical form. */
  encodeEvent(input: EventInput, where = ""): InboxEvent {
    const schema = input.schema;
    const listed = this.defs.manifest.schemas.some((ref) => ref.name === schema);
    if (!listed || schema.startsWith("sys/")) {
      throw new AosError(
        "AOS_SCHEMA_UNKNOWN",
        `${where}Unknown event schema "${schema}": not in the manifest`,
      );
    }
    try {
      const value = valueFromJson(refType(schema), input.value, this.defs.schemas);
      const encoded: InboxEvent = { schema, value: encodeTyped(refType(schema), value, this.defs.schemas) };
      if (input.key !== undefined) encoded.key = this.#encodeEventKey(schema, input.key, where);
      return encoded;
    } catch (error) {
      if (isAosError(error, INPUT_ERROR_CODES) && !error.message.startsWith(where)) {
        throw new AosError(error.code, `${where}${error.message}`, { cause: error, context: error.context });
      }
      throw error;
    }
  }

  /** Encodes an explicit event key with the key type of the first keyed route of `schema`. */
  #encodeEventKey(schema: string, key: JsonValue, where: string): Uint8Array {
    for (const route of this.defs.manifest.routing?.events ?? []) {
      if (route.event !== schema || route.key_field === undefined) continue;
      const module = this.defs.modules.get(route.reducer);
      const type = module ? keyTypeOf(module, schema, route.key_field, this.defs.schemas) : undefined;
      if (!type) continue;
      return encodeTyped(type, valueFromJson(type, key, this.defs.schemas, ["key"]), this.defs.schemas);
    }
    throw new AosError(
      "AOS_TYPE_MISMATCH",
      `${where}Event "${schema}" has a key, but no keyed route takes it`,
    );
  }

  /** The key type of a keyed reducer (its `key_schema`, else its routes' key field type). */
  keyType(reducer: string): TypeExpr | undefined {
    const module = this.module(reducer);
    if (module.key_schema !== undefined) return refType(module.key_schema);
    for (const route of this.defs.manifest.routing?.events ?? []) {
      if (route.reducer === reducer && route.key_field !== undefined) {
        const type = keyTypeOf(module, route.event, route.key_field, this.defs.schemas);
        if (type) return type;
      }
    }
    return undefined;
  }

  /** Encodes a cell key given as plain JSON for a keyed reducer. */
  encodeCellKey(reducer: string, key: JsonValue): Uint8Array {
    const type = this.keyType(reducer);
    if (!type) {
      throw new AosError(
        "AOS_USAGE",
        `Reducer "${reducer}" is not keyed: --key applies to keyed reducers only`,
      );
    }
    return encodeTyped(type, valueFromJson(type, key, this.defs.schemas, ["key"]), this.defs.schemas);
  }

  /** The plain JSON of a cell key of a keyed reducer (hex when the reducer is not keyed). */
  cellKeyJson(reducer: string, key: Uint8Array): JsonValue {
    const type = this.keyType(reducer);
    if (!type) return toHex(key);
    return valueToPlainJson(type, decodeTyped(type, key, this.defs.schemas), this.defs.schemas);
  }

  /** The plain JSON of a reducer state (`null` for none). */
  stateJson(reducer: string, bytes: Uint8Array | null): JsonValue {
    if (bytes === null) return null;
    const type = refType(this.module(reducer).abi.reducer.state);
    return valueToPlainJson(type, decodeTyped(type, bytes, this.defs.schemas), this.defs.schemas);
  }

  /** The module of a reducer, or `AOS_REDUCER_UNKNOWN` listing the known ones. */
  module(reducer: string): DefModule {
    const module = this.defs.modules.get(reducer);
    if (!module) {
      const known = [...this.defs.modules.keys()].sort().join(", ");
      throw new AosError(
        "AOS_REDUCER_UNKNOWN",
        `Unknown reducer "${reducer}": the manifest has ${known || "none"}`,
      );
    }
    return module;
  }
}

/** Codes of a user's value that does not fit its schema. */
const INPUT_ERROR_CODES = [
  "AOS_TYPE_MISMATCH",
  "AOS_JSON_INVALID",
  "AOS_SCHEMA_UNKNOWN",
  "AOS_CBOR_INVALID",
  "AOS_CBOR_NON_CANONICAL",
] as const;
