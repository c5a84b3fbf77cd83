/**
 * The built-in definitions, loaded once and validated with the same parser as user nodes:
 * - the `sys/*` schemas of `spec/defs/builtin-schemas.air.json` (AIR §9.5), amended as AIR §9.1/§9.5 choose:
 *   the timer `key` and the receipt events' `cost_cents` are options, and the params and receipt schemas
 *   of `http.request` and `llm.generate` are added;
 * - the four standard defcaps of `spec/defs/builtin-caps.air.json` (AIR §10.2).
 *
 * Every schema the effect catalog names exists among them (checked at load).
 *
 * @example Look up built-ins
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinCaps, builtinSchemaHash, builtinSchemas } from "./builtins.ts";
 *
 * assert.ok(builtinSchemas.has("sys/HttpRequestParams@1"));
 * assert.match(builtinSchemaHash("sys/TimerFired@1") ?? "", /^sha256:/);
 * assert.equal(builtinCaps.get("sys/http.out@1")?.cap_type, "http.out");
 * ```
 *
 * @module
 */
import capData from "../../spec/defs/builtin-caps.air.json" with { type: "json" };
import effectData from "../../spec/defs/builtin-effects.air.json" with { type: "json" };
import schemaData from "../../spec/defs/builtin-schemas.air.json" with { type: "json" };
import { assert, toJsonValue } from "../base/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import type { NamedAirNode } from "./air_node.ts";
import type { DefCap } from "./def_cap.ts";
import type { DefEffect } from "./def_effect.ts";
import type { DefSchema } from "./def_schema.ts";
import { EFFECT_CATALOG } from "./effect_catalog.ts";
import { CAP_TYPES, type CapType, type EffectKind } from "./kinds.ts";
import { nodeHash } from "./node_hash.ts";
import { parseAirNode } from "./parse_air_node.ts";

function loadNodes<K extends "defschema" | "defcap" | "defeffect">(
  data: unknown[],
  kind: K,
): Map<string, Extract<NamedAirNode, { $kind: K }>> {
  const out = new Map<string, Extract<NamedAirNode, { $kind: K }>>();
  for (const raw of data) {
    const result = parseAirNode(toJsonValue(raw));
    assert(result.ok, `built-in node is valid: ${result.ok ? "" : JSON.stringify(result.issues)}`);
    const node = result.node;
    assert(node.$kind === kind, `built-in nodes of this file are ${kind}s`);
    assert(node.name.startsWith("sys/"), `built-in "${node.name}" is in the sys/ namespace`);
    assert(!out.has(node.name), `built-in "${node.name}" is unique`);
    out.set(node.name, node as Extract<NamedAirNode, { $kind: K }>);
  }
  return out;
}

/** The built-in `sys/*` schemas by name. */
export const builtinSchemas: ReadonlyMap<string, DefSchema> = loadNodes(schemaData as unknown[], "defschema");

/** The standard defcaps of AIR §10.2 by name (`sys/http.out@1`, `sys/llm.basic@1`, `sys/blob@1`, `sys/timer@1`). */
export const builtinCaps: ReadonlyMap<string, DefCap> = loadNodes(capData as unknown[], "defcap");

/** The built-in effect catalog as `defeffect` nodes (`sys/timer.set@1`, …), by name. */
export const builtinEffects: ReadonlyMap<string, DefEffect> = loadNodes(effectData as unknown[], "defeffect");

const effectHashes = new Map<string, HashRef>();
for (const [name, node] of builtinEffects) effectHashes.set(name, nodeHash(node));

/** The node hash of a built-in defeffect, or `undefined` when `name` is not one. */
export function builtinEffectHash(name: string): HashRef | undefined {
  return effectHashes.get(name);
}

/** The built-in defeffect of each catalog kind. */
export const builtinEffectByKind: ReadonlyMap<EffectKind, DefEffect> = new Map<EffectKind, DefEffect>(
  [...builtinEffects.values()].map((effect) => [effect.kind as EffectKind, effect]),
);

const schemaHashes = new Map<string, HashRef>();
for (const [name, node] of builtinSchemas) schemaHashes.set(name, nodeHash(node));
const capHashes = new Map<string, HashRef>();
for (const [name, node] of builtinCaps) capHashes.set(name, nodeHash(node));

/** The node hash of a built-in schema, or `undefined` when `name` is not a built-in. */
export function builtinSchemaHash(name: string): HashRef | undefined {
  return schemaHashes.get(name);
}

/** The node hash of a standard defcap, or `undefined` when `name` is not one. */
export function builtinCapHash(name: string): HashRef | undefined {
  return capHashes.get(name);
}

/** The cap type of each standard defcap (AIR §10.2), by defcap name. */
export const builtinCapTypes: ReadonlyMap<string, CapType> = new Map<string, CapType>(
  [...builtinCaps.values()].map((cap) => [cap.name, cap.cap_type]),
);

/** The standard defcap of each cap type: its schema is the one every defcap of that type must equal. */
export const standardCapByType: ReadonlyMap<CapType, DefCap> = new Map<CapType, DefCap>(
  [...builtinCaps.values()].map((cap) => [cap.cap_type, cap]),
);

/** The micro-effects a reducer may emit (AIR §9.1) and the `sys/*` event its receipt becomes (AIR §9.5). */
export const microEffectReceiptEvents: ReadonlyMap<EffectKind, string> = new Map<EffectKind, string>(
  [...EFFECT_CATALOG.values()].flatMap((spec) =>
    spec.micro && spec.receiptEvent !== undefined ? [[spec.kind, spec.receiptEvent] as const] : []
  ),
);

for (const capType of CAP_TYPES) assert(standardCapByType.has(capType), `cap type "${capType}" has a defcap`);
for (const spec of EFFECT_CATALOG.values()) {
  for (const name of [spec.params, spec.receipt, spec.receiptEvent]) {
    assert(name === undefined || builtinSchemas.has(name), `catalog schema "${name}" is a built-in`);
  }
}
for (const spec of EFFECT_CATALOG.values()) {
  const effect = builtinEffectByKind.get(spec.kind);
  assert(
    effect !== undefined && effect.params_schema === spec.params && effect.receipt_schema === spec.receipt &&
      effect.cap_type === spec.capType && effect.origin_scope === (spec.micro ? "both" : "plan"),
    `catalog kind "${spec.kind}" has a matching built-in defeffect`,
  );
}
