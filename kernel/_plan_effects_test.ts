import assert from "node:assert/strict";
import { type CborValue, decodeCanonical, encodeCanonical } from "../air/mod.ts";
import { externalEvent } from "./_test_fixtures.ts";
import {
  assertRecords,
  endedError,
  endedOk,
  givenPlanWorld,
  planIntent,
  planStarted,
  type PlanWorldSpec,
  receiptEntry,
  RESULT,
  START,
  startRequest,
} from "./_plan_test_world.ts";
import { type DerivedRecord, Kernel } from "./kernel.ts";

const TIMER_GRANT = { name: "timer_cap", cap: "sys/timer@1", params: { record: {} } };
const statusIs = (status: string) => ({ op: "eq", args: [{ ref: "@step:b_wait.status" }, { text: status }] });

function timerPlan(
  name: string,
  params: unknown = { record: { deliver_at_ns: { ref: "@plan.input.n" } } },
): unknown {
  return {
    $kind: "defplan",
    name,
    input: START,
    output: RESULT,
    allowed_effects: ["timer.set"],
    required_caps: ["timer_cap"],
    steps: [
      {
        id: "a_emit",
        op: "emit_effect",
        kind: "timer.set",
        cap: "timer_cap",
        params,
        bind: { effect_id_as: "t" },
      },
      { id: "b_wait", op: "await_receipt", for: { ref: "@var:t" }, bind: { as: "r" } },
      { id: "c_end", op: "end", result: { record: { total: { ref: "@var:r.delivered_at_ns" } } } },
      { id: "d_fail", op: "end", result: { record: { total: { nat: 0 } } } },
    ],
    edges: [
      { from: "a_emit", to: "b_wait" },
      { from: "b_wait", to: "c_end", when: statusIs("ok") },
      { from: "b_wait", to: "d_fail", when: { op: "not", args: [statusIs("ok")] } },
    ],
  };
}

const TIMER = timerPlan("test/timer@1");
const timerWorld = (spec: PlanWorldSpec = {}) =>
  givenPlanWorld({ plans: [TIMER], grants: [TIMER_GRANT], ...spec });

/** The intent of instance `id`'s `a_emit` step of the timer plan at `deliverAtNs`. */
function timerIntent(id: bigint, deliverAtNs: number, plan = "test/timer@1") {
  return planIntent(plan, id, "a_emit", "timer.set", "timer_cap", { deliver_at_ns: deliverAtNs });
}

function emitted(seq: number, id: bigint, deliverAtNs: number, plan = "test/timer@1"): DerivedRecord[] {
  const intent = timerIntent(id, deliverAtNs, plan);
  return [
    { seq, kind: "policy_decision", body: { intent_hash: intent.hash, decision: "allow" } },
    {
      seq: seq + 1,
      kind: "effect_queued",
      body: {
        intent_hash: intent.hash,
        kind: "timer.set",
        cap_name: "timer_cap",
        params: intent.params,
        idempotency_key: intent.key,
        origin: { kind: "plan", name: plan, instance_id: id, step: "a_emit" },
        fence: { generation: 0n, height: BigInt(seq + 1) },
      },
    },
  ];
}

Deno.test("emit_effect without a grant, or denied by policy, ends the instance with effect_denied", () => {
  const input = { id: "r", n: 5000 };
  const intent = timerIntent(1n, 5000);
  const origin = { kind: "plan", name: "test/timer@1", instance_id: 1n, step: "a_emit" };
  const noGrant = timerWorld({ liveGrants: [] });
  assertRecords(noGrant.kernel.apply(startRequest(1, "test/timer@1", input)), [
    planStarted(noGrant.defs, 2, 1n, "test/timer@1", input, { request_seq: 1 }),
    {
      seq: 3,
      kind: "effect_rejected",
      body: {
        kind: "timer.set",
        cap_name: "timer_cap",
        origin,
        stage: "grant_missing",
        reason: 'no grant named "timer_cap"',
        intent_hash: intent.hash,
      },
    },
    endedError(
      4,
      1n,
      "effect_denied",
      'Effect "timer.set" via "timer_cap" was denied: grant_missing: no grant named "timer_cap"',
      "a_emit",
    ),
  ]);
  const denied = timerWorld({ policy: [{ when: { effect_kind: "timer.set" }, decision: "deny" }] });
  assertRecords(denied.kernel.apply(startRequest(1, "test/timer@1", input)), [
    planStarted(denied.defs, 2, 1n, "test/timer@1", input, { request_seq: 1 }),
    {
      seq: 3,
      kind: "policy_decision",
      body: { intent_hash: intent.hash, decision: "deny", policy_name: "test/policy@1", rule_index: 0 },
    },
    endedError(4, 1n, "effect_denied", /^Effect "timer.set" via "timer_cap" was denied: policy: /, "a_emit"),
  ]);
  assert.deepEqual(denied.kernel.outbox(), []);
});

Deno.test("emit_effect with params that do not conform ends with bad_params; await_receipt of a foreign hash with unknown_handle", () => {
  const handle = {
    $kind: "defplan",
    name: "test/handle@1",
    input: START,
    steps: [
      { id: "a", op: "assign", bind: { as: "h" }, expr: { hash: `sha256:${"00".repeat(32)}` } },
      { id: "b", op: "await_receipt", for: { ref: "@var:h" }, bind: { as: "r" } },
    ],
    edges: [{ from: "a", to: "b" }],
  };
  const { kernel, defs } = givenPlanWorld({
    grants: [TIMER_GRANT],
    rawPlans: [timerPlan("test/badparams@1", { record: { deliver_at_ns: { text: "soon" } } }), handle],
  });
  const input = { id: "r", n: 1 };
  assertRecords(kernel.apply(startRequest(1, "test/badparams@1", input)), [
    planStarted(defs, 2, 1n, "test/badparams@1", input, { request_seq: 1 }),
    endedError(3, 1n, "bad_params", /^Params of step "a_emit" as sys\/TimerSetParams@1: /, "a_emit"),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/handle@1", input)), [
    planStarted(defs, 5, 2n, "test/handle@1", input, { request_seq: 4 }),
    endedError(
      6,
      2n,
      "unknown_handle",
      `Step "b" waits for intent ${"00".repeat(32)}, which this instance did not emit`,
      "b",
    ),
  ]);
});

const MIXED = {
  $kind: "defplan",
  name: "test/mixed@1",
  input: START,
  output: RESULT,
  allowed_effects: ["timer.set"],
  required_caps: ["timer_cap"],
  steps: [
    {
      id: "a_emit",
      op: "emit_effect",
      kind: "timer.set",
      cap: "timer_cap",
      params: { record: { deliver_at_ns: { ref: "@plan.input.n" } } },
      bind: { effect_id_as: "t" },
    },
    { id: "b_evt", op: "await_event", event: "test/Reply@1", bind: { as: "reply" } },
    { id: "c_wait", op: "await_receipt", for: { ref: "@var:t" }, bind: { as: "r" } },
    {
      id: "d_end",
      op: "end",
      result: {
        record: { total: { op: "add", args: [{ ref: "@var:reply.n" }, { ref: "@var:r.delivered_at_ns" }] } },
      },
    },
  ],
  edges: [{ from: "a_emit", to: "b_evt" }, { from: "b_evt", to: "c_wait" }, { from: "c_wait", to: "d_end" }],
};

/** Restores a kernel from `kernel`'s snapshot and checks the restored one snapshots to the same bytes. */
function restored(kernel: Kernel, world: ReturnType<typeof givenPlanWorld>): Kernel {
  const bytes = kernel.snapshot();
  const again = Kernel.restore(world.defs, world.host, bytes);
  assert.deepEqual(again.snapshot(), bytes, "restore then snapshot gives the same bytes");
  assert.deepEqual(again.plans(), kernel.plans());
  return again;
}

Deno.test("snapshot()/restore() mid-plan, waiting on a receipt, continues identically", () => {
  const world = timerWorld();
  const { kernel } = world;
  kernel.apply(startRequest(1, "test/timer@1", { id: "r", n: 5000 }));
  const copy = restored(kernel, world);
  const receipt = receiptEntry(5, timerIntent(1n, 5000).hash, 4, "ok", { delivered_at_ns: 5001 });
  const derived = kernel.apply(receipt);
  assertRecords(derived, [endedOk(6, 1n, { total: 5001 })]);
  assert.deepEqual(copy.apply(receipt), derived);
  assert.deepEqual(copy.snapshot(), kernel.snapshot());
});

Deno.test("snapshot() keeps a receipt buffered before its await and the event wait; restore continues identically", () => {
  const world = givenPlanWorld({ plans: [MIXED], grants: [TIMER_GRANT] });
  const { kernel, defs } = world;
  const input = { id: "r", n: 5000 };
  assertRecords(kernel.apply(startRequest(1, "test/mixed@1", input)), [
    planStarted(defs, 2, 1n, "test/mixed@1", input, { request_seq: 1 }),
    ...emitted(3, 1n, 5000, "test/mixed@1"),
  ]);
  const intent = timerIntent(1n, 5000, "test/mixed@1");
  assert.deepEqual(kernel.apply(receiptEntry(5, intent.hash, 4, "ok", { delivered_at_ns: 5001 })), []);
  const copy = restored(kernel, world);
  const snapshot = decodeCanonical(kernel.snapshot()) as { plans: Array<{ [key: string]: CborValue }> };
  const item = snapshot.plans[0]!;
  assert.deepEqual(item.steps, [
    { id: "a_emit", state: "completed" },
    { id: "b_evt", state: "waiting_event", wait: "test/Reply@1" },
    { id: "c_wait", state: "pending" },
    { id: "d_end", state: "pending" },
  ]);
  assert.deepEqual(item.vars, [{ name: "t", value: { hash: intent.hash } }]);
  assert.deepEqual(item.buffered, [{
    intent_hash: intent.hash,
    receipt: {
      kind: "timer.set",
      adapter_id: "timer.test",
      status: "ok",
      payload: encodeCanonical({ delivered_at_ns: 5001 }),
    },
  }]);
  assert.deepEqual([item.status, item.queued, item.edges], ["waiting", false, [
    { index: 0, state: "taken" },
    { index: 1, state: "undecided" },
    { index: 2, state: "undecided" },
  ]]);
  const reply = externalEvent(6, "test/Reply@1", { id: "r", n: 3 });
  const derived = kernel.apply(reply);
  assertRecords(derived, [endedOk(7, 1n, { total: 5004 })]);
  assert.deepEqual(copy.apply(reply), derived);
  assert.deepEqual(copy.snapshot(), kernel.snapshot());
});
