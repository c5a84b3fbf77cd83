/**
 * Core scenarios (WP1, KERNEL §3.5, §4): reducer failures inside a block. A failing step is discarded
 * whole — state unchanged, emitted events and the effect not journaled — and only a `reducer_error` with a
 * stable code is appended; the rest of the block (other reducers, triggers) runs as usual.
 */
import assert from "node:assert/strict";
import { AosError, type EffectKind, encodeCanonical as cbor } from "../../air/mod.ts";
import { AirInvalidError } from "../../world/mod.ts";
import {
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
  type TypedEntry,
  world as defineWorld,
} from "../mod.ts";

const FIRST = "demo/First@1";
const SECOND = "demo/Second@1";
const n = t.record({ n: t.nat });

function reducerErrors(entries: TypedEntry[]) {
  return entries.filter((entry) => entry.kind === "reducer_error").map((entry) => entry.body);
}

Deno.test("a trapping reducer journals reducer_error and keeps its state; the rest of its block runs", async () => {
  // Given two reducers on Go (First emits Follow; Second traps on n = 2) and a plan triggered by Go
  const first = scriptedReducer({
    rules: [{
      when: { schema: "demo/Go@1" },
      then: { state: cbor({ count: 1 }), domainEvents: [{ schema: "demo/Follow@1", value: cbor({ n: 1 }) }] },
    }],
  });
  const second = scriptedReducer({
    rules: [
      { when: { schema: "demo/Go@1", value: cbor({ n: 1 }) }, then: { state: cbor({ count: 1 }) } },
      { when: { schema: "demo/Go@1", value: cbor({ n: 2 }) }, then: { trap: true, message: "boom" } },
    ],
  });
  const def = defineWorld({
    schemas: [
      schema("demo/Go@1", n),
      schema("demo/Follow@1", n),
      schema("demo/State@1", t.record({ count: t.nat })),
    ],
    reducers: [
      reducer(FIRST, { state: "demo/State@1", event: "demo/Go@1", wasm: first.wasm }),
      reducer(SECOND, { state: "demo/State@1", event: "demo/Go@1", wasm: second.wasm }),
    ],
    routing: [route("demo/Go@1", FIRST), route("demo/Go@1", SECOND)],
    plans: [plan("demo/after@1", { input: "demo/Go@1", steps: [step.end("a_end")] })],
    triggers: [trigger("demo/Go@1", "demo/after@1")],
  });
  await using world = await TestWorld.create(def);
  await world.send("demo/Go@1", { n: 1 });
  assert.deepEqual(world.state(SECOND), { count: 1n });
  const before = world.kinds().length;
  // When Second traps on the next Go
  const report = await world.send("demo/Go@1", { n: 2 });
  // Then First's output commits, Second's error follows it, then the trigger runs
  assert.deepEqual(orderOf(world.journal(before)), [
    "domain_event:demo/Go@1",
    "domain_event:demo/Follow@1",
    "reducer_error",
    "plan_started",
    "plan_ended",
  ]);
  const [error] = reducerErrors(world.journal(before));
  assert.deepEqual({ ...error, message: undefined }, {
    reducer: SECOND,
    event_seq: before,
    code: "trap",
    message: undefined,
  });
  assert.match(String(error!.message), /boom/);
  assert.deepEqual(report.reducerErrors.map((r) => r.code), ["trap"]);
  assert.deepEqual(world.state(SECOND), { count: 1n });
  assert.deepEqual(world.state(FIRST), { count: 1n });
  await world.assertReplay();
});

const BAD = "demo/Bad@1";
const timer = (capSlot?: string) => ({
  kind: "timer.set",
  paramsCbor: cbor({ deliver_at_ns: TEST_EPOCH_NS + 1_000n }),
  ...(capSlot === undefined ? {} : { capSlot }),
});
const http = {
  kind: "http.request",
  paramsCbor: cbor({ method: "GET", url: "https://example.com", headers: {} }),
};

/**
 * `demo/Bad@1` starts at `{count: 0}` on Go{0}; for n = 1..3 it answers with a new state, a Follow event
 * and an effect output that must fail; for n = 4 the same shape with a valid effect, which commits.
 */
function badWorld() {
  const output = (effects: ReturnType<typeof timer>[]) => ({
    state: cbor({ count: 9 }),
    domainEvents: [{ schema: "demo/Follow@1", value: cbor({ n: 9 }) }],
    effects,
  });
  const wasm = scriptedReducer({
    rules: [
      { when: { value: cbor({ n: 0 }) }, then: { state: cbor({ count: 0 }) } },
      { when: { value: cbor({ n: 1 }) }, then: output([timer(), timer()]) },
      { when: { value: cbor({ n: 2 }) }, then: output([http]) },
      { when: { value: cbor({ n: 3 }) }, then: output([timer("nope")]) },
      { when: { value: cbor({ n: 4 }) }, then: output([timer()]) },
    ],
  }).wasm;
  return defineWorld({
    schemas: [
      schema("demo/Go@1", n),
      schema("demo/Follow@1", n),
      schema("demo/State@1", t.record({ count: t.nat })),
    ],
    reducers: [reducer(BAD, { state: "demo/State@1", event: "demo/Go@1", wasm, effects: ["timer.set"] })],
    routing: [route("demo/Go@1", BAD)],
    grants: [grants.timer("timer_cap")],
    bindings: { [BAD]: { default: "timer_cap" } },
  });
}

const effectFailures: Array<[what: string, n: number, code: string]> = [
  ["two effects in one step", 1, "too_many_effects"],
  // A non-micro kind can never be declared (the validator rejects it, see below), so it fails as undeclared.
  ["a non-micro effect (http.request)", 2, "effect_not_declared"],
  ["an effect through a cap slot with no binding", 3, "slot_unbound"],
];

for (const [what, value, code] of effectFailures) {
  Deno.test(`a reducer emitting ${what} is discarded whole with reducer_error ${code}`, async () => {
    // Given
    await using world = await TestWorld.create(badWorld());
    await world.send("demo/Go@1", { n: 0 });
    const before = world.kinds().length;
    // When
    await world.send("demo/Go@1", { n: value });
    // Then no state, event, policy decision or intent of that step is kept
    assert.deepEqual(orderOf(world.journal(before)), ["domain_event:demo/Go@1", "reducer_error"]);
    const [error] = reducerErrors(world.journal(before));
    assert.equal(error!.code, code);
    assert.equal(error!.reducer, BAD);
    assert.deepEqual(world.state(BAD), { count: 0n });
    assert.deepEqual(world.world.kernel.outbox(), []);
    // And the same output shape with one valid effect commits state, event and intent
    await world.send("demo/Go@1", { n: 4 });
    assert.deepEqual(orderOf(world.journal(before + 2)), [
      "domain_event:demo/Go@1",
      "domain_event:demo/Follow@1",
      "policy_decision",
      "effect_queued",
    ]);
    assert.deepEqual(world.state(BAD), { count: 9n });
    await world.assertReplay();
  });
}

Deno.test("a reducer declaring a non-micro effect is rejected at load with AIR_EFFECT_NOT_MICRO", async () => {
  const wasm = scriptedReducer({ rules: [], otherwise: { state: null } }).wasm;
  const def = defineWorld({
    schemas: [schema("demo/Go@1", n), schema("demo/State@1", t.record({ count: t.nat }))],
    reducers: [
      reducer(BAD, {
        state: "demo/State@1",
        event: "demo/Go@1",
        wasm,
        effects: ["http.request" as EffectKind],
      }),
    ],
    routing: [route("demo/Go@1", BAD)],
  });
  await assert.rejects(TestWorld.create(def), (error: unknown) => {
    assert.ok(error instanceof AirInvalidError && error instanceof AosError);
    assert.equal(error.code, "AOS_AIR_INVALID");
    assert.deepEqual(error.diagnostics.map((d) => d.code), ["AIR_EFFECT_NOT_MICRO"]);
    return true;
  });
});
