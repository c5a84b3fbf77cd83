/**
 * The plan-internal rules of AIR §14 and §12 for one `defplan`: steps, identifiers, edges and acyclicity,
 * schemas, Expr well-formedness and static types (`air/expr/`), variable bindings and their scope (a
 * reference must be bound by a DAG ancestor), effects and capabilities, awaits, raised events and the
 * result. Every problem is reported in one pass.
 *
 * Choices: steps are typed in topological order (ties in array order); a variable's type is its declared
 * local, else the type of its first binding in that order, and every other binding must agree; an
 * invariant belongs to no step, so it may read any variable or step value of the plan; the schema of a
 * raised event is read statically from a `"$schema"` text literal of a record literal.
 *
 * @example Validate a plan with a cycle
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchemaIndex } from "./schema_index.ts";
 * import { validatePlan } from "./validate_plan.ts";
 *
 * const schemas = new SchemaIndex([{ $kind: "defschema", name: "demo/In@1", type: { record: {} } }]);
 * const manifest = { $kind: "manifest" as const, schemas: [], modules: [], plans: [], caps: [], policies: [] };
 * const plan = {
 *   $kind: "defplan" as const,
 *   name: "demo/p@1",
 *   input: "demo/In@1",
 *   steps: [{ id: "done", op: "end" as const }],
 *   edges: [{ from: "done", to: "done" }],
 * };
 * const found = validatePlan(plan, { schemas, modules: new Map(), manifest, file: "plan.air.json", path: [] });
 * assert.deepEqual(found.map((d) => [d.code, d.path, d.step]), [["AIR_PLAN_CYCLE", "$.edges[0]", "done"]]);
 * ```
 *
 * @module
 */
import { jsonPath, limits } from "../base/mod.ts";
import {
  checkExpr,
  describeType,
  type ExprTypeEnv,
  isAssignable,
  parseRef,
  PlanScope,
  REF_NAME_PATTERN,
  sameType,
  stepBinding,
} from "../expr/mod.ts";
import {
  builtinCapTypes,
  type CapType,
  type DefModule,
  type DefPlan,
  effectSpec,
  type ExprJson,
  type Manifest,
  type PlanStep,
} from "../nodes/mod.ts";
import type { SchemaResolver, TypeExpr } from "../value/mod.ts";
import type { Diagnostic } from "./bundle.ts";

/** What {@linkcode validatePlan} needs to know about the world around one plan. */
export interface PlanContext {
  schemas: SchemaResolver & { has(name: string): boolean };
  /** The reducer modules of the manifest, by name. */
  modules: ReadonlyMap<string, DefModule>;
  manifest: Manifest;
  file: string;
  /** The JSON path of the plan node in its file, e.g. `[2]`. */
  path: Array<string | number>;
  /** The cap type of a user defcap, by defcap name (`grant.cap`); the standard defcaps are built in. */
  capTypeOf?: (defcap: string) => CapType | undefined;
}

/** The diagnostic codes of {@linkcode validatePlan}. */
export const PLAN_DIAGNOSTIC_CODES = [
  "AIR_PLAN_EMPTY",
  "AIR_PLAN_TOO_MANY_STEPS",
  "AIR_PLAN_STEP_DUPLICATE",
  "AIR_PLAN_IDENTIFIER",
  "AIR_PLAN_EDGE_UNKNOWN_STEP",
  "AIR_PLAN_CYCLE",
  "AIR_PLAN_SCHEMA_UNKNOWN",
  "AIR_PLAN_EXPR",
  "AIR_PLAN_EXPR_TYPE",
  "AIR_PLAN_REF_UNBOUND",
  "AIR_PLAN_VAR_TYPE_CONFLICT",
  "AIR_PLAN_EFFECT_NOT_ALLOWED",
  "AIR_PLAN_CAP_NOT_REQUIRED",
  "AIR_PLAN_CAP_UNKNOWN",
  "AIR_PLAN_CAP_TYPE",
  "AIR_PLAN_AWAIT_RECEIPT_FOR",
  "AIR_PLAN_EVENT_UNKNOWN",
  "AIR_PLAN_RAISE_TARGET",
  "AIR_PLAN_RAISE_NOT_ROUTED",
  "AIR_PLAN_RAISE_KEY",
  "AIR_PLAN_END_RESULT",
] as const;
/** A diagnostic code of {@linkcode validatePlan}. */
export type PlanDiagnosticCode = (typeof PLAN_DIAGNOSTIC_CODES)[number];

type Path = Array<string | number>;
type Step<Op extends PlanStep["op"]> = Extract<PlanStep, { op: Op }>;
/** Reports a problem of one step; `at` is relative to the step. */
type Fail = (code: PlanDiagnosticCode, message: string, ...at: Path) => void;

const BOOL: TypeExpr = { bool: {} };
const TEXT: TypeExpr = { text: {} };
const HASH: TypeExpr = { hash: {} };

/** A record type, or undefined when a field type is unknown. */
function record(fields: { [name: string]: TypeExpr | undefined }): TypeExpr | undefined {
  if (Object.values(fields).some((type) => type === undefined)) return undefined;
  return { record: fields as { [name: string]: TypeExpr } };
}

/** The payload of a one-key object `{key: payload}`, else undefined. */
function only(json: ExprJson | undefined, key: string): ExprJson | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  return Object.keys(json).length === 1 && Object.hasOwn(json, key) ? json[key] : undefined;
}

class PlanValidator {
  readonly diagnostics: Diagnostic[] = [];
  readonly scope: PlanScope;
  readonly grants: ReadonlyMap<string, { cap: string }>;

  constructor(readonly plan: DefPlan, readonly ctx: PlanContext) {
    this.grants = new Map((ctx.manifest.defaults?.cap_grants ?? []).map((grant) => [grant.name, grant]));
    this.scope = new PlanScope(plan, ctx.schemas);
  }

  report(code: PlanDiagnosticCode, message: string, at: Path, step?: string): void {
    const path = jsonPath([...this.ctx.path, ...at]);
    const d: Diagnostic = { code, message, file: this.ctx.file, path, def: this.plan.name };
    if (step !== undefined) d.step = step;
    this.diagnostics.push(d);
  }

  /** `{"ref": name}` when the schema exists, else reports it. */
  schema(
    name: string | undefined,
    at: Path,
    step?: string,
    code: PlanDiagnosticCode = "AIR_PLAN_SCHEMA_UNKNOWN",
  ) {
    if (name === undefined) return undefined;
    if (this.ctx.schemas.has(name)) return { ref: name };
    this.report(code, `Unknown schema "${name}"`, at, step);
    return undefined;
  }

  /** The declared type of a local with a known schema. */
  local(name: string): TypeExpr | undefined {
    const schema = this.plan.locals?.[name];
    return schema !== undefined && this.ctx.schemas.has(schema) ? { ref: schema } : undefined;
  }

  identifier(name: string, what: string, at: Path, step?: string): void {
    if (REF_NAME_PATTERN.test(name)) return;
    const why = name.includes(".") ? 'must not contain "." (the reference path separator)' : "is malformed";
    this.report("AIR_PLAN_IDENTIFIER", `Invalid ${what} "${name}": ${why}`, at, step);
  }

  expr(json: ExprJson, env: ExprTypeEnv, at: Path, step?: string, expected?: TypeExpr): TypeExpr | undefined {
    const result = checkExpr(json, env, [...this.ctx.path, ...at], expected);
    for (const issue of result.issues) {
      const code = issue.code === "EXPR_UNKNOWN_REF"
        ? "AIR_PLAN_REF_UNBOUND"
        : issue.code === "EXPR_TYPE" || issue.code === "EXPR_UNKNOWN_FIELD"
        ? "AIR_PLAN_EXPR_TYPE"
        : "AIR_PLAN_EXPR";
      this.report(code, issue.message, issue.path.slice(this.ctx.path.length), step);
    }
    return result.type;
  }

  /** Types the variable a step binds: its declared local, else `natural`; every binding must agree. */
  bind(step: PlanStep, fail: Fail, natural: TypeExpr | undefined): void {
    const binding = stepBinding(step);
    if (binding === undefined) return;
    const declared = this.local(binding.name);
    const { name } = binding;
    if (declared && natural && step.op !== "assign" && !isAssignable(natural, declared, this.ctx.schemas)) {
      const message = `Variable "${name}" is declared ${describeType(declared)}, not ${
        describeType(natural)
      }`;
      fail("AIR_PLAN_VAR_TYPE_CONFLICT", message, ...binding.at);
    }
    const type = declared ?? natural;
    const previous = this.scope.varType(name);
    if (previous && type && !declared && !sameType(previous, type, this.ctx.schemas)) {
      const message = `Variable "${name}" is bound as ${describeType(previous)} and as ${describeType(type)}`;
      fail("AIR_PLAN_VAR_TYPE_CONFLICT", message, ...binding.at);
    }
    if (previous === undefined) this.scope.setVarType(name, type);
  }

  run(): Diagnostic[] {
    const { plan, scope } = this;
    const count = plan.steps.length;
    if (count === 0) this.report("AIR_PLAN_EMPTY", "A plan needs at least one step", ["steps"]);
    if (count > limits.planStepsMax) {
      this.report("AIR_PLAN_TOO_MANY_STEPS", `At most ${limits.planStepsMax} steps, got ${count}`, ["steps"]);
    }
    this.schema(plan.input, ["input"]);
    this.schema(plan.output, ["output"]);
    for (const [name, schema] of Object.entries(plan.locals ?? {})) {
      this.identifier(name, "variable name", ["locals", name]);
      this.schema(schema, ["locals", name]);
    }
    plan.steps.forEach((step, i) => {
      this.identifier(step.id, "step id", ["steps", i, "id"], step.id);
      if (scope.index.get(step.id) !== i) {
        this.report(
          "AIR_PLAN_STEP_DUPLICATE",
          `Step id "${step.id}" is used twice`,
          ["steps", i, "id"],
          step.id,
        );
      }
      const binding = stepBinding(step);
      if (binding) this.identifier(binding.name, "variable name", ["steps", i, ...binding.at], step.id);
    });
    for (const { edge, end, id } of scope.unknownEdgeEnds) {
      this.report("AIR_PLAN_EDGE_UNKNOWN_STEP", `Edge ${end} unknown step "${id}"`, ["edges", edge, end]);
    }
    for (const { edge, steps } of scope.cycles) {
      const message = `Edges form a cycle through ${steps.map((id) => `"${id}"`).join(", ")}`;
      this.report("AIR_PLAN_CYCLE", message, ["edges", edge], plan.edges?.[edge]?.from);
    }
    (plan.required_caps ?? []).forEach((name, j) => {
      if (this.grants.has(name)) return;
      this.report("AIR_PLAN_CAP_UNKNOWN", `No grant "${name}" in the manifest's cap_grants`, [
        "required_caps",
        j,
      ]);
    });
    for (const i of scope.order) this.step(plan.steps[i]!, i);
    (plan.edges ?? []).forEach((edge, k) => {
      if (edge.when === undefined) return;
      // A guard runs when its source completes: it sees the source and its ancestors (an unknown
      // source is reported above; its guard is checked against the whole plan to avoid echoes).
      const from = scope.index.has(edge.from)
        ? new Set(scope.ancestors(edge.from)).add(edge.from)
        : undefined;
      const seen = from ?? new Set(scope.index.keys());
      this.expr(edge.when, scope.env(seen), ["edges", k, "when"], edge.from, BOOL);
    });
    const everything = new Set(scope.index.keys());
    (plan.invariants ?? []).forEach((invariant, k) => {
      this.expr(invariant, scope.env(everything), ["invariants", k], undefined, BOOL);
    });
    return this.diagnostics;
  }

  step(step: PlanStep, i: number): void {
    if (this.scope.index.get(step.id) !== i) return; // a duplicate id: it names another step
    const env = this.scope.env(this.scope.ancestors(step.id));
    const at = (...more: Path): Path => ["steps", i, ...more];
    const fail: Fail = (code, message, ...more) => this.report(code, message, at(...more), step.id);
    const check: Check = (json, field, expected, scope = env) =>
      this.expr(json, scope, at(field), step.id, expected);
    let type: TypeExpr | undefined;
    switch (step.op) {
      case "assign":
        type = check(step.expr, "expr", this.local(step.bind.as));
        this.bind(step, fail, type);
        break;
      case "emit_effect":
        type = this.emit(step, check, fail);
        this.bind(step, fail, HASH);
        break;
      case "await_receipt":
        type = this.awaitReceipt(step, check, fail);
        break;
      case "await_event": {
        type = this.schema(step.event, at("event"), step.id, "AIR_PLAN_EVENT_UNKNOWN");
        if (step.where !== undefined) {
          // `where` sees the candidate event as @var:<bind.as>.
          const vars = new Map(env.vars);
          const untyped = { ...env.untyped, vars: new Set(env.untyped.vars) };
          if (type) vars.set(step.bind.as, type);
          else untyped.vars.add(step.bind.as);
          check(step.where, "where", BOOL, { ...env, vars, untyped });
        }
        this.bind(step, fail, type);
        break;
      }
      case "raise_event":
        type = this.raise(step, check, fail);
        break;
      case "end": {
        const { output } = this.plan;
        if (output !== undefined && step.result === undefined) {
          fail("AIR_PLAN_END_RESULT", `"end" needs a result: the plan declares output ${output}`);
        }
        if (output === undefined && step.result !== undefined) {
          fail("AIR_PLAN_END_RESULT", '"end" has a result but the plan declares no output', "result");
        }
        const outputType = output !== undefined && this.ctx.schemas.has(output) ? { ref: output } : undefined;
        if (step.result !== undefined) check(step.result, "result", outputType);
        type = output === undefined ? { unit: {} } : outputType;
        break;
      }
    }
    this.scope.setStepType(step.id, type);
  }

  emit(step: Step<"emit_effect">, check: Check, fail: Fail): TypeExpr | undefined {
    const spec = effectSpec(step.kind);
    if (spec === undefined || !(this.plan.allowed_effects ?? []).includes(step.kind)) {
      const why = spec === undefined
        ? "is not in the effect catalog"
        : "is not in the plan's allowed_effects";
      fail("AIR_PLAN_EFFECT_NOT_ALLOWED", `Effect kind "${step.kind}" ${why}`, "kind");
    }
    const required = (this.plan.required_caps ?? []).includes(step.cap);
    if (!required) fail("AIR_PLAN_CAP_NOT_REQUIRED", `Grant "${step.cap}" is not in required_caps`, "cap");
    const grant = this.grants.get(step.cap);
    if (grant === undefined && !required) {
      fail("AIR_PLAN_CAP_UNKNOWN", `No grant "${step.cap}" in the manifest's cap_grants`, "cap");
    }
    const capType = grant && (builtinCapTypes.get(grant.cap) ?? this.ctx.capTypeOf?.(grant.cap));
    if (spec !== undefined && capType !== undefined && capType !== spec.capType) {
      const message = `Grant "${step.cap}" has cap type ${capType}; "${step.kind}" needs ${spec.capType}`;
      fail("AIR_PLAN_CAP_TYPE", message, "cap");
    }
    const params = spec &&
      this.schema(spec.params, ["steps", this.scope.index.get(step.id)!, "kind"], step.id);
    check(step.params, "params", params);
    return record({ intent_hash: HASH, kind: TEXT, cap: TEXT, params });
  }

  awaitReceipt(step: Step<"await_receipt">, check: Check, fail: Fail): TypeExpr | undefined {
    const text = only(step.for, "ref");
    const ref = typeof text === "string" ? parseRef(text) : undefined;
    const name = ref?.ok && ref.ref.root === "var" && ref.ref.path.length === 0 ? ref.ref.name : undefined;
    const emits = [...this.scope.ancestors(step.id)]
      .map((id) => this.plan.steps[this.scope.index.get(id)!]!)
      .filter((s): s is Step<"emit_effect"> => s.op === "emit_effect" && s.bind.effect_id_as === name);
    const receipts = [...new Set(emits.map((emit) => effectSpec(emit.kind)?.receipt))];
    if (name === undefined) {
      check(step.for, "for");
      fail(
        "AIR_PLAN_AWAIT_RECEIPT_FOR",
        '"for" must be {"ref": "@var:NAME"}, an emit\'s effect_id_as',
        "for",
      );
    } else if (emits.length === 0) {
      fail("AIR_PLAN_AWAIT_RECEIPT_FOR", `"@var:${name}" is not bound by a preceding emit_effect`, "for");
    } else if (receipts.length > 1) {
      fail("AIR_PLAN_AWAIT_RECEIPT_FOR", `"@var:${name}" is bound by emits of different kinds`, "for");
    }
    const receiptName = receipts.length === 1 ? receipts[0] : undefined;
    const receipt = this.schema(receiptName, ["steps", this.scope.index.get(step.id)!, "for"], step.id);
    this.bind(step, fail, receipt);
    return record({ status: TEXT, adapter_id: TEXT, cost_cents: { option: { nat: {} } }, receipt });
  }

  raise(step: Step<"raise_event">, check: Check, fail: Fail): TypeExpr | undefined {
    const module = this.ctx.modules.get(step.reducer);
    if (module === undefined) {
      fail("AIR_PLAN_RAISE_TARGET", `Unknown reducer module "${step.reducer}"`, "reducer");
    }
    let event = step.event;
    let schemaName = module?.abi.reducer.event;
    let schemaAt: Path = ["event"];
    const fields = only(event, "record");
    if (
      typeof fields === "object" && fields !== null && !Array.isArray(fields) &&
      Object.hasOwn(fields, "$schema")
    ) {
      // `$schema` names the event schema and is removed from the value (AIR §12.1).
      const { $schema: literal, ...rest } = fields;
      const name = only(literal, "text");
      schemaAt = ["event", "record", "$schema"];
      schemaName = typeof name === "string" ? name : undefined;
      if (schemaName === undefined) {
        fail("AIR_PLAN_EXPR_TYPE", '"$schema" must be a text literal naming the event schema', ...schemaAt);
      }
      event = { record: rest };
    }
    const index = this.scope.index.get(step.id)!;
    const schema = this.schema(schemaName, ["steps", index, ...schemaAt], step.id, "AIR_PLAN_EVENT_UNKNOWN");
    const routes = (this.ctx.manifest.routing?.events ?? [])
      .filter((route) => route.event === schemaName && route.reducer === step.reducer);
    if (module !== undefined && schema !== undefined && routes.length === 0) {
      fail("AIR_PLAN_RAISE_NOT_ROUTED", `Routing sends no "${schemaName}" to "${step.reducer}"`, ...schemaAt);
    }
    const value = check(event, "event", schema);
    const keyed = module?.key_schema !== undefined || routes.some((route) => route.key_field !== undefined);
    if (module !== undefined && keyed && step.key === undefined) {
      fail("AIR_PLAN_RAISE_KEY", `Reducer "${step.reducer}" is keyed: the step needs a "key"`);
    }
    if (module !== undefined && !keyed && step.key !== undefined) {
      fail("AIR_PLAN_RAISE_KEY", `Reducer "${step.reducer}" is not keyed: remove the "key"`, "key");
    }
    const keySchema = module?.key_schema === undefined
      ? undefined
      : this.schema(module.key_schema, ["steps", index, "key"], step.id);
    const key = step.key === undefined ? undefined : check(step.key, "key", keySchema);
    return record(step.key === undefined ? { schema: TEXT, value } : { schema: TEXT, value, key });
  }
}

/** Checks an expression of the current step at `field` (optionally against a type, in another scope). */
type Check = (
  json: ExprJson,
  field: string,
  expected?: TypeExpr,
  scope?: ExprTypeEnv,
) => TypeExpr | undefined;

/**
 * Checks one plan against the rules of AIR §12 and §14 and returns every problem found, each with a
 * stable `AIR_PLAN_*` code, the file, the JSON path (`$[3].steps[1].params.record.url`), the plan name
 * and, where one applies, the step id.
 */
export function validatePlan(plan: DefPlan, ctx: PlanContext): Diagnostic[] {
  return new PlanValidator(plan, ctx).run();
}
