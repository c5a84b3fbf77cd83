/**
 * Ladder rung 01 (`examples/ladder/01-hello-timer`): a reducer micro-effect. The reducer sets a timer
 * through its cap slot; the real timer adapter fires it on virtual time and the receipt comes back to the
 * reducer as `sys/TimerFired@1`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TEST_EPOCH_NS, TestWorld } from "../test_world.ts";

const RUNG = "ladder/01-hello-timer";
const SECOND_NS = 1_000_000_000n;

Deno.test("ladder 01 hello-timer: the timer fires at its deadline on virtual time and the reducer records it", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG));
  await w.send("demo/StartTimer@1", { key: "hello", delay_ns: 5n * SECOND_NS });
  const deadline = TEST_EPOCH_NS + 5n * SECOND_NS;
  assert.deepEqual(w.state("demo/TimerSM@1"), { key: "hello", deadline_ns: deadline });
  await w.runToIdle({ timers: false });
  assert.equal(w.scheduler.nextDueNs(), deadline);
  await w.runToIdle();
  assert.equal(w.clock.nowNs(), deadline);
  assert.deepEqual(w.state("demo/TimerSM@1"), { key: "hello", deadline_ns: deadline, fired_at_ns: deadline });
  assert.deepEqual(orderOf(w.journal()), [
    "genesis",
    "domain_event:demo/StartTimer@1",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:sys/TimerFired@1",
  ]);
  const fired = w.journal().find((x) => x.schema === "sys/TimerFired@1")!;
  assert.equal(fired.origin, "receipt");
  const value = fired.value as { status: string; requested: { key: string; deliver_at_ns: bigint } };
  assert.equal(value.status, "ok");
  assert.deepEqual(value.requested, { key: "hello", deliver_at_ns: deadline });
  const decision = w.journal().find((x) => x.kind === "policy_decision")!;
  assert.equal(decision.body.decision, "allow");
  await w.assertReplay();
});

Deno.test("ladder 01 hello-timer: a second Start while the timer is pending traps", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG));
  await w.send("demo/StartTimer@1", { key: "a", delay_ns: SECOND_NS });
  const report = await w.send("demo/StartTimer@1", { key: "b", delay_ns: SECOND_NS });
  assert.equal(report.reducerErrors.length, 1);
  await w.runToIdle();
  assert.deepEqual(w.state("demo/TimerSM@1"), {
    key: "a",
    deadline_ns: TEST_EPOCH_NS + SECOND_NS,
    fired_at_ns: TEST_EPOCH_NS + SECOND_NS,
  });
  await w.assertReplay();
});
