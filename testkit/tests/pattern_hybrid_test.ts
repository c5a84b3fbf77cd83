/**
 * PATTERNS §4, hybrid: the plan runs the effects and raises a progress event after each milestone; the
 * reducer holds the queryable stage (`pending → charged → shipped`) and notes each change with an event
 * of its own, which shows in the journal between the plan's ticks (one plan step per tick).
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
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
import { httpOk } from "./_receipts.ts";
import { orderId, orderPlaced, pair, payApi, post, shipApi, shopPolicy } from "./_shop.ts";

const ORDER = "o-7";

const stage = (name: string) => cbor({ order_id: ORDER, stage: name });
const noted = (name: string) => ({ schema: "demo/ProgressNoted@1", value: stage(name) });

/** The tracking reducer: one stage per progress event, and a note of every change. */
const tracker = scriptedReducer({
  rules: [
    { when: { schema: "demo/OrderPlaced@1", state: null }, then: { state: stage("pending") } },
    {
      when: { schema: "demo/ChargeCompleted@1", state: stage("pending"), bytes: [pair("ok", true)] },
      then: { state: stage("charged"), domainEvents: [noted("charged")] },
    },
    {
      when: { schema: "demo/ChargeCompleted@1", state: stage("pending"), bytes: [pair("ok", false)] },
      then: { state: stage("charge_failed"), domainEvents: [noted("charge_failed")] },
    },
    {
      when: { schema: "demo/ShipmentCompleted@1", state: stage("charged") },
      then: { state: stage("shipped"), domainEvents: [noted("shipped")] },
    },
  ],
});

const definition = world({
  schemas: [
    orderPlaced,
    schema("demo/ChargeCompleted@1", t.record({ order_id: t.text, ok: t.bool })),
    schema("demo/ShipmentCompleted@1", t.record({ order_id: t.text })),
    schema("demo/ProgressNoted@1", t.record({ order_id: t.text, stage: t.text })),
    schema(
      "demo/OrderEvent@1",
      t.variant({
        Placed: t.ref("demo/OrderPlaced@1"),
        Charged: t.ref("demo/ChargeCompleted@1"),
        Shipped: t.ref("demo/ShipmentCompleted@1"),
      }),
    ),
    schema("demo/OrderStage@1", t.record({ order_id: t.text, stage: t.text })),
  ],
  reducers: [
    reducer("demo/Order@1", { state: "demo/OrderStage@1", event: "demo/OrderEvent@1", wasm: tracker.wasm }),
  ],
  plans: [
    plan("demo/hybrid@1", {
      input: "demo/OrderPlaced@1",
      steps: [
        step.emit(
          "a_charge",
          "http.request",
          "pay_api",
          post(e.text("https://pay.example.com/charge")),
          "charge",
        ),
        step.awaitReceipt("b_wait", "charge", "charge_rcpt"),
        step.raise(
          "c_charged",
          "demo/Order@1",
          e.record({
            $schema: e.text("demo/ChargeCompleted@1"),
            order_id: orderId,
            ok: e.op("eq", e.ref("@step:b_wait.status"), e.text("ok")),
          }),
        ),
        step.emit(
          "d_ship",
          "http.request",
          "ship_api",
          post(e.text("https://ship.example.com/orders")),
          "ship",
        ),
        step.awaitReceipt("e_wait", "ship", "ship_rcpt"),
        step.raise(
          "f_shipped",
          "demo/Order@1",
          e.record({ $schema: e.text("demo/ShipmentCompleted@1"), order_id: orderId }),
        ),
        step.end("g_end"),
      ],
      edges: [
        ...chain("a_charge", "b_wait", "c_charged"),
        edge("c_charged", "d_ship", e.op("eq", e.ref("@step:b_wait.status"), e.text("ok"))),
        ...chain("d_ship", "e_wait", "f_shipped", "g_end"),
      ],
      requiredCaps: ["pay_api", "ship_api"],
      allowedEffects: ["http.request"],
    }),
  ],
  grants: [payApi, shipApi],
  policies: [shopPolicy()],
  policy: "demo/policy@1",
  routing: [
    route("demo/OrderPlaced@1", "demo/Order@1"),
    route("demo/ChargeCompleted@1", "demo/Order@1"),
    route("demo/ShipmentCompleted@1", "demo/Order@1"),
  ],
  triggers: [trigger("demo/OrderPlaced@1", "demo/hybrid@1", "order_id")],
});

/** Every http receipt is held until the test releases it. */
const held = httpOk({ hold: true });

Deno.test("hybrid: each receipt advances the reducer exactly one stage, between the plan's ticks", async () => {
  await using w = await TestWorld.create(definition, held);
  const http = w.fakes.get("http.request")!;
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 300 });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, stage: "pending" });
  assert.deepEqual(orderOf(w.journal(1)), [
    "domain_event:demo/OrderPlaced@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
  ]);

  let height = w.journal().length;
  assert.equal(http.releaseAll(), 1);
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, stage: "charged" });
  // The plan raises (tick c_charged), the reducer runs on it and notes the change, then the plan's
  // next tick (d_ship) gates the shipping request.
  assert.deepEqual(orderOf(w.journal(height)), [
    "receipt_appended",
    "domain_event:demo/ChargeCompleted@1",
    "domain_event:demo/ProgressNoted@1",
    "policy_decision",
    "effect_queued",
  ]);
  assert.deepEqual(w.journal(height).map((x) => x.origin).filter(Boolean), ["plan", "reducer"]);

  height = w.journal().length;
  assert.equal(http.releaseAll(), 1);
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, stage: "shipped" });
  assert.deepEqual(orderOf(w.journal(height)), [
    "receipt_appended",
    "domain_event:demo/ShipmentCompleted@1",
    "domain_event:demo/ProgressNoted@1",
    "plan_ended",
  ]);
  assert.equal(w.plans()[0]?.status, "ok");
  await w.assertReplay();
});

Deno.test("hybrid: a failed charge is tracked as charge_failed and the guard skips shipping", async () => {
  await using w = await TestWorld.create(definition, {
    respond: { "http.request": () => ({ status: "error" }) },
  });
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 300 });
  await w.runToIdle();
  // The guard skips every later step, so nothing is ready or waiting after c_charged: the instance
  // finishes in that same tick (KERNEL §2.4), before the kernel processes the event it raised.
  assert.deepEqual(orderOf(w.journal(5)), [
    "receipt_appended",
    "domain_event:demo/ChargeCompleted@1",
    "plan_ended",
    "domain_event:demo/ProgressNoted@1",
  ]);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, stage: "charge_failed" });
  const instance = w.plans()[0]!;
  assert.equal(instance.status, "ok");
  assert.deepEqual(
    instance.steps.filter((s) => s.state === "skipped").map((s) => s.id),
    ["d_ship", "e_wait", "f_shipped", "g_end"],
  );
  await w.assertReplay();
});
