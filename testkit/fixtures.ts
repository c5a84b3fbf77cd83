/**
 * Fixture builders: schemas, reducers, plans, caps, policies and manifests in a few readable lines each.
 * Everything produces plain AIR JSON nodes (what a user would write), so fixtures go through the same
 * loader and validator as real worlds.
 *
 * @example A counter world in six lines
 * ```ts
 * import { t, schema, reducer, route, world } from "./fixtures.ts";
 * import { scriptedReducer } from "./scripted_reducer.ts";
 *
 * const wasm = scriptedReducer({ rules: [{ when: {}, then: { state: null } }] }).wasm;
 * const def = world({
 *   schemas: [schema("demo/State@1", t.record({ count: t.nat })), schema("demo/Inc@1", t.record({ by: t.nat }))],
 *   reducers: [reducer("demo/Counter@1", { state: "demo/State@1", event: "demo/Inc@1", wasm })],
 *   routing: [route("demo/Inc@1", "demo/Counter@1")],
 * });
 * ```
 *
 * @module
 */
import {
  type CapGrant,
  type CapType,
  type DefCap,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type DefSchema,
  type EffectKind,
  hashRefOf,
  type JsonValue,
  type Manifest,
  type PlanEdge,
  type PlanStep,
  type PolicyRule,
  type RoutingEvent,
  toJsonValue,
  type Trigger,
  type TypeExpr,
} from "../air/mod.ts";

/** Type expression shorthands (AIR §2). */
export const t = {
  bool: { bool: {} } as TypeExpr,
  int: { int: {} } as TypeExpr,
  nat: { nat: {} } as TypeExpr,
  dec128: { dec128: {} } as TypeExpr,
  bytes: { bytes: {} } as TypeExpr,
  text: { text: {} } as TypeExpr,
  time: { time: {} } as TypeExpr,
  duration: { duration: {} } as TypeExpr,
  hash: { hash: {} } as TypeExpr,
  uuid: { uuid: {} } as TypeExpr,
  unit: { unit: {} } as TypeExpr,
  record: (fields: { [field: string]: TypeExpr }): TypeExpr => ({ record: fields }),
  variant: (tags: { [tag: string]: TypeExpr }): TypeExpr => ({ variant: tags }),
  list: (item: TypeExpr): TypeExpr => ({ list: item }),
  set: (item: TypeExpr): TypeExpr => ({ set: item }),
  map: (key: TypeExpr, value: TypeExpr): TypeExpr => ({ map: { key, value } }),
  option: (item: TypeExpr): TypeExpr => ({ option: item }),
  ref: (name: string): TypeExpr => ({ ref: name }),
};

/** A `defschema`. */
export function schema(name: string, type: TypeExpr): DefSchema {
  return { $kind: "defschema", name, type };
}

/** A reducer module with its WASM bytes. */
export interface ReducerFixture {
  node: DefModule;
  wasm: Uint8Array;
}

/** A reducer `defmodule` (its `wasm_hash` computed from the bytes), with cap slots and effects as overrides. */
export function reducer(
  name: string,
  options: {
    state: string;
    event: string;
    wasm: Uint8Array;
    keySchema?: string;
    annotations?: string;
    effects?: EffectKind[];
    capSlots?: { [slot: string]: CapType };
  },
): ReducerFixture {
  const abi: DefModule["abi"]["reducer"] = { state: options.state, event: options.event };
  if (options.annotations !== undefined) abi.annotations = options.annotations;
  if (options.effects !== undefined) abi.effects_emitted = options.effects;
  if (options.capSlots !== undefined) abi.cap_slots = options.capSlots;
  const node: DefModule = {
    $kind: "defmodule",
    name,
    module_kind: "reducer",
    wasm_hash: hashRefOf(options.wasm),
    abi: { reducer: abi },
  };
  if (options.keySchema !== undefined) node.key_schema = options.keySchema;
  return { node, wasm: options.wasm };
}

/** Expr shorthands (AIR §12.3): tagged constants, refs and operators. */
export const e = {
  ref: (ref: string): JsonValue => ({ ref }),
  text: (value: string): JsonValue => ({ text: value }),
  nat: (value: number | bigint): JsonValue => ({ nat: BigInt(value) }),
  int: (value: number | bigint): JsonValue => ({ int: BigInt(value) }),
  bool: (value: boolean): JsonValue => ({ bool: value }),
  hash: (value: string): JsonValue => ({ hash: value }),
  op: (op: string, ...args: JsonValue[]): JsonValue => ({ op, args }),
  record: (fields: { [field: string]: JsonValue }): JsonValue => ({ record: fields }),
  list: (...items: JsonValue[]): JsonValue => ({ list: items }),
  set: (...items: JsonValue[]): JsonValue => ({ set: items }),
  map: (...entries: Array<[JsonValue, JsonValue]>): JsonValue => ({
    map: entries.map(([key, value]) => ({ key, value })),
  }),
  variant: (tag: string, value?: JsonValue): JsonValue => ({
    variant: value === undefined ? { tag } : { tag, value },
  }),
};

/** Plan step shorthands (AIR §12.1). */
export const step = {
  assign: (id: string, as: string, expr: JsonValue): PlanStep => ({ id, op: "assign", expr, bind: { as } }),
  emit: (id: string, kind: EffectKind, cap: string, params: JsonValue, as: string): PlanStep => ({
    id,
    op: "emit_effect",
    kind,
    params,
    cap,
    bind: { effect_id_as: as },
  }),
  awaitReceipt: (id: string, forVar: string, as: string): PlanStep => ({
    id,
    op: "await_receipt",
    for: { ref: `@var:${forVar}` },
    bind: { as },
  }),
  awaitEvent: (id: string, event: string, as: string, where?: JsonValue): PlanStep =>
    where === undefined
      ? { id, op: "await_event", event, bind: { as } }
      : { id, op: "await_event", event, where, bind: { as } },
  raise: (id: string, reducer: string, event: JsonValue, key?: JsonValue): PlanStep =>
    key === undefined
      ? { id, op: "raise_event", reducer, event }
      : { id, op: "raise_event", reducer, event, key },
  end: (
    id: string,
    result?: JsonValue,
  ): PlanStep => (result === undefined ? { id, op: "end" } : { id, op: "end", result }),
};

/** An edge, optionally guarded. */
export function edge(from: string, to: string, when?: JsonValue): PlanEdge {
  return when === undefined ? { from, to } : { from, to, when };
}

/** Edges chaining steps in order (`a → b → c`). */
export function chain(...ids: string[]): PlanEdge[] {
  return ids.slice(1).map((to, i) => ({ from: ids[i]!, to }));
}

/** A `defplan`. */
export function plan(
  name: string,
  options: {
    input: string;
    output?: string;
    steps: PlanStep[];
    edges?: PlanEdge[];
    locals?: { [name: string]: string };
    requiredCaps?: string[];
    allowedEffects?: EffectKind[];
    invariants?: JsonValue[];
  },
): DefPlan {
  const node: DefPlan = { $kind: "defplan", name, input: options.input, steps: options.steps };
  if (options.output !== undefined) node.output = options.output;
  if (options.edges !== undefined) node.edges = options.edges;
  if (options.locals !== undefined) node.locals = options.locals;
  if (options.requiredCaps !== undefined) node.required_caps = options.requiredCaps;
  if (options.allowedEffects !== undefined) node.allowed_effects = options.allowedEffects;
  if (options.invariants !== undefined) node.invariants = options.invariants;
  return node;
}

/** A user `defcap` (an alias of a standard cap type). */
export function cap(name: string, capType: CapType, schemaType: TypeExpr): DefCap {
  return { $kind: "defcap", name, cap_type: capType, schema: schemaType };
}

/** A grant of a defcap; `params` in the plain or tagged form (the loader stores the tagged form). */
export function grant(
  name: string,
  capName: string,
  params: unknown = { record: {} },
  options: { expiryNs?: bigint; budget?: { tokens?: bigint; bytes?: bigint; cents?: bigint } } = {},
): CapGrant {
  const g: CapGrant = { name, cap: capName, params: toJsonValue(params) };
  if (options.expiryNs !== undefined) g.expiry_ns = options.expiryNs;
  if (options.budget !== undefined) g.budget = options.budget;
  return g;
}

/** Common grants: an http grant for hosts and verbs, a timer grant, a blob grant. */
export const grants = {
  http: (name: string, hosts: string[], verbs: string[] = ["GET"]): CapGrant =>
    grant(name, "sys/http.out@1", {
      record: {
        hosts: { set: hosts.map((h) => ({ text: h })) },
        verbs: { set: verbs.map((v) => ({ text: v })) },
      },
    }),
  timer: (name: string): CapGrant => grant(name, "sys/timer@1", { record: {} }),
  blob: (name: string): CapGrant => grant(name, "sys/blob@1", { record: {} }),
};

/** A `defpolicy`. */
export function policy(name: string, rules: PolicyRule[]): DefPolicy {
  return { $kind: "defpolicy", name, rules };
}

/** A policy rule. */
export function rule(decision: "allow" | "deny", when: PolicyRule["when"] = {}): PolicyRule {
  return { when, decision };
}

/** A `routing.events` entry (keyed when `keyField` is given). */
export function route(event: string, reducerName: string, keyField?: string): RoutingEvent {
  return keyField === undefined
    ? { event, reducer: reducerName }
    : { event, reducer: reducerName, key_field: keyField };
}

/** A `triggers` entry. */
export function trigger(event: string, planName: string, correlateBy?: string): Trigger {
  return correlateBy === undefined
    ? { event, plan: planName }
    : { event, plan: planName, correlate_by: correlateBy };
}

/** Everything a world is made of, as a fixture. */
export interface WorldFixture {
  schemas?: DefSchema[];
  reducers?: ReducerFixture[];
  plans?: DefPlan[];
  caps?: DefCap[];
  policies?: DefPolicy[];
  routing?: RoutingEvent[];
  triggers?: Trigger[];
  grants?: CapGrant[];
  /** The active policy (by name); absent = allow all (grants still gate). */
  policy?: string;
  /** `module → {slot → grant}`. */
  bindings?: { [module: string]: { [slot: string]: string } };
}

/** The AIR files and WASM of a world fixture, ready for `TestWorld.create` or `initWorld`. */
export interface WorldDefinition {
  airFiles: Array<{ path: string; text: string }>;
  wasmFiles: Array<{ path: string; bytes: Uint8Array }>;
  manifest?: Manifest;
}

/** Assembles a fixture into AIR files (one per kind) plus a manifest whose hashes the loader fills. */
export function world(fixture: WorldFixture): WorldDefinition {
  const refs = (nodes: Array<{ name: string }> | undefined) => (nodes ?? []).map((n) => ({ name: n.name }));
  const reducers = fixture.reducers ?? [];
  const manifest: Manifest = {
    $kind: "manifest",
    schemas: refs(fixture.schemas),
    modules: refs(reducers.map((r) => r.node)),
    plans: refs(fixture.plans),
    caps: refs(fixture.caps),
    policies: refs(fixture.policies),
  };
  if (fixture.routing?.length) manifest.routing = { events: fixture.routing };
  if (fixture.triggers?.length) manifest.triggers = fixture.triggers;
  if (fixture.grants?.length || fixture.policy !== undefined) {
    manifest.defaults = {};
    if (fixture.policy !== undefined) manifest.defaults.policy = fixture.policy;
    if (fixture.grants?.length) manifest.defaults.cap_grants = fixture.grants;
  }
  if (fixture.bindings) {
    manifest.module_bindings = Object.fromEntries(
      Object.entries(fixture.bindings).map(([module, slots]) => [module, { slots }]),
    );
  }
  const file = (name: string, nodes: unknown[]) => ({
    path: `${name}.air.json`,
    text: JSON.stringify(toJsonValue(nodes), jsonBig),
  });
  const airFiles = [
    file("schemas", fixture.schemas ?? []),
    file("modules", reducers.map((r) => r.node)),
    file("plans", fixture.plans ?? []),
    file("caps", fixture.caps ?? []),
    file("policies", fixture.policies ?? []),
    file("manifest", [manifest]),
  ].filter((f) => f.text !== "[]");
  const wasmFiles = reducers.map((r) => ({ path: `${r.node.name.replace("/", ".")}.wasm`, bytes: r.wasm }));
  return { airFiles, wasmFiles, manifest };
}

function jsonBig(_key: string, value: unknown): unknown {
  return typeof value === "bigint"
    ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(value.toString())
    : value;
}
