/**
 * Private to `kernel/`: one plan instance in a snapshot (KERNEL §8.4 `plans`):
 *
 * ```
 * {id, plan, manifest_hash, input, correlation?, correlate_by?, status, queued: false,
 *  vars: [{name, value}], outputs: [{step, value}], steps: [{id, state, wait?}], edges: [{index, state}],
 *  emitted: [intent_hash], buffered: [{intent_hash, receipt: {kind, adapter_id, status, payload, cost_cents?}}],
 *  event_buffer: [{step, value}], result?, output_schema?, error?: {code, message, step?}}
 * ```
 *
 * Values are in the tagged CBOR form of `_plan_values.ts`. Lists are sorted: vars, outputs, steps and
 * event_buffer by name/step id (UTF-8 byte order), edges by index, buffered by intent hash; emitted keeps
 * emission order. Beyond §8.4: `correlate_by` (the trigger's path, so the correlation filter survives a
 * restore), the receipt's `kind` (to decode its payload), and `result`/`output_schema`/`error` of ended
 * instances (kept for `aos plan ls|show`). `queued` is always false: snapshots are taken when idle.
 *
 * @module
 */
import {
  AosError,
  bytesToHashRef,
  type CborValue,
  compareBytes,
  EFFECT_KINDS,
  type EffectKind,
  hashRefToBytes,
  toHex,
  type Value,
} from "../air/mod.ts";
import {
  type BufferedReceipt,
  compareStepIds,
  EDGE_STATES,
  type EdgeState,
  INSTANCE_STATUSES,
  type InstanceStatus,
  PLAN_ERROR_CODES,
  type PlanError,
  type PlanErrorCode,
  type PlanInstance,
  STEP_STATES,
  type StepSlot,
  type StepState,
} from "./_plan_instance.ts";
import { valueFromTaggedCbor, valueToTaggedCbor } from "./_plan_values.ts";

type CborMap = { [key: string]: CborValue };

function sortedEntries<T>(map: Map<string, T>): Array<[string, T]> {
  return [...map].sort(([a], [b]) => compareStepIds(a, b));
}

/** Bytes of the few manifest hashes instances pin, shared by every snapshot item (encoding only reads them). */
const manifestHashBytes = new Map<string, Uint8Array>();

function manifestHashToBytes(hash: string): Uint8Array {
  let bytes = manifestHashBytes.get(hash);
  if (bytes === undefined) {
    bytes = hashRefToBytes(hash);
    if (manifestHashBytes.size >= 64) manifestHashBytes.clear();
    manifestHashBytes.set(hash, bytes);
  }
  return bytes;
}

/** The snapshot item of an instance. */
export function instanceToCbor(inst: PlanInstance): CborValue {
  const out: CborMap = {
    id: inst.id,
    plan: inst.plan,
    manifest_hash: manifestHashToBytes(inst.manifestHash),
    input: inst.input,
    status: inst.status,
    queued: false,
    vars: sortedEntries(inst.vars).map(([name, value]) => ({ name, value: valueToTaggedCbor(value) })),
    outputs: sortedEntries(inst.outputs).map(([step, value]) => ({ step, value: valueToTaggedCbor(value) })),
    steps: sortedEntries(inst.steps).map(([id, slot]) => {
      const item: CborMap = { id, state: slot.state };
      if (slot.wait !== undefined) item.wait = slot.wait;
      return item;
    }),
    edges: inst.edges.map((state, index) => ({ index, state })),
    emitted: [...inst.emitted],
    buffered: [...inst.buffered.values()].sort((a, b) => compareBytes(a.intentHash, b.intentHash)).map(
      (r) => {
        const receipt: CborMap = {
          kind: r.kind,
          adapter_id: r.adapterId,
          status: r.status,
          payload: r.payload,
        };
        if (r.costCents !== undefined) receipt.cost_cents = r.costCents;
        return { intent_hash: r.intentHash, receipt };
      },
    ),
    event_buffer: sortedEntries(inst.eventBuffer).map(([step, value]) => ({
      step,
      value: valueToTaggedCbor(value),
    })),
  };
  if (inst.correlation !== undefined) out.correlation = inst.correlation;
  if (inst.correlateBy !== undefined) out.correlate_by = inst.correlateBy;
  if (inst.result !== undefined) out.result = inst.result;
  if (inst.outputSchema !== undefined) out.output_schema = inst.outputSchema;
  if (inst.error !== undefined) {
    const error: CborMap = { code: inst.error.code, message: inst.error.message };
    if (inst.error.step !== undefined) error.step = inst.error.step;
    out.error = error;
  }
  return out;
}

function bad(detail: string): AosError {
  return new AosError("AOS_JOURNAL_CORRUPT", `Snapshot plan instance is malformed: ${detail}`);
}

function map(item: CborValue | undefined, what: string): CborMap {
  if (typeof item !== "object" || item === null || Object.getPrototypeOf(item) !== Object.prototype) {
    throw bad(what);
  }
  return item as CborMap;
}

function list(item: CborValue | undefined, what: string): CborMap[] {
  if (!Array.isArray(item)) throw bad(what);
  return item.map((x) => map(x, what));
}

function text(item: CborValue | undefined, what: string): string {
  if (typeof item !== "string") throw bad(what);
  return item;
}

function bytes(item: CborValue | undefined, what: string): Uint8Array {
  if (!(item instanceof Uint8Array)) throw bad(what);
  return item;
}

function uint(item: CborValue | undefined, what: string): bigint {
  if (typeof item === "bigint" && item >= 0n) return item;
  if (typeof item === "number" && Number.isInteger(item) && item >= 0) return BigInt(item);
  throw bad(what);
}

function oneOf<T extends string>(item: CborValue | undefined, allowed: readonly T[], what: string): T {
  if (typeof item !== "string" || !(allowed as readonly string[]).includes(item)) throw bad(what);
  return item as T;
}

function values(items: CborMap[], key: string, what: string): Map<string, Value> {
  return new Map(
    items.map((x): [string, Value] => [text(x[key], `${what}.${key}`), valueFromTaggedCbor(x.value ?? null)]),
  );
}

/** Reads a snapshot item written by {@linkcode instanceToCbor}; `inputValue` is left for the engine. */
export function instanceFromCbor(item: CborValue): PlanInstance {
  const m = map(item, "instance");
  if (m.queued !== false) throw bad("queued must be false in a snapshot taken when idle");
  const inst: PlanInstance = {
    id: uint(m.id, "id"),
    plan: text(m.plan, "plan"),
    manifestHash: bytesToHashRef(bytes(m.manifest_hash, "manifest_hash")),
    input: bytes(m.input, "input"),
    status: oneOf<InstanceStatus>(m.status, INSTANCE_STATUSES, "status"),
    vars: values(list(m.vars, "vars"), "name", "vars"),
    outputs: values(list(m.outputs, "outputs"), "step", "outputs"),
    steps: new Map(
      list(m.steps, "steps").map((s): [string, StepSlot] => {
        const slot: StepSlot = { state: oneOf<StepState>(s.state, STEP_STATES, "steps.state") };
        if (s.wait !== undefined) {
          if (typeof s.wait !== "string" && !(s.wait instanceof Uint8Array)) throw bad("steps.wait");
          slot.wait = s.wait;
        }
        return [text(s.id, "steps.id"), slot];
      }),
    ),
    edges: list(m.edges, "edges").map((e, i) => {
      if (uint(e.index, "edges.index") !== BigInt(i)) throw bad("edges are not by index");
      return oneOf<EdgeState>(e.state, EDGE_STATES, "edges.state");
    }),
    emitted: (Array.isArray(m.emitted) ? m.emitted : []).map((h) => bytes(h, "emitted")),
    buffered: new Map(
      list(m.buffered, "buffered").map((b): [string, BufferedReceipt] => {
        const r = map(b.receipt, "buffered.receipt");
        const receipt: BufferedReceipt = {
          intentHash: bytes(b.intent_hash, "buffered.intent_hash"),
          kind: oneOf<EffectKind>(r.kind, EFFECT_KINDS, "buffered.receipt.kind"),
          adapterId: text(r.adapter_id, "buffered.receipt.adapter_id"),
          status: text(r.status, "buffered.receipt.status"),
          payload: bytes(r.payload, "buffered.receipt.payload"),
        };
        if (r.cost_cents !== undefined) receipt.costCents = uint(r.cost_cents, "buffered.receipt.cost_cents");
        return [toHex(receipt.intentHash), receipt];
      }),
    ),
    eventBuffer: values(list(m.event_buffer, "event_buffer"), "step", "event_buffer"),
  };
  if (!Array.isArray(m.emitted)) throw bad("emitted");
  if (m.correlation !== undefined) inst.correlation = bytes(m.correlation, "correlation");
  if (m.correlate_by !== undefined) inst.correlateBy = text(m.correlate_by, "correlate_by");
  if (m.result !== undefined) inst.result = bytes(m.result, "result");
  if (m.output_schema !== undefined) inst.outputSchema = text(m.output_schema, "output_schema");
  if (m.error !== undefined) {
    const e = map(m.error, "error");
    const error: PlanError = {
      code: oneOf<PlanErrorCode>(e.code, PLAN_ERROR_CODES, "error.code"),
      message: text(e.message, "error.message"),
    };
    if (e.step !== undefined) error.step = text(e.step, "error.step");
    inst.error = error;
  }
  return inst;
}
