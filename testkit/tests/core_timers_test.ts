/**
 * Core scenario (WP1/WP2): reducer-driven retries through timer receipts. A scripted reducer emits
 * `timer.set` micro-effects through a cap slot bound in the manifest; the real timer adapter fires them on
 * virtual time; each receipt comes back as `sys/TimerFired@1` to that reducer only.
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
import {
  grants,
  orderOf,
  reducer,
  route,
  schema,
  scriptedReducer,
  t,
  TEST_EPOCH_NS,
  TestWorld,
  world,
  type WorldDefinition,
} from "../mod.ts";

const MS = 1_000_000n;
const RETRY = "demo/Retry@1";
const OBSERVER = "demo/Observer@1";

/** `timer.set` params as canonical CBOR (the optional `key` omitted). */
const timerAt = (deliverAtNs: bigint) => cbor({ deliver_at_ns: deliverAtNs });

/**
 * `demo/Retry@1` sets a timer at +10 ms on a job, retries once at +30 ms when it fires, and is done on the
 * second firing. `demo/Observer@1` is also routed `sys/TimerFired@1` (it may emit timers too) and would
 * record any firing it received: receipt events must not reach it.
 */
function retryWorld(): WorldDefinition {
  const retry = scriptedReducer({
    rules: [
      {
        when: { schema: "demo/Job@1", state: null },
        then: {
          state: cbor({ attempts: 1 }),
          effects: [{ kind: "timer.set", paramsCbor: timerAt(TEST_EPOCH_NS + 10n * MS), capSlot: "retry" }],
        },
      },
      {
        when: { schema: "sys/TimerFired@1", state: cbor({ attempts: 1 }) },
        then: {
          state: cbor({ attempts: 2 }),
          effects: [{ kind: "timer.set", paramsCbor: timerAt(TEST_EPOCH_NS + 30n * MS), capSlot: "retry" }],
        },
      },
      {
        when: { schema: "sys/TimerFired@1", state: cbor({ attempts: 2 }) },
        then: { state: cbor({ attempts: 3 }) },
      },
    ],
  });
  const observer = scriptedReducer({ rules: [], otherwise: { state: cbor({ attempts: 99 }) } });
  return world({
    schemas: [
      schema("demo/Job@1", t.record({ id: t.text })),
      schema("demo/RetryState@1", t.record({ attempts: t.nat })),
    ],
    reducers: [
      reducer(OBSERVER, {
        state: "demo/RetryState@1",
        event: "demo/Job@1",
        wasm: observer.wasm,
        effects: ["timer.set"],
      }),
      reducer(RETRY, {
        state: "demo/RetryState@1",
        event: "demo/Job@1",
        wasm: retry.wasm,
        effects: ["timer.set"],
        capSlots: { retry: "timer" },
      }),
    ],
    // The observer is routed first: broadcasting would reach it before the originator.
    routing: [
      route("sys/TimerFired@1", OBSERVER),
      route("demo/Job@1", RETRY),
      route("sys/TimerFired@1", RETRY),
    ],
    grants: [grants.timer("timer_cap")],
    bindings: { [RETRY]: { retry: "timer_cap" } },
  });
}

Deno.test("a reducer retries on sys/TimerFired@1 through its bound slot, on virtual time, and only it gets the firing", async () => {
  // Given
  await using world = await TestWorld.create(retryWorld());
  // When the job arrives, the reducer's step queues a timer through grant timer_cap
  await world.send("demo/Job@1", { id: "j1" });
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/Job@1",
    "policy_decision",
    "effect_queued",
  ]);
  const [queued] = world.journal().filter((entry) => entry.kind === "effect_queued");
  assert.equal(queued!.body.cap_name, "timer_cap");
  assert.deepEqual(queued!.body.origin, { kind: "reducer", name: RETRY });
  // And 9 ms pass: the timer is not due, nothing is admitted
  world.advance(9n * MS);
  await world.runToIdle({ timers: false });
  assert.equal(world.kinds().length, 4);
  assert.deepEqual(world.state(RETRY), { attempts: 1n });
  // When the 10th millisecond passes
  world.advance(1n * MS);
  await world.runToIdle({ timers: false });
  // Then the receipt's block delivers sys/TimerFired@1 to the reducer, which queues the retry
  assert.deepEqual(orderOf(world.journal()).slice(4), [
    "receipt_appended",
    "domain_event:sys/TimerFired@1",
    "policy_decision",
    "effect_queued",
  ]);
  assert.deepEqual(world.state(RETRY), { attempts: 2n });
  // When the driver runs to idle (the clock skips to the next timer)
  await world.runToIdle();
  // Then the second firing completes the job at exactly +30 ms
  assert.deepEqual(world.state(RETRY), { attempts: 3n });
  assert.equal(world.clock.nowNs() - TEST_EPOCH_NS, 30n * MS);
  const journal = world.journal();
  assert.deepEqual(orderOf(journal).slice(8), ["receipt_appended", "domain_event:sys/TimerFired@1"]);
  const receipts = journal.filter((entry) => entry.kind === "receipt_appended");
  assert.deepEqual(receipts.map((r) => r.body.ingress_ns), [
    TEST_EPOCH_NS + 10n * MS,
    TEST_EPOCH_NS + 30n * MS,
  ]);
  const fired = journal.filter((entry) => entry.schema === "sys/TimerFired@1");
  assert.deepEqual(fired.map((f) => f.origin), ["receipt", "receipt"]);
  assert.deepEqual(fired.map((f) => (f.body.origin as { reducer: string }).reducer), [RETRY, RETRY]);
  const first = fired[0]!.value as Record<string, unknown>;
  assert.equal(first.status, "ok");
  assert.equal(first.reducer, RETRY);
  assert.equal(first.effect_kind, "timer.set");
  assert.equal(first.adapter_id, "aos-timer");
  assert.equal(first.intent_hash, receipts[0]!.intent);
  assert.deepEqual(first.requested, { deliver_at_ns: TEST_EPOCH_NS + 10n * MS });
  assert.deepEqual(first.receipt, { delivered_at_ns: TEST_EPOCH_NS + 10n * MS });
  // And the other reducer routed to sys/TimerFired@1 never ran
  assert.equal(world.state(OBSERVER), null);
  assert.equal(world.kinds().filter((k) => k === "reducer_error").length, 0);
  assert.deepEqual(world.world.kernel.outbox(), []);
  await world.assertReplay();
});
