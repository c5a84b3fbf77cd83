/**
 * The plan-internal rules of AIR §14 and §12 for one `defplan`: steps, identifiers, edges and acyclicity,
 * schemas, Expr well-formedness and static types (`air/expr/`), variable bindings and their scope (a
 * reference must be bound by a DAG ancestor), effects and capabilities, awaits, raised events and the
 * result. Every problem is reported in one pass.
 *
 * Choices: steps are typed in topological order (ties in array order); a variable's type is that of its
 * first binding in that order (or its declared local), and every other binding must agree; a reference
 * in an invariant may name any variable or step of the plan (invariants belong to no step); the schema of
 * a raised event is read statically from a `"$schema"` text literal of a record literal.
 *
 * @example Validate a one-step plan
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchemaIndex } from "./schema_index.ts";
 * import { validatePlan } from "./validate_plan.ts";
 *
 * const schemas = new SchemaIndex([{ $kind: "defschema", name: "demo/In@1", type: { record: { n: { nat: {} } } } }]);
 * const manifest = { $kind: "manifest" as const, schemas: [], modules: [], plans: [], caps: [], policies: [] };
 * const plan = {
 *   $kind: "defplan" as const, name: "demo/p@1", input: "demo/In@1",
 *   steps: [{ id: "done", op: "end" as const }],
 *   edges: [{ from: "done", to: "done" }],
 * };
 * const found = validatePlan(plan, { schemas, modules: new Map(), manifest, file: "plan.air.json", path: [] });
 * assert.deepEqual(found.map((d) => [d.code, d.path, d.step]), [["AIR_PLAN_CYCLE", "$.edges[0]", "done"]]);
 * ```
 *
 * @module
 */
import { builtinCapTypes } from "./builtins.ts";
import type { Diagnostic } from "./bundle.ts";
import { effectSpec } from "./effect_catalog.ts";
import {
  checkExpr,
  type ExprTypeEnv,
  isAssignable,
  parseRef,
  REF_NAME_PATTERN,
  sameType,
} from "./expr/mod.ts";
import type { ExprIssue } from "./expr/mod.ts";
import { jsonPath } from "./json.ts";
import { limits } from "./limits.ts";
import type { CapType, DefModule, DefPlan, ExprJson, Manifest, PlanStep } from "./nodes.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";

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

const BOOL: TypeExpr = { bool: {} };
const TEXT: TypeExpr = { text: {} };
const HASH: TypeExpr = { hash: {} };
const SHAPE_CODES: ReadonlySet<string> = new Set([
  "EXPR_SHAPE",
  "EXPR_LITERAL",
  "EXPR_REF",
  "EXPR_UNKNOWN_OP",
]);

/** The variable a step binds, with the JSON path of the binding. */
function bindingOf(step: PlanStep): { name: string; at: Path } | undefined {
  if (step.op === "emit_effect") return { name: step.bind.effect_id_as, at: ["bind", "effect_id_as"] };
  if (step.op === "assign" || step.op === "await_receipt" || step.op === "await_event") {
    return { name: step.bind.as, at: ["bind", "as"] };
  }
  return undefined;
}

function record(fields: { [name: string]: TypeExpr | undefined }): TypeExpr | undefined {
  if (Object.values(fields).some((type) => type === undefined)) return undefined;
  return { record: fields as { [name: string]: TypeExpr } };
}

/** Steps, edges and their ancestry, with the problems of the graph. */
class PlanGraph {
  readonly index = new Map<string, number>();
  readonly parents = new Map<string, string[]>();
  readonly order: number[] = [];
  readonly #ancestors = new Map<string, Set<string>>();

  constructor(
    readonly plan: DefPlan,
    report: (code: PlanDiagnosticCode, message: string, at: Path, step?: string) => void,
  ) {
    plan.steps.forEach((step, i) => {
      if (!this.index.has(step.id)) this.index.set(step.id, i);
      this.parents.set(step.id, []);
    });
    const children = new Map<string, string[]>([...this.index.keys()].map((id) => [id, []]));
    (plan.edges ?? []).forEach((edge, k) => {
      let known = true;
      for (const end of ["from", "to"] as const) {
        if (this.index.has(edge[end])) continue;
        report("AIR_PLAN_EDGE_UNKNOWN_STEP", `Edge ${end} unknown step "${edge[end]}"`, ["edges", k, end]);
        known = false;
      }
      if (!known) return;
      this.parents.get(edge.to)!.push(edge.from);
      children.get(edge.from)!.push(edge.to);
    });
    // Kahn's algorithm, ties broken by array order; steps left over sit on or behind a cycle.
    const pending = new Map([...this.index.keys()].map((id) => [id, this.parents.get(id)!.length]));
    const ready = [...this.index].filter(([id]) => pending.get(id) === 0).map(([, i]) => i);
    while (ready.length > 0) {
      ready.sort((a, b) => a - b);
      const next = ready.shift()!;
      this.order.push(next);
      for (const child of children.get(plan.steps[next]!.id)!) {
        pending.set(child, pending.get(child)! - 1);
        if (pending.get(child) === 0) ready.push(this.index.get(child)!);
      }
    }
    const placed = new Set(this.order);
    const cyclic = new Set([...this.index].filter(([, i]) => !placed.has(i)).map(([id]) => id));
    for (const [id, i] of this.index) if (!placed.has(i)) this.order.push(i);
    const covered = new Set<string>();
    (plan.edges ?? []).forEach((edge, k) => {
      if (!cyclic.has(edge.from) || !cyclic.has(edge.to) || covered.has(edge.from)) return;
      if (edge.from !== edge.to && !this.ancestors(edge.from).has(edge.to)) return;
      const members = [...this.ancestors(edge.from)].filter((id) =>
        id === edge.to || this.ancestors(id).has(edge.to)
      );
      const cycle = [...new Set([edge.from, edge.to, ...members])].sort();
      cycle.forEach((id) => covered.add(id));
      report("AIR_PLAN_CYCLE", `Edges form a cycle through ${cycle.map((id) => `"${id}"`).join(", ")}`, [
        "edges",
        k,
      ], edge.from);
    });
  }

  /** Every step with a path to `id` (excluding `id` itself, even on a cycle). */
  ancestors(id: string): Set<string> {
    const known = this.#ancestors.get(id);
    if (known !== undefined) return known;
    const seen = new Set<string>();
    const stack = [...(this.parents.get(id) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...this.parents.get(next)!);
    }
    seen.delete(id);
    this.#ancestors.set(id, seen);
    return seen;
  }
}

class PlanValidator {
  readonly diagnostics: Diagnostic[] = [];
  readonly graph: PlanGraph;
  readonly varTypes = new Map<string, TypeExpr | null>(); // null: bound, type unknown
  readonly stepTypes = new Map<string, TypeExpr | null>();
  readonly binders = new Map<string, Set<string>>(); // variable -> ids of the steps binding it
  readonly grants: ReadonlyMap<string, { cap: string }>;

  constructor(readonly plan: DefPlan, readonly ctx: PlanContext) {
    this.grants = new Map((ctx.manifest.defaults?.cap_grants ?? []).map((grant) => [grant.name, grant]));
    this.graph = new PlanGraph(plan, (code, message, at, step) => this.report(code, message, at, step));
  }

  report(code: PlanDiagnosticCode, message: string, at: Path, step?: string): void {
    const d: Diagnostic = {
      code,
      message,
      file: this.ctx.file,
      path: jsonPath([...this.ctx.path, ...at]),
      def: this.plan.name,
    };
    if (step !== undefined) d.step = step;
    this.diagnostics.push(d);
  }

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

  identifier(name: string, what: string, at: Path, step?: string): void {
    if (REF_NAME_PATTERN.test(name)) return;
    const why = name.includes(".")
      ? 'must not contain "." (the reference path separator)'
      : `must match ${REF_NAME_PATTERN}`;
    this.report("AIR_PLAN_IDENTIFIER", `Invalid ${what} "${name}": ${why}`, at, step);
  }

  /** The types references see from a step whose ancestors are `ancestors`. */
  env(ancestors: ReadonlySet<string>): ExprTypeEnv {
    const vars = new Map<string, TypeExpr>();
    const steps = new Map<string, TypeExpr>();
    const untyped = { input: false, vars: new Set<string>(), steps: new Set<string>() };
    for (const [name, ids] of this.binders) {
      if (![...ids].some((id) => ancestors.has(id))) continue;
      const type = this.varTypes.get(name);
      if (type) vars.set(name, type);
      else untyped.vars.add(name);
    }
    for (const id of ancestors) {
      const type = this.stepTypes.get(id);
      if (type) steps.set(id, type);
      else untyped.steps.add(id);
    }
    const env: ExprTypeEnv = { vars, steps, schemas: this.ctx.schemas, untyped };
    if (this.ctx.schemas.has(this.plan.input)) env.input = { ref: this.plan.input };
    else untyped.input = true;
    return env;
  }

  expr(json: ExprJson, env: ExprTypeEnv, at: Path, step?: string, expected?: TypeExpr): TypeExpr | undefined {
    const result = checkExpr(json, env, at, expected);
    for (const issue of result.issues) this.issue(issue, step);
    return result.type;
  }

  issue(issue: ExprIssue, step?: string): void {
    const at = issue.path.slice(this.ctx.path.length);
    const code = issue.code === "EXPR_UNKNOWN_REF"
      ? "AIR_PLAN_REF_UNBOUND"
      : SHAPE_CODES.has(issue.code) || issue.code === "EXPR_ARITY" || issue.code === "EXPR_LIMIT"
      ? "AIR_PLAN_EXPR"
      : "AIR_PLAN_EXPR_TYPE";
    this.report(code, issue.message, at, step);
  }

  bind(step: PlanStep, i: number, natural: TypeExpr | undefined): void {
    const binding = bindingOf(step);
    if (binding === undefined) return;
    const at = ["steps", i, ...binding.at];
    const local = this.plan.locals?.[binding.name];
    const declared = local !== undefined && this.ctx.schemas.has(local) ? { ref: local } : undefined;
    if (declared && natural && step.op !== "assign" && !isAssignable(natural, declared, this.ctx.schemas)) {
      this.report(
        "AIR_PLAN_VAR_TYPE_CONFLICT",
        `Variable "${binding.name}" is declared ${local} but bound to another type`,
        at,
        step.id,
      );
    }
    const type = declared ?? natural;
    const previous = this.varTypes.get(binding.name);
    if (previous && type && !declared && !sameType(previous, type, this.ctx.schemas)) {
      this.report(
        "AIR_PLAN_VAR_TYPE_CONFLICT",
        `Variable "${binding.name}" is bound with different types by several steps`,
        at,
        step.id,
      );
    }
    if (!previous) this.varTypes.set(binding.name, type ?? null);
  }

  run(): Diagnostic[] {
    const { plan } = this;
    if (plan.steps.length === 0) this.report("AIR_PLAN_EMPTY", "A plan needs at least one step", ["steps"]);
    if (plan.steps.length > limits.planStepsMax) {
      this.report(
        "AIR_PLAN_TOO_MANY_STEPS",
        `A plan has at most ${limits.planStepsMax} steps, got ${plan.steps.length}`,
        ["steps"],
      );
    }
    this.schema(plan.input, ["input"]);
    this.schema(plan.output, ["output"]);
    for (const [name, schema] of Object.entries(plan.locals ?? {})) {
      this.identifier(name, "variable name", ["locals", name]);
      this.schema(schema, ["locals", name]);
    }
    plan.steps.forEach((step, i) => {
      this.identifier(step.id, "step id", ["steps", i, "id"], step.id);
      if (this.graph.index.get(step.id) !== i) {
        this.report(
          "AIR_PLAN_STEP_DUPLICATE",
          `Step id "${step.id}" is used twice`,
          ["steps", i, "id"],
          step.id,
        );
      }
      const binding = bindingOf(step);
      if (binding === undefined) return;
      this.identifier(binding.name, "variable name", ["steps", i, ...binding.at], step.id);
      if (!this.binders.has(binding.name)) this.binders.set(binding.name, new Set());
      this.binders.get(binding.name)!.add(step.id);
    });
    (plan.required_caps ?? []).forEach((name, j) => {
      if (!this.grants.has(name)) {
        this.report("AIR_PLAN_CAP_UNKNOWN", `No grant "${name}" in manifest.defaults.cap_grants`, [
          "required_caps",
          j,
        ]);
      }
    });
    for (const i of this.graph.order) this.step(plan.steps[i]!, i);
    (plan.edges ?? []).forEach((edge, k) => {
      if (edge.when === undefined) return;
      const ancestors = new Set(this.graph.ancestors(edge.from)).add(edge.from);
      this.expr(
        edge.when,
        this.env(this.graph.index.has(edge.from) ? ancestors : new Set()),
        ["edges", k, "when"],
        edge.from,
        BOOL,
      );
    });
    const everything = new Set(this.graph.index.keys());
    (plan.invariants ?? []).forEach((invariant, k) =>
      this.expr(invariant, this.env(everything), ["invariants", k], undefined, BOOL)
    );
    return this.diagnostics;
  }

  step(step: PlanStep, i: number): void {
    if (this.graph.index.get(step.id) !== i) return; // a duplicate: its id already names another step
    const env = this.env(this.graph.ancestors(step.id));
    const at = (...more: Path): Path => ["steps", i, ...more];
    let type: TypeExpr | undefined;
    switch (step.op) {
      case "assign": {
        const local = this.plan.locals?.[step.bind.as];
        const declared = local !== undefined && this.ctx.schemas.has(local) ? { ref: local } : undefined;
        type = this.expr(step.expr, env, at("expr"), step.id, declared);
        this.bind(step, i, type);
        break;
      }
      case "emit_effect":
        type = this.emit(step, env, at);
        this.bind(step, i, HASH);
        break;
      case "await_receipt":
        type = this.awaitReceipt(step, env, at);
        break;
      case "await_event": {
        const event = this.schema(step.event, at("event"), step.id, "AIR_PLAN_EVENT_UNKNOWN");
        if (step.where !== undefined) {
          const where = {
            ...env,
            vars: new Map(env.vars),
            untyped: { ...env.untyped, vars: new Set(env.untyped?.vars) },
          };
          if (event) where.vars.set(step.bind.as, event);
          else where.untyped.vars.add(step.bind.as);
          this.expr(step.where, where, at("where"), step.id, BOOL);
        }
        this.bind(step, i, event);
        type = event;
        break;
      }
      case "raise_event":
        type = this.raise(step, env, at);
        break;
      case "end": {
        const output = this.plan.output !== undefined && this.ctx.schemas.has(this.plan.output)
          ? { ref: this.plan.output }
          : undefined;
        if (this.plan.output !== undefined && step.result === undefined) {
          this.report(
            "AIR_PLAN_END_RESULT",
            `"end" needs a result: the plan declares output ${this.plan.output}`,
            at(),
            step.id,
          );
        }
        if (this.plan.output === undefined && step.result !== undefined) {
          this.report(
            "AIR_PLAN_END_RESULT",
            '"end" has a result but the plan declares no output',
            at("result"),
            step.id,
          );
        }
        if (step.result !== undefined) this.expr(step.result, env, at("result"), step.id, output);
        type = this.plan.output === undefined ? { unit: {} } : output;
        break;
      }
    }
    this.stepTypes.set(step.id, type ?? null);
  }

  emit(
    step: PlanStep & { op: "emit_effect" },
    env: ExprTypeEnv,
    at: (...more: Path) => Path,
  ): TypeExpr | undefined {
    const spec = effectSpec(step.kind);
    if (spec === undefined || !(this.plan.allowed_effects ?? []).includes(step.kind)) {
      const why = spec === undefined
        ? "is not in the effect catalog"
        : "is not in the plan's allowed_effects";
      this.report("AIR_PLAN_EFFECT_NOT_ALLOWED", `Effect kind "${step.kind}" ${why}`, at("kind"), step.id);
    }
    const required = (this.plan.required_caps ?? []).includes(step.cap);
    if (!required) {
      this.report(
        "AIR_PLAN_CAP_NOT_REQUIRED",
        `Grant "${step.cap}" is not in the plan's required_caps`,
        at("cap"),
        step.id,
      );
    }
    const grant = this.grants.get(step.cap);
    if (grant === undefined && !required) {
      this.report(
        "AIR_PLAN_CAP_UNKNOWN",
        `No grant "${step.cap}" in manifest.defaults.cap_grants`,
        at("cap"),
        step.id,
      );
    }
    const capType = grant === undefined
      ? undefined
      : builtinCapTypes.get(grant.cap) ?? this.ctx.capTypeOf?.(grant.cap);
    if (spec !== undefined && capType !== undefined && capType !== spec.capType) {
      const message = `Grant "${step.cap}" is of cap type ${capType}; "${step.kind}" needs ${spec.capType}`;
      this.report("AIR_PLAN_CAP_TYPE", message, at("cap"), step.id);
    }
    const params = this.schema(spec?.params, at("kind"), step.id);
    this.expr(step.params, env, at("params"), step.id, params);
    return record({ intent_hash: HASH, kind: TEXT, cap: TEXT, params });
  }

  awaitReceipt(
    step: PlanStep & { op: "await_receipt" },
    env: ExprTypeEnv,
    at: (...more: Path) => Path,
  ): TypeExpr | undefined {
    const json = step.for;
    const text =
      typeof json === "object" && json !== null && !Array.isArray(json) && Object.keys(json).length === 1
        ? json.ref
        : undefined;
    const ref = typeof text === "string" ? parseRef(text) : undefined;
    const name = ref?.ok && ref.ref.root === "var" && ref.ref.path.length === 0 ? ref.ref.name : undefined;
    const emits = name === undefined
      ? []
      : [...this.graph.ancestors(step.id)].map((id) => this.plan.steps[this.graph.index.get(id)!]!)
        .filter((s) => s.op === "emit_effect" && s.bind.effect_id_as === name) as Array<
          PlanStep & { op: "emit_effect" }
        >;
    const receipts = [...new Set(emits.map((emit) => effectSpec(emit.kind)?.receipt))];
    if (name === undefined) {
      this.expr(json, env, at("for"), step.id);
      this.report(
        "AIR_PLAN_AWAIT_RECEIPT_FOR",
        '"for" must be {"ref": "@var:NAME"} naming an emit_effect\'s effect_id_as',
        at("for"),
        step.id,
      );
    } else if (emits.length === 0) {
      this.report(
        "AIR_PLAN_AWAIT_RECEIPT_FOR",
        `"@var:${name}" is not bound by an emit_effect that precedes this step`,
        at("for"),
        step.id,
      );
    } else if (receipts.length > 1) {
      this.report(
        "AIR_PLAN_AWAIT_RECEIPT_FOR",
        `"@var:${name}" is bound by emits of different effect kinds`,
        at("for"),
        step.id,
      );
    }
    const receipt = receipts.length === 1 ? this.schema(receipts[0], at("for"), step.id) : undefined;
    this.bind(step, this.graph.index.get(step.id)!, receipt);
    return record({ status: TEXT, adapter_id: TEXT, cost_cents: { option: { nat: {} } }, receipt });
  }

  raise(
    step: PlanStep & { op: "raise_event" },
    env: ExprTypeEnv,
    at: (...more: Path) => Path,
  ): TypeExpr | undefined {
    const module = this.ctx.modules.get(step.reducer);
    if (module === undefined) {
      this.report(
        "AIR_PLAN_RAISE_TARGET",
        `Unknown reducer module "${step.reducer}"`,
        at("reducer"),
        step.id,
      );
    }
    let event = step.event;
    let schemaName = module?.abi.reducer.event;
    let schemaAt = at("event");
    const fields =
      typeof event === "object" && event !== null && !Array.isArray(event) && Object.keys(event).length === 1
        ? event.record
        : undefined;
    if (
      typeof fields === "object" && fields !== null && !Array.isArray(fields) &&
      Object.hasOwn(fields, "$schema")
    ) {
      const { $schema: literal, ...rest } = fields;
      schemaAt = at("event", "record", "$schema");
      const name = typeof literal === "object" && literal !== null && !Array.isArray(literal) &&
          Object.keys(literal).length === 1
        ? literal.text
        : undefined;
      if (typeof name === "string") schemaName = name;
      else {
        schemaName = undefined;
        this.report(
          "AIR_PLAN_EXPR_TYPE",
          '"$schema" must be a text literal naming the event schema',
          schemaAt,
          step.id,
        );
      }
      event = { record: rest };
    }
    const schema = this.schema(schemaName, schemaAt, step.id, "AIR_PLAN_EVENT_UNKNOWN");
    const routes = (this.ctx.manifest.routing?.events ?? []).filter((r) =>
      r.event === schemaName && r.reducer === step.reducer
    );
    if (module !== undefined && schema !== undefined && routes.length === 0) {
      this.report(
        "AIR_PLAN_RAISE_NOT_ROUTED",
        `Routing does not send "${schemaName}" to "${step.reducer}"`,
        schemaAt,
        step.id,
      );
    }
    const value = this.expr(event, env, at("event"), step.id, schema);
    const keyed = module?.key_schema !== undefined || routes.some((route) => route.key_field !== undefined);
    if (module !== undefined && keyed && step.key === undefined) {
      this.report(
        "AIR_PLAN_RAISE_KEY",
        `Reducer "${step.reducer}" is keyed: "raise_event" needs a key`,
        at(),
        step.id,
      );
    }
    if (module !== undefined && !keyed && step.key !== undefined) {
      this.report(
        "AIR_PLAN_RAISE_KEY",
        `Reducer "${step.reducer}" is not keyed: remove the key`,
        at("key"),
        step.id,
      );
    }
    const keySchema = module?.key_schema === undefined
      ? undefined
      : this.schema(module.key_schema, at("key"), step.id);
    const key = step.key === undefined ? undefined : this.expr(step.key, env, at("key"), step.id, keySchema);
    const type: { [name: string]: TypeExpr | undefined } = { schema: TEXT, value };
    if (step.key !== undefined) type.key = key;
    return record(type);
  }
}

/**
 * Checks one plan against the rules of AIR §12 and §14 and returns every problem found, each with a
 * stable `AIR_PLAN_*` code, the file, the JSON path (`$[3].steps[1].params.record.url`), the plan name
 * and, where one applies, the step id.
 */
export function validatePlan(plan: DefPlan, ctx: PlanContext): Diagnostic[] {
  return new PlanValidator(plan, ctx).run();
}
