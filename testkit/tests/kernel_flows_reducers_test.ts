/**
 * Kernel integration flows moved out of `kernel/world_test.ts` (WP1 test boundaries): the driver, the
 * journal and real reducer modules together, on the testkit. The kernel keeps the unit tests of its driver
 * (inbox, group commit, snapshots, crash recovery of a block) beside the code.
 */
import assert from "node:assert/strict";
import { World } from "../../world/mod.ts";
import { orderOf, reducer, route, schema, t, TestWorld, world as defineWorld } from "../mod.ts";

const testdata = (name: string) =>
  Deno.readFileSync(new URL(`../../kernel/testdata/${name}.wasm`, import.meta.url));

Deno.test("step() journals reducer-emitted events after their input and reports them in seq order", async () => {
  // Given the relay (Ping{n} → Ping{n-1} while n > 0) and one queued Ping{2}
  const def = defineWorld({
    schemas: [
      schema("test/RelayState@1", t.record({ seen: t.nat })),
      schema("test/Ping@1", t.record({ n: t.nat })),
    ],
    reducers: [
      reducer("test/Relay@1", { state: "test/RelayState@1", event: "test/Ping@1", wasm: testdata("relay") }),
    ],
    routing: [route("test/Ping@1", "test/Relay@1")],
  });
  await using world = await TestWorld.create(def);
  await world.world.enqueue([{ schema: "test/Ping@1", value: { n: 2n } }]);
  // When
  const report = await world.world.step();
  // Then
  assert.deepEqual(report.entries, [
    { seq: 1, kind: "domain_event" },
    { seq: 2, kind: "domain_event" },
    { seq: 3, kind: "domain_event" },
  ]);
  const journal = world.journal();
  assert.deepEqual(journal.slice(1).map((entry) => [entry.body.origin, entry.value]), [
    [{ kind: "external", source: "inbox:1:0" }, { n: 2n }],
    [{ kind: "reducer", name: "test/Relay@1", event_seq: 1 }, { n: 1n }],
    [{ kind: "reducer", name: "test/Relay@1", event_seq: 2 }, { n: 0n }],
  ]);
  assert.deepEqual(world.state("test/Relay@1"), { seen: 3n });
  await world.assertReplay();
});

Deno.test("step() reports a trapping reducer's reducer_error and the world still reopens", async () => {
  // Given a reducer that always traps
  const def = defineWorld({
    schemas: [
      schema("demo/CounterState@1", t.record({ count: t.nat })),
      schema("demo/Increment@1", t.record({ by: t.nat })),
    ],
    reducers: [
      reducer("test/Trap@1", {
        state: "demo/CounterState@1",
        event: "demo/Increment@1",
        wasm: testdata("trap"),
      }),
    ],
    routing: [route("demo/Increment@1", "test/Trap@1")],
  });
  await using world = await TestWorld.create(def);
  await world.world.enqueue([{ schema: "demo/Increment@1", value: { by: 1n } }]);
  // When
  const report = await world.world.step();
  // Then
  assert.equal(report.reducerErrors.length, 1);
  const { message, ...error } = report.reducerErrors[0]!;
  assert.equal(typeof message, "string");
  assert.deepEqual(error, { seq: 2, reducer: "test/Trap@1", eventSeq: 1, code: "trap" });
  assert.deepEqual(orderOf(world.journal()), ["genesis", "domain_event:demo/Increment@1", "reducer_error"]);
  assert.equal(world.world.failureCount(), 1);
  assert.equal(world.state("test/Trap@1"), null);
  // And a reopened world replays to the same place
  const reopened = await World.open(world.dir, { clock: world.clock });
  try {
    assert.equal(reopened.height, 3);
    assert.equal(reopened.failureCount(), 1);
  } finally {
    reopened.close();
  }
  await world.assertReplay();
});
