/**
 * Core scenarios (WP1, KERNEL §9): keyed reducers (cells) — one state per key, plans raising to a cell
 * with `key`, explicit keys that disagree with the key field, and a cell's micro-effect receipt going back
 * to that cell only.
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor } from "../../air/mod.ts";
import {
  chain,
  e,
  exampleWorld,
  grants,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TEST_EPOCH_NS,
  TestWorld,
  trigger,
  world as defineWorld,
  type WorldDefinition,
} from "../mod.ts";

const CELLS = "demo/CellCounter@1";

Deno.test("cells example: each key has its own state and state(reducer, key) reads one cell", async () => {
  // Given
  await using world = await TestWorld.create(await exampleWorld("cells"));
  // When
  await world.send("demo/CellIncrement@1", { user: "alice", by: 2 });
  await world.send("demo/CellIncrement@1", { user: "bob", by: 5 });
  await world.send("demo/CellIncrement@1", { user: "alice", by: 3 });
  // Then
  assert.deepEqual(world.state(CELLS, "alice"), { count: 5n });
  assert.deepEqual(world.state(CELLS, "bob"), { count: 5n });
  assert.equal(world.state(CELLS, "carol"), null);
  assert.equal(world.world.kernel.cellsOf(CELLS).length, 2);
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/CellIncrement@1",
    "domain_event:demo/CellIncrement@1",
    "domain_event:demo/CellIncrement@1",
  ]);
  await world.assertReplay();
});

Deno.test("cells example: an explicit event key that differs from the key field is a bad_key reducer_error", async () => {
  // Given
  await using world = await TestWorld.create(await exampleWorld("cells"));
  // When carol's increment is sent with dave's key
  await world.send("demo/CellIncrement@1", { user: "carol", by: 1 }, "dave");
  // Then no cell runs or is created
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/CellIncrement@1",
    "reducer_error",
  ]);
  const [error] = world.journal().filter((entry) => entry.kind === "reducer_error");
  assert.equal(error!.body.code, "bad_key");
  assert.equal(error!.body.reducer, CELLS);
  assert.equal(world.state(CELLS, "carol"), null);
  assert.equal(world.state(CELLS, "dave"), null);
  await world.assertReplay();
});

/** The cell counter of the example, plus a plan that raises two increments to the cell named by its input. */
async function bonusWorld(): Promise<WorldDefinition> {
  const wasm = (await exampleWorld("cells")).wasmFiles[0]!.bytes;
  const increment = (by: number) => e.record({ user: e.ref("@plan.input.user"), by: e.nat(by) });
  return defineWorld({
    schemas: [
      schema("demo/UserId@1", t.text),
      schema("demo/CellIncrement@1", t.record({ user: t.text, by: t.nat })),
      schema("demo/CellCounterState@1", t.record({ count: t.nat })),
      schema("demo/Bonus@1", t.record({ user: t.text, key: t.text })),
    ],
    reducers: [
      reducer(CELLS, {
        state: "demo/CellCounterState@1",
        event: "demo/CellIncrement@1",
        wasm,
        keySchema: "demo/UserId@1",
      }),
    ],
    routing: [route("demo/CellIncrement@1", CELLS, "user")],
    plans: [plan("demo/bonus@1", {
      input: "demo/Bonus@1",
      steps: [
        step.raise("a_ten", CELLS, increment(10), e.ref("@plan.input.user")),
        step.raise("b_one", CELLS, increment(1), e.ref("@plan.input.key")),
      ],
      edges: chain("a_ten", "b_one"),
    })],
    triggers: [trigger("demo/Bonus@1", "demo/bonus@1")],
  });
}

Deno.test("a plan raising to a keyed reducer with key reaches exactly that cell", async () => {
  // Given alice has a cell and bob does not
  await using world = await TestWorld.create(await bonusWorld());
  await world.send("demo/CellIncrement@1", { user: "alice", by: 2 });
  const before = world.kinds().length;
  // When a bonus for bob is raised with bob's key
  await world.send("demo/Bonus@1", { user: "bob", key: "bob" });
  // Then both raised events reach bob's cell (created on the first), alice's is untouched
  assert.deepEqual(orderOf(world.journal(before)), [
    "domain_event:demo/Bonus@1",
    "plan_started",
    "domain_event:demo/CellIncrement@1",
    "domain_event:demo/CellIncrement@1",
    "plan_ended",
  ]);
  const raised = world.journal(before).filter((entry) => entry.schema === "demo/CellIncrement@1");
  assert.deepEqual(raised.map((r) => [r.origin, r.body.key]), [["plan", cbor("bob")], ["plan", cbor("bob")]]);
  assert.deepEqual(world.state(CELLS, "bob"), { count: 11n });
  assert.deepEqual(world.state(CELLS, "alice"), { count: 2n });
  await world.assertReplay();
});

Deno.test("a plan-raised event whose key differs from its key field is journaled, then fails as bad_key", async () => {
  // Given
  await using world = await TestWorld.create(await bonusWorld());
  // When the second raise names carol's key for bob's increment
  await world.send("demo/Bonus@1", { user: "bob", key: "carol" });
  // Then the plan ends ok (the key conforms to the key schema); delivery refuses it with bad_key
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/Bonus@1",
    "plan_started",
    "domain_event:demo/CellIncrement@1",
    "domain_event:demo/CellIncrement@1",
    "plan_ended",
    "reducer_error",
  ]);
  assert.equal(world.journal().at(-1)!.body.code, "bad_key");
  assert.deepEqual(world.state(CELLS, "bob"), { count: 10n });
  assert.equal(world.state(CELLS, "carol"), null);
  await world.assertReplay();
});

const REMINDER = "demo/Reminder@1";

/** A keyed reducer: a cell sets a timer when reminded and records the firing it gets back. */
function reminderWorld(): WorldDefinition {
  const timer = { kind: "timer.set", paramsCbor: cbor({ deliver_at_ns: TEST_EPOCH_NS + 5_000_000n }) };
  const rules = ["alice", "bob"].flatMap((user) => [
    {
      when: { schema: "demo/Remind@1", key: cbor(user) },
      then: { state: cbor({ fired: 0 }), effects: [timer] },
    },
    { when: { schema: "sys/TimerFired@1", key: cbor(user) }, then: { state: cbor({ fired: 1 }) } },
  ]);
  const wasm = scriptedReducer({ rules }).wasm;
  return defineWorld({
    schemas: [
      schema("demo/UserId@1", t.text),
      schema("demo/Remind@1", t.record({ user: t.text })),
      schema("demo/ReminderState@1", t.record({ fired: t.nat })),
    ],
    reducers: [
      reducer(REMINDER, {
        state: "demo/ReminderState@1",
        event: "demo/Remind@1",
        wasm,
        keySchema: "demo/UserId@1",
        effects: ["timer.set"],
      }),
    ],
    routing: [route("demo/Remind@1", REMINDER, "user"), route("sys/TimerFired@1", REMINDER)],
    grants: [grants.timer("timer_cap")],
    bindings: { [REMINDER]: { default: "timer_cap" } },
  });
}

Deno.test("a cell's timer receipt goes back to that cell only", async () => {
  // Given two cells that each set a timer with the same params
  await using world = await TestWorld.create(reminderWorld());
  await world.send("demo/Remind@1", { user: "alice" });
  await world.send("demo/Remind@1", { user: "bob" });
  const intents = world.world.kernel.outbox();
  const cellOf = (i: (typeof intents)[number]) => (i.origin.kind === "reducer" ? i.origin.key : undefined);
  assert.equal(intents.length, 2);
  assert.notDeepEqual(
    intents[0]!.intentHash,
    intents[1]!.intentHash,
    "the cell key is in the idempotency key",
  );
  assert.deepEqual(intents.map(cellOf), [cbor("alice"), cbor("bob")]);
  // When both fire
  await world.runToIdle();
  // Then each firing is delivered to the cell that set the timer, and the cells differ only by that
  const fired = world.journal().filter((entry) => entry.schema === "sys/TimerFired@1");
  const byIntent = new Map(intents.map((i) => [i.intentHash.join(), cellOf(i)]));
  for (const f of fired) {
    const origin = f.body.origin as { reducer: string; key: Uint8Array; intent_hash: Uint8Array };
    assert.equal(origin.reducer, REMINDER);
    assert.deepEqual(origin.key, byIntent.get(origin.intent_hash.join()));
  }
  assert.equal(fired.length, 2);
  assert.deepEqual(world.state(REMINDER, "alice"), { fired: 1n });
  assert.deepEqual(world.state(REMINDER, "bob"), { fired: 1n });
  assert.equal(world.kinds().filter((k) => k === "reducer_error").length, 0);
  await world.assertReplay();
});
