/**
 * Node identity (AIR §5.1): normalize a node, encode it with the generic canonical CBOR encoder and hash
 * the bytes. Normalizing drops absent optional fields and optional lists or objects that are empty, so
 * `"routing": {"events": []}` and no `routing` hash alike, and `"edges": []` and no `edges` too; required
 * lists (the manifest's five ref lists, `steps`, `rules`), a rule's `when` and every TypeExpr and Expr
 * (where `{}` is meaningful) are kept as they are.
 *
 * `CapGrant.params` in the tagged form (AIR §3) are brought to their canonical tagged form (sets sorted
 * and deduplicated, maps sorted, none fields omitted, dec128 normalized); that needs no schema. Params in
 * the plain form need the defcap's schema to be converted: the bundle loader does that before hashing, so
 * a loaded manifest always holds, and hashes, the tagged form.
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
import { AosError, assert, type JsonValue } from "../base/mod.ts";
import { encodeCanonical, type HashRef, hashRefOf } from "../cbor/mod.ts";
import { type TypeExpr, valueFromTaggedJson, valueToTaggedJson } from "../value/mod.ts";
import type { AirNode } from "./air_node.ts";
import type { DefCap } from "./def_cap.ts";
import type { DefModule } from "./def_module.ts";
import type { DefPlan, PlanStep } from "./def_plan.ts";
import type { DefPolicy } from "./def_policy.ts";
import type { DefSchema } from "./def_schema.ts";
import type { DefEffect } from "./def_effect.ts";
import type { DefSecret } from "./def_secret.ts";
import type { CapGrant, Manifest, NamedRef } from "./manifest.ts";

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

/** Sets `out[key]` unless the value is absent (for Exprs and values, where `{}` and `[]` stay). */
function putPresent(out: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value !== undefined) out[key] = copyJson(value);
}

function normalizeStep(step: PlanStep): JsonObject {
  const out: JsonObject = { id: step.id, op: step.op };
  switch (step.op) {
    case "assign":
      putPresent(out, "expr", step.expr);
      out.bind = { as: step.bind.as };
      break;
    case "emit_effect":
      out.kind = step.kind;
      putPresent(out, "params", step.params);
      out.cap = step.cap;
      out.bind = { effect_id_as: step.bind.effect_id_as };
      break;
    case "await_receipt":
      putPresent(out, "for", step.for);
      out.bind = { as: step.bind.as };
      break;
    case "await_event":
      out.event = step.event;
      putPresent(out, "where", step.where);
      out.bind = { as: step.bind.as };
      break;
    case "raise_event":
      out.reducer = step.reducer;
      putPresent(out, "event", step.event);
      putPresent(out, "key", step.key);
      break;
    case "end":
      putPresent(out, "result", step.result);
      break;
  }
  return out;
}

function normalizePlan(node: DefPlan): JsonObject {
  const out: JsonObject = {
    $kind: node.$kind,
    name: node.name,
    input: node.input,
    steps: node.steps.map(normalizeStep),
  };
  putOptional(out, "output", node.output);
  putOptional(out, "locals", node.locals === undefined ? undefined : { ...node.locals });
  putOptional(
    out,
    "edges",
    node.edges?.map((edge) => {
      const entry: JsonObject = { from: edge.from, to: edge.to };
      putPresent(entry, "when", edge.when);
      return entry;
    }),
  );
  putOptional(out, "required_caps", node.required_caps === undefined ? undefined : [...node.required_caps]);
  putOptional(
    out,
    "allowed_effects",
    node.allowed_effects === undefined ? undefined : [...node.allowed_effects],
  );
  putOptional(out, "invariants", node.invariants?.map(copyJson));
  return out;
}

function normalizeCap(node: DefCap): JsonObject {
  return { $kind: node.$kind, name: node.name, cap_type: node.cap_type, schema: typeToJson(node.schema) };
}

function normalizePolicy(node: DefPolicy): JsonObject {
  return {
    $kind: node.$kind,
    name: node.name,
    rules: node.rules.map((rule) => {
      // `when` is required: an empty one (match everything) stays.
      const when: JsonObject = {};
      putOptional(when, "effect_kind", rule.when.effect_kind);
      putOptional(when, "cap_name", rule.when.cap_name);
      putOptional(when, "host", rule.when.host);
      putOptional(when, "method", rule.when.method);
      putOptional(when, "origin_kind", rule.when.origin_kind);
      putOptional(when, "origin_name", rule.when.origin_name);
      return { when, decision: rule.decision };
    }),
  };
}

/**
 * The canonical tagged form of grant params given in the tagged form (AIR §3, §5.1): sets sorted and
 * deduplicated, maps sorted, none fields omitted. Returns `undefined` when `params` is not in the tagged
 * form (plain params need the defcap schema; see `canonicalGrantParams` in `bundle.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const params = { record: { hosts: { set: [{ text: "b" }, { text: "a" }, { text: "b" }] } } };
 * assert.deepEqual(canonicalTaggedJson(params), { record: { hosts: { set: [{ text: "a" }, { text: "b" }] } } });
 * assert.equal(canonicalTaggedJson({ hosts: ["a"] }), undefined);
 * ```
 */
export function canonicalTaggedJson(params: JsonValue): JsonValue | undefined {
  try {
    return valueToTaggedJson(valueFromTaggedJson(params));
  } catch (error) {
    if (error instanceof AosError && error.code === "AOS_TYPE_MISMATCH") return undefined;
    throw error;
  }
}

function normalizeRef(ref: NamedRef): JsonObject {
  const out: JsonObject = { name: ref.name };
  putOptional(out, "hash", ref.hash);
  return out;
}

function normalizeGrant(grant: CapGrant): JsonObject {
  // Plain params are hashed as written: the loader converts them to the tagged form first.
  const params = canonicalTaggedJson(grant.params) ?? copyJson(grant.params);
  const out: JsonObject = { name: grant.name, cap: grant.cap, params };
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
  // Absent (the usual case) leaves the hash of manifests written before the field existed unchanged.
  putOptional(out, "air_version", node.air_version);
  putOptional(out, "effects", node.effects?.map(normalizeRef));
  putOptional(out, "secrets", node.secrets?.map(normalizeRef));
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

function normalizeEffect(node: DefEffect): JsonObject {
  const out: JsonObject = {
    $kind: node.$kind,
    name: node.name,
    kind: node.kind,
    params_schema: node.params_schema,
    receipt_schema: node.receipt_schema,
    cap_type: node.cap_type,
    origin_scope: node.origin_scope,
  };
  putOptional(out, "description", node.description);
  return out;
}

function normalizeSecret(node: DefSecret): JsonObject {
  const out: JsonObject = { $kind: node.$kind, name: node.name, binding_id: node.binding_id };
  putOptional(out, "expected_digest", node.expected_digest);
  putOptional(out, "allowed_caps", node.allowed_caps === undefined ? undefined : [...node.allowed_caps]);
  putOptional(out, "allowed_plans", node.allowed_plans === undefined ? undefined : [...node.allowed_plans]);
  return out;
}

/** The normalized JSON of a node (AIR §5.1): what is encoded and hashed. `$kind` is kept. */
export function normalizeNode(node: AirNode): JsonValue {
  switch (node.$kind) {
    case "defschema":
      return normalizeSchema(node);
    case "defmodule":
      return normalizeModule(node);
    case "defplan":
      return normalizePlan(node);
    case "defcap":
      return normalizeCap(node);
    case "defpolicy":
      return normalizePolicy(node);
    case "defeffect":
      return normalizeEffect(node);
    case "defsecret":
      return normalizeSecret(node);
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
