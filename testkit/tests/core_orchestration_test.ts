/**
 * Core scenarios (WP1): plans that orchestrate effects — a single triggered plan, guarded branches that
 * merge into one end, and two effects in sequence where the second is built from the first's receipt.
 * Every scenario asserts the journal order and replays the journal in a fresh kernel.
 */
import assert from "node:assert/strict";
import { decodeCanonical, type DefPlan, encodeCanonical as cbor, type Value } from "../../air/mod.ts";
import {
  chain,
  e,
  edge,
  grants,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  type TestWorldOptions,
  trigger,
  world,
  type WorldDefinition,
} from "../mod.ts";
import { httpReceipt as receiptOf, urlOf } from "./_receipts.ts";

/** An `http.request` receipt payload (`sys/HttpRequestReceipt@1`) with this HTTP status. */
function httpReceipt(status: number, headers: Record<string, string> = {}): Value {
  return receiptOf(status, { headers, timings: { start_ns: 1, end_ns: 2 } });
}

const getRequest = (url: ReturnType<typeof e.ref>) =>
  e.record({ method: e.text("GET"), url, headers: e.map() });
/** A plan triggered by `demo/Go@1` that may send `http.request` with `http_cap`. */
const goPlan = (name: string, options: Omit<Parameters<typeof plan>[1], "input">) =>
  plan(name, {
    input: "demo/Go@1",
    allowedEffects: ["http.request"],
    requiredCaps: ["http_cap"],
    ...options,
  });

// ---------------------------------------------------------------------------------------------------------
// Single-plan orchestration

/**
 * `demo/Go@1 {url}` triggers `flow`, which raises `demo/Done@1 {status}` to `demo/Sink@1`; the sink traps
 * on anything but `Done{status: expected}`. The plan may GET from example.com with `http_cap`.
 */
function sinkWorld(expected: number, flow: DefPlan): WorldDefinition {
  const sink = scriptedReducer({
    rules: [{
      when: { schema: "demo/Done@1", value: cbor({ status: expected }) },
      then: { state: cbor({ last: expected }) },
    }],
    otherwise: { trap: true, message: `the sink expected Done{status: ${expected}}` },
  });
  return world({
    schemas: [
      schema("demo/Go@1", t.record({ url: t.text })),
      schema("demo/Done@1", t.record({ status: t.int })),
      schema("demo/SinkState@1", t.record({ last: t.int })),
    ],
    reducers: [reducer("demo/Sink@1", { state: "demo/SinkState@1", event: "demo/Done@1", wasm: sink.wasm })],
    routing: [route("demo/Done@1", "demo/Sink@1")],
    grants: [grants.http("http_cap", ["example.com"])],
    plans: [flow],
    triggers: [trigger("demo/Go@1", flow.name)],
  });
}

/** `demo/Go@1` triggers `demo/fetch@1`: GET the url, await the receipt, raise the status to the sink, end. */
function fetchWorld(): WorldDefinition {
  return sinkWorld(
    200,
    goPlan("demo/fetch@1", {
      steps: [
        step.emit("a_fetch", "http.request", "http_cap", getRequest(e.ref("@plan.input.url")), "req"),
        step.awaitReceipt("b_wait", "req", "resp"),
        step.raise("c_raise", "demo/Sink@1", e.record({ status: e.ref("@var:resp.status") })),
        step.end("d_end"),
      ],
      edges: chain("a_fetch", "b_wait", "c_raise", "d_end"),
    }),
  );
}

const http200: TestWorldOptions = {
  respond: { "http.request": () => ({ status: "ok", payload: httpReceipt(200) }) },
};

Deno.test("a triggered plan emits http, awaits the receipt, raises the result to a reducer and ends", async () => {
  // Given
  await using world = await TestWorld.create(fetchWorld(), http200);
  // When the trigger event arrives
  await world.send("demo/Go@1", { url: "https://example.com/a" });
  // Then its block ends with the intent queued and the plan parked on the receipt; nothing was dispatched
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/Go@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
  ]);
  assert.equal(world.plans()[0]?.status, "waiting");
  assert.equal(world.fakes.get("http.request")!.calls.length, 0);
  // When the driver dispatches and admits the receipt
  await world.runToIdle();
  // Then the receipt's block raises the result, the sink runs on it, and the plan ends
  const journal = world.journal();
  assert.deepEqual(orderOf(journal).slice(5), ["receipt_appended", "domain_event:demo/Done@1", "plan_ended"]);
  const done = journal.find((entry) => entry.schema === "demo/Done@1")!;
  assert.equal(done.origin, "plan");
  assert.deepEqual(done.value, { status: 200n });
  assert.deepEqual(world.state("demo/Sink@1"), { last: 200n });
  const [instance] = world.plans();
  assert.equal(instance?.status, "ok");
  assert.ok(instance?.steps.every((s) => s.state === "completed"));
  const calls = world.fakes.get("http.request")!.calls;
  assert.deepEqual(calls.map((c) => urlOf(c.params)), ["https://example.com/a"]);
  assert.deepEqual(world.world.kernel.outbox(), []);
  await world.assertReplay();
});

Deno.test("the same single-plan scenario run twice ends in byte-identical kernel states", async () => {
  const hashes: string[] = [];
  for (let run = 0; run < 2; run++) {
    await using world = await TestWorld.create(fetchWorld(), http200);
    await world.send("demo/Go@1", { url: "https://example.com/a" });
    await world.runToIdle();
    hashes.push(world.stateHash());
  }
  assert.equal(hashes[0], hashes[1]);
});

// ---------------------------------------------------------------------------------------------------------
// Guarded multi-branch plans

/** GET, then branch on the receipt: `c_ok` when status ok and HTTP < 400, else `c_fail`; both join `d_end`. */
function branchWorld(): WorldDefinition {
  const sink = scriptedReducer({
    rules: [
      { when: { schema: "demo/Succeeded@1" }, then: { state: cbor({ outcome: "succeeded" }) } },
      { when: { schema: "demo/Failed@1" }, then: { state: cbor({ outcome: "failed" }) } },
    ],
  });
  const succeeded = e.op(
    "and",
    e.op("eq", e.ref("@step:b_wait.status"), e.text("ok")),
    e.op("lt", e.ref("@var:resp.status"), e.int(400)),
  );
  return world({
    schemas: [
      schema("demo/Go@1", t.record({ url: t.text })),
      schema("demo/Succeeded@1", t.record({ status: t.int })),
      schema("demo/Failed@1", t.record({ url: t.text })),
      schema(
        "demo/Outcome@1",
        t.variant({ Succeeded: t.ref("demo/Succeeded@1"), Failed: t.ref("demo/Failed@1") }),
      ),
      schema("demo/SinkState@1", t.record({ outcome: t.text })),
      schema("demo/Result@1", t.record({ receipt_status: t.text })),
    ],
    reducers: [
      reducer("demo/Sink@1", { state: "demo/SinkState@1", event: "demo/Outcome@1", wasm: sink.wasm }),
    ],
    routing: [route("demo/Succeeded@1", "demo/Sink@1"), route("demo/Failed@1", "demo/Sink@1")],
    grants: [grants.http("http_cap", ["example.com"])],
    plans: [goPlan("demo/branch@1", {
      output: "demo/Result@1",
      steps: [
        step.emit("a_fetch", "http.request", "http_cap", getRequest(e.ref("@plan.input.url")), "req"),
        step.awaitReceipt("b_wait", "req", "resp"),
        step.raise(
          "c_ok",
          "demo/Sink@1",
          e.record({ $schema: e.text("demo/Succeeded@1"), status: e.ref("@var:resp.status") }),
        ),
        step.raise(
          "c_fail",
          "demo/Sink@1",
          e.record({ $schema: e.text("demo/Failed@1"), url: e.ref("@plan.input.url") }),
        ),
        step.end("d_end", e.record({ receipt_status: e.ref("@step:b_wait.status") })),
      ],
      edges: [
        edge("a_fetch", "b_wait"),
        edge("b_wait", "c_ok", succeeded),
        edge("b_wait", "c_fail", e.op("not", succeeded)),
        edge("c_ok", "d_end"),
        edge("c_fail", "d_end"),
      ],
    })],
    triggers: [trigger("demo/Go@1", "demo/branch@1")],
  });
}

const branchCases: Array<{
  name: string;
  outcome: NonNullable<TestWorldOptions["respond"]>;
  raised: string;
  taken: string;
  skipped: string;
  receiptStatus: string;
}> = [
  {
    name: "HTTP 200 takes the success branch",
    outcome: { "http.request": () => ({ status: "ok", payload: httpReceipt(200) }) },
    raised: "demo/Succeeded@1",
    taken: "c_ok",
    skipped: "c_fail",
    receiptStatus: "ok",
  },
  {
    name: "HTTP 500 (receipt ok) takes the failure branch",
    outcome: { "http.request": () => ({ status: "ok", payload: httpReceipt(500) }) },
    raised: "demo/Failed@1",
    taken: "c_fail",
    skipped: "c_ok",
    receiptStatus: "ok",
  },
  {
    name: "a receipt with status error takes the failure branch without reading the payload",
    outcome: { "http.request": () => ({ status: "error" }) },
    raised: "demo/Failed@1",
    taken: "c_fail",
    skipped: "c_ok",
    receiptStatus: "error",
  },
];

for (const c of branchCases) {
  Deno.test(`guarded branches: ${c.name}, and both branches join one end`, async () => {
    // Given a fake http adapter answering as the case says
    await using world = await TestWorld.create(branchWorld(), { respond: c.outcome });
    // When
    await world.send("demo/Go@1", { url: "https://example.com/b" });
    await world.runToIdle();
    // Then exactly one branch raised its event, the other was skipped, and the join ran
    assert.deepEqual(orderOf(world.journal()), [
      "genesis",
      "domain_event:demo/Go@1",
      "plan_started",
      "policy_decision",
      "effect_queued",
      "receipt_appended",
      `domain_event:${c.raised}`,
      "plan_ended",
    ]);
    const [instance] = world.plans();
    const states = Object.fromEntries(instance!.steps.map((s) => [s.id, s.state]));
    assert.equal(states[c.taken], "completed");
    assert.equal(states[c.skipped], "skipped");
    assert.equal(states.d_end, "completed");
    assert.equal(instance!.status, "ok");
    assert.deepEqual(decodeCanonical(instance!.result!), { receipt_status: c.receiptStatus });
    assert.deepEqual(world.state("demo/Sink@1"), {
      outcome: c.raised === "demo/Succeeded@1" ? "succeeded" : "failed",
    });
    await world.assertReplay();
  });
}

// ---------------------------------------------------------------------------------------------------------
// Multi-stage plans

/** GET /start, then GET the `location` header of its receipt, then raise the second status. */
function twoStageWorld(): WorldDefinition {
  return sinkWorld(
    201,
    goPlan("demo/two_stage@1", {
      steps: [
        step.emit("a_first", "http.request", "http_cap", getRequest(e.ref("@plan.input.url")), "first"),
        step.awaitReceipt("b_first", "first", "r1"),
        step.emit(
          "c_second",
          "http.request",
          "http_cap",
          getRequest(e.op("get", e.ref("@var:r1.headers"), e.text("location"))),
          "second",
        ),
        step.awaitReceipt("d_second", "second", "r2"),
        step.raise("e_raise", "demo/Sink@1", e.record({ status: e.ref("@var:r2.status") })),
        step.end("f_end"),
      ],
      edges: chain("a_first", "b_first", "c_second", "d_second", "e_raise", "f_end"),
    }),
  );
}

Deno.test("multi-stage: the second effect is emitted only after the first receipt, with params taken from it", async () => {
  // Given an http fake that redirects /start to /next and answers /next with 201
  await using world = await TestWorld.create(twoStageWorld(), {
    respond: {
      "http.request": ({ params }) =>
        urlOf(params) === "https://example.com/start"
          ? { status: "ok", payload: httpReceipt(302, { location: "https://example.com/next" }) }
          : { status: "ok", payload: httpReceipt(201) },
    },
  });
  const fake = world.fakes.get("http.request")!;
  // When the plan starts, only the first intent is queued
  await world.send("demo/Go@1", { url: "https://example.com/start" });
  assert.equal(world.world.kernel.outbox().length, 1);
  // And when the first receipt is admitted (no timers, one dispatch round at a time)
  world.dispatch();
  await world.admitReady();
  // Then its block queues the second intent, built from the receipt's location header
  const queued = world.journal().filter((entry) => entry.kind === "effect_queued");
  assert.equal(queued.length, 2);
  assert.equal(urlOf(queued[1]!.body.params as Uint8Array), "https://example.com/next");
  assert.deepEqual(fake.calls.map((c) => urlOf(c.params)), ["https://example.com/start"]);
  // When the rest runs
  await world.runToIdle();
  // Then
  assert.deepEqual(orderOf(world.journal()), [
    "genesis",
    "domain_event:demo/Go@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:demo/Done@1",
    "plan_ended",
  ]);
  assert.deepEqual(fake.calls.map((c) => urlOf(c.params)), [
    "https://example.com/start",
    "https://example.com/next",
  ]);
  assert.deepEqual(world.state("demo/Sink@1"), { last: 201n });
  assert.equal(world.plans()[0]?.status, "ok");
  await world.assertReplay();
});
