/**
 * PATTERNS §7, timeouts and deadlines, both races in both orders:
 * - reducer side: the order reducer sets a `timer.set` deadline when it asks for the charge; whichever of
 *   the payment result and the timer reaches it first decides, and the typestate ignores the loser (v1 has
 *   no cancellation, so the other one still arrives);
 * - plan side: an instance awaits the payment event and a deadline event on two branches; the first branch
 *   to reach an `end` finishes the instance and the other await is abandoned.
 * (The timer-against-event race inside a plan is PATTERNS §7's approval plan: `pattern_human_approval_test.ts`.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
import {
  e,
  edge,
  orderOf,
  plan,
  schema,
  scriptedReducer,
  step,
  t,
  TEST_EPOCH_NS,
  TestWorld,
  trigger,
  world,
} from "../mod.ts";
import { httpOk } from "./_receipts.ts";
import { orderPlaced, pair, paymentCompleted, SECOND_NS, timedOrderWorld } from "./_shop.ts";

const ORDER = "o-5";
const DEADLINE_NS = TEST_EPOCH_NS + 5n * SECOND_NS;

const pc = (name: string) => cbor({ order_id: ORDER, pc: name });
const chargeRequested = schema("demo/ChargeRequested@1", t.record({ order_id: t.text }));
const orderSchemas = [orderPlaced, chargeRequested, paymentCompleted];

// ---- Reducer side: a timer deadline races the payment receipt. ----

/** awaiting_payment → paid | timed_out; whatever comes later is fenced off by the state. */
const deadlineReducer = scriptedReducer({
  rules: [
    {
      when: { schema: "demo/OrderPlaced@1", state: null },
      then: {
        state: pc("awaiting_payment"),
        domainEvents: [{ schema: "demo/ChargeRequested@1", value: cbor({ order_id: ORDER }) }],
        effects: [{
          kind: "timer.set",
          paramsCbor: cbor({ deliver_at_ns: DEADLINE_NS, key: `deadline:${ORDER}` }),
          capSlot: "timer",
        }],
      },
    },
    {
      when: { schema: "demo/PaymentCompleted@1", state: pc("awaiting_payment"), bytes: [pair("ok", true)] },
      then: { state: pc("paid") },
    },
    {
      when: {
        schema: "sys/TimerFired@1",
        state: pc("awaiting_payment"),
        bytes: [pair("status", "ok"), pair("key", `deadline:${ORDER}`)],
      },
      then: { state: pc("timed_out") },
    },
    { when: { state: pc("paid") }, then: { state: pc("paid") } },
    { when: { state: pc("timed_out") }, then: { state: pc("timed_out") } },
  ],
});

const reducerDeadlineWorld = timedOrderWorld({
  chargeRequested,
  orderState: schema("demo/OrderState@1", t.record({ order_id: t.text, pc: t.text })),
  wasm: deadlineReducer.wasm,
  chargeEnd: "d_end",
});

/** The payment API answers ok after `delayNs` of virtual time. */
const paymentAfter = (delayNs: bigint) => httpOk({ delayNs });

/** The two racers as they reach the reducer, in journal order. */
function racers(w: TestWorld): string[] {
  return w.journal().filter((x) => x.schema === "demo/PaymentCompleted@1" || x.schema === "sys/TimerFired@1")
    .map((x) => `${x.schema}`);
}

Deno.test("deadline (reducer timer): the receipt wins, the later timer is ignored by the typestate", async () => {
  await using w = await TestWorld.create(reducerDeadlineWorld, paymentAfter(1n * SECOND_NS));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 100 });
  // Event → the reducer's event, then its effect (the deadline) → the plan its event triggered.
  assert.deepEqual(orderOf(w.journal(1)), [
    "domain_event:demo/OrderPlaced@1",
    "domain_event:demo/ChargeRequested@1",
    "policy_decision",
    "effect_queued", // timer.set, origin reducer
    "plan_started",
    "policy_decision",
    "effect_queued", // http.request, origin plan
  ]);
  await w.runToIdle();
  assert.deepEqual(racers(w), ["demo/PaymentCompleted@1", "sys/TimerFired@1"]);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "paid" });
  assert.equal(w.clock.nowNs(), DEADLINE_NS, "the timer still fired: v1 has no cancellation");
  assert.deepEqual(orderOf(w.journal()).slice(-2), ["receipt_appended", "domain_event:sys/TimerFired@1"]);
  await w.assertReplay();
});

Deno.test("deadline (reducer timer): the timer wins, the late payment result is ignored", async () => {
  await using w = await TestWorld.create(reducerDeadlineWorld, paymentAfter(10n * SECOND_NS));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 100 });
  await w.runToIdle();
  assert.deepEqual(racers(w), ["sys/TimerFired@1", "demo/PaymentCompleted@1"]);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "timed_out" });
  assert.equal(w.clock.nowNs(), TEST_EPOCH_NS + 10n * SECOND_NS);
  const fired = w.journal().find((x) => x.schema === "sys/TimerFired@1")!;
  assert.deepEqual((fired.value as { receipt: unknown }).receipt, {
    delivered_at_ns: DEADLINE_NS,
    key: `deadline:${ORDER}`,
  });
  await w.assertReplay();
});

// ---- Plan side: a deadline event races the awaited event. ----

const awaitWorld = world({
  schemas: [
    ...orderSchemas,
    schema("demo/DeadlinePassed@1", t.record({ order_id: t.text })),
    schema("demo/WaitOutcome@1", t.text),
  ],
  plans: [
    plan("demo/await_payment@1", {
      input: "demo/OrderPlaced@1",
      output: "demo/WaitOutcome@1",
      steps: [
        step.awaitEvent(
          "a_paid",
          "demo/PaymentCompleted@1",
          "p",
          e.op("eq", e.ref("@var:p.order_id"), e.ref("@plan.input.order_id")),
        ),
        // No `where`: the trigger's `correlate_by: order_id` alone keeps other orders' deadlines out.
        step.awaitEvent("a_deadline", "demo/DeadlinePassed@1", "d"),
        step.end("b_paid", e.text("paid")),
        step.end("b_expired", e.text("expired")),
      ],
      edges: [edge("a_paid", "b_paid"), edge("a_deadline", "b_expired")],
    }),
  ],
  triggers: [trigger("demo/OrderPlaced@1", "demo/await_payment@1", "order_id")],
});

for (
  const [first, second, outcome] of [
    ["demo/PaymentCompleted@1", "demo/DeadlinePassed@1", "paid"],
    ["demo/DeadlinePassed@1", "demo/PaymentCompleted@1", "expired"],
  ] as const
) {
  Deno.test(`deadline (event): ${first} first → ${outcome}; the other await is abandoned`, async () => {
    await using w = await TestWorld.create(awaitWorld);
    const value = (schemaName: string) =>
      schemaName === "demo/PaymentCompleted@1" ? { order_id: ORDER, ok: true } : { order_id: ORDER };
    await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 100 });
    assert.deepEqual(w.plans()[0]?.steps.map((s) => `${s.id}:${s.state}`).slice(0, 2), [
      "a_deadline:waiting_event",
      "a_paid:waiting_event",
    ]);
    await w.send(first, value(first));
    await w.send(second, value(second));
    assert.deepEqual(orderOf(w.journal(1)), [
      "domain_event:demo/OrderPlaced@1",
      "plan_started",
      `domain_event:${first}`,
      "plan_ended", // woken by the first, ended by its branch's end
      `domain_event:${second}`, // nothing left to wake
    ]);
    const [instance] = w.plans();
    assert.equal(instance?.status, "ok");
    assert.deepEqual(instance?.result, cbor(outcome));
    const abandoned = first === "demo/PaymentCompleted@1" ? "a_deadline" : "a_paid";
    assert.equal(instance?.steps.find((s) => s.id === abandoned)?.state, "waiting_event");
    await w.assertReplay();
  });
}

Deno.test("deadline (event): another order's deadline does not end this instance (correlation)", async () => {
  await using w = await TestWorld.create(awaitWorld);
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 100 });
  await w.send("demo/OrderPlaced@1", { order_id: "o-6", amount_cents: 100 });
  await w.send("demo/DeadlinePassed@1", { order_id: "o-6" });
  await w.send("demo/PaymentCompleted@1", { order_id: ORDER, ok: true });
  assert.deepEqual(
    w.plans().map((p) => [p.id, p.status, p.result === undefined ? null : p.result]),
    [[1n, "ok", cbor("paid")], [2n, "ok", cbor("expired")]],
  );
  assert.deepEqual(
    w.journal().filter((x) => x.kind === "plan_ended").map((x) => x.instance),
    [2n, 1n],
  );
  await w.assertReplay();
});
