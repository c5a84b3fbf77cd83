/**
 * Ladder rung 08 (`examples/ladder/08-retry-backoff`): the reducer retries a plan's work with timer
 * back-off (1 s, 2 s, …) on virtual time. The fake `http.request` adapter fails the first calls.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakeOutcome } from "../../adapters/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { TEST_EPOCH_NS, TestWorld } from "../test_world.ts";
import { httpReceipt } from "./_receipts.ts";

const RUNG = "ladder/08-retry-backoff";
const SECOND_NS = 1_000_000_000n;

/** Answers 503 to the first `failures` calls and 200 after; counts the calls. */
function flaky(failures: number) {
  let calls = 0;
  return {
    respond: {
      "http.request": (): FakeOutcome => {
        calls++;
        return { status: "ok", payload: httpReceipt(calls <= failures ? 503 : 200) };
      },
    },
  };
}

const count = (w: TestWorld, name: string) =>
  w.journal().filter((x) => x.schema === name || x.kind === name).length;

Deno.test("ladder 08 retry-backoff: two failures, waits of 1 s and 2 s, success on the third attempt", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), flaky(2));
  await w.send("demo/RetryStart@1", { job_id: "job-1", max_attempts: 5 });
  assert.deepEqual(w.state("demo/RetrySM@1"), {
    stage: "running",
    job_id: "job-1",
    attempt: 1n,
    max_attempts: 5n,
  });
  await w.runToIdle({ timers: false });
  // The first attempt failed: the reducer waits 1 s for the second.
  assert.deepEqual(w.state("demo/RetrySM@1"), {
    stage: "waiting",
    job_id: "job-1",
    attempt: 1n,
    max_attempts: 5n,
    next_retry_ns: TEST_EPOCH_NS + SECOND_NS,
  });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/RetrySM@1"), {
    stage: "succeeded",
    job_id: "job-1",
    attempt: 3n,
    max_attempts: 5n,
  });
  assert.equal(w.clock.nowNs() - TEST_EPOCH_NS, 3n * SECOND_NS);
  assert.equal(count(w, "demo/WorkRequested@1"), 3);
  assert.equal(count(w, "sys/TimerFired@1"), 2);
  const results = w.journal().filter((x) => x.schema === "demo/WorkResult@1").map((x) => x.value);
  assert.deepEqual(results, [
    { job_id: "job-1", attempt: 1n, ok: false },
    { job_id: "job-1", attempt: 2n, ok: false },
    { job_id: "job-1", attempt: 3n, ok: true },
  ]);
  await w.assertReplay();
});

Deno.test("ladder 08 retry-backoff: a job that keeps failing gives up after max_attempts", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), flaky(Infinity));
  await w.send("demo/RetryStart@1", { job_id: "job-2", max_attempts: 4 });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/RetrySM@1"), {
    stage: "gave_up",
    job_id: "job-2",
    attempt: 4n,
    max_attempts: 4n,
  });
  // Waits of 1 + 2 + 4 s between the four attempts.
  assert.equal(w.clock.nowNs() - TEST_EPOCH_NS, 7n * SECOND_NS);
  assert.equal(count(w, "effect_queued"), 4 + 3);
  await w.assertReplay();
});
