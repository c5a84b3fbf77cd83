/**
 * Private to `kernel/`: the state of one plan instance and the DAG rules of AIR §12.2 — readiness at
 * start, edge decisions (guards evaluated once), dead-path elimination, the next ready step by step id
 * (UTF-8 byte order) and invariants. Failures are thrown as {@linkcode PlanFailure} and end the instance.
 *
 * @module
 */
import {
  compareBytes,
  type DefPlan,
  type EffectKind,
  evalExpr,
  type ExprEnv,
  type ExprJson,
  type HashRef,
  type PlanStep,
  type Value,
} from "../air/mod.ts";
import { handledMessage, PLAN_EVAL_ERROR_CODES } from "./handled_errors.ts";

/** Step states (KERNEL §8.4). */
export const STEP_STATES = [
  "pending",
  "ready",
  "waiting_receipt",
  "waiting_event",
  "completed",
  "skipped",
] as const;
/** A step's state. */
export type StepState = (typeof STEP_STATES)[number];
/** Edge states (KERNEL §8.4). */
export const EDGE_STATES = ["undecided", "taken", "not_taken"] as const;
/** An edge's state. */
export type EdgeState = (typeof EDGE_STATES)[number];
/** Instance statuses. */
export const INSTANCE_STATUSES = ["running", "waiting", "ok", "error"] as const;
/** An instance's status. */
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * Why an instance ended with an error (KERNEL §5.4); `bad_input` (our addition) marks a start whose plan,
 * input or locals were invalid.
 */
export const PLAN_ERROR_CODES = [
  "no_end",
  "invariant_violation",
  "eval_error",
  "bad_params",
  "effect_denied",
  "bad_event",
  "unknown_handle",
  "cancelled",
  "bad_input",
] as const;
/** A plan error code. */
export type PlanErrorCode = (typeof PLAN_ERROR_CODES)[number];

/** The error an instance ended with. */
export interface PlanError {
  code: PlanErrorCode;
  message: string;
  step?: string;
}

/**
 * A step's state; `wait` is what it waits for: the intent hash (`waiting_receipt`, kept once woken so
 * the step does not evaluate `for` again) or the event schema (`waiting_event`).
 */
export interface StepSlot {
  state: StepState;
  wait?: Uint8Array | string;
}

/** A receipt buffered on an instance (KERNEL §5.3). */
export interface BufferedReceipt {
  intentHash: Uint8Array;
  kind: EffectKind;
  adapterId: string;
  status: string;
  payload: Uint8Array;
  costCents?: bigint;
}

/** One plan instance. */
export interface PlanInstance {
  id: bigint;
  plan: string;
  manifestHash: HashRef;
  /** The input's canonical bytes, as journaled in `plan_started`. */
  input: Uint8Array;
  /** The decoded input; absent only for an instance that ended at start with `bad_input`. */
  inputValue?: Value;
  /** The trigger's `correlate_by` path and the canonical bytes of its value in the starting event. */
  correlateBy?: string;
  correlation?: Uint8Array;
  status: InstanceStatus;
  vars: Map<string, Value>;
  /** `@step:ID` values of completed steps. */
  outputs: Map<string, Value>;
  steps: Map<string, StepSlot>;
  /** By index in the plan's `edges`. */
  edges: EdgeState[];
  /** Intents this instance emitted, in order. */
  emitted: Uint8Array[];
  /** Receipts by intent hash hex. */
  buffered: Map<string, BufferedReceipt>;
  /** Events taken by wakeups, by waiting step id. */
  eventBuffer: Map<string, Value>;
  result?: Uint8Array;
  outputSchema?: string;
  error?: PlanError;
}

/** A failure that ends the instance (never escapes the engine). */
export class PlanFailure extends Error {
  constructor(readonly failure: PlanError) {
    super(failure.message);
    this.name = "PlanFailure";
  }
}

/** Throws a {@linkcode PlanFailure}. */
export function fail(code: PlanErrorCode, message: string, step?: string): never {
  throw new PlanFailure(step === undefined ? { code, message } : { code, message, step });
}

/** Runs `fn`; an Expr, conformance or codec error (by code) becomes a failure with `code`. */
export function failOn<T>(code: PlanErrorCode, what: string, step: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    fail(code, `${what}: ${handledMessage(error, PLAN_EVAL_ERROR_CODES)}`, step);
  }
}

/** The Expr environment of an instance. */
export function exprEnv(inst: PlanInstance, extraVar?: [string, Value]): ExprEnv {
  const vars = extraVar === undefined ? inst.vars : new Map([...inst.vars, extraVar]);
  return inst.inputValue === undefined
    ? { vars, steps: inst.outputs }
    : { input: inst.inputValue, vars, steps: inst.outputs };
}

/** Evaluates an Expr that must give a bool (guards, `where`, invariants). */
export function evalBool(expr: ExprJson, env: ExprEnv, what: string, step: string | undefined): boolean {
  const value = failOn("eval_error", what, step, () => evalExpr(expr, env));
  if (value.kind !== "bool") fail("eval_error", `${what}: expected a bool, got a ${value.kind}`, step);
  return value.value;
}

const utf8 = new TextEncoder();

/** Step id order: UTF-8 byte order (AIR §12.2). */
export function compareStepIds(a: string, b: string): number {
  if (!hasSurrogate(a) && !hasSurrogate(b)) {
    // Without surrogates a code unit is a code point, and UTF-8 keeps code point order: no encoding needed.
    for (let i = 0; i < a.length && i < b.length; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  return compareBytes(utf8.encode(a), utf8.encode(b));
}

function hasSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) return true;
  }
  return false;
}

/** A plan's steps and edges indexed for scheduling. */
export interface PlanGraph {
  /** Step ids in UTF-8 byte order. */
  order: string[];
  steps: Map<string, PlanStep>;
  /** Edge indices into and out of each step, ascending. */
  incoming: Map<string, number[]>;
  outgoing: Map<string, number[]>;
}

const graphs = new WeakMap<DefPlan, PlanGraph>();

/** The (cached) graph of a plan. */
export function planGraph(plan: DefPlan): PlanGraph {
  const cached = graphs.get(plan);
  if (cached) return cached;
  const steps = new Map(plan.steps.map((s) => [s.id, s]));
  const order = [...steps.keys()].sort(compareStepIds);
  const incoming = new Map(order.map((id) => [id, [] as number[]]));
  const outgoing = new Map(order.map((id) => [id, [] as number[]]));
  (plan.edges ?? []).forEach((edge, index) => {
    incoming.get(edge.to)?.push(index);
    outgoing.get(edge.from)?.push(index);
  });
  const graph = { order, steps, incoming, outgoing };
  graphs.set(plan, graph);
  return graph;
}

/** Steps at start: those without incoming edges are ready, the others pending. */
export function initialSteps(graph: PlanGraph): Map<string, StepSlot> {
  return new Map(
    graph.order.map((id) => [id, { state: graph.incoming.get(id)!.length === 0 ? "ready" : "pending" }]),
  );
}

/** The ready step with the smallest id. */
export function nextReady(inst: PlanInstance, graph: PlanGraph): string | undefined {
  return graph.order.find((id) => inst.steps.get(id)?.state === "ready");
}

/** True when some step waits for a receipt or an event. */
export function hasWaiting(inst: PlanInstance): boolean {
  return [...inst.steps.values()].some((s) => s.state === "waiting_receipt" || s.state === "waiting_event");
}

/**
 * Decides the outgoing edges of a completed step in index order (guards evaluated once) and propagates
 * readiness and skips (dead-path elimination, AIR §12.2).
 */
export function decideEdges(inst: PlanInstance, plan: DefPlan, graph: PlanGraph, stepId: string): void {
  const edges = plan.edges ?? [];
  const env = exprEnv(inst);
  for (const index of graph.outgoing.get(stepId) ?? []) {
    const edge = edges[index]!;
    const taken = edge.when === undefined ||
      evalBool(edge.when, env, `Guard of edge ${index} (${edge.from} → ${edge.to})`, stepId);
    inst.edges[index] = taken ? "taken" : "not_taken";
  }
  propagate(inst, plan, graph, graph.outgoing.get(stepId) ?? []);
}

function propagate(inst: PlanInstance, plan: DefPlan, graph: PlanGraph, decided: readonly number[]): void {
  const edges = plan.edges ?? [];
  const work = decided.map((index) => edges[index]!.to);
  while (work.length > 0) {
    const target = work.shift()!;
    const slot = inst.steps.get(target);
    if (slot?.state !== "pending") continue;
    const incoming = graph.incoming.get(target)!.map((index) => inst.edges[index]);
    if (incoming.some((state) => state === "undecided")) continue;
    if (incoming.some((state) => state === "taken")) {
      slot.state = "ready";
      continue;
    }
    // Skipped: its outgoing edges are decided not taken, which may decide (and skip) their targets.
    slot.state = "skipped";
    for (const index of graph.outgoing.get(target)!) {
      inst.edges[index] = "not_taken";
      work.push(edges[index]!.to);
    }
  }
}

/** Checks the invariants in order; the first false one fails with `invariant_violation`. */
export function checkInvariants(inst: PlanInstance, plan: DefPlan, stepId: string): void {
  const env = exprEnv(inst);
  (plan.invariants ?? []).forEach((invariant, i) => {
    if (!evalBool(invariant, env, `Invariant ${i}`, stepId)) {
      fail("invariant_violation", `Invariant ${i} is false after step "${stepId}"`, stepId);
    }
  });
}
