/**
 * PATTERNS §2, multi-plan choreography: small plans chained by events. `OrderPlaced` triggers the charge
 * plan; the `PaymentCompleted` it raises triggers the ship plan, which raises `OrderFulfilled`. The order
 * reducer is keyed by `order_id`, so every order has its own cell and the correlation key travels in every
 * event. Adapted to v1: a raise to a keyed reducer names the key, and each plan ends in an `end` step so
 * that the next plan's `plan_started` comes right after the raise (without one, the raising instance
 * finishes in the same tick and its `plan_ended` comes first).
 *
 * @module
 */
import assert from "node:assert/strict";
import { decodeCanonical, encodeCanonical as cbor } from "../../air/mod.ts";
import {
  chain,
  e,
  edge,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  trigger,
  world,
} from "../mod.ts";
import { entryLine } from "./_journal.ts";
import { httpOk, httpReceipt, queuedUrls } from "./_receipts.ts";
import {
  chargeSteps,
  orderFulfilled,
  orderId,
  orderPlaced,
  pair,
  payApi,
  paymentCompleted,
  post,
  shipApi,
  shopPolicy,
} from "./_shop.ts";

const pc = (name: string) => cbor({ pc: name });

/** One cell per order: placed → paid | payment_failed → fulfilled. Anything else traps. */
const orderReducer = scriptedReducer({
  rules: [
    { when: { schema: "demo/OrderPlaced@1", state: null }, then: { state: pc("placed") } },
    {
      when: { schema: "demo/PaymentCompleted@1", state: pc("placed"), bytes: [pair("ok", true)] },
      then: { state: pc("paid") },
    },
    {
      when: { schema: "demo/PaymentCompleted@1", state: pc("placed"), bytes: [pair("ok", false)] },
      then: { state: pc("payment_failed") },
    },
    { when: { schema: "demo/OrderFulfilled@1", state: pc("paid") }, then: { state: pc("fulfilled") } },
  ],
});

const definition = world({
  schemas: [
    orderPlaced,
    paymentCompleted,
    orderFulfilled,
    schema(
      "demo/OrderEvent@1",
      t.variant({
        Placed: t.ref("demo/OrderPlaced@1"),
        Paid: t.ref("demo/PaymentCompleted@1"),
        Fulfilled: t.ref("demo/OrderFulfilled@1"),
      }),
    ),
    schema("demo/OrderState@1", t.record({ pc: t.text })),
    schema("demo/OrderId@1", t.text),
  ],
  reducers: [
    reducer("demo/Order@1", {
      state: "demo/OrderState@1",
      event: "demo/OrderEvent@1",
      keySchema: "demo/OrderId@1",
      wasm: orderReducer.wasm,
    }),
  ],
  plans: [
    plan("demo/charge_step@1", {
      input: "demo/OrderPlaced@1",
      steps: [...chargeSteps(orderId), step.end("d_end")],
      edges: chain("a", "b", "c", "d_end"),
      requiredCaps: ["pay_api"],
      allowedEffects: ["http.request"],
    }),
    plan("demo/ship_step@1", {
      input: "demo/PaymentCompleted@1",
      steps: [
        step.assign("a_paid", "paid", e.ref("@plan.input.ok")),
        step.emit(
          "b_ship",
          "http.request",
          "ship_api",
          post(e.op("concat", e.text("https://ship.example.com/orders/"), orderId)),
          "ship",
        ),
        step.awaitReceipt("c_wait", "ship", "ship_rcpt"),
        step.raise(
          "d_done",
          "demo/Order@1",
          e.record({ $schema: e.text("demo/OrderFulfilled@1"), order_id: orderId }),
          orderId,
        ),
        step.end("e_end"),
      ],
      edges: [edge("a_paid", "b_ship", e.ref("@var:paid")), ...chain("b_ship", "c_wait", "d_done", "e_end")],
      requiredCaps: ["ship_api"],
      allowedEffects: ["http.request"],
    }),
  ],
  grants: [payApi, shipApi],
  policies: [shopPolicy()],
  policy: "demo/policy@1",
  routing: [
    route("demo/OrderPlaced@1", "demo/Order@1", "order_id"),
    route("demo/PaymentCompleted@1", "demo/Order@1", "order_id"),
    route("demo/OrderFulfilled@1", "demo/Order@1", "order_id"),
  ],
  triggers: [
    trigger("demo/OrderPlaced@1", "demo/charge_step@1", "order_id"),
    trigger("demo/PaymentCompleted@1", "demo/ship_step@1", "order_id"),
  ],
});

Deno.test("choreography: a plan's raised event triggers the next plan right after the raise", async () => {
  await using w = await TestWorld.create(definition, httpOk());
  await w.send("demo/OrderPlaced@1", { order_id: "o-1", amount_cents: 900 });
  await w.runToIdle();
  assert.deepEqual(w.journal(1).map(entryLine), [
    "demo/OrderPlaced@1 (external)",
    "plan_started #1",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "demo/PaymentCompleted@1 (plan)",
    "plan_started #2", // the trigger fires for plan-raised events too
    "plan_ended #1",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "demo/OrderFulfilled@1 (plan)",
    "plan_ended #2",
  ]);
  const journal = w.journal();
  const paid = journal.find((x) => x.schema === "demo/PaymentCompleted@1")!;
  const origin = paid.body.origin as {
    kind: string;
    name: string;
    instance_id: number | bigint;
    step: string;
  };
  assert.deepEqual([origin.kind, origin.name, BigInt(origin.instance_id), origin.step], [
    "plan",
    "demo/charge_step@1",
    1n,
    "c",
  ]);
  const second = journal.find((x) => x.kind === "plan_started" && x.instance === 2n)!;
  assert.equal(second.body.plan, "demo/ship_step@1");
  assert.deepEqual(second.body.cause, { trigger_seq: paid.seq });
  assert.deepEqual(w.state("demo/Order@1", "o-1"), { pc: "fulfilled" });
  assert.deepEqual(w.plans().map((p) => `${p.id}:${p.status}`), ["1:ok", "2:ok"]);
  await w.assertReplay();
});

Deno.test("choreography: two orders with reordered receipts never cross-talk", async () => {
  await using w = await TestWorld.create(definition);
  const fake = w.fakes.get("http.request")!;
  await w.send("demo/OrderPlaced@1", { order_id: "o-1", amount_cents: 900 });
  await w.send("demo/OrderPlaced@1", { order_id: "o-2", amount_cents: 400 });
  const [charge1, charge2] = w.journal().filter((x) => x.kind === "effect_queued");
  fake.script(charge1!.body.intent_hash as Uint8Array, {
    status: "ok",
    payload: httpReceipt(200),
    hold: true,
  });
  fake.script(charge2!.body.intent_hash as Uint8Array, { status: "error", hold: true });
  await w.runToIdle();
  assert.equal(fake.releaseAll("reverse"), 2); // o-2's failure arrives first
  await w.runToIdle();

  const journal = w.journal();
  const started = journal.filter((x) => x.kind === "plan_started").map((x) => ({
    instance: x.instance,
    plan: x.body.plan,
    correlation: decodeCanonical(x.body.correlation as Uint8Array),
  }));
  assert.deepEqual(started, [
    { instance: 1n, plan: "demo/charge_step@1", correlation: "o-1" },
    { instance: 2n, plan: "demo/charge_step@1", correlation: "o-2" },
    { instance: 3n, plan: "demo/ship_step@1", correlation: "o-2" },
    { instance: 4n, plan: "demo/ship_step@1", correlation: "o-1" },
  ]);
  const payments = journal.filter((x) => x.schema === "demo/PaymentCompleted@1").map((x) => x.value);
  assert.deepEqual(payments, [{ order_id: "o-2", ok: false }, { order_id: "o-1", ok: true }]);
  assert.deepEqual(queuedUrls(w), [
    "https://pay.example.com/charge",
    "https://pay.example.com/charge",
    "https://ship.example.com/orders/o-1",
  ]);
  // Instance 3 (o-2) skipped shipping by its guard and ended ok without a result.
  assert.deepEqual(w.plans()[2]?.steps.map((s) => `${s.id}:${s.state}`), [
    "a_paid:completed",
    "b_ship:skipped",
    "c_wait:skipped",
    "d_done:skipped",
    "e_end:skipped",
  ]);
  assert.deepEqual(w.plans().map((p) => `${p.id}:${p.status}`), ["1:ok", "2:ok", "3:ok", "4:ok"]);
  assert.deepEqual(w.state("demo/Order@1", "o-1"), { pc: "fulfilled" });
  assert.deepEqual(w.state("demo/Order@1", "o-2"), { pc: "payment_failed" });
  assert.deepEqual(orderOf(journal).filter((k) => k === "receipt_appended").length, 3);
  await w.assertReplay();
});
