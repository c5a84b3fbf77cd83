/**
 * AIR nodes (AIR §1, §5–§12): the text forms of `defschema`, `defmodule`, `defplan`, `defcap`, `defpolicy`
 * and `manifest` as zod schemas with the node types derived from them, {@linkcode parseAirNode} (strict,
 * with stable issue codes), node identity ({@linkcode normalizeNode}, {@linkcode nodeHash}), the closed
 * effect catalog of AIR §9.1 and the built-in `sys/*` schemas and standard caps.
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
  builtinSchemaHash,
  builtinSchemas,
  microEffectReceiptEvents,
  standardCapByType,
} from "./builtins.ts";
export { EFFECT_CATALOG, type EffectSpec, effectSpec } from "./effect_catalog.ts";
export { nodeBytes, nodeHash, normalizeNode } from "./node_hash.ts";
export {
  AIR_KINDS,
  type AirNode,
  type Budget,
  CAP_TYPES,
  type CapGrant,
  capGrantSchema,
  type CapType,
  type DefCap,
  type DefModule,
  defModuleSchema,
  type DefPlan,
  type DefPolicy,
  type DefSchema,
  defSchemaSchema,
  EFFECT_KINDS,
  type EffectKind,
  type ExprJson,
  HASH_PATTERN,
  IDENTIFIER_PATTERN,
  jsonValueSchema,
  type Manifest,
  manifestSchema,
  type ModuleBinding,
  NAME_PATTERN,
  type NamedAirNode,
  type NamedNodeKind,
  type NamedRef,
  type NodeIssue,
  type NodeKind,
  parseAirNode,
  type ParseNodeResult,
  type PlanEdge,
  type PlanStep,
  type PolicyRule,
  type ReducerAbi,
  RESERVED_KINDS,
  type RoutingEvent,
  type RoutingInbox,
  type Trigger,
  typeExprIssues,
  typeExprSchema,
  UNSUPPORTED_KINDS,
} from "./nodes.ts";
