/**
 * Kernel integration flows moved out of `kernel/plan_engine_test.ts` and `kernel/_plan_effects_test.ts`
 * (WP1 test boundaries): plans, reducers, triggers and receipts together, on the testkit. The kernel keeps
 * the unit tests of its plan engine beside the code.
 *
 * The base world is the one `kernel/_plan_test_world.ts` builds: the counter (`demo/Counter@1` on
 * `demo/Increment@1`), the relay (`test/Relay@1` on `test/Ping@1`, re-emitting `Ping{n-1}` while n > 0), and
 * the plan schemas `test/Start@1 {id, n}`, `test/Reply@1 {id, n}`, `test/Result@1 {total}`.
 */
import assert from "node:assert/strict";
import {
  type CapGrant,
  decodeCanonical,
  type DefPlan,
  type EffectKind,
  encodeCanonical,
  type JsonValue,
  type PlanEdge,
  type Trigger,
} from "../../air/mod.ts";
import {
  e,
  edge,
  exampleWorld,
  grants,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  step,
  t,
  TEST_EPOCH_NS,
  TestWorld,
  trigger,
  type TypedEntry,
  world as defineWorld,
  type WorldDefinition,
} from "../mod.ts";

const START = "test/Start@1";
const RESULT = "test/Result@1";
const RELAY_WASM = Deno.readFileSync(new URL("../../kernel/testdata/relay.wasm", import.meta.url));

async function baseWorld(
  extra: { plans?: DefPlan[]; triggers?: Trigger[]; grants?: CapGrant[] } = {},
): Promise<WorldDefinition> {
  const counterWasm = (await exampleWorld("counter")).wasmFiles[0]!.bytes;
  const idN = t.record({ id: t.text, n: t.nat });
  return defineWorld({
    schemas: [
      schema("demo/CounterState@1", t.record({ count: t.nat })),
      schema("demo/Increment@1", t.record({ by: t.nat })),
      schema("test/RelayState@1", t.record({ seen: t.nat })),
      schema("test/Ping@1", t.record({ n: t.nat })),
      schema(START, idN),
      schema("test/Reply@1", idN),
      schema(RESULT, t.record({ total: t.nat })),
    ],
    reducers: [
      reducer("demo/Counter@1", {
        state: "demo/CounterState@1",
        event: "demo/Increment@1",
        wasm: counterWasm,
      }),
      reducer("test/Relay@1", { state: "test/RelayState@1", event: "test/Ping@1", wasm: RELAY_WASM }),
    ],
    routing: [route("demo/Increment@1", "demo/Counter@1"), route("test/Ping@1", "test/Relay@1")],
    ...extra,
  });
}

/** Domain events as `[schema, origin, value]`, in journal order. */
function events(entries: TypedEntry[]): Array<[string | undefined, unknown, JsonValue | undefined]> {
  return entries.filter((entry) => entry.kind === "domain_event").map((
    entry,
  ) => [entry.schema, entry.body.origin, entry.value]);
}

function endedBodies(entries: TypedEntry[]) {
  return entries.filter((entry) => entry.kind === "plan_ended").map((entry) => entry.body);
}

Deno.test("run() takes ready steps by UTF-8 byte order of ids, and raised events reach reducers in queue order", async () => {
  // Given a plan whose two raise steps are both ready at start ("aa" < "b" by bytes)
  const raise = plan("test/raise@1", {
    input: START,
    steps: [
      step.raise("b", "demo/Counter@1", e.record({ by: e.nat(2) })),
      step.raise("aa", "test/Relay@1", e.record({ n: e.ref("@plan.input.n") })),
    ],
  });
  await using world = await TestWorld.create(await baseWorld({ plans: [raise] }));
  // When
  await world.startPlan("test/raise@1", { id: "r", n: 1 });
  // Then "aa" ran first (a length-first order would run "b" first), and the relay ran on its event before
  // the plan's next tick
  const planOrigin = (stepId: string) => ({
    kind: "plan",
    name: "test/raise@1",
    instance_id: 1,
    step: stepId,
  });
  const journal = world.journal();
  assert.deepEqual(orderOf(journal), [
    "genesis",
    "plan_start_requested",
    "plan_started",
    "domain_event:test/Ping@1",
    "domain_event:test/Ping@1",
    "domain_event:demo/Increment@1",
    "plan_ended",
  ]);
  assert.deepEqual(events(journal), [
    ["test/Ping@1", planOrigin("aa"), { n: 1n }],
    ["test/Ping@1", { kind: "reducer", name: "test/Relay@1", event_seq: 3 }, { n: 0n }],
    ["demo/Increment@1", planOrigin("b"), { by: 2n }],
  ]);
  assert.deepEqual(endedBodies(journal), [{ instance_id: 1, status: "ok" }]);
  assert.deepEqual(world.state("demo/Counter@1"), { count: 2n });
  assert.deepEqual(world.state("test/Relay@1"), { seen: 2n });
  await world.assertReplay();
});

Deno.test("run() merges guarded branches into one end by dead-path elimination, either side taken", async () => {
  // Given a plan that raises n to the counter when n > 10, else 1, and joins both branches in one end
  const branch = plan("test/branch@1", {
    input: START,
    output: RESULT,
    steps: [
      step.assign("a_check", "big", e.op("gt", e.ref("@plan.input.n"), e.nat(10))),
      step.raise("b_big", "demo/Counter@1", e.record({ by: e.ref("@plan.input.n") })),
      step.raise("b_small", "demo/Counter@1", e.record({ by: e.nat(1) })),
      step.end("c_end", e.record({ total: e.ref("@plan.input.n") })),
    ],
    edges: [
      edge("a_check", "b_big", e.ref("@var:big")),
      edge("a_check", "b_small", e.op("not", e.ref("@var:big"))),
      edge("b_big", "c_end"),
      edge("b_small", "c_end"),
    ] satisfies PlanEdge[],
  });
  await using world = await TestWorld.create(await baseWorld({ plans: [branch] }));
  // When one instance takes each side
  await world.startPlan("test/branch@1", { id: "r", n: 20 });
  await world.startPlan("test/branch@1", { id: "r", n: 3 });
  // Then
  const journal = world.journal();
  assert.deepEqual(orderOf(journal).slice(1), [
    "plan_start_requested",
    "plan_started",
    "domain_event:demo/Increment@1",
    "plan_ended",
    "plan_start_requested",
    "plan_started",
    "domain_event:demo/Increment@1",
    "plan_ended",
  ]);
  const branchOrigin = (id: number, stepId: string) => ({
    kind: "plan",
    name: "test/branch@1",
    instance_id: id,
    step: stepId,
  });
  assert.deepEqual(events(journal), [
    ["demo/Increment@1", branchOrigin(1, "b_big"), { by: 20n }],
    ["demo/Increment@1", branchOrigin(2, "b_small"), { by: 1n }],
  ]);
  assert.deepEqual(world.plans().map((p) => decodeCanonical(p.result!)), [{ total: 20 }, { total: 3 }]);
  const states = (i: number) => world.plans()[i]!.steps.map((s) => `${s.id}:${s.state}`);
  assert.deepEqual(states(0), ["a_check:completed", "b_big:completed", "b_small:skipped", "c_end:completed"]);
  assert.deepEqual(states(1), ["a_check:completed", "b_big:skipped", "b_small:completed", "c_end:completed"]);
  assert.deepEqual(world.state("demo/Counter@1"), { count: 21n });
  await world.assertReplay();
});

Deno.test("onEvent() wakes await_event steps filtered by correlation and where, in instance order", async () => {
  // Given instances of a waiting plan, correlated by id, taking only replies with n > 5
  const wait = plan("test/wait@1", {
    input: START,
    output: RESULT,
    steps: [
      step.awaitEvent("a_wait", "test/Reply@1", "reply", e.op("gt", e.ref("@var:reply.n"), e.nat(5))),
      step.end("b_end", e.record({ total: e.ref("@var:reply.n") })),
    ],
    edges: [edge("a_wait", "b_end")],
  });
  await using world = await TestWorld.create(
    await baseWorld({ plans: [wait], triggers: [trigger(START, "test/wait@1", "id")] }),
  );
  const block = async (schemaName: string, value: unknown) => {
    const before = world.kinds().length;
    await world.send(schemaName, value);
    return world.journal(before).slice(1);
  };
  // A reply before the instance exists is not taken later
  assert.deepEqual(await block("test/Reply@1", { id: "x", n: 9 }), []);
  const [x] = await block(START, { id: "x", n: 0 });
  const [y] = await block(START, { id: "y", n: 0 });
  assert.deepEqual([x!.kind, x!.instance, decodeCanonical(x!.body.correlation as Uint8Array)], [
    "plan_started",
    1n,
    "x",
  ]);
  assert.deepEqual([y!.kind, y!.instance, decodeCanonical(y!.body.correlation as Uint8Array)], [
    "plan_started",
    2n,
    "y",
  ]);
  assert.deepEqual(world.plans()[0]!.steps[0], {
    id: "a_wait",
    state: "waiting_event",
    waitingFor: "test/Reply@1",
  });
  assert.deepEqual(world.plans().map((p) => p.status), ["waiting", "waiting"]);
  // x: where is false; y: another correlation
  assert.deepEqual(await block("test/Reply@1", { id: "x", n: 3 }), []);
  assert.deepEqual(endedBodies(await block("test/Reply@1", { id: "y", n: 9 })), [{
    instance_id: 2,
    status: "ok",
    result: encodeCanonical({ total: 9 }),
    output_schema: RESULT,
  }]);
  assert.deepEqual(endedBodies(await block("test/Reply@1", { id: "x", n: 7 })), [{
    instance_id: 1,
    status: "ok",
    result: encodeCanonical({ total: 7 }),
    output_schema: RESULT,
  }]);
  await world.assertReplay();
});

const statusIs = (awaitStep: string, status: string) =>
  e.op("eq", e.ref(`@step:${awaitStep}.status`), e.text(status));

/** Emit one effect, await it, then end with `okTotal` when the receipt is ok, else with 0. */
function effectPlan(
  name: string,
  kind: EffectKind,
  cap: string,
  params: JsonValue,
  okTotal: JsonValue,
): DefPlan {
  return plan(name, {
    input: START,
    output: RESULT,
    allowedEffects: [kind],
    requiredCaps: [cap],
    steps: [
      step.emit("a_emit", kind, cap, params, "t"),
      step.awaitReceipt("b_wait", "t", "r"),
      step.end("c_end", e.record({ total: okTotal })),
      step.end("d_fail", e.record({ total: e.nat(0) })),
    ],
    edges: [
      edge("a_emit", "b_wait"),
      edge("b_wait", "c_end", statusIs("b_wait", "ok")),
      edge("b_wait", "d_fail", e.op("not", statusIs("b_wait", "ok"))),
    ],
  });
}

/** The base world with a timer plan (ends with `delivered_at_ns`) and an http plan (ends with 1). */
async function effectWorld(): Promise<WorldDefinition> {
  const timerParams = e.record({ deliver_at_ns: e.ref("@plan.input.n") });
  const httpParams = e.record({
    method: e.text("GET"),
    url: e.text("https://example.com/"),
    headers: e.map(),
  });
  return await baseWorld({
    plans: [
      effectPlan("test/timer@1", "timer.set", "timer_cap", timerParams, e.ref("@var:r.delivered_at_ns")),
      effectPlan("test/http@1", "http.request", "http_cap", httpParams, e.nat(1)),
    ],
    grants: [grants.timer("timer_cap"), grants.http("http_cap", ["example.com"])],
  });
}

Deno.test("emit_effect queues an intent and await_receipt completes with the receipt's payload and status", async () => {
  // Given
  await using world = await TestWorld.create(await effectWorld(), {
    respond: { "http.request": () => ({ status: "error" }) },
  });
  const dueNs = TEST_EPOCH_NS + 5_000n;
  // When a timer plan starts: its block queues the intent and parks the plan on the receipt
  await world.startPlan("test/timer@1", { id: "r", n: dueNs });
  assert.deepEqual(orderOf(world.journal()).slice(1), [
    "plan_start_requested",
    "plan_started",
    "policy_decision",
    "effect_queued",
  ]);
  const queued = world.journal().at(-1)!;
  assert.deepEqual(queued.body.origin, {
    kind: "plan",
    name: "test/timer@1",
    instance_id: 1,
    step: "a_emit",
  });
  assert.deepEqual(decodeCanonical(queued.body.params as Uint8Array), { deliver_at_ns: dueNs });
  assert.equal(world.plans()[0]!.status, "waiting");
  assert.deepEqual(world.plans()[0]!.steps[1], {
    id: "b_wait",
    state: "waiting_receipt",
    waitingFor: queued.intent,
  });
  // And when the timer fires on virtual time
  await world.runToIdle();
  // Then the plan ends with the receipt's payload
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_appended", "plan_ended"]);
  assert.equal(world.journal()[5]!.intent, queued.intent);
  assert.deepEqual(decodeCanonical(world.plans()[0]!.result!), { total: dueNs });
  assert.deepEqual(world.world.kernel.outbox(), []);
  // When another plan's receipt has status error with an empty payload
  await world.startPlan("test/http@1", { id: "s", n: 0 });
  await world.runToIdle();
  // Then the guard reads the status and d_fail ends the instance
  assert.deepEqual(orderOf(world.journal()).slice(7), [
    "plan_start_requested",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "plan_ended",
  ]);
  assert.equal(world.journal()[11]!.body.status, "error");
  assert.deepEqual(decodeCanonical(world.plans()[1]!.result!), { total: 0 });
  assert.deepEqual(world.plans()[1]!.steps.map((s) => `${s.id}:${s.state}`), [
    "a_emit:completed",
    "b_wait:completed",
    "c_end:skipped",
    "d_fail:completed",
  ]);
  await world.assertReplay();
});

Deno.test("a cancelled instance's receipt is still settled but delivers nothing", async () => {
  // Given a timer plan waiting on its receipt, then cancelled
  await using world = await TestWorld.create(await effectWorld());
  await world.startPlan("test/timer@1", { id: "r", n: TEST_EPOCH_NS + 5_000n });
  await world.world.cancelPlan(1n);
  assert.deepEqual(endedBodies(world.journal()), [{
    instance_id: 1,
    status: "error",
    error: { code: "cancelled", message: "Cancelled by an operator" },
  }]);
  assert.equal(world.world.kernel.outbox().length, 1, "the authorized intent stays in the outbox");
  // When the timer fires
  await world.runToIdle();
  // Then its receipt is appended and settles the intent, and derives nothing
  assert.deepEqual(orderOf(world.journal()).slice(-3), [
    "plan_cancel_requested",
    "plan_ended",
    "receipt_appended",
  ]);
  assert.deepEqual(world.world.kernel.outbox(), []);
  assert.equal(world.plans()[0]!.status, "error");
  await world.assertReplay();
});
