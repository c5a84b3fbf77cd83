/**
 * Private to `kernel/`: executing one plan step (KERNEL §5.2, AIR §12.1). A step completes (its
 * `@step:` value is stored and bindings are made), starts waiting, or ends the instance; a runtime error
 * is thrown as a `PlanFailure`.
 *
 * @module
 */
import {
  bytesEqual,
  conformValue,
  type DefPlan,
  effectSpec,
  encodeTyped,
  evalExpr,
  type PlanStep,
  refType,
  toHex,
  type Value,
} from "../air/mod.ts";
import type { WorldDefs } from "./kernel.ts";
import { exprEnv, fail, failOn, type PlanInstance } from "./_plan_instance.ts";
import type { PlanHost } from "./plan_types.ts";
import { receiptPayloadValue } from "./receipt_events.ts";

/** What one step did. */
export type StepOutcome =
  | { kind: "completed" }
  | { kind: "waiting" }
  | { kind: "ended"; result?: Uint8Array; outputSchema?: string };

/** What a step runs against: the instance, its pinned plan and control plane, and the kernel. */
export interface StepContext {
  inst: PlanInstance;
  plan: DefPlan;
  defs: WorldDefs;
  host: PlanHost;
}

function record(fields: Array<[string, Value]>): Value {
  return { kind: "record", value: new Map(fields) };
}

const text = (value: string): Value => ({ kind: "text", value });

function complete(ctx: StepContext, step: PlanStep, output: Value): StepOutcome {
  ctx.inst.outputs.set(step.id, output);
  ctx.inst.steps.set(step.id, { state: "completed" });
  return { kind: "completed" };
}

/** Executes one ready step of `ctx.inst`. */
export function executeStep(ctx: StepContext, step: PlanStep): StepOutcome {
  const { inst, plan, defs } = ctx;
  const evaluate = (expr: Parameters<typeof evalExpr>[0], what: string) =>
    failOn("eval_error", what, step.id, () => evalExpr(expr, exprEnv(inst)));
  switch (step.op) {
    case "assign": {
      let value = evaluate(step.expr, `Step "${step.id}" expr`);
      const local = plan.locals?.[step.bind.as];
      if (local !== undefined) {
        value = failOn(
          "eval_error",
          `Local "${step.bind.as}"`,
          step.id,
          () => conformValue(value, refType(local), defs.schemas),
        );
      }
      inst.vars.set(step.bind.as, value);
      return complete(ctx, step, value);
    }
    case "emit_effect":
      return emitEffect(ctx, step, evaluate(step.params, `Step "${step.id}" params`));
    case "await_receipt":
      return awaitReceipt(ctx, step);
    case "await_event": {
      const event = inst.eventBuffer.get(step.id);
      if (event === undefined) {
        inst.steps.set(step.id, { state: "waiting_event", wait: step.event });
        return { kind: "waiting" };
      }
      inst.eventBuffer.delete(step.id);
      inst.vars.set(step.bind.as, event);
      return complete(ctx, step, event);
    }
    case "raise_event":
      return raiseEvent(ctx, step, evaluate(step.event, `Step "${step.id}" event`));
    case "end": {
      if (step.result === undefined) {
        if (plan.output !== undefined) {
          fail("eval_error", `Step "${step.id}" has no result for output "${plan.output}"`, step.id);
        }
        complete(ctx, step, { kind: "unit" });
        return { kind: "ended" };
      }
      const value = evaluate(step.result, `Step "${step.id}" result`);
      const output = plan.output;
      if (output === undefined) {
        fail("eval_error", `Step "${step.id}" has a result but the plan declares no output`, step.id);
      }
      const conformed = failOn(
        "eval_error",
        `Result of step "${step.id}"`,
        step.id,
        () => conformValue(value, refType(output), defs.schemas),
      );
      const result = failOn(
        "eval_error",
        `Result of step "${step.id}"`,
        step.id,
        () => encodeTyped(refType(output), conformed, defs.schemas),
      );
      complete(ctx, step, conformed);
      return { kind: "ended", result, outputSchema: output };
    }
  }
}

function emitEffect(
  ctx: StepContext,
  step: Extract<PlanStep, { op: "emit_effect" }>,
  value: Value,
): StepOutcome {
  const { inst, plan, defs, host } = ctx;
  const spec = effectSpec(step.kind);
  if (!spec) fail("bad_params", `Unknown effect kind "${step.kind}"`, step.id);
  // The validator enforces these lists; checked again so a plan never emits what it did not declare.
  if (!(plan.allowed_effects ?? []).includes(step.kind)) {
    fail("effect_denied", `Effect "${step.kind}" is not in allowed_effects of ${plan.name}`, step.id);
  }
  if (!(plan.required_caps ?? []).includes(step.cap)) {
    fail("effect_denied", `Cap "${step.cap}" is not in required_caps of ${plan.name}`, step.id);
  }
  const what = `Params of step "${step.id}" as ${spec.params}`;
  const params = failOn(
    "bad_params",
    what,
    step.id,
    () => conformValue(value, refType(spec.params), defs.schemas),
  );
  const bytes = failOn(
    "bad_params",
    what,
    step.id,
    () => encodeTyped(refType(spec.params), params, defs.schemas),
  );
  const gate = host.emitEffect({
    kind: step.kind,
    capName: step.cap,
    params: bytes,
    origin: { kind: "plan", name: plan.name, instanceId: inst.id, step: step.id },
  });
  if (!gate.ok) {
    fail("effect_denied", `Effect "${step.kind}" via "${step.cap}" was denied: ${gate.reason}`, step.id);
  }
  const hash: Value = { kind: "hash", value: gate.intentHash };
  inst.emitted.push(gate.intentHash);
  inst.vars.set(step.bind.effect_id_as, hash);
  return complete(
    ctx,
    step,
    record([["intent_hash", hash], ["kind", text(step.kind)], ["cap", text(step.cap)], ["params", params]]),
  );
}

function awaitReceipt(ctx: StepContext, step: Extract<PlanStep, { op: "await_receipt" }>): StepOutcome {
  const { inst, defs } = ctx;
  let intent = inst.steps.get(step.id)?.wait;
  if (!(intent instanceof Uint8Array)) {
    const handle = failOn(
      "eval_error",
      `Step "${step.id}" for`,
      step.id,
      () => evalExpr(step.for, exprEnv(inst)),
    );
    if (handle.kind !== "hash") {
      fail("unknown_handle", `Step "${step.id}" for is a ${handle.kind}, not an intent hash`, step.id);
    }
    intent = handle.value;
  }
  const hex = toHex(intent);
  if (!inst.emitted.some((h) => bytesEqual(h, intent))) {
    fail(
      "unknown_handle",
      `Step "${step.id}" waits for intent ${hex}, which this instance did not emit`,
      step.id,
    );
  }
  const receipt = inst.buffered.get(hex);
  if (receipt === undefined) {
    inst.steps.set(step.id, { state: "waiting_receipt", wait: intent });
    return { kind: "waiting" };
  }
  const payload: Value = receipt.payload.length === 0
    ? { kind: "unit" }
    : failOn("bad_event", `Receipt of ${hex}`, step.id, () =>
      receiptPayloadValue(receipt.kind, receipt.payload, defs.schemas));
  inst.vars.set(step.bind.as, payload);
  const cost: Value = receipt.costCents === undefined
    ? { kind: "none" }
    : { kind: "nat", value: receipt.costCents };
  return complete(
    ctx,
    step,
    record([["status", text(receipt.status)], ["adapter_id", text(receipt.adapterId)], ["cost_cents", cost], [
      "receipt",
      payload,
    ]]),
  );
}

function raiseEvent(
  ctx: StepContext,
  step: Extract<PlanStep, { op: "raise_event" }>,
  value: Value,
): StepOutcome {
  const { inst, plan, defs, host } = ctx;
  const module = defs.modules.get(step.reducer);
  if (!module) {
    fail(
      "bad_event",
      `Step "${step.id}" raises for "${step.reducer}", which is not a loaded reducer`,
      step.id,
    );
  }
  let schema = module.abi.reducer.event;
  let event = value;
  const named = value.kind === "record" ? value.value.get("$schema") : undefined;
  if (value.kind === "record" && named !== undefined) {
    if (named.kind !== "text") {
      fail("bad_event", `Step "${step.id}" $schema is a ${named.kind}, not a text`, step.id);
    }
    schema = named.value;
    event = { kind: "record", value: new Map([...value.value].filter(([name]) => name !== "$schema")) };
  }
  if (schema.startsWith("sys/") || !defs.schemas.has(schema)) {
    fail(
      "bad_event",
      `Step "${step.id}" raises "${schema}", which is not a user schema of the manifest`,
      step.id,
    );
  }
  const what = `Event of step "${step.id}" as ${schema}`;
  const conformed = failOn(
    "bad_event",
    what,
    step.id,
    () => conformValue(event, refType(schema), defs.schemas),
  );
  const bytes = failOn(
    "bad_event",
    what,
    step.id,
    () => encodeTyped(refType(schema), conformed, defs.schemas),
  );
  let key: Value = { kind: "none" };
  let keyBytes: Uint8Array | undefined;
  const keySchema = module.key_schema;
  if (keySchema !== undefined) {
    if (step.key === undefined) {
      fail("bad_event", `Step "${step.id}" needs a key: "${module.name}" is keyed`, step.id);
    }
    const raw = failOn(
      "eval_error",
      `Step "${step.id}" key`,
      step.id,
      () => evalExpr(step.key!, exprEnv(inst)),
    );
    const keyWhat = `Key of step "${step.id}" as ${keySchema}`;
    key = failOn("bad_event", keyWhat, step.id, () => conformValue(raw, refType(keySchema), defs.schemas));
    keyBytes = failOn(
      "bad_event",
      keyWhat,
      step.id,
      () => encodeTyped(refType(keySchema), key, defs.schemas),
    );
  } else if (step.key !== undefined) {
    fail("bad_event", `Step "${step.id}" gives a key but "${module.name}" is not keyed`, step.id);
  }
  host.raiseEvent(
    keyBytes === undefined ? { schema, value: bytes } : { schema, value: bytes, key: keyBytes },
    { name: plan.name, instanceId: inst.id, step: step.id },
  );
  return complete(ctx, step, record([["schema", text(schema)], ["value", conformed], ["key", key]]));
}
