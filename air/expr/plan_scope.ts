/**
 * The scope of references in a plan (AIR §12.3 "Static typing"): the step DAG, the ancestors of each step,
 * which steps bind which variable, and the {@linkcode ExprTypeEnv} an expression of a step sees — only
 * variables and step values bound by a DAG ancestor, so they are defined when it is evaluated.
 *
 * @module
 */
import type { DefPlan, PlanStep } from "../nodes/mod.ts";
import type { SchemaResolver, TypeExpr } from "../value/mod.ts";
import type { ExprTypeEnv } from "./check_expr.ts";

/** The variable a step binds and the JSON path of the binding within the step. */
export function stepBinding(step: PlanStep): { name: string; at: Array<string | number> } | undefined {
  if (step.op === "emit_effect") return { name: step.bind.effect_id_as, at: ["bind", "effect_id_as"] };
  if (step.op === "assign" || step.op === "await_receipt" || step.op === "await_event") {
    return { name: step.bind.as, at: ["bind", "as"] };
  }
  return undefined;
}

/**
 * The DAG of a plan and the types bound so far. Steps are keyed by id (the first step of a duplicated id);
 * edges naming unknown steps are left out of the graph and listed in `unknownEdgeEnds`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const plan = {
 *   $kind: "defplan" as const, name: "demo/p@1", input: "demo/In@1",
 *   steps: [{ id: "b", op: "end" as const }, { id: "a", op: "assign" as const, expr: { nat: 1n }, bind: { as: "x" } }],
 *   edges: [{ from: "a", to: "b" }],
 * };
 * const scope = new PlanScope(plan, { resolve: () => undefined, has: () => true });
 * assert.deepEqual(scope.order, [1, 0]);
 * assert.deepEqual([...scope.ancestors("b")], ["a"]);
 * scope.setVarType("x", { nat: {} });
 * assert.deepEqual(scope.env(scope.ancestors("b")).vars.get("x"), { nat: {} });
 * ```
 */
export class PlanScope {
  /** Step id → index of its (first) step. */
  readonly index: ReadonlyMap<string, number>;
  /** Step indexes in topological order, ties by array order; steps on or behind a cycle come last. */
  readonly order: readonly number[];
  /** Edge ends naming no step. */
  readonly unknownEdgeEnds: Array<{ edge: number; end: "from" | "to"; id: string }> = [];
  /** One entry per cycle: the edge entering its first-listed step, and its steps (sorted). */
  readonly cycles: Array<{ edge: number; steps: string[] }> = [];
  readonly #parents = new Map<string, string[]>();
  readonly #ancestors = new Map<string, Set<string>>();
  readonly #binders = new Map<string, Set<string>>();
  readonly #varTypes = new Map<string, TypeExpr | null>();
  readonly #stepTypes = new Map<string, TypeExpr | null>();

  constructor(readonly plan: DefPlan, readonly schemas: SchemaResolver & { has(name: string): boolean }) {
    const index = new Map<string, number>();
    plan.steps.forEach((step, i) => {
      if (!index.has(step.id)) index.set(step.id, i);
      this.#parents.set(step.id, []);
      const binding = stepBinding(step);
      if (binding === undefined) return;
      if (!this.#binders.has(binding.name)) this.#binders.set(binding.name, new Set());
      this.#binders.get(binding.name)!.add(step.id);
    });
    this.index = index;
    const children = new Map<string, string[]>([...index.keys()].map((id) => [id, []]));
    (plan.edges ?? []).forEach((edge, k) => {
      const unknown = (["from", "to"] as const).filter((end) => !index.has(edge[end]));
      for (const end of unknown) this.unknownEdgeEnds.push({ edge: k, end, id: edge[end] });
      if (unknown.length > 0) return;
      this.#parents.get(edge.to)!.push(edge.from);
      children.get(edge.from)!.push(edge.to);
    });
    this.order = this.#topologicalOrder(children);
    this.#findCycles();
  }

  #topologicalOrder(children: Map<string, string[]>): number[] {
    const order: number[] = [];
    const pending = new Map([...this.index.keys()].map((id) => [id, this.#parents.get(id)!.length]));
    const ready = [...this.index].filter(([id]) => pending.get(id) === 0).map(([, i]) => i);
    while (ready.length > 0) {
      ready.sort((a, b) => a - b);
      const next = ready.shift()!;
      order.push(next);
      for (const child of children.get(this.plan.steps[next]!.id)!) {
        pending.set(child, pending.get(child)! - 1);
        if (pending.get(child) === 0) ready.push(this.index.get(child)!);
      }
    }
    const placed = new Set(order);
    for (const i of this.index.values()) if (!placed.has(i)) order.push(i);
    return order;
  }

  #findCycles(): void {
    const edges = this.plan.edges ?? [];
    const covered = new Set<string>();
    for (const edge of edges) {
      if (!this.index.has(edge.from) || !this.index.has(edge.to) || covered.has(edge.from)) continue;
      if (edge.from !== edge.to && !this.ancestors(edge.from).has(edge.to)) continue;
      // The strongly connected steps: `from`, `to` and every descendant of `to` that reaches `from`.
      const between = [...this.ancestors(edge.from)].filter((id) => this.ancestors(id).has(edge.to));
      const steps = [...new Set([edge.from, edge.to, ...between])].sort();
      steps.forEach((id) => covered.add(id));
      // Report the edge entering the member listed first: usually the one that closes the loop.
      let reported = -1;
      edges.forEach((e, k) => {
        if (!covered.has(e.from) || !steps.includes(e.from) || !steps.includes(e.to)) return;
        if (reported < 0 || this.index.get(e.to)! < this.index.get(edges[reported]!.to)!) reported = k;
      });
      this.cycles.push({ edge: reported, steps });
    }
  }

  /** Every step with a path to `id`, excluding `id` itself even on a cycle. */
  ancestors(id: string): ReadonlySet<string> {
    const known = this.#ancestors.get(id);
    if (known !== undefined) return known;
    const seen = new Set<string>();
    const stack = [...(this.#parents.get(id) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...this.#parents.get(next)!);
    }
    seen.delete(id);
    this.#ancestors.set(id, seen);
    return seen;
  }

  /** The ids of the steps binding variable `name`. */
  bindersOf(name: string): ReadonlySet<string> {
    return this.#binders.get(name) ?? new Set();
  }

  /** The type of variable `name`: undefined before its first binding is typed, null when unknown. */
  varType(name: string): TypeExpr | null | undefined {
    return this.#varTypes.get(name);
  }

  /** Records the type of a variable (undefined: bound, of unknown type). */
  setVarType(name: string, type: TypeExpr | undefined): void {
    this.#varTypes.set(name, type ?? null);
  }

  /** Records the type of a step's `@step:` value (undefined: unknown). */
  setStepType(id: string, type: TypeExpr | undefined): void {
    this.#stepTypes.set(id, type ?? null);
  }

  /**
   * What an expression sees when evaluated after the steps `ancestors`: `@plan.input`, the variables
   * some of them bind and their `@step:` values. Bindings of unknown type are listed in `untyped`.
   */
  env(ancestors: ReadonlySet<string>): ExprTypeEnv & { untyped: { vars: Set<string>; steps: Set<string> } } {
    const vars = new Map<string, TypeExpr>();
    const steps = new Map<string, TypeExpr>();
    const untyped = { input: false, vars: new Set<string>(), steps: new Set<string>() };
    for (const [name, ids] of this.#binders) {
      if (![...ids].some((id) => ancestors.has(id))) continue;
      const type = this.#varTypes.get(name);
      if (type) vars.set(name, type);
      else untyped.vars.add(name);
    }
    // A declared local may be given at manual start (`bind_locals`), so it is visible everywhere; one that
    // is neither given nor assigned by an ancestor fails at run time with `missing_ref`.
    for (const [name, schema] of Object.entries(this.plan.locals ?? {})) {
      if (vars.has(name) || untyped.vars.has(name)) continue;
      if (this.schemas.has(schema)) vars.set(name, { ref: schema });
      else untyped.vars.add(name);
    }
    for (const id of ancestors) {
      const type = this.#stepTypes.get(id);
      if (type) steps.set(id, type);
      else untyped.steps.add(id);
    }
    const env = { vars, steps, schemas: this.schemas, untyped };
    if (this.schemas.has(this.plan.input)) return { ...env, input: { ref: this.plan.input } };
    untyped.input = true;
    return env;
  }
}
