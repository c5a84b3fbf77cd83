/**
 * The plan engine (KERNEL §5, AIR §12–13): plan instances started by triggers or manual requests, one
 * step per `PlanRun` tick, edges with guards and dead-path elimination, receipts and event wakeups,
 * cancellation, and the snapshot part. Pure and deterministic: everything it journals or queues goes
 * through the {@linkcode PlanHost} the kernel gives it, and it iterates only in sorted or declared order.
 *
 * Choices beyond the spec:
 * - A manual start (or, defensively, a trigger) whose plan is unknown or whose input or locals do not
 *   decode still takes an instance id: `plan_started` then `plan_ended` with error `bad_input`, so replay
 *   never fails on it. The driver checks with {@linkcode checkPlanStart} before journaling, so this only
 *   happens with a journal written by another driver. A body of the wrong shape is `AOS_JOURNAL_CORRUPT`.
 * - Cancelling an unknown or ended instance changes nothing and journals nothing.
 * - An `await_event` step takes events processed (KERNEL §2.3 step 3) while it waits, including one
 *   appended earlier but still queued (a reducer's reply to the plan's own `raise_event`).
 * - An invariant or `where` that fails to evaluate ends the instance with `eval_error`.
 * - Ended instances are kept (for `aos plan ls|show`) up to {@linkcode ENDED_INSTANCES_KEPT}; beyond that
 *   the one with the smallest id is dropped.
 *
 * @example Worlds without plans idle
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPlanEngine } from "./plan_engine.ts";
 * import type { PlanHost } from "./plan_types.ts";
 *
 * const engine = createPlanEngine({} as PlanHost);
 * assert.deepEqual(engine.snapshot(), { plans: [], next_instance_id: 1n });
 * ```
 *
 * @module
 */
import {
  AosError,
  assert,
  bytesEqual,
  bytesToHashRef,
  type CborValue,
  decodeTyped,
  type DefPlan,
  encodeCanonical,
  type HashRef,
  hashRefToBytes,
  type PlanStep,
  refType,
  toHex,
  type Trigger,
  type Value,
} from "../air/mod.ts";
import { type EntryBodies, journalRecord } from "../journal/mod.ts";
import type { WorldDefs } from "./kernel.ts";
import type { OutboxEntry } from "./effect_manager.ts";
import type { AcceptedReceipt } from "./receipt_events.ts";
import type { PlanEngine, PlanHost, PlanInstanceView, QueuedEvent } from "./plan_types.ts";
import {
  checkInvariants,
  compareStepIds,
  decideEdges,
  evalBool,
  exprEnv,
  failOn,
  hasWaiting,
  initialSteps,
  nextReady,
  type PlanError,
  PlanFailure,
  planGraph,
  type PlanInstance,
} from "./_plan_instance.ts";
import { instanceFromCbor, instanceToCbor } from "./_plan_snapshot.ts";
import { type CheckedPlanStart, checkPlanStart, fieldPathBytes, planStartBody } from "./_plan_start.ts";
import { executeStep } from "./_plan_steps.ts";
import { PlanWaitIndex } from "./_plan_wait_index.ts";
import { handledMessage, PLAN_EVAL_ERROR_CODES, PLAN_START_ERROR_CODES } from "./handled_errors.ts";

export { type CheckedPlanStart, checkPlanStart, type PlanStartBody, planStartBody } from "./_plan_start.ts";

/** Ended instances kept for inspection; older ones (smallest id first) are dropped. */
export const ENDED_INSTANCES_KEPT = 256;

type Ending = { result?: Uint8Array; outputSchema?: string } | { error: PlanError };

/**
 * The bytes of a manifest hash, for every `plan_started` body: the same few manifests start every instance,
 * and converting the hex again was an allocation per start. Journal bodies are never changed, so one
 * `Uint8Array` per manifest can be shared; the cache is emptied when full, so it stays small.
 */
function manifestHashBytes(ref: HashRef): Uint8Array {
  let bytes = manifestHashes.get(ref);
  if (bytes === undefined) {
    if (manifestHashes.size >= MANIFEST_HASHES_MAX) manifestHashes.clear();
    manifestHashes.set(ref, bytes = hashRefToBytes(ref));
  }
  return bytes;
}
const manifestHashes = new Map<HashRef, Uint8Array>();
const MANIFEST_HASHES_MAX = 64;

class Engine implements PlanEngine {
  readonly #host: PlanHost;
  readonly #instances = new Map<bigint, PlanInstance>();
  /** Instances waiting for events, by schema and correlation (so an event's cost does not grow with them). */
  readonly #waiting = new PlanWaitIndex();
  /** Ids of ended instances still kept, ascending. */
  readonly #ended: bigint[] = [];
  /** Snapshot encodings of ended instances (see {@linkcode snapshotPlans}). */
  readonly #endedBytes = new WeakMap<PlanInstance, Uint8Array>();
  #nextId = 1n;

  constructor(host: PlanHost) {
    this.#host = host;
  }

  get nextInstanceId(): bigint {
    return this.#nextId;
  }

  startFromTrigger(trigger: Trigger, event: QueuedEvent): void {
    const start = (defs: WorldDefs) =>
      checkPlanStart(defs, { plan: trigger.plan, input: event.value, locals: [] });
    this.#start({ trigger_seq: event.seq }, trigger.plan, event.value, start, trigger.correlate_by);
  }

  startRequested(seq: number, body: { [key: string]: CborValue }): void {
    const request = planStartBody(body);
    this.#start({ request_seq: seq }, request.plan, request.input, (defs) => checkPlanStart(defs, request));
  }

  #start(
    cause: { [key: string]: CborValue },
    plan: string,
    input: Uint8Array,
    check: (defs: WorldDefs) => CheckedPlanStart,
    correlateBy?: string,
  ): void {
    const defs = this.#host.defs;
    const inst: PlanInstance = {
      id: this.#nextId++,
      plan,
      manifestHash: defs.manifestHash,
      input,
      status: "running",
      vars: new Map(),
      outputs: new Map(),
      steps: new Map(),
      edges: [],
      emitted: [],
      buffered: new Map(),
      eventBuffer: new Map(),
    };
    this.#instances.set(inst.id, inst);
    let problem: string | undefined;
    try {
      const start = check(defs);
      inst.inputValue = start.inputValue;
      for (const [name, value] of start.locals) inst.vars.set(name, value);
      inst.steps = initialSteps(planGraph(start.plan));
      inst.edges = (start.plan.edges ?? []).map(() => "undecided");
      if (correlateBy !== undefined) {
        inst.correlateBy = correlateBy;
        const bytes = fieldPathBytes(start.plan.input, start.inputValue, correlateBy, defs.schemas);
        if (bytes !== undefined) inst.correlation = bytes;
      }
    } catch (error) {
      problem = handledMessage(error, PLAN_START_ERROR_CODES);
    }
    const body: EntryBodies["plan_started"] = {
      instance_id: inst.id,
      plan,
      manifest_hash: manifestHashBytes(inst.manifestHash),
      input,
      cause,
    };
    if (inst.correlation !== undefined) body.correlation = inst.correlation;
    this.#host.emit(journalRecord("plan_started", body));
    if (problem !== undefined) return this.#finish(inst, { error: { code: "bad_input", message: problem } });
    this.#host.enqueuePlanRun(inst.id);
  }

  #live(id: bigint): PlanInstance | undefined {
    const inst = this.#instances.get(id);
    return inst && (inst.status === "running" || inst.status === "waiting") ? inst : undefined;
  }

  #pinned(inst: PlanInstance): { defs: WorldDefs; plan: DefPlan } {
    const defs = this.#host.defsFor(inst.manifestHash);
    const plan = defs.plans.get(inst.plan);
    assert(plan, `plan "${inst.plan}" of instance ${inst.id} is in its pinned manifest`);
    return { defs, plan };
  }

  run(id: bigint): void {
    const inst = this.#live(id);
    if (!inst) return;
    this.#runInstance(inst);
    this.#waiting.update(inst, this.#live(id) !== undefined, this.#host.defs.manifestHash);
  }

  #runInstance(inst: PlanInstance): void {
    const id = inst.id;
    const { defs, plan } = this.#pinned(inst);
    const graph = planGraph(plan);
    const stepId = nextReady(inst, graph);
    try {
      if (stepId !== undefined) {
        const outcome = executeStep({ inst, plan, defs, host: this.#host }, graph.steps.get(stepId)!);
        if (outcome.kind === "completed") decideEdges(inst, plan, graph, stepId);
        checkInvariants(inst, plan, stepId);
        if (outcome.kind === "ended") {
          const { kind: _, ...ending } = outcome;
          return this.#finish(inst, ending);
        }
      }
    } catch (error) {
      if (error instanceof PlanFailure) return this.#finish(inst, { error: error.failure });
      throw error;
    }
    if (nextReady(inst, graph) !== undefined) {
      inst.status = "running";
      this.#host.enqueuePlanRun(id);
    } else if (hasWaiting(inst)) {
      inst.status = "waiting";
    } else if (plan.output !== undefined) {
      const message =
        `Plan "${plan.name}" finished without running an end step but declares output "${plan.output}"`;
      this.#finish(inst, { error: { code: "no_end", message } });
    } else {
      this.#finish(inst, {});
    }
  }

  #finish(inst: PlanInstance, ending: Ending): void {
    const body: EntryBodies["plan_ended"] = { instance_id: inst.id, status: "ok" };
    if ("error" in ending) {
      inst.status = "error";
      inst.error = ending.error;
      const error: { [key: string]: CborValue } = { code: ending.error.code, message: ending.error.message };
      if (ending.error.step !== undefined) error.step = ending.error.step;
      body.status = "error";
      body.error = error;
    } else {
      inst.status = "ok";
      if (ending.result !== undefined) body.result = inst.result = ending.result;
      if (ending.outputSchema !== undefined) body.output_schema = inst.outputSchema = ending.outputSchema;
    }
    // Pending steps are abandoned; buffered receipts and events have nobody left to wake.
    inst.buffered.clear();
    inst.eventBuffer.clear();
    this.#host.emit(journalRecord("plan_ended", body));
    this.#waiting.remove(inst.id);
    this.#keepEnded(inst.id);
  }

  /** Keeps the `ENDED_INSTANCES_KEPT` ended instances with the largest ids; drops the rest. */
  #keepEnded(id: bigint): void {
    let at = this.#ended.length;
    while (at > 0 && this.#ended[at - 1]! > id) at--;
    this.#ended.splice(at, 0, id);
    while (this.#ended.length > ENDED_INSTANCES_KEPT) this.#instances.delete(this.#ended.shift()!);
  }

  #wake(inst: PlanInstance): void {
    inst.status = "running";
    this.#host.enqueuePlanRun(inst.id);
  }

  onEvent(event: QueuedEvent): void {
    if (!this.#waiting.awaits(event.schema)) return;
    let decoded: Value | undefined;
    const valueAt = (path: string): string | undefined => {
      try {
        decoded ??= decodeTyped(refType(event.schema), event.value, this.#host.defs.schemas);
        const bytes = fieldPathBytes(event.schema, decoded, path, this.#host.defs.schemas);
        return bytes === undefined ? undefined : toHex(bytes);
      } catch (error) {
        // The engine reports a bad event per instance below; here it only cannot narrow the candidates.
        handledMessage(error, PLAN_EVAL_ERROR_CODES);
        return undefined;
      }
    };
    for (const id of this.#waiting.candidates(event.schema, valueAt)) {
      const inst = this.#live(id);
      if (!inst) continue;
      this.#wakeOnEvent(inst, event);
      this.#waiting.update(inst, this.#live(id) !== undefined, this.#host.defs.manifestHash);
    }
  }

  #wakeOnEvent(inst: PlanInstance, event: QueuedEvent): void {
    const waiting = [...inst.steps].filter(([, s]) => s.state === "waiting_event" && s.wait === event.schema)
      .map(([stepId]) => stepId).sort(compareStepIds);
    if (waiting.length === 0) return;
    const { defs, plan } = this.#pinned(inst);
    const graph = planGraph(plan);
    try {
      const first = waiting[0]!;
      const what = `Event ${event.seq} of "${event.schema}"`;
      const value = failOn(
        "bad_event",
        what,
        first,
        () => decodeTyped(refType(event.schema), event.value, defs.schemas),
      );
      if (inst.correlateBy !== undefined && inst.correlation !== undefined) {
        const path = inst.correlateBy;
        const bytes = failOn(
          "bad_event",
          what,
          first,
          () => fieldPathBytes(event.schema, value, path, defs.schemas),
        );
        if (bytes !== undefined && toHex(bytes) !== toHex(inst.correlation)) return;
      }
      let woke = false;
      for (const stepId of waiting) {
        const step = graph.steps.get(stepId) as Extract<PlanStep, { op: "await_event" }>;
        const env = exprEnv(inst, [step.bind.as, value]);
        if (step.where !== undefined && !evalBool(step.where, env, `Step "${stepId}" where`, stepId)) {
          continue;
        }
        inst.eventBuffer.set(stepId, value);
        inst.steps.set(stepId, { state: "ready" });
        woke = true;
      }
      if (woke) this.#wake(inst);
    } catch (error) {
      if (error instanceof PlanFailure) this.#finish(inst, { error: error.failure });
      else throw error;
    }
  }

  onReceipt(entry: OutboxEntry, receipt: AcceptedReceipt): void {
    if (entry.origin.kind !== "plan") return;
    const inst = this.#live(entry.origin.instanceId);
    if (!inst) return; // Ended or dropped: the kernel has settled the intent; nothing is delivered.
    const hex = toHex(receipt.intentHash);
    inst.buffered.set(hex, {
      intentHash: receipt.intentHash,
      kind: entry.kind,
      adapterId: receipt.adapterId,
      status: receipt.status,
      payload: receipt.payload,
      ...(receipt.costCents === undefined ? {} : { costCents: receipt.costCents }),
    });
    let woke = false;
    for (const slot of inst.steps.values()) {
      if (
        slot.state === "waiting_receipt" && slot.wait instanceof Uint8Array &&
        bytesEqual(slot.wait, receipt.intentHash)
      ) {
        slot.state = "ready";
        woke = true;
      }
    }
    if (woke) this.#wake(inst);
  }

  cancel(id: bigint, reason: string | undefined): void {
    const inst = this.#live(id);
    if (!inst) return;
    this.#finish(inst, { error: { code: "cancelled", message: reason ?? "Cancelled by an operator" } });
  }

  #ids(): bigint[] {
    return [...this.#instances.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Without building the views of {@linkcode instances}: every snapshot asks. */
  runningManifests(): HashRef[] {
    const pinned = new Set<HashRef>();
    for (const inst of this.#instances.values()) {
      if (inst.status === "running" || inst.status === "waiting") pinned.add(inst.manifestHash);
    }
    return [...pinned];
  }

  instances(): PlanInstanceView[] {
    return this.#ids().map((id) => {
      const inst = this.#instances.get(id)!;
      const view: PlanInstanceView = {
        id,
        plan: inst.plan,
        manifestHash: inst.manifestHash,
        status: inst.status,
        steps: [...inst.steps].sort(([a], [b]) => compareStepIds(a, b)).map(([stepId, slot]) => {
          const wait = slot.wait instanceof Uint8Array ? bytesToHashRef(slot.wait) : slot.wait;
          return slot.state.startsWith("waiting") && wait !== undefined
            ? { id: stepId, state: slot.state, waitingFor: wait }
            : { id: stepId, state: slot.state };
        }),
      };
      if (inst.error !== undefined) view.error = { ...inst.error };
      if (inst.result !== undefined) view.result = inst.result;
      return view;
    });
  }

  snapshot(): { plans: CborValue[]; next_instance_id: bigint } {
    return {
      plans: this.#ids().map((id) => instanceToCbor(this.#instances.get(id)!)),
      next_instance_id: this.#nextId,
    };
  }

  snapshotPlans(): Uint8Array[] {
    return this.#ids().map((id) => {
      const inst = this.#instances.get(id)!;
      if (inst.status !== "ok" && inst.status !== "error") return encodeCanonical(instanceToCbor(inst));
      let bytes = this.#endedBytes.get(inst);
      if (bytes === undefined) {
        bytes = encodeCanonical(instanceToCbor(inst));
        this.#endedBytes.set(inst, bytes);
      }
      return bytes;
    });
  }

  restore(part: { plans: CborValue[]; next_instance_id: bigint }): void {
    this.#instances.clear();
    this.#ended.length = 0;
    for (const item of part.plans) {
      const inst = instanceFromCbor(item);
      if (this.#instances.has(inst.id) || inst.id >= part.next_instance_id) {
        throw new AosError(
          "AOS_JOURNAL_CORRUPT",
          `Snapshot plan instance ${inst.id} is repeated or not below next_instance_id`,
        );
      }
      this.#instances.set(inst.id, inst);
      if (!this.#live(inst.id)) {
        this.#keepEnded(inst.id);
        continue;
      }
      const { defs, plan } = this.#pinned(inst);
      const graph = planGraph(plan);
      const ids = [...inst.steps.keys()].sort(compareStepIds);
      if (ids.join("\n") !== graph.order.join("\n") || inst.edges.length !== (plan.edges ?? []).length) {
        throw new AosError(
          "AOS_JOURNAL_CORRUPT",
          `Snapshot plan instance ${inst.id} does not match plan "${plan.name}"`,
        );
      }
      inst.inputValue = decodeTyped(refType(plan.input), inst.input, defs.schemas);
      this.#waiting.update(inst, true, this.#host.defs.manifestHash);
    }
    this.#nextId = part.next_instance_id;
  }
}

/** Creates the plan engine for a kernel. */
export function createPlanEngine(host: PlanHost): PlanEngine {
  return new Engine(host);
}
