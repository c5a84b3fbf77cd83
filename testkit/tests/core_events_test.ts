/**
 * Core scenarios (WP1): plans and events — `await_event` wakeups filtered by `where` and by `correlate_by`,
 * the fixed processing order of one event (reducers, then triggers, then wakeups; KERNEL §2.3), and
 * plan-raised events that reducers consume in queue order and whose emitted events trigger another plan.
 */
import assert from "node:assert/strict";
import { decodeCanonical, encodeCanonical as cbor } from "../../air/mod.ts";
import {
  chain,
  e,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  trigger,
  type TypedEntry,
  world as defineWorld,
  type WorldDefinition,
  type WorldFixture,
} from "../mod.ts";

/** `plan_*` entries as `kind#instance`, other entries as `orderOf` writes them. */
function order(entries: TypedEntry[]): string[] {
  return entries.map((entry, i) =>
    entry.kind.startsWith("plan_") ? `${entry.kind}#${entry.instance}` : orderOf(entries)[i]!
  );
}

const idN = t.record({ id: t.text, n: t.nat });

/** `demo/Start@1` triggers `demo/wait@1`, which waits for a `demo/Reply@1` and ends with its `n`. */
function waitWorld(options: { where?: ReturnType<typeof e.op>; correlateBy?: string }): WorldDefinition {
  return defineWorld({
    schemas: [
      schema("demo/Start@1", idN),
      schema("demo/Reply@1", idN),
      schema("demo/Result@1", t.record({ total: t.nat })),
    ],
    plans: [plan("demo/wait@1", {
      input: "demo/Start@1",
      output: "demo/Result@1",
      steps: [
        step.awaitEvent("a_wait", "demo/Reply@1", "reply", options.where),
        step.end("b_end", e.record({ total: e.ref("@var:reply.n") })),
      ],
      edges: chain("a_wait", "b_end"),
    })],
    triggers: [trigger("demo/Start@1", "demo/wait@1", options.correlateBy)],
  });
}

Deno.test("await_event wakes a waiting plan only on a later event that passes where", async () => {
  // Given a plan waiting for a reply with n greater than its input's n
  const where = e.op("gt", e.ref("@var:reply.n"), e.ref("@plan.input.n"));
  await using world = await TestWorld.create(waitWorld({ where }));
  await world.send("demo/Reply@1", { id: "x", n: 9 }); // before the instance exists: never taken
  await world.send("demo/Start@1", { id: "x", n: 5 });
  const [waiting] = world.plans();
  assert.equal(waiting?.status, "waiting");
  assert.deepEqual(waiting?.steps[0], { id: "a_wait", state: "waiting_event", waitingFor: "demo/Reply@1" });
  // When a reply fails the predicate, then one passes
  await world.send("demo/Reply@1", { id: "x", n: 3 });
  assert.equal(world.plans()[0]?.status, "waiting");
  await world.send("demo/Reply@1", { id: "x", n: 7 });
  // Then the plan ends right after the event it took, with that event's value
  assert.deepEqual(order(world.journal()), [
    "genesis",
    "domain_event:demo/Reply@1",
    "domain_event:demo/Start@1",
    "plan_started#1",
    "domain_event:demo/Reply@1",
    "domain_event:demo/Reply@1",
    "plan_ended#1",
  ]);
  assert.deepEqual(decodeCanonical(world.plans()[0]!.result!), { total: 7 });
  await world.assertReplay();
});

Deno.test("correlate_by delivers each reply to its own instance across two waiting instances", async () => {
  // Given two instances correlated by id
  await using world = await TestWorld.create(waitWorld({ correlateBy: "id" }));
  await world.send("demo/Start@1", { id: "x", n: 0 });
  await world.send("demo/Start@1", { id: "y", n: 0 });
  const started = world.journal().filter((entry) => entry.kind === "plan_started");
  assert.deepEqual(started.map((s) => decodeCanonical(s.body.correlation as Uint8Array)), ["x", "y"]);
  // When y's reply arrives first, then x's
  await world.send("demo/Reply@1", { id: "y", n: 2 });
  assert.deepEqual(world.plans().map((p) => p.status), ["waiting", "ok"]);
  await world.send("demo/Reply@1", { id: "x", n: 1 });
  // Then each instance took only the reply with its correlation value
  assert.deepEqual(order(world.journal()), [
    "genesis",
    "domain_event:demo/Start@1",
    "plan_started#1",
    "domain_event:demo/Start@1",
    "plan_started#2",
    "domain_event:demo/Reply@1",
    "plan_ended#2",
    "domain_event:demo/Reply@1",
    "plan_ended#1",
  ]);
  assert.deepEqual(world.plans().map((p) => decodeCanonical(p.result!)), [{ total: 1 }, { total: 2 }]);
  await world.assertReplay();
});

Deno.test("one event runs its reducers, then starts triggered plans, then wakes waiting plans, in journal order", async () => {
  // Given: Tick is routed to Echo (which emits Echoed), triggers on_tick, and is awaited by a waiter;
  // Echoed triggers on_echo
  const echo = scriptedReducer({
    rules: [{
      when: { schema: "demo/Tick@1" },
      then: { state: cbor({ n: 1 }), domainEvents: [{ schema: "demo/Echoed@1", value: cbor({ id: "a" }) }] },
    }],
  });
  const id = t.record({ id: t.text });
  const endsAtOnce = (name: string, input: string) => plan(name, { input, steps: [step.end("a_end")] });
  const def = defineWorld({
    schemas: [
      schema("demo/Arm@1", id),
      schema("demo/Tick@1", id),
      schema("demo/Echoed@1", id),
      schema("demo/EchoState@1", t.record({ n: t.nat })),
    ],
    reducers: [reducer("demo/Echo@1", { state: "demo/EchoState@1", event: "demo/Tick@1", wasm: echo.wasm })],
    routing: [route("demo/Tick@1", "demo/Echo@1")],
    plans: [
      // Only the await: the instance ends in the very tick that takes the event.
      plan("demo/waiter@1", {
        input: "demo/Arm@1",
        steps: [step.awaitEvent("a_wait", "demo/Tick@1", "tick")],
      }),
      endsAtOnce("demo/on_tick@1", "demo/Tick@1"),
      endsAtOnce("demo/on_echo@1", "demo/Echoed@1"),
    ],
    triggers: [
      trigger("demo/Arm@1", "demo/waiter@1"),
      trigger("demo/Tick@1", "demo/on_tick@1"),
      trigger("demo/Echoed@1", "demo/on_echo@1"),
    ],
  });
  await using world = await TestWorld.create(def);
  await world.send("demo/Arm@1", { id: "a" });
  const before = world.kinds().length;
  // When
  await world.send("demo/Tick@1", { id: "a" });
  // Then: Tick's reducer output, then its trigger; the emitted event is processed later in queue order
  // (after Tick's triggered run and the waiter's wakeup were queued)
  assert.deepEqual(order(world.journal(before)), [
    "domain_event:demo/Tick@1",
    "domain_event:demo/Echoed@1", // 1. reducers
    "plan_started#2", // 2. triggers (on_tick)
    "plan_started#3", // Echoed processed next: its trigger (on_echo)
    "plan_ended#2", // PlanRun of on_tick, queued by Tick's trigger
    "plan_ended#1", // 3. the waiter's wakeup, queued after the trigger
    "plan_ended#3",
  ]);
  assert.deepEqual(world.plans().map((p) => [p.plan, p.status]), [
    ["demo/waiter@1", "ok"],
    ["demo/on_tick@1", "ok"],
    ["demo/on_echo@1", "ok"],
  ]);
  await world.assertReplay();
});

/** `demo/go@1` raises its input `n` to `demo/Relay@1` and ends (on Go); `demo/after@1` ends at once (on Tock). */
function relayPlans(): Pick<WorldFixture, "plans" | "triggers"> {
  return {
    plans: [
      plan("demo/go@1", {
        input: "demo/Go@1",
        steps: [
          step.raise("a_raise", "demo/Relay@1", e.record({ n: e.ref("@plan.input.n") })),
          step.end("b_end"),
        ],
        edges: chain("a_raise", "b_end"),
      }),
      plan("demo/after@1", { input: "demo/Tock@1", steps: [step.end("a_end")] }),
    ],
    triggers: [trigger("demo/Go@1", "demo/go@1"), trigger("demo/Tock@1", "demo/after@1")],
  };
}

Deno.test("a plan-raised event reaches its reducer in queue order and the reducer's emitted event triggers a second plan", async () => {
  // Given: go@1 raises Tick to the relay and ends; the relay answers Tick with Tock; Tock triggers after@1
  const relay = scriptedReducer({
    rules: [{
      when: { schema: "demo/Tick@1", value: cbor({ n: 3 }) },
      then: { state: cbor({ seen: 1 }), domainEvents: [{ schema: "demo/Tock@1", value: cbor({ n: 4 }) }] },
    }],
  });
  const n = t.record({ n: t.nat });
  const def = defineWorld({
    schemas: [
      schema("demo/Go@1", n),
      schema("demo/Tick@1", n),
      schema("demo/Tock@1", n),
      schema("demo/RelayState@1", t.record({ seen: t.nat })),
    ],
    reducers: [
      reducer("demo/Relay@1", { state: "demo/RelayState@1", event: "demo/Tick@1", wasm: relay.wasm }),
    ],
    routing: [route("demo/Tick@1", "demo/Relay@1")],
    ...relayPlans(),
  });
  await using world = await TestWorld.create(def);
  // When
  await world.send("demo/Go@1", { n: 3 });
  // Then the relay ran on Tick before go@1's next tick; Tock was processed after go@1 ended
  const journal = world.journal();
  assert.deepEqual(order(journal), [
    "genesis",
    "domain_event:demo/Go@1",
    "plan_started#1",
    "domain_event:demo/Tick@1",
    "domain_event:demo/Tock@1",
    "plan_ended#1",
    "plan_started#2",
    "plan_ended#2",
  ]);
  const [tick, tock] = [journal[3]!, journal[4]!];
  assert.deepEqual(tick.body.origin, { kind: "plan", name: "demo/go@1", instance_id: 1, step: "a_raise" });
  assert.deepEqual(tock.body.origin, { kind: "reducer", name: "demo/Relay@1", event_seq: tick.seq });
  assert.deepEqual(journal[6]!.body.cause, { trigger_seq: tock.seq });
  assert.deepEqual(world.state("demo/Relay@1"), { seen: 1n });
  assert.deepEqual(world.plans().map((p) => [p.plan, p.status]), [["demo/go@1", "ok"], [
    "demo/after@1",
    "ok",
  ]]);
  await world.assertReplay();
});

Deno.test("a plan-raised event waits in the FIFO queue behind events queued before it", async () => {
  // Given: Go is routed to Kick (emits Tick{7}) and triggers go@1 (raises Tick{3}); the relay answers each
  // Tick{n} with Tock{n+1}; every Tock triggers after@1
  const kick = scriptedReducer({
    rules: [{
      when: { schema: "demo/Go@1" },
      then: { state: cbor({ seen: 1 }), domainEvents: [{ schema: "demo/Tick@1", value: cbor({ n: 7 }) }] },
    }],
  });
  const relay = scriptedReducer({
    rules: [3, 7].map((n) => ({
      when: { schema: "demo/Tick@1", value: cbor({ n }) },
      then: {
        state: cbor({ seen: n }),
        domainEvents: [{ schema: "demo/Tock@1", value: cbor({ n: n + 1 }) }],
      },
    })),
  });
  const n = t.record({ n: t.nat });
  const seen = t.record({ seen: t.nat });
  const def = defineWorld({
    schemas: [
      schema("demo/Go@1", n),
      schema("demo/Tick@1", n),
      schema("demo/Tock@1", n),
      schema("demo/Seen@1", seen),
    ],
    reducers: [
      reducer("demo/Kick@1", { state: "demo/Seen@1", event: "demo/Go@1", wasm: kick.wasm }),
      reducer("demo/Relay@1", { state: "demo/Seen@1", event: "demo/Tick@1", wasm: relay.wasm }),
    ],
    routing: [route("demo/Go@1", "demo/Kick@1"), route("demo/Tick@1", "demo/Relay@1")],
    ...relayPlans(),
  });
  await using world = await TestWorld.create(def);
  // When
  await world.send("demo/Go@1", { n: 3 });
  // Then every item is processed in the order it was queued: Tick{7} (queued by Kick before go@1's first
  // run), go@1's run, Tock{8}, then the raised Tick{3}, which is behind Tock{8}
  const journal = world.journal();
  const withN = (entry: TypedEntry) => {
    const value = entry.value as { n?: bigint } | undefined;
    return value?.n === undefined ? order([entry])[0] : `${order([entry])[0]} ${value.n}`;
  };
  assert.deepEqual(journal.slice(1).map(withN), [
    "domain_event:demo/Go@1 3",
    "domain_event:demo/Tick@1 7", // Kick's output; queue: Tick7, Run1
    "plan_started#1", // Go's trigger
    "domain_event:demo/Tock@1 8", // Tick7 → relay; queue: Run1, Tock8
    "domain_event:demo/Tick@1 3", // Run1 raises; queue: Tock8, Tick3, Run1
    "plan_started#2", // Tock8 → trigger; queue: Tick3, Run1, Run2
    "domain_event:demo/Tock@1 4", // Tick3 → relay; queue: Run1, Run2, Tock4
    "plan_ended#1",
    "plan_ended#2",
    "plan_started#3", // Tock4 → trigger
    "plan_ended#3",
  ]);
  assert.deepEqual(world.state("demo/Relay@1"), { seen: 3n });
  await world.assertReplay();
});
