/**
 * Private to `air/value/`: a typed value written straight into the canonical encoder, without the generic
 * item `valueToCbor` builds for it (a `Map` per record, sorted again by the encoder). It writes what typed
 * values mostly are — records (fields in their canonical order, none options left out), variants, lists,
 * options, integers, text, bytes and hashes — and answers undefined for anything else (a set or a non-empty
 * map, whose items must be sorted by their encodings, a dec128, and every value that does not fit its type),
 * which the general encoder then encodes or refuses: it stays the reference, and its errors are the only
 * errors. `typed_roundtrip_test.ts` holds the bytes to the general encoder's on random values of random types.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { type CanonicalSink, canonicalTexts, encodeCanonicalWith } from "../cbor/mod.ts";
import { type RecordLayout, recordLayout } from "./_byte_walk.ts";
import { hasOwn, viewType } from "./type_view.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";

/** The deepest value written here (the general encoder's own limit is higher). */
const WRITE_DEPTH_MAX = 64;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const TAG_KEY = canonicalTexts("$tag");
const VALUE_KEY = canonicalTexts("$value");

/** The canonical encodings of a layout's field names, by layout. */
const layoutKeys = new WeakMap<RecordLayout, Uint8Array[]>();

function keysOf(layout: RecordLayout): Uint8Array[] {
  let keys = layoutKeys.get(layout);
  if (keys === undefined) {
    keys = layout.names.map((name) => canonicalTexts(name));
    layoutKeys.set(layout, keys);
  }
  return keys;
}

/** Thrown (and caught below) when the writer cannot tell: the general encoder decides. */
const LEAVE = Symbol("leave to the general encoder");

/**
 * The bytes `encodeTyped(type, value, schemas)` gives, written straight from the value, or undefined when
 * this writer leaves the value to the general encoder (which also gives any error).
 */
export function typedBytes(type: TypeExpr, value: Value, schemas: SchemaResolver): Uint8Array | undefined {
  try {
    return encodeCanonicalWith((sink) => writeAt(sink, type, value, schemas, 0));
  } catch (error) {
    // Left, or refused (a type that does not resolve, too deep a value): the general encoder says why.
    if (error === LEAVE || error instanceof AosError) return undefined;
    throw error;
  }
}

function writeAt(
  sink: CanonicalSink,
  type: TypeExpr,
  value: Value,
  schemas: SchemaResolver,
  depth: number,
): void {
  if (depth > WRITE_DEPTH_MAX) throw LEAVE;
  const view = viewType(type, schemas, [], depth);
  switch (view.kind) {
    case "bool":
      if (value.kind !== "bool") throw LEAVE;
      sink.value(value.value);
      return;
    case "text":
      if (value.kind !== "text" || !value.value.isWellFormed()) throw LEAVE;
      sink.text(value.value);
      return;
    case "bytes":
      if (value.kind !== "bytes") throw LEAVE;
      sink.bytes(value.value);
      return;
    case "hash":
    case "uuid":
      if (value.kind !== view.kind || value.value.length !== (view.kind === "hash" ? 32 : 16)) throw LEAVE;
      sink.bytes(value.value);
      return;
    case "nat":
    case "time":
      if (value.kind !== view.kind || value.value < 0n || value.value > U64_MAX) throw LEAVE;
      sink.uint(value.value);
      return;
    case "int":
    case "duration":
      if (value.kind !== view.kind || value.value < I64_MIN || value.value > I64_MAX) throw LEAVE;
      sink.value(value.value);
      return;
    case "unit":
      if (value.kind !== "unit") throw LEAVE;
      sink.value(null);
      return;
    case "option":
      if (value.kind === "none") sink.value(null);
      else writeAt(sink, view.item, value, schemas, depth + 1);
      return;
    case "list":
      if (value.kind !== "list") throw LEAVE;
      sink.array(value.value.length);
      for (const item of value.value) writeAt(sink, view.item, item, schemas, depth + 1);
      return;
    case "map":
      // An empty map needs no sorting; any other is left to the general encoder, which sorts its keys.
      if (value.kind !== "map" || value.value.length !== 0) throw LEAVE;
      sink.map(0);
      return;
    case "record": {
      if (value.kind !== "record") throw LEAVE;
      for (const name of value.value.keys()) if (!hasOwn(view.fields, name)) throw LEAVE;
      const layout = recordLayout(view.fields, schemas, depth + 1);
      if (layout === undefined) throw LEAVE;
      // Fields present (a none option is left out, as the general encoder leaves it out), then written.
      let present = 0;
      for (let i = 0; i < layout.names.length; i++) {
        const field = value.value.get(layout.names[i]!);
        if (field === undefined) {
          if (!layout.optional[i]) throw LEAVE;
          continue;
        }
        if (!(layout.optional[i] && field.kind === "none")) present++;
      }
      const keys = keysOf(layout);
      sink.map(present);
      for (let i = 0; i < layout.names.length; i++) {
        const name = layout.names[i]!;
        const field = value.value.get(name);
        if (field === undefined || (layout.optional[i] && field.kind === "none")) continue;
        sink.raw(keys[i]!);
        writeAt(sink, view.fields[name]!, field, schemas, depth + 1);
      }
      return;
    }
    case "variant": {
      if (value.kind !== "record") throw LEAVE;
      const tag = value.value.get("$tag");
      if (tag?.kind !== "text" || !hasOwn(view.tags, tag.value)) throw LEAVE;
      for (const name of value.value.keys()) if (name !== "$tag" && name !== "$value") throw LEAVE;
      sink.map(2);
      sink.raw(TAG_KEY);
      sink.text(tag.value);
      sink.raw(VALUE_KEY);
      writeAt(sink, view.tags[tag.value]!, value.value.get("$value") ?? { kind: "unit" }, schemas, depth + 1);
      return;
    }
    default:
      // dec128, set: the general encoder.
      throw LEAVE;
  }
}
