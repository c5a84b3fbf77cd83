import assert from "node:assert/strict";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TEST_EPOCH_NS, TestWorld } from "../test_world.ts";

Deno.test("counter example: events add up and the journal replays byte-identically", async () => {
  await using world = await TestWorld.create(await exampleWorld("counter"));
  await world.send("demo/Increment@1", { by: 2 });
  await world.send("demo/Increment@1", { by: 3 });
  assert.deepEqual(world.state("demo/Counter@1"), { count: 5n });
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/Increment@1",
    "domain_event:demo/Increment@1",
  ]);
  await world.assertReplay();
});

Deno.test("timer-retry example: the reducer retries on timer receipts until done, on virtual time", async () => {
  await using world = await TestWorld.create(await exampleWorld("timer-retry"));
  await world.send("demo/Job@1", { id: "j1", attempts_max: 3 });
  await world.runToIdle();
  assert.deepEqual(world.state("demo/Retrier@1"), { id: "j1", done: true, attempts: 3n, attempts_max: 3n });
  // Backoff 10 ms, 20 ms, 40 ms: virtual time moved exactly to the last timer.
  assert.equal(world.clock.nowNs() - TEST_EPOCH_NS, 70_000_000n);
  const kinds = world.kinds();
  assert.equal(kinds.filter((k) => k === "effect_queued").length, 3);
  assert.equal(kinds.filter((k) => k === "receipt_appended").length, 3);
  await world.assertReplay();
});

Deno.test("fetch-notify example: reducer intent → triggered plan → http receipt (fake) → raised result", async () => {
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"));
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  await world.runToIdle();
  const order = orderOf(world.journal());
  assert.deepEqual(order.slice(2), [
    "domain_event:demo/FetchRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:demo/FetchSucceeded@1",
    "plan_ended",
  ]);
  await world.assertReplay();
});

Deno.test("cells example: keyed events reach one cell each and replay byte-identically", async () => {
  await using world = await TestWorld.create(await exampleWorld("cells"));
  await world.send("demo/CellIncrement@1", { user: "alice", by: 2 });
  await world.send("demo/CellIncrement@1", { user: "bob", by: 5 });
  await world.send("demo/CellIncrement@1", { user: "alice", by: 3 });
  assert.deepEqual(world.state("demo/CellCounter@1", "alice"), { count: 5n });
  assert.deepEqual(world.state("demo/CellCounter@1", "bob"), { count: 5n });
  assert.equal(world.state("demo/CellCounter@1", "carol"), null);
  assert.equal(world.world.kernel.cellsOf("demo/CellCounter@1").length, 2);
  await world.assertReplay();
});
