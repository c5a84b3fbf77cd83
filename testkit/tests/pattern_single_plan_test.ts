/**
 * PATTERNS §1, single-plan orchestration: one plan owns the whole order flow (charge, then ship) and the
 * reducer only records the outcome the plan raises. The charge outcome picks the branch by guards; the
 * failure branch and the success branch merge into one `end` (dead-path elimination).
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
  rule,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  type TestWorldOptions,
  trigger,
  world,
} from "../mod.ts";
import { httpReceipt, queuedUrls, urlOf } from "./_receipts.ts";
import {
  allowReducerTimers,
  orderFailed,
  orderFulfilled,
  orderId,
  orderPlaced,
  payApi,
  post,
  shipApi,
  shopPolicy,
} from "./_shop.ts";

const ORDER = "o-1";

/** Answers every request with `statusFor(url)`. */
function httpBy(statusFor: (url: string) => number): TestWorldOptions {
  return {
    respond: {
      "http.request": (intent) => ({ status: "ok", payload: httpReceipt(statusFor(urlOf(intent.params))) }),
    },
  };
}

const placed = () => cbor({ order_id: ORDER, amount_cents: 1250 });
const state = (pc: string) => cbor({ order_id: ORDER, pc });

/** The reducer records the outcome; any other input traps (so an unexpected event is visible). */
const orderReducer = scriptedReducer({
  rules: [
    {
      when: { schema: "demo/OrderPlaced@1", value: placed(), state: null },
      then: { state: state("placed") },
    },
    {
      when: { schema: "demo/OrderFulfilled@1", state: state("placed") },
      then: { state: state("fulfilled") },
    },
    { when: { schema: "demo/OrderFailed@1", state: state("placed") }, then: { state: state("failed") } },
  ],
});

const orderUrl = (base: string) => e.op("concat", e.text(base), orderId);
const raiseOrder = (id: string, schemaName: string) =>
  step.raise(
    id,
    "demo/Order@1",
    e.record({ $schema: e.text(schemaName), order_id: orderId }),
  );

const definition = world({
  schemas: [
    orderPlaced,
    orderFulfilled,
    orderFailed,
    schema(
      "demo/OrderEvent@1",
      t.variant({
        Placed: t.ref("demo/OrderPlaced@1"),
        Fulfilled: t.ref("demo/OrderFulfilled@1"),
        Failed: t.ref("demo/OrderFailed@1"),
      }),
    ),
    schema("demo/OrderState@1", t.record({ order_id: t.text, pc: t.text })),
  ],
  reducers: [
    reducer("demo/Order@1", {
      state: "demo/OrderState@1",
      event: "demo/OrderEvent@1",
      wasm: orderReducer.wasm,
    }),
  ],
  plans: [
    plan("demo/fulfil@1", {
      input: "demo/OrderPlaced@1",
      steps: [
        step.emit(
          "a_charge",
          "http.request",
          "pay_api",
          post(orderUrl("https://pay.example.com/charge/")),
          "charge",
        ),
        step.awaitReceipt("b_wait", "charge", "charge_rcpt"),
        step.assign(
          "c_ok",
          "paid",
          e.op(
            "and",
            e.op("eq", e.ref("@step:b_wait.status"), e.text("ok")),
            e.op("lt", e.ref("@var:charge_rcpt.status"), e.int(300)),
          ),
        ),
        step.emit(
          "d_ship",
          "http.request",
          "ship_api",
          post(orderUrl("https://ship.example.com/orders/")),
          "ship",
        ),
        step.awaitReceipt("e_wait", "ship", "ship_rcpt"),
        raiseOrder("f_done", "demo/OrderFulfilled@1"),
        raiseOrder("f_failed", "demo/OrderFailed@1"),
        step.end("g_end"),
      ],
      edges: [
        ...chain("a_charge", "b_wait", "c_ok"),
        edge("c_ok", "d_ship", e.ref("@var:paid")),
        edge("c_ok", "f_failed", e.op("not", e.ref("@var:paid"))),
        ...chain("d_ship", "e_wait", "f_done", "g_end"),
        edge("f_failed", "g_end"),
      ],
      requiredCaps: ["pay_api", "ship_api"],
      allowedEffects: ["http.request"],
    }),
  ],
  grants: [payApi, shipApi],
  policies: [
    shopPolicy(rule("allow", { effect_kind: "llm.generate", origin_kind: "plan" }), allowReducerTimers),
  ],
  policy: "demo/policy@1",
  routing: [
    route("demo/OrderPlaced@1", "demo/Order@1"),
    route("demo/OrderFulfilled@1", "demo/Order@1"),
    route("demo/OrderFailed@1", "demo/Order@1"),
  ],
  triggers: [trigger("demo/OrderPlaced@1", "demo/fulfil@1", "order_id")],
});

Deno.test("single plan: charge 200 then ship 200 fulfils the order, effects queued in order", async () => {
  await using w = await TestWorld.create(definition, httpBy(() => 200));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 1250 });
  // The input block: the event, the triggered start, then the plan's first tick gates the charge.
  assert.deepEqual(orderOf(w.journal()), [
    "genesis",
    "domain_event:demo/OrderPlaced@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
  ]);
  await w.runToIdle();
  const tail = orderOf(w.journal(5));
  assert.deepEqual(tail, [
    "receipt_appended", // charge
    "policy_decision",
    "effect_queued", // ship
    "receipt_appended",
    "domain_event:demo/OrderFulfilled@1",
    "plan_ended",
  ]);
  assert.deepEqual(queuedUrls(w), [
    "https://pay.example.com/charge/o-1",
    "https://ship.example.com/orders/o-1",
  ]);
  const raised = w.journal().find((x) => x.schema === "demo/OrderFulfilled@1")!;
  assert.equal(raised.origin, "plan");
  assert.deepEqual(raised.value, { order_id: ORDER });
  const ended = w.journal().at(-1)!;
  assert.equal(ended.body.status, "ok");
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "fulfilled" });
  const [instance] = w.plans();
  assert.deepEqual(
    instance?.steps.map((s) => `${s.id}:${s.state}`),
    [
      "a_charge:completed",
      "b_wait:completed",
      "c_ok:completed",
      "d_ship:completed",
      "e_wait:completed",
      "f_done:completed",
      "f_failed:skipped",
      "g_end:completed",
    ],
  );
  await w.assertReplay();
});

Deno.test("single plan: charge 402 skips shipping, raises OrderFailed and still ends ok via g_end", async () => {
  await using w = await TestWorld.create(definition, httpBy((url) => (url.includes("pay.") ? 402 : 200)));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 1250 });
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal(5)), [
    "receipt_appended",
    "domain_event:demo/OrderFailed@1",
    "plan_ended",
  ]);
  assert.deepEqual(queuedUrls(w), ["https://pay.example.com/charge/o-1"], "no shipping intent exists");
  assert.equal(w.journal().at(-1)!.body.status, "ok");
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "failed" });
  assert.deepEqual(
    w.plans()[0]?.steps.filter((s) => s.state === "skipped").map((s) => s.id),
    ["d_ship", "e_wait", "f_done"],
  );
  await w.assertReplay();
});

Deno.test("single plan: a charge with receipt status error takes the failure branch too", async () => {
  await using w = await TestWorld.create(definition);
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 1250 });
  const [charge] = w.journal().filter((x) => x.kind === "effect_queued");
  w.fakes.get("http.request")!.script(charge!.body.intent_hash as Uint8Array, { status: "error" });
  await w.runToIdle();
  // `and` short-circuits: the guard never touches the (unit) payload of the failed receipt.
  assert.deepEqual(orderOf(w.journal(5)), [
    "receipt_appended",
    "domain_event:demo/OrderFailed@1",
    "plan_ended",
  ]);
  assert.equal(w.journal(5)[0]!.body.status, "error");
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "failed" });
  await w.assertReplay();
});
