/**
 * The text form of AIR nodes (AIR §1, §6–§12) as zod schemas and TypeScript types: `defschema`,
 * `defmodule`, `defplan`, `defcap`, `defpolicy` and `manifest`. Parsing is strict (unknown fields are
 * rejected) and integers are bigints, as {@linkcode parseJson} produces them. Exprs inside plans are only
 * checked to be JSON values here (`air/expr/` checks them); `defmigration` is reserved.
 *
 * @example Parse one node
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAirNode } from "./nodes.ts";
 *
 * const result = parseAirNode({ $kind: "defschema", name: "demo/Count@1", type: { nat: {} } });
 * assert.ok(result.ok);
 * assert.equal(result.node.$kind, "defschema");
 * ```
 *
 * @module
 */
import { z } from "zod";
import { type JsonValue, limits } from "../base/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import type { TypeExpr } from "../value/mod.ts";

/** A definition name `namespace/name@version` (AIR §1). */
export const NAME_PATTERN: RegExp = /^[a-z][a-z0-9._-]*\/[A-Za-z][A-Za-z0-9._-]*@([1-9][0-9]*)$/;
/** A hash reference `sha256:` + 64 lowercase hex digits (AIR §1). */
export const HASH_PATTERN: RegExp = /^sha256:[0-9a-f]{64}$/;
/** Grant names and slot names (AIR §1). */
export const IDENTIFIER_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/**
 * Variable names and step ids: an identifier without `.` (AIR §1 Choice: references use `.` as the path
 * separator, so `@var:a.b` could not name a variable `a.b`).
 */
export const VAR_NAME_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** The effect kinds of the closed v1 catalog (AIR §9.1). */
export const EFFECT_KINDS = ["http.request", "blob.put", "blob.get", "timer.set", "llm.generate"] as const;
/** An effect kind. */
export type EffectKind = (typeof EFFECT_KINDS)[number];
/** The capability types of v1 (AIR §10.1). */
export const CAP_TYPES = ["http.out", "blob", "timer", "llm.basic"] as const;
/** A capability type. */
export type CapType = (typeof CAP_TYPES)[number];

/** Every `$kind` of AIR v1 (AIR §1). */
export const AIR_KINDS = ["defschema", "defmodule", "defplan", "defcap", "defpolicy", "manifest"] as const;
/**
 * Kinds recognized but not supported yet: none since every v1 kind is.
 * @deprecated Always empty; kept so existing imports compile.
 */
export const UNSUPPORTED_KINDS: ReadonlySet<string> = new Set<string>();
/** Kinds reserved by AIR and always rejected. */
export const RESERVED_KINDS: ReadonlySet<string> = new Set(["defmigration"]);

/** `{"$kind":"defschema"}`: a named type (AIR §7). */
export interface DefSchema {
  $kind: "defschema";
  name: string;
  type: TypeExpr;
}

/** The reducer ABI of a module (AIR §8). */
export interface ReducerAbi {
  state: string;
  event: string;
  annotations?: string;
  effects_emitted?: EffectKind[];
  cap_slots?: { [slot: string]: CapType };
}

/** `{"$kind":"defmodule"}`: a WASM reducer (AIR §8). */
export interface DefModule {
  $kind: "defmodule";
  name: string;
  module_kind: "reducer";
  wasm_hash: HashRef;
  key_schema?: string;
  abi: { reducer: ReducerAbi };
}

/** A manifest ref `{name, hash?}`; authoring text may omit the hash or give 64 zeros (AIR §6). */
export interface NamedRef {
  name: string;
  hash?: HashRef;
}

/** A `routing.events` entry. */
export interface RoutingEvent {
  event: string;
  reducer: string;
  key_field?: string;
}

/** A `routing.inboxes` entry (reserved in v1). */
export interface RoutingInbox {
  source: string;
  reducer: string;
}

/** A `triggers` entry. */
export interface Trigger {
  event: string;
  plan: string;
  correlate_by?: string;
}

/** Budget limits of a grant; an absent dimension is unlimited (AIR §10.5). */
export interface Budget {
  tokens?: bigint;
  bytes?: bigint;
  cents?: bigint;
}

/**
 * A capability grant (AIR §10.3). `params` is a value of the defcap's schema: authoring text may use the
 * plain or the tagged form (AIR §3); a loaded or stored manifest holds the canonical tagged form.
 */
export interface CapGrant {
  name: string;
  cap: string;
  params: JsonValue;
  expiry_ns?: bigint;
  budget?: Budget;
}

/** A module's cap slot bindings. */
export interface ModuleBinding {
  slots: { [slot: string]: string };
}

/** `{"$kind":"manifest"}`: the names and hashes of a world's definitions and their wiring (AIR §6). */
export interface Manifest {
  $kind: "manifest";
  schemas: NamedRef[];
  modules: NamedRef[];
  plans: NamedRef[];
  caps: NamedRef[];
  policies: NamedRef[];
  routing?: { events?: RoutingEvent[]; inboxes?: RoutingInbox[] };
  triggers?: Trigger[];
  defaults?: { policy?: string; cap_grants?: CapGrant[] };
  module_bindings?: { [module: string]: ModuleBinding };
}

/** An Expr in its JSON text form (AIR §12.3); checked by `air/expr/`. */
export type ExprJson = JsonValue;

/** One step of a plan (AIR §12.1), discriminated by `op`. */
export type PlanStep =
  | { id: string; op: "assign"; expr: ExprJson; bind: { as: string } }
  | {
    id: string;
    op: "emit_effect";
    kind: EffectKind;
    params: ExprJson;
    cap: string;
    bind: { effect_id_as: string };
  }
  | { id: string; op: "await_receipt"; for: ExprJson; bind: { as: string } }
  | { id: string; op: "await_event"; event: string; where?: ExprJson; bind: { as: string } }
  | { id: string; op: "raise_event"; reducer: string; event: ExprJson; key?: ExprJson }
  | { id: string; op: "end"; result?: ExprJson };

/** An edge between two steps, with an optional guard (AIR §12.2). */
export interface PlanEdge {
  from: string;
  to: string;
  when?: ExprJson;
}

/** `{"$kind":"defplan"}`: a finite DAG of steps (AIR §12). */
export interface DefPlan {
  $kind: "defplan";
  name: string;
  input: string;
  output?: string;
  locals?: { [name: string]: string };
  steps: PlanStep[];
  edges?: PlanEdge[];
  required_caps?: string[];
  allowed_effects?: EffectKind[];
  invariants?: ExprJson[];
}

/** `{"$kind":"defcap"}`: a capability type alias with its parameter schema (AIR §10.1). */
export interface DefCap {
  $kind: "defcap";
  name: string;
  cap_type: CapType;
  schema: TypeExpr;
}

/** One ordered policy rule (AIR §11). */
export interface PolicyRule {
  when: {
    effect_kind?: EffectKind;
    cap_name?: string;
    host?: string;
    method?: string;
    origin_kind?: "plan" | "reducer";
    origin_name?: string;
  };
  decision: "allow" | "deny";
}

/** `{"$kind":"defpolicy"}`: ordered rules, first match decides, default deny (AIR §11). */
export interface DefPolicy {
  $kind: "defpolicy";
  name: string;
  rules: PolicyRule[];
}

/** An AIR node of any v1 kind. */
export type AirNode = DefSchema | DefModule | DefPlan | DefCap | DefPolicy | Manifest;
/** The `$kind` of a node. */
export type NodeKind = AirNode["$kind"];
/** A node with a name: every kind but the manifest. */
export type NamedAirNode = Exclude<AirNode, Manifest>;
/** The `$kind` of a named node. */
export type NamedNodeKind = NamedAirNode["$kind"];

/** A problem found while parsing one node; `path` is relative to the node. */
export interface NodeIssue {
  code: string;
  message: string;
  path: Array<string | number>;
}

/** The outcome of {@linkcode parseAirNode}. */
export type ParseNodeResult =
  | { ok: true; node: AirNode }
  | { ok: false; issues: NodeIssue[] };

const U64_MAX = (1n << 64n) - 1n;

function quote(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "bigint"
    ? `${value}`
    : typeof value;
}

const nameSchema = z.string().regex(NAME_PATTERN, {
  error: (issue) => `Invalid name ${quote(issue.input)}: expected "namespace/Name@version"`,
});
const identifierSchema = z.string().regex(IDENTIFIER_PATTERN, {
  error: (issue) => `Invalid identifier ${quote(issue.input)}: expected ${String(IDENTIFIER_PATTERN)}`,
});
const hashSchema = z.custom<HashRef>((value) => typeof value === "string" && HASH_PATTERN.test(value), {
  error: (issue) => `Invalid hash ${quote(issue.input)}: expected "sha256:" and 64 lowercase hex digits`,
});
const natSchema = z.bigint().min(0n).max(U64_MAX);
const varNameSchema = z.string().regex(VAR_NAME_PATTERN, {
  error: (issue) =>
    `Invalid variable name or step id ${quote(issue.input)}: expected ${
      String(VAR_NAME_PATTERN)
    } (no ".", the reference path separator)`,
});
const effectKindSchema = z.enum(EFFECT_KINDS, {
  error: (issue) => `Unknown effect kind ${quote(issue.input)}: expected one of ${EFFECT_KINDS.join(", ")}`,
});
const capTypeSchema = z.enum(CAP_TYPES, {
  error: (issue) => `Unknown cap type ${quote(issue.input)}: expected one of ${CAP_TYPES.join(", ")}`,
});

const PRIMITIVES: ReadonlySet<string> = new Set([
  "bool",
  "int",
  "nat",
  "dec128",
  "bytes",
  "text",
  "time",
  "duration",
  "hash",
  "uuid",
  "unit",
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a TypeExpr's shape recursively (AIR §2) and returns the issues; semantic rules (refs resolve,
 * comparable keys, nested options) need the other schemas and are checked by the bundle loader.
 */
export function typeExprIssues(value: unknown, path: Array<string | number> = [], depth = 0): NodeIssue[] {
  const issues: NodeIssue[] = [];
  const add = (message: string, at: Array<string | number>, code = "AIR_SHAPE") =>
    issues.push({ code, message, path: at });
  if (depth > limits.nestingDepthMax) {
    add(`Invalid type expression: nested deeper than ${limits.nestingDepthMax}`, path);
    return issues;
  }
  if (!isPlainObject(value)) {
    add(
      `Invalid type expression: expected a one-key object, got ${
        Array.isArray(value) ? "array" : quote(value)
      }`,
      path,
    );
    return issues;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    add(
      `Invalid type expression: expected exactly one key, got ${keys.length} (${keys.map(quote).join(", ")})`,
      path,
    );
    return issues;
  }
  const key = keys[0]!;
  const payload = value[key];
  const at = [...path, key];
  if (PRIMITIVES.has(key)) {
    if (!isPlainObject(payload) || Object.keys(payload).length > 0) {
      add(`Invalid type expression: primitive "${key}" takes {}`, at);
    }
  } else if (key === "record" || key === "variant") {
    if (!isPlainObject(payload)) add(`Invalid type expression: "${key}" takes an object of types`, at);
    else if (key === "variant" && Object.keys(payload).length === 0) {
      // A closed union with no alternative has no values (and no zero value).
      add(`Invalid type expression: "variant" needs at least one alternative`, at);
    } else {
      for (const field of Object.keys(payload)) {
        issues.push(...typeExprIssues(payload[field], [...at, field], depth + 1));
      }
    }
  } else if (key === "list" || key === "set" || key === "option") {
    issues.push(...typeExprIssues(payload, at, depth + 1));
  } else if (key === "map") {
    if (!isPlainObject(payload)) add(`Invalid type expression: "map" takes {"key": T, "value": T}`, at);
    else {
      for (const field of Object.keys(payload)) {
        if (field !== "key" && field !== "value") add(`Unknown field "${field}"`, [...at, field]);
      }
      for (const field of ["key", "value"]) {
        if (!(field in payload)) add(`Missing field "${field}"`, [...at, field]);
        else issues.push(...typeExprIssues(payload[field], [...at, field], depth + 1));
      }
    }
  } else if (key === "ref") {
    if (typeof payload !== "string" || !NAME_PATTERN.test(payload)) {
      add(`Invalid name ${quote(payload)}: expected "namespace/Name@version"`, at, "AIR_NAME_INVALID");
    }
  } else {
    add(`Unknown type "${key}"`, at);
  }
  return issues;
}

/** A TypeExpr (AIR §2), checked by {@linkcode typeExprIssues}. */
export const typeExprSchema: z.ZodType<TypeExpr> = z.custom<TypeExpr>().superRefine((value, ctx) => {
  for (const issue of typeExprIssues(value)) {
    ctx.addIssue({
      code: "custom",
      message: issue.message,
      path: issue.path,
      params: { airCode: issue.code },
    });
  }
});

/** Any JSON value with bigint integers (what {@linkcode parseJson} produces). */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.string(),
    z.bigint(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ])
);

/** `defschema` (AIR §7). */
export const defSchemaSchema = z.strictObject({
  $kind: z.literal("defschema"),
  name: nameSchema,
  type: typeExprSchema,
});

/** `defmodule` (AIR §8). */
export const defModuleSchema = z.strictObject({
  $kind: z.literal("defmodule"),
  name: nameSchema,
  module_kind: z.literal("reducer"),
  wasm_hash: hashSchema,
  key_schema: nameSchema.optional(),
  abi: z.strictObject({
    reducer: z.strictObject({
      state: nameSchema,
      event: nameSchema,
      annotations: nameSchema.optional(),
      effects_emitted: z.array(effectKindSchema).optional(),
      cap_slots: z.record(identifierSchema, capTypeSchema).optional(),
    }),
  }),
});

/** An Expr (AIR §12.3), checked here only as a JSON value; `air/expr/` checks its form and type. */
const exprSchema = jsonValueSchema;
const bindAsSchema = z.strictObject({ as: varNameSchema });

/** One plan step (AIR §12.1), discriminated by `op`. */
export const planStepSchema = z.discriminatedUnion("op", [
  z.strictObject({ id: varNameSchema, op: z.literal("assign"), expr: exprSchema, bind: bindAsSchema }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("emit_effect"),
    kind: effectKindSchema,
    params: exprSchema,
    cap: identifierSchema,
    bind: z.strictObject({ effect_id_as: varNameSchema }),
  }),
  z.strictObject({ id: varNameSchema, op: z.literal("await_receipt"), for: exprSchema, bind: bindAsSchema }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("await_event"),
    event: nameSchema,
    where: exprSchema.optional(),
    bind: bindAsSchema,
  }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("raise_event"),
    reducer: nameSchema,
    event: exprSchema,
    key: exprSchema.optional(),
  }),
  z.strictObject({ id: varNameSchema, op: z.literal("end"), result: exprSchema.optional() }),
]);

/** The step ops of AIR §12.1. */
export const PLAN_STEP_OPS = [
  "assign",
  "emit_effect",
  "await_receipt",
  "await_event",
  "raise_event",
  "end",
] as const;

/** `defplan` (AIR §12). */
export const defPlanSchema = z.strictObject({
  $kind: z.literal("defplan"),
  name: nameSchema,
  input: nameSchema,
  output: nameSchema.optional(),
  locals: z.record(varNameSchema, nameSchema).optional(),
  steps: z.array(planStepSchema).min(1, { error: "A plan needs at least one step" }).max(
    limits.planStepsMax,
    {
      error: `A plan has at most ${limits.planStepsMax} steps`,
    },
  ),
  edges: z.array(z.strictObject({ from: varNameSchema, to: varNameSchema, when: exprSchema.optional() }))
    .optional(),
  required_caps: z.array(identifierSchema).optional(),
  allowed_effects: z.array(effectKindSchema).optional(),
  invariants: z.array(exprSchema).optional(),
});

/** `defcap` (AIR §10.1). */
export const defCapSchema = z.strictObject({
  $kind: z.literal("defcap"),
  name: nameSchema,
  cap_type: capTypeSchema,
  schema: typeExprSchema,
});

/** One policy rule (AIR §11). */
export const policyRuleSchema = z.strictObject({
  when: z.strictObject({
    effect_kind: effectKindSchema.optional(),
    cap_name: identifierSchema.optional(),
    host: z.string().optional(),
    method: z.string().optional(),
    origin_kind: z.enum(["plan", "reducer"]).optional(),
    origin_name: nameSchema.optional(),
  }),
  decision: z.enum(["allow", "deny"]),
});

/** `defpolicy` (AIR §11). */
export const defPolicySchema = z.strictObject({
  $kind: z.literal("defpolicy"),
  name: nameSchema,
  rules: z.array(policyRuleSchema),
});

const namedRefSchema = z.strictObject({ name: nameSchema, hash: hashSchema.optional() });

/** A capability grant (AIR §10.3). */
export const capGrantSchema = z.strictObject({
  name: identifierSchema,
  cap: nameSchema,
  params: jsonValueSchema,
  expiry_ns: natSchema.optional(),
  budget: z.strictObject({
    tokens: natSchema.optional(),
    bytes: natSchema.optional(),
    cents: natSchema.optional(),
  }).optional(),
});

/** `manifest` (AIR §6). */
export const manifestSchema = z.strictObject({
  $kind: z.literal("manifest"),
  schemas: z.array(namedRefSchema),
  modules: z.array(namedRefSchema),
  plans: z.array(namedRefSchema),
  caps: z.array(namedRefSchema),
  policies: z.array(namedRefSchema),
  routing: z.strictObject({
    events: z.array(
      z.strictObject({ event: nameSchema, reducer: nameSchema, key_field: z.string().optional() }),
    )
      .optional(),
    inboxes: z.array(z.strictObject({ source: z.string(), reducer: nameSchema })).optional(),
  }).optional(),
  triggers: z.array(
    z.strictObject({ event: nameSchema, plan: nameSchema, correlate_by: z.string().optional() }),
  )
    .optional(),
  defaults: z.strictObject({ policy: nameSchema.optional(), cap_grants: z.array(capGrantSchema).optional() })
    .optional(),
  module_bindings: z.record(
    nameSchema,
    z.strictObject({ slots: z.record(identifierSchema, identifierSchema) }),
  )
    .optional(),
});

// The zod outputs must be the interfaces above, up to the `| undefined` zod adds to optional fields.
type Exact<T> = T extends bigint | string | boolean | null ? T
  : T extends ReadonlyArray<infer U> ? Exact<U>[]
  : { [K in keyof T]: Exact<Exclude<T[K], undefined>> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type SchemasMatchTypes = [
  Assert<Same<Exact<z.output<typeof defSchemaSchema>>, Exact<DefSchema>>>,
  Assert<Same<Exact<z.output<typeof defModuleSchema>>, Exact<DefModule>>>,
  Assert<Same<Exact<z.output<typeof manifestSchema>>, Exact<Manifest>>>,
  Assert<Same<Exact<z.output<typeof planStepSchema>>, Exact<PlanStep>>>,
  Assert<Same<Exact<z.output<typeof defPlanSchema>>, Exact<DefPlan>>>,
  Assert<Same<Exact<z.output<typeof defCapSchema>>, Exact<DefCap>>>,
  Assert<Same<Exact<z.output<typeof defPolicySchema>>, Exact<DefPolicy>>>,
];

const NAME_REGEX_TEXTS: ReadonlySet<string> = new Set(
  [NAME_PATTERN, IDENTIFIER_PATTERN, VAR_NAME_PATTERN].map(String),
);

function isNameFormatIssue(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_format" && issue.format === "regex") {
    return issue.pattern !== undefined && NAME_REGEX_TEXTS.has(issue.pattern);
  }
  if (issue.code === "invalid_key") return issue.issues.some(isNameFormatIssue);
  return false;
}

function issueCode(issue: z.core.$ZodIssue): string {
  if (issue.code === "custom") {
    const airCode = (issue.params as { airCode?: unknown } | undefined)?.airCode;
    if (typeof airCode === "string") return airCode;
  }
  if (issue.code === "invalid_value" && sameList(issue.values, EFFECT_KINDS)) return "AIR_EFFECT_UNKNOWN";
  if (issue.code === "invalid_value" && sameList(issue.values, CAP_TYPES)) return "AIR_CAP_TYPE_UNKNOWN";
  return isNameFormatIssue(issue) ? "AIR_NAME_INVALID" : "AIR_SHAPE";
}

function sameList(a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const last = issue.path[issue.path.length - 1];
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? `Invalid key ${quote(last)}`;
  // zod marks a discriminated union whose discriminator matched no option with this note.
  if (issue.code === "invalid_union" && (issue as { note?: unknown }).note === "No matching discriminator") {
    const input = "input" in issue ? issue.input : undefined;
    const op = isPlainObject(input) ? input["op"] : undefined;
    return op === undefined
      ? `Missing field "op"`
      : `Unknown step op ${quote(op)}: expected one of ${PLAN_STEP_OPS.join(", ")}`;
  }
  // Issues carry their input only when parsed with `reportInput`; an absent input is a missing field.
  if (
    issue.code === "invalid_type" && "input" in issue && issue.input === undefined && typeof last === "string"
  ) {
    return `Missing field "${last}"`;
  }
  return issue.message;
}

/** Converts zod issues to node issues: one per unknown key, names and identifiers as `AIR_NAME_INVALID`. */
function zodIssuesToNodeIssues(issues: ReadonlyArray<z.core.$ZodIssue>): NodeIssue[] {
  const out: NodeIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ code: "AIR_SHAPE", message: `Unknown field "${key}"`, path: [...path, key] });
      }
      continue;
    }
    out.push({ code: issueCode(issue), message: issueMessage(issue), path });
  }
  return out;
}

const SCHEMA_BY_KIND: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ["defschema", defSchemaSchema],
  ["defmodule", defModuleSchema],
  ["defplan", defPlanSchema],
  ["defcap", defCapSchema],
  ["defpolicy", defPolicySchema],
  ["manifest", manifestSchema],
]);

/**
 * Parses the text form of one node (a JSON value with bigint integers). The `$kind` picks the schema;
 * `defmigration` yields `AIR_KIND_RESERVED`, a kind outside AIR v1 `AIR_KIND_UNKNOWN`. Unknown effect kinds
 * and cap types are `AIR_EFFECT_UNKNOWN` and `AIR_CAP_TYPE_UNKNOWN`, malformed names and identifiers
 * `AIR_NAME_INVALID`, any other problem `AIR_SHAPE`.
 */
export function parseAirNode(value: unknown): ParseNodeResult {
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? "array" : quote(value);
    return {
      ok: false,
      issues: [{ code: "AIR_SHAPE", message: `Expected an AIR node object, got ${got}`, path: [] }],
    };
  }
  const kind = value["$kind"];
  const fail = (code: string, message: string): ParseNodeResult => ({
    ok: false,
    issues: [{ code, message, path: ["$kind"] }],
  });
  if (typeof kind !== "string") return fail("AIR_SHAPE", `Missing or non-text "$kind"`);
  if (RESERVED_KINDS.has(kind)) return fail("AIR_KIND_RESERVED", `Kind "${kind}" is reserved in AIR v1`);
  const schema = SCHEMA_BY_KIND.get(kind);
  if (schema === undefined) return fail("AIR_KIND_UNKNOWN", `Unknown kind "${kind}"`);
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) return { ok: false, issues: zodIssuesToNodeIssues(result.error.issues) };
  return { ok: true, node: result.data as AirNode };
}
