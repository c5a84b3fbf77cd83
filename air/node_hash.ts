/**
 * Node identity (AIR §5.1): normalize a node, encode it with the generic canonical CBOR encoder and hash
 * the bytes. Normalizing drops absent optional fields and optional lists or objects that are empty, so
 * `"routing": {"events": []}` and no `routing` hash alike; required lists (the manifest's five ref lists)
 * and every TypeExpr (where `{}` is meaningful) are kept as they are.
 *
 * @example Hash a schema node
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeHash } from "./node_hash.ts";
 *
 * const hash = nodeHash({ $kind: "defschema", name: "demo/Count@1", type: { nat: {} } });
 * assert.match(hash, /^sha256:[0-9a-f]{64}$/);
 * ```
 *
 * @module
 */
import { encodeCanonical } from "./cbor.ts";
import { assert } from "./errors.ts";
import { type HashRef, hashRefOf } from "./hash.ts";
import type { JsonValue } from "./json.ts";
import type { AirNode, CapGrant, DefModule, DefSchema, Manifest, NamedRef } from "./nodes.ts";
import type { TypeExpr } from "./types.ts";

type JsonObject = { [key: string]: JsonValue };

function copyJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(copyJson);
  if (value !== null && typeof value === "object") {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item !== undefined) out[key] = copyJson(item);
    }
    return out;
  }
  return value;
}

function typeToJson(type: TypeExpr): JsonValue {
  return copyJson(type as unknown as JsonValue);
}

/** Sets `out[key]` unless the value is absent, an empty list or an empty object. */
function putOptional(out: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value === undefined) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0
  ) return;
  out[key] = value;
}

function normalizeSchema(node: DefSchema): JsonObject {
  return { $kind: node.$kind, name: node.name, type: typeToJson(node.type) };
}

function normalizeModule(node: DefModule): JsonObject {
  const abi = node.abi.reducer;
  const reducer: JsonObject = { state: abi.state, event: abi.event };
  putOptional(reducer, "annotations", abi.annotations);
  putOptional(
    reducer,
    "effects_emitted",
    abi.effects_emitted === undefined ? undefined : [...abi.effects_emitted],
  );
  putOptional(reducer, "cap_slots", abi.cap_slots === undefined ? undefined : { ...abi.cap_slots });
  const out: JsonObject = {
    $kind: node.$kind,
    name: node.name,
    module_kind: node.module_kind,
    wasm_hash: node.wasm_hash,
    abi: { reducer },
  };
  putOptional(out, "key_schema", node.key_schema);
  return out;
}

function normalizeRef(ref: NamedRef): JsonObject {
  const out: JsonObject = { name: ref.name };
  putOptional(out, "hash", ref.hash);
  return out;
}

function normalizeGrant(grant: CapGrant): JsonObject {
  // Params are hashed as written for now: their canonical tagged form (AIR §5.1) needs the defcap schema.
  const out: JsonObject = { name: grant.name, cap: grant.cap, params: copyJson(grant.params) };
  putOptional(out, "expiry_ns", grant.expiry_ns);
  if (grant.budget !== undefined) {
    const budget: JsonObject = {};
    putOptional(budget, "tokens", grant.budget.tokens);
    putOptional(budget, "bytes", grant.budget.bytes);
    putOptional(budget, "cents", grant.budget.cents);
    putOptional(out, "budget", budget);
  }
  return out;
}

function normalizeManifest(node: Manifest): JsonObject {
  const out: JsonObject = {
    $kind: node.$kind,
    schemas: node.schemas.map(normalizeRef),
    modules: node.modules.map(normalizeRef),
    plans: node.plans.map(normalizeRef),
    caps: node.caps.map(normalizeRef),
    policies: node.policies.map(normalizeRef),
  };
  if (node.routing !== undefined) {
    const routing: JsonObject = {};
    putOptional(
      routing,
      "events",
      node.routing.events?.map((route) => {
        const entry: JsonObject = { event: route.event, reducer: route.reducer };
        putOptional(entry, "key_field", route.key_field);
        return entry;
      }),
    );
    putOptional(
      routing,
      "inboxes",
      node.routing.inboxes?.map((inbox) => ({ source: inbox.source, reducer: inbox.reducer })),
    );
    putOptional(out, "routing", routing);
  }
  putOptional(
    out,
    "triggers",
    node.triggers?.map((trigger) => {
      const entry: JsonObject = { event: trigger.event, plan: trigger.plan };
      putOptional(entry, "correlate_by", trigger.correlate_by);
      return entry;
    }),
  );
  if (node.defaults !== undefined) {
    const defaults: JsonObject = {};
    putOptional(defaults, "policy", node.defaults.policy);
    putOptional(defaults, "cap_grants", node.defaults.cap_grants?.map(normalizeGrant));
    putOptional(out, "defaults", defaults);
  }
  if (node.module_bindings !== undefined) {
    const bindings: JsonObject = {};
    for (const module of Object.keys(node.module_bindings)) {
      const binding = node.module_bindings[module];
      // `slots` is required in a binding, so an empty one stays.
      if (binding !== undefined) bindings[module] = { slots: { ...binding.slots } };
    }
    putOptional(out, "module_bindings", bindings);
  }
  return out;
}

/** The normalized JSON of a node (AIR §5.1): what is encoded and hashed. `$kind` is kept. */
export function normalizeNode(node: AirNode): JsonValue {
  switch (node.$kind) {
    case "defschema":
      return normalizeSchema(node);
    case "defmodule":
      return normalizeModule(node);
    case "manifest":
      return normalizeManifest(node);
  }
}

/** The generic canonical CBOR of the normalized node: the bytes stored in the CAS. */
export function nodeBytes(node: AirNode): Uint8Array {
  const bytes = encodeCanonical(normalizeNode(node));
  assert(bytes.length > 0, "a node encodes to at least one byte");
  return bytes;
}

/** The node hash: SHA-256 of {@linkcode nodeBytes} (CAS key, manifest refs, `pre_hash`). */
export function nodeHash(node: AirNode): HashRef {
  return hashRefOf(nodeBytes(node));
}
