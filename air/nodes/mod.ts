/**
 * AIR nodes (AIR §1, §5–§12): the text forms of `defschema`, `defmodule`, `defplan`, `defcap`, `defpolicy`
 * and `manifest` as zod schemas, with the node types derived from them (`z.output`, optional fields kept
 * exact); {@linkcode parseAirNode} (strict, with stable issue codes); node identity
 * ({@linkcode normalizeNode}, {@linkcode nodeHash}); the closed effect catalog of AIR §9.1; and the
 * built-in `sys/*` schemas and standard caps.
 *
 * @example Parse a node and hash it
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinSchemas, nodeHash, parseAirNode } from "./mod.ts";
 *
 * const result = parseAirNode({ $kind: "defschema", name: "demo/Count@1", type: { nat: {} } });
 * assert.ok(result.ok);
 * assert.match(nodeHash(result.node), /^sha256:[0-9a-f]{64}$/);
 *
 * const bad = parseAirNode({ $kind: "defschema", name: "Count", type: { nat: {} } });
 * assert.ok(!bad.ok);
 * assert.deepEqual(bad.issues.map((issue) => issue.code), ["AIR_NAME_INVALID"]);
 * assert.ok(builtinSchemas.has("sys/TimerFired@1"));
 * ```
 *
 * @module
 */
export {
  builtinCapHash,
  builtinCaps,
  builtinCapTypes,
  builtinEffectByKind,
  builtinEffectHash,
  builtinEffects,
  builtinSchemaHash,
  builtinSchemas,
  microEffectReceiptEvents,
  standardCapByType,
} from "./builtins.ts";
export { EFFECT_CATALOG, type EffectSpec, effectSpec } from "./effect_catalog.ts";
export { nodeBytes, nodeHash, normalizeNode } from "./node_hash.ts";
export type { AirNode, NamedAirNode, NamedNodeKind, NodeKind } from "./air_node.ts";
export { type DefCap, defCapSchema } from "./def_cap.ts";
export { type DefEffect, defEffectSchema, ORIGIN_SCOPES } from "./def_effect.ts";
export { type DefSecret, defSecretSchema, secretName, type SecretRef } from "./def_secret.ts";
export { type DefModule, defModuleSchema, type ReducerAbi, reducerAbiSchema } from "./def_module.ts";
export {
  type DefPlan,
  defPlanSchema,
  type ExprJson,
  PLAN_STEP_OPS,
  type PlanEdge,
  planEdgeSchema,
  type PlanStep,
  planStepSchema,
} from "./def_plan.ts";
export { type DefPolicy, defPolicySchema, type PolicyRule, policyRuleSchema } from "./def_policy.ts";
export { type DefSchema, defSchemaSchema } from "./def_schema.ts";
export { jsonValueSchema } from "./json_value_schema.ts";
export {
  AIR_KINDS,
  CAP_TYPES,
  type CapType,
  EFFECT_KINDS,
  type EffectKind,
  RESERVED_KINDS,
  UNSUPPORTED_KINDS,
} from "./kinds.ts";
export {
  type Budget,
  budgetSchema,
  type CapGrant,
  capGrantSchema,
  type Manifest,
  manifestSchema,
  type ModuleBinding,
  moduleBindingSchema,
  type NamedRef,
  namedRefSchema,
  type RoutingEvent,
  routingEventSchema,
  type RoutingInbox,
  routingInboxSchema,
  type Trigger,
  triggerSchema,
} from "./manifest.ts";
export type { NodeIssue } from "./node_issue.ts";
export { parseAirNode, type ParseNodeResult } from "./parse_air_node.ts";
export { HASH_PATTERN, IDENTIFIER_PATTERN, NAME_PATTERN, VAR_NAME_PATTERN } from "./patterns.ts";
export { typeExprIssues, typeExprSchema } from "./type_expr_schema.ts";
