/**
 * PATTERNS §3, reducer-driven steps with timer retries: the order reducer owns the business decisions and
 * the retry policy (a typestate `idle → charging → backing_off → … → paid | failed`), sets its own backoff
 * with the `timer.set` micro-effect and hears back through `sys/TimerFired@1`; a thin plan triggered by
 * `ChargeRequested` only wraps the `http.request`. Everything runs on virtual time.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
import { AdapterKey, type FakeOutcome, signReceipt } from "../../adapters/mod.ts";
import { orderOf, type ReducerScript, schema, scriptedReducer, t, TEST_EPOCH_NS, TestWorld } from "../mod.ts";
import { httpReceipt } from "./_receipts.ts";
import { pair, SECOND_NS, timedOrderWorld } from "./_shop.ts";

type ScriptRule = ReducerScript["rules"][number];

const ORDER = "o-1";
const ATTEMPTS_MAX = 3;

const st = (pc: string, attempt: number) => cbor({ order_id: ORDER, pc, attempt });
const chargeRequested = (attempt: number) => ({
  schema: "demo/ChargeRequested@1",
  value: cbor({ order_id: ORDER, attempt }),
});

/**
 * The typestate of PATTERNS §3 as a rule table. `now` is the logical time of each block, known in advance
 * on the virtual clock: attempt n fails at `T0 + Σ 2^k s (k < n)`, so its backoff timer is due `2^n s` later.
 */
function orderRules(): ScriptRule[] {
  const rules: ScriptRule[] = [
    {
      when: { schema: "demo/OrderPlaced@1", state: null },
      then: { state: st("charging", 1), domainEvents: [chargeRequested(1)] },
    },
  ];
  let nowNs = TEST_EPOCH_NS;
  for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
    const charging = st("charging", attempt);
    const backingOff = st("backing_off", attempt);
    rules.push({
      when: { schema: "demo/PaymentCompleted@1", state: charging, bytes: [pair("ok", true)] },
      then: { state: st("paid", attempt) },
    });
    if (attempt < ATTEMPTS_MAX) {
      const deliverAtNs = nowNs + SECOND_NS * 2n ** BigInt(attempt);
      rules.push(
        {
          when: { schema: "demo/PaymentCompleted@1", state: charging, bytes: [pair("ok", false)] },
          then: {
            state: backingOff,
            effects: [{
              kind: "timer.set",
              paramsCbor: cbor({ deliver_at_ns: deliverAtNs, key: ORDER }),
              capSlot: "timer",
            }],
          },
        },
        {
          when: {
            schema: "sys/TimerFired@1",
            state: backingOff,
            bytes: [pair("status", "ok"), pair("key", ORDER)],
          },
          then: { state: st("charging", attempt + 1), domainEvents: [chargeRequested(attempt + 1)] },
        },
        {
          // A timer that failed is reported with its status; this typestate gives up on it.
          when: { schema: "sys/TimerFired@1", state: backingOff },
          then: { state: st("timer_failed", attempt) },
        },
      );
      nowNs = deliverAtNs;
    } else {
      rules.push({
        when: { schema: "demo/PaymentCompleted@1", state: charging, bytes: [pair("ok", false)] },
        then: { state: st("failed", attempt) },
      });
    }
  }
  // Fence: in any other (state, event) pair the state stays as it is and nothing is emitted.
  for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
    for (const pc of ["charging", "backing_off", "paid", "failed", "timer_failed"]) {
      rules.push({ when: { state: st(pc, attempt) }, then: { state: st(pc, attempt) } });
    }
  }
  return rules;
}

const definition = timedOrderWorld({
  chargeRequested: schema("demo/ChargeRequested@1", t.record({ order_id: t.text, attempt: t.nat })),
  orderState: schema("demo/OrderState@1", t.record({ order_id: t.text, pc: t.text, attempt: t.nat })),
  wasm: scriptedReducer({ rules: orderRules() }).wasm,
});

/** The payment API fails the first `failures` charges (the first one with a duplicated receipt). */
function paymentApi(failures: number) {
  let calls = 0;
  return {
    respond: {
      "http.request": (): FakeOutcome => {
        calls++;
        if (calls > failures) return { status: "ok", payload: httpReceipt(200) };
        return calls === 1 ? { status: "error", duplicates: 1 } : { status: "error" };
      },
    },
  };
}

Deno.test("reducer retries: two failed charges back off 2 s then 4 s on virtual time, the third pays", async () => {
  await using w = await TestWorld.create(definition, paymentApi(2));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 700 });
  // Event → the reducer's emitted event → the plan it triggers.
  assert.deepEqual(orderOf(w.journal(1)), [
    "domain_event:demo/OrderPlaced@1",
    "domain_event:demo/ChargeRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
  ]);
  await w.runToIdle();
  const retry = [
    "receipt_appended", // the charge failed
    "domain_event:demo/PaymentCompleted@1",
    "plan_ended",
    "policy_decision",
    "effect_queued", // timer.set by the reducer
  ];
  const timerFired = [
    "receipt_appended", // the timer
    "domain_event:sys/TimerFired@1",
    "domain_event:demo/ChargeRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued", // the next charge
  ];
  assert.deepEqual(orderOf(w.journal(6)), [
    ...retry, // attempt 1; its duplicated receipt is admitted after the original's block and ignored
    "receipt_ignored",
    ...timerFired,
    ...retry, // attempt 2
    ...timerFired,
    "receipt_appended", // attempt 3 pays
    "domain_event:demo/PaymentCompleted@1",
    "plan_ended",
  ]);
  const journal = w.journal();
  assert.equal(journal.find((x) => x.kind === "receipt_ignored")?.body.reason, "duplicate");

  const queued = journal.filter((x) => x.kind === "effect_queued");
  assert.deepEqual(queued.map((x) => `${x.body.kind}`), [
    "http.request",
    "timer.set",
    "http.request",
    "timer.set",
    "http.request",
  ]);
  assert.equal(new Set(queued.map((x) => x.intent)).size, 5, "every attempt has a new intent hash");
  for (const timer of queued.filter((x) => x.body.kind === "timer.set")) {
    assert.equal((timer.body.origin as { kind: string }).kind, "reducer");
  }

  // Each TimerFired comes from a receipt and reaches only the reducer that set the timer.
  const fired = journal.filter((x) => x.schema === "sys/TimerFired@1");
  assert.deepEqual(fired.map((x) => x.origin), ["receipt", "receipt"]);
  const firedValues = fired.map((x) => x.value as { status: string; reducer: string; requested: unknown });
  assert.deepEqual(firedValues.map((v) => [v.status, v.reducer, v.requested]), [
    ["ok", "demo/Order@1", { deliver_at_ns: TEST_EPOCH_NS + 2n * SECOND_NS, key: ORDER }],
    ["ok", "demo/Order@1", { deliver_at_ns: TEST_EPOCH_NS + 6n * SECOND_NS, key: ORDER }],
  ]);
  assert.deepEqual(
    journal.filter((x) => x.schema === "demo/ChargeRequested@1").map((x) => x.value),
    [1n, 2n, 3n].map((attempt) => ({ order_id: ORDER, attempt })),
  );
  assert.equal(w.clock.nowNs() - TEST_EPOCH_NS, 6n * SECOND_NS);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "paid", attempt: 3n });

  // The typestate fences a late or repeated result: no transition, no timer.
  const height = w.journal().length;
  await w.send("demo/PaymentCompleted@1", { order_id: ORDER, ok: false });
  assert.deepEqual(orderOf(w.journal(height)), ["domain_event:demo/PaymentCompleted@1"]);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "paid", attempt: 3n });
  await w.assertReplay();
});

Deno.test("reducer retries: the third failure ends in failed, with no timer after it", async () => {
  await using w = await TestWorld.create(definition, paymentApi(3));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 700 });
  await w.runToIdle();
  const kinds = w.journal().filter((x) => x.kind === "effect_queued").map((x) => `${x.body.kind}`);
  assert.deepEqual(kinds, ["http.request", "timer.set", "http.request", "timer.set", "http.request"]);
  assert.deepEqual(orderOf(w.journal()).slice(-3), [
    "receipt_appended",
    "domain_event:demo/PaymentCompleted@1",
    "plan_ended",
  ]);
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "failed", attempt: 3n });
  await w.assertReplay();
});

Deno.test("reducer retries: a timer receipt with status error reaches the reducer with that status", async () => {
  await using w = await TestWorld.create(definition, paymentApi(1));
  await w.send("demo/OrderPlaced@1", { order_id: ORDER, amount_cents: 700 });
  await w.runToIdle({ timers: false }); // the charge fails; the backoff timer is set but not due yet
  const timer = w.world.kernel.outbox().find((x) => x.kind === "timer.set");
  assert.ok(timer);
  // The timer adapter of a TestWorld signs with a fixed seed; it reports a failure before firing.
  const key = AdapterKey.fromSeed(new Uint8Array(32).fill(9));
  assert.deepEqual(w.directory.publicKeyOf("aos-timer"), key.publicKey);
  const failure = signReceipt(
    {
      intentHash: timer.intentHash,
      adapterId: "aos-timer",
      status: "error",
      payload: new Uint8Array(),
      fence: timer.fence,
    },
    key,
  );
  const before = w.journal().length;
  await w.admit(failure);
  await w.runToIdle(); // the real timer still fires later: its receipt is a duplicate
  assert.deepEqual(orderOf(w.journal(before)), [
    "receipt_appended",
    "domain_event:sys/TimerFired@1",
    "receipt_ignored",
  ]);
  const fired = w.journal(before)[1]!.value as { status: string; receipt: unknown };
  assert.equal(fired.status, "error");
  assert.deepEqual(fired.receipt, { delivered_at_ns: 0n }, "the zero receipt: reducers must check status");
  assert.deepEqual(w.state("demo/Order@1"), { order_id: ORDER, pc: "timer_failed", attempt: 1n });
  await w.assertReplay();
});
