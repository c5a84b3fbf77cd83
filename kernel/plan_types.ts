/**
 * The contract between the kernel and the plan engine (KERNEL §5): the kernel owns the journal, the work
 * queue, routing and the effect gate; the engine owns plan instances and runs one step per tick.
 *
 * @module
 */
import type { CborValue, HashRef, Trigger } from "../air/mod.ts";
import type { EffectOrigin, OutboxEntry } from "./effect_manager.ts";
import type { KernelRecord, WorldDefs } from "./kernel.ts";
import type { AcceptedReceipt } from "./receipt_events.ts";

/** An event as the kernel processes it. */
export interface QueuedEvent {
  seq: number;
  schema: string;
  value: Uint8Array;
  key?: Uint8Array;
}

/** What the kernel offers the plan engine. All calls happen inside a tick; nothing here is async. */
export interface PlanHost {
  /** The live control plane (grants and policy are always the live ones). */
  readonly defs: WorldDefs;
  /** The control plane an instance pinned (KERNEL §5.5); throws if it is not loaded. */
  defsFor(manifestHash: HashRef): WorldDefs;
  /** Logical time of the current block. */
  readonly nowNs: bigint;
  /** Appends a derived record; returns its seq. */
  emit(record: KernelRecord): number;
  /** Queues one `PlanRun(id)` at the back of the work queue. */
  enqueuePlanRun(id: bigint): void;
  /**
   * Runs the effect gate for a plan's `emit_effect` and journals its outcome (`effect_rejected`, or
   * `policy_decision` and, when allowed, `effect_queued`).
   */
  emitEffect(
    request: {
      kind: string;
      capName: string;
      params: Uint8Array;
      origin: Extract<EffectOrigin, { kind: "plan" }>;
    },
  ):
    | { ok: true; intentHash: Uint8Array }
    | { ok: false; reason: string };
  /** Appends a plan-raised `domain_event` (origin `{kind:"plan", name, instance_id, step}`) and queues it. */
  raiseEvent(
    event: { schema: string; value: Uint8Array; key?: Uint8Array },
    origin: { name: string; instanceId: bigint; step: string },
  ): void;
}

/** A read-only view of an instance for `aos plan ls|show`. */
export interface PlanInstanceView {
  id: bigint;
  plan: string;
  manifestHash: HashRef;
  status: "running" | "waiting" | "ok" | "error";
  /** Steps and their states (`pending | ready | waiting_receipt | waiting_event | completed | skipped`). */
  steps: Array<{ id: string; state: string; waitingFor?: string }>;
  error?: { code: string; message: string; step?: string };
  result?: Uint8Array;
}

/** The plan engine the kernel drives. */
export interface PlanEngine {
  /** §2.3 step 2: an event matched a trigger. */
  startFromTrigger(trigger: Trigger, event: QueuedEvent): void;
  /** A journaled `plan_start_requested` input at `seq`. */
  startRequested(seq: number, body: { [key: string]: CborValue }): void;
  /** §2.3 step 3: offer an event to waiting `await_event` steps (ascending instance id). */
  onEvent(event: QueuedEvent): void;
  /** §6.5: a receipt for an intent a plan instance emitted. */
  onReceipt(entry: OutboxEntry, receipt: AcceptedReceipt): void;
  /** §2.4: execute one ready step of instance `id`. */
  run(id: bigint): void;
  /** A journaled `plan_cancel_requested`. */
  cancel(id: bigint, reason: string | undefined): void;
  /** Instances, by id. */
  instances(): PlanInstanceView[];
  /** The distinct manifest hashes pinned by running or waiting instances, unordered. */
  runningManifests(): HashRef[];
  /** The next instance id to allocate. */
  readonly nextInstanceId: bigint;
  /** Canonical snapshot part (KERNEL §8.4 `plans`, `next_instance_id`). */
  snapshot(): { plans: CborValue[]; next_instance_id: bigint };
  /**
   * The canonical encoding of each item of `snapshot().plans`, in the same order: what a snapshot writes.
   * An ended instance never changes, so it is encoded once.
   */
  snapshotPlans(): Uint8Array[];
  /** Restores from a snapshot part. */
  restore(part: { plans: CborValue[]; next_instance_id: bigint }): void;
}
