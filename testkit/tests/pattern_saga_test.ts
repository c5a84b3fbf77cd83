/**
 * PATTERNS §5, saga with compensation. Variant A keeps the compensation inside the plan: guards on the
 * receipt statuses pick the branch, and the failure branches merge into one `end` by dead-path
 * elimination (AIR §12.2). Variant B moves the business rule into the reducer: it sees the failure event
 * and emits `RefundRequested`, which triggers a refund plan.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
import type { FakeOutcome } from "../../adapters/mod.ts";
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
  type TestWorldOptions,
  trigger,
  world,
} from "../mod.ts";
import { entryLine, stepStates } from "./_journal.ts";
import { queuedUrls, urlOf } from "./_receipts.ts";
import { orderId, orderPlaced, pair, payApi, post, shopPolicy, stockApi } from "./_shop.ts";

const ORDER = "o-9";
const CHARGE = "https://pay.example.com/charge";
const RESERVE = "https://stock.example.com/reserve";
const REFUND = "https://pay.example.com/refund";

/** The fakes fail (status `error`) the requests to the given URLs and answer the rest ok. */
function failing(...urls: string[]): TestWorldOptions {
  return {
    respond: {
      "http.request": (intent): FakeOutcome => ({
        status: urls.includes(urlOf(intent.params)) ? "error" : "ok",
      }),
    },
  };
}

const isOk = (awaitStep: string) => e.op("eq", e.ref(`@step:${awaitStep}.status`), e.text("ok"));
const notOk = (awaitStep: string) => e.op("ne", e.ref(`@step:${awaitStep}.status`), e.text("ok"));
const httpGrants = [payApi, stockApi];
const httpPolicy = shopPolicy();

/** Variant A: the saga plan of PATTERNS §5, verbatim. */
const sagaWorld = world({
  schemas: [orderPlaced, schema("demo/SagaOutcome@1", t.text)],
  plans: [
    plan("demo/saga@1", {
      input: "demo/OrderPlaced@1",
      output: "demo/SagaOutcome@1",
      steps: [
        step.emit("a_charge", "http.request", "pay_api", post(e.text(CHARGE)), "charge"),
        step.awaitReceipt("b_wait_charge", "charge", "charge_rcpt"),
        step.emit("c_reserve", "http.request", "stock_api", post(e.text(RESERVE)), "reserve"),
        step.awaitReceipt("d_wait_reserve", "reserve", "reserve_rcpt"),
        step.emit("e_refund", "http.request", "pay_api", post(e.text(REFUND)), "refund"),
        step.awaitReceipt("e_wait_refund", "refund", "refund_rcpt"),
        step.end("f_done_ok", e.text("completed")),
        step.end("f_done_fail", e.text("compensated")),
      ],
      edges: [
        edge("a_charge", "b_wait_charge"),
        edge("b_wait_charge", "c_reserve", isOk("b_wait_charge")),
        edge("b_wait_charge", "f_done_fail", notOk("b_wait_charge")),
        edge("c_reserve", "d_wait_reserve"),
        edge("d_wait_reserve", "f_done_ok", isOk("d_wait_reserve")),
        edge("d_wait_reserve", "e_refund", notOk("d_wait_reserve")),
        edge("e_refund", "e_wait_refund"),
        edge("e_wait_refund", "f_done_fail"),
      ],
      requiredCaps: ["pay_api", "stock_api"],
      allowedEffects: ["http.request"],
    }),
  ],
  grants: httpGrants,
  policies: [httpPolicy],
  policy: "demo/policy@1",
  triggers: [trigger("demo/OrderPlaced@1", "demo/saga@1", "order_id")],
});

Deno.test("saga: all steps ok → completed, and no refund intent exists", async () => {
  await using w = await TestWorld.create(sagaWorld, failing());
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal(1)), [
    "domain_event:demo/OrderPlaced@1",
    "plan_started",
    "policy_decision",
    "effect_queued", // charge
    "receipt_appended",
    "policy_decision",
    "effect_queued", // reserve
    "receipt_appended",
    "plan_ended",
  ]);
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE]);
  const [instance] = w.plans();
  assert.equal(instance?.status, "ok");
  assert.deepEqual(instance?.result, cbor("completed"));
  assert.deepEqual(stepStates(w), [
    "a_charge:completed",
    "b_wait_charge:completed",
    "c_reserve:completed",
    "d_wait_reserve:completed",
    "e_refund:skipped",
    "e_wait_refund:skipped",
    "f_done_fail:skipped", // no incoming edge taken: dead path
    "f_done_ok:completed",
  ]);
  const ended = w.journal().at(-1)!;
  assert.deepEqual([ended.body.status, ended.body.output_schema], ["ok", "demo/SagaOutcome@1"]);
  await w.assertReplay();
});

Deno.test("saga: the charge fails → compensated, with no reserve and no refund intent", async () => {
  await using w = await TestWorld.create(sagaWorld, failing(CHARGE));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal(5)), ["receipt_appended", "plan_ended"]);
  assert.deepEqual(queuedUrls(w), [CHARGE]);
  assert.deepEqual(w.plans()[0]?.result, cbor("compensated"));
  // f_done_fail runs although its edge from e_wait_refund was never taken: that edge was decided
  // not taken when its (skipped) source was skipped.
  assert.deepEqual(stepStates(w), [
    "a_charge:completed",
    "b_wait_charge:completed",
    "c_reserve:skipped",
    "d_wait_reserve:skipped",
    "e_refund:skipped",
    "e_wait_refund:skipped",
    "f_done_fail:completed",
    "f_done_ok:skipped",
  ]);
  await w.assertReplay();
});

Deno.test("saga: the reservation fails → refund intent on the taken path, compensated after its receipt", async () => {
  await using w = await TestWorld.create(sagaWorld, failing(RESERVE));
  const http = w.fakes.get("http.request")!;
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE, REFUND]);
  assert.deepEqual(orderOf(w.journal(5)), [
    "receipt_appended", // charge ok
    "policy_decision",
    "effect_queued", // reserve
    "receipt_appended", // reserve error
    "policy_decision",
    "effect_queued", // refund: the compensating effect
    "receipt_appended",
    "plan_ended",
  ]);
  const refundCall = http.calls.at(-1)!;
  assert.equal(urlOf(refundCall.params), REFUND);
  assert.deepEqual(w.plans()[0]?.result, cbor("compensated"));
  assert.deepEqual(stepStates(w), [
    "a_charge:completed",
    "b_wait_charge:completed",
    "c_reserve:completed",
    "d_wait_reserve:completed",
    "e_refund:completed",
    "e_wait_refund:completed",
    "f_done_fail:completed",
    "f_done_ok:skipped",
  ]);
  await w.assertReplay();
});

Deno.test("saga: the compensated end waits for the refund receipt", async () => {
  await using w = await TestWorld.create(sagaWorld, {
    respond: {
      "http.request": (intent): FakeOutcome => {
        const url = urlOf(intent.params);
        return url === RESERVE ? { status: "error" } : { status: "ok", hold: url === REFUND };
      },
    },
  });
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  const refund = w.journal().filter((x) => x.kind === "effect_queued").at(-1)!;
  assert.equal(urlOf(refund.body.params as Uint8Array), REFUND);
  assert.equal(w.plans()[0]?.status, "waiting");
  assert.deepEqual(w.plans()[0]?.steps.find((s) => s.id === "e_wait_refund"), {
    id: "e_wait_refund",
    state: "waiting_receipt",
    waitingFor: refund.intent,
  });
  assert.equal(w.fakes.get("http.request")!.releaseAll(), 1);
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal()).slice(-2), ["receipt_appended", "plan_ended"]);
  assert.equal(w.journal().at(-2)!.intent, refund.intent);
  assert.deepEqual(w.plans()[0]?.result, cbor("compensated"));
  await w.assertReplay();
});

// ---- Variant B: the reducer decides the compensation and a refund plan runs it. ----

const pc = (name: string) => cbor({ order_id: ORDER, pc: name });

const bookingReducer = scriptedReducer({
  rules: [
    { when: { schema: "demo/OrderPlaced@1", state: null }, then: { state: pc("booking") } },
    {
      when: { schema: "demo/ReserveCompleted@1", state: pc("booking"), bytes: [pair("ok", true)] },
      then: { state: pc("booked") },
    },
    {
      when: { schema: "demo/ReserveCompleted@1", state: pc("booking"), bytes: [pair("ok", false)] },
      then: {
        state: pc("refunding"),
        domainEvents: [{ schema: "demo/RefundRequested@1", value: cbor({ order_id: ORDER }) }],
      },
    },
    { when: { schema: "demo/RefundCompleted@1", state: pc("refunding") }, then: { state: pc("refunded") } },
  ],
});

const reducerSagaWorld = world({
  schemas: [
    orderPlaced,
    schema("demo/ReserveCompleted@1", t.record({ order_id: t.text, ok: t.bool })),
    schema("demo/RefundRequested@1", t.record({ order_id: t.text })),
    schema("demo/RefundCompleted@1", t.record({ order_id: t.text, ok: t.bool })),
    schema(
      "demo/BookingEvent@1",
      t.variant({
        Placed: t.ref("demo/OrderPlaced@1"),
        Reserved: t.ref("demo/ReserveCompleted@1"),
        Refunded: t.ref("demo/RefundCompleted@1"),
      }),
    ),
    schema("demo/BookingState@1", t.record({ order_id: t.text, pc: t.text })),
  ],
  reducers: [
    reducer("demo/Booking@1", {
      state: "demo/BookingState@1",
      event: "demo/BookingEvent@1",
      wasm: bookingReducer.wasm,
    }),
  ],
  plans: [
    plan("demo/book@1", {
      input: "demo/OrderPlaced@1",
      steps: [
        step.emit("a_charge", "http.request", "pay_api", post(e.text(CHARGE)), "charge"),
        step.awaitReceipt("b_wait_charge", "charge", "charge_rcpt"),
        step.emit("c_reserve", "http.request", "stock_api", post(e.text(RESERVE)), "reserve"),
        step.awaitReceipt("d_wait_reserve", "reserve", "reserve_rcpt"),
        step.raise(
          "e_report",
          "demo/Booking@1",
          e.record({
            $schema: e.text("demo/ReserveCompleted@1"),
            order_id: orderId,
            ok: isOk("d_wait_reserve"),
          }),
        ),
        step.end("f_end"),
      ],
      edges: [
        edge("a_charge", "b_wait_charge"),
        edge("b_wait_charge", "c_reserve", isOk("b_wait_charge")),
        ...chain("c_reserve", "d_wait_reserve", "e_report", "f_end"),
      ],
      requiredCaps: ["pay_api", "stock_api"],
      allowedEffects: ["http.request"],
    }),
    plan("demo/refund@1", {
      input: "demo/RefundRequested@1",
      steps: [
        step.emit("a_refund", "http.request", "pay_api", post(e.text(REFUND)), "refund"),
        step.awaitReceipt("b_wait", "refund", "refund_rcpt"),
        step.raise(
          "c_report",
          "demo/Booking@1",
          e.record({ $schema: e.text("demo/RefundCompleted@1"), order_id: orderId, ok: isOk("b_wait") }),
        ),
      ],
      edges: chain("a_refund", "b_wait", "c_report"),
      requiredCaps: ["pay_api"],
      allowedEffects: ["http.request"],
    }),
  ],
  grants: httpGrants,
  policies: [httpPolicy],
  policy: "demo/policy@1",
  routing: [
    route("demo/OrderPlaced@1", "demo/Booking@1"),
    route("demo/ReserveCompleted@1", "demo/Booking@1"),
    route("demo/RefundCompleted@1", "demo/Booking@1"),
  ],
  triggers: [
    trigger("demo/OrderPlaced@1", "demo/book@1", "order_id"),
    trigger("demo/RefundRequested@1", "demo/refund@1", "order_id"),
  ],
});

Deno.test("saga variant B: the reducer emits RefundRequested, which triggers the refund plan", async () => {
  await using w = await TestWorld.create(reducerSagaWorld, failing(RESERVE));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  assert.deepEqual(w.journal(1).map(entryLine), [
    "demo/OrderPlaced@1 (external)",
    "plan_started #1",
    "policy_decision",
    "effect_queued", // charge
    "receipt_appended",
    "policy_decision",
    "effect_queued", // reserve
    "receipt_appended", // reserve error
    "demo/ReserveCompleted@1 (plan)",
    "demo/RefundRequested@1 (reducer)", // the reducer's decision, while processing ReserveCompleted
    "plan_ended #1",
    "plan_started #2", // the refund plan, triggered by the reducer's event
    "policy_decision",
    "effect_queued", // refund
    "receipt_appended",
    "demo/RefundCompleted@1 (plan)",
    "plan_ended #2",
  ]);
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE, REFUND]);
  assert.deepEqual(w.state("demo/Booking@1"), { order_id: ORDER, pc: "refunded" });
  await w.assertReplay();
});

Deno.test("saga variant B: a successful booking asks for no refund", async () => {
  await using w = await TestWorld.create(reducerSagaWorld, failing());
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 5000 });
  await w.runToIdle();
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE]);
  assert.equal(w.journal().filter((x) => x.schema === "demo/RefundRequested@1").length, 0);
  assert.deepEqual(w.plans().map((p) => `${p.plan}:${p.status}`), ["demo/book@1:ok"]);
  assert.deepEqual(w.state("demo/Booking@1"), { order_id: ORDER, pc: "booked" });
  await w.assertReplay();
});
