/**
 * Ladder rung 00 (`examples/ladder/00-counter`): a reducer with no effects, as the AIR and the WASM ship.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TestWorld } from "../test_world.ts";

const RUNG = "ladder/00-counter";

Deno.test("ladder 00 counter: Start counts down on Ticks to Done, and the journal replays", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG));
  await w.send("demo/CounterStart@1", { target: 3 });
  assert.deepEqual(w.state("demo/Counter@1"), { pc: { Counting: null }, remaining: 3n });
  await w.send("demo/CounterTick@1", {});
  await w.send("demo/CounterTick@1", {});
  assert.deepEqual(w.state("demo/Counter@1"), { pc: { Counting: null }, remaining: 1n });
  await w.send("demo/CounterTick@1", {});
  assert.deepEqual(w.state("demo/Counter@1"), { pc: { Done: null }, remaining: 0n });
  // A Tick after Done changes nothing.
  await w.send("demo/CounterTick@1", {});
  assert.deepEqual(w.state("demo/Counter@1"), { pc: { Done: null }, remaining: 0n });
  assert.deepEqual(orderOf(w.journal()), [
    "genesis",
    "domain_event:demo/CounterStart@1",
    ...Array(4).fill("domain_event:demo/CounterTick@1"),
  ]);
  await w.assertReplay();
});

Deno.test("ladder 00 counter: a Start while counting traps and the step is discarded", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG));
  await w.send("demo/CounterStart@1", { target: 2 });
  const report = await w.send("demo/CounterStart@1", { target: 9 });
  assert.equal(report.reducerErrors.length, 1);
  assert.equal(report.reducerErrors[0]!.reducer, "demo/Counter@1");
  assert.deepEqual(w.state("demo/Counter@1"), { pc: { Counting: null }, remaining: 2n });
  await w.assertReplay();
});
