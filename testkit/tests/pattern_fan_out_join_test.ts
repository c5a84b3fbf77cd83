/**
 * PATTERNS §6, fan-out / join: two independent branches in one instance each emit a request and await
 * it; `c_merge` has two incoming edges and joins them (unguarded dead-path elimination is an AND-join).
 * One step runs per tick, the ready step with the smallest id first (AIR §12.2), so both intents are queued
 * in the start block before any receipt, whatever order the steps are declared in.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor, hashRefOf, hashRefToBytes, type PlanStep } from "../../air/mod.ts";
import type { FakeOutcome } from "../../adapters/mod.ts";
import {
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
  trigger,
  world,
} from "../mod.ts";
import { stepStates } from "./_journal.ts";
import { httpReceipt, queuedUrls, urlOf } from "./_receipts.ts";
import { shopPolicy } from "./_shop.ts";

const FEED_A = "https://feeds.example.com/a";
const FEED_B = "https://feeds.example.com/b";
/** The response bodies' hashes the fake reports per feed (opaque here: nothing reads the bodies). */
const BODY: { [url: string]: string } = {
  [FEED_A]: hashRefOf(new TextEncoder().encode("feed a")),
  [FEED_B]: hashRefOf(new TextEncoder().encode("feed b")),
};

const feedReceipt = (url: string) =>
  httpReceipt(200, { headers: { "content-type": "application/rss+xml" }, body_ref: BODY[url] ?? null });

/** Both feeds answer ok with their body, held until the test releases them. */
const heldFeeds = {
  respond: {
    "http.request": (intent: { params: Uint8Array }): FakeOutcome => ({
      status: "ok",
      payload: feedReceipt(urlOf(intent.params)),
      hold: true,
    }),
  },
};

/** The digest in the only order the reducer accepts: feed a's body first. */
const ready = cbor({
  request_id: "d-1",
  bodies: [hashRefToBytes(BODY[FEED_A]!), hashRefToBytes(BODY[FEED_B]!)],
});
const digestReducer = scriptedReducer({
  rules: [{ when: { schema: "demo/DigestReady@1", value: ready, state: null }, then: { state: ready } }],
});

const get = (url: string) => e.record({ method: e.text("GET"), url: e.text(url), headers: e.map() });

/** The digest plan of PATTERNS §6, its steps in the given declaration order. */
function digestPlan(order: (steps: PlanStep[]) => PlanStep[]) {
  const steps = [
    step.emit("a1", "http.request", "feeds", get(FEED_A), "f1"),
    step.emit("a2", "http.request", "feeds", get(FEED_B), "f2"),
    step.awaitReceipt("b1", "f1", "r1"),
    step.awaitReceipt("b2", "f2", "r2"),
    step.assign("c_merge", "bodies", e.list(e.ref("@var:r1.body_ref"), e.ref("@var:r2.body_ref"))),
    step.raise(
      "d_publish",
      "demo/Digest@1",
      e.record({
        $schema: e.text("demo/DigestReady@1"),
        request_id: e.ref("@plan.input.request_id"),
        bodies: e.ref("@var:bodies"),
      }),
    ),
    step.end("e_end"),
  ];
  return plan("demo/digest@1", {
    input: "demo/DigestRequested@1",
    steps: order(steps),
    edges: [
      edge("a1", "b1"),
      edge("a2", "b2"),
      edge("b1", "c_merge"),
      edge("b2", "c_merge"),
      edge("c_merge", "d_publish"),
      edge("d_publish", "e_end"),
    ],
    requiredCaps: ["feeds"],
    allowedEffects: ["http.request"],
  });
}

function digestWorld(order: (steps: PlanStep[]) => PlanStep[] = (s) => s) {
  return world({
    schemas: [
      schema("demo/DigestRequested@1", t.record({ request_id: t.text })),
      schema("demo/DigestReady@1", t.record({ request_id: t.text, bodies: t.list(t.option(t.hash)) })),
    ],
    reducers: [
      reducer("demo/Digest@1", {
        state: "demo/DigestReady@1",
        event: "demo/DigestReady@1",
        wasm: digestReducer.wasm,
      }),
    ],
    plans: [digestPlan(order)],
    grants: [grants.http("feeds", ["feeds.example.com"], ["GET"])],
    policies: [shopPolicy()],
    policy: "demo/policy@1",
    routing: [route("demo/DigestReady@1", "demo/Digest@1")],
    triggers: [trigger("demo/DigestRequested@1", "demo/digest@1", "request_id")],
  });
}

Deno.test("fan-out/join: both intents queue in the start block; the join waits for the later receipt", async () => {
  await using w = await TestWorld.create(digestWorld(), heldFeeds);
  const http = w.fakes.get("http.request")!;
  await w.send("demo/DigestRequested@1", { request_id: "d-1" });
  // Ticks a1, a2, b1, b2 (smallest ready id each tick): both requests before any receipt.
  assert.deepEqual(orderOf(w.journal(1)), [
    "domain_event:demo/DigestRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "policy_decision",
    "effect_queued",
  ]);
  assert.deepEqual(queuedUrls(w), [FEED_A, FEED_B]);
  assert.deepEqual(stepStates(w), [
    "a1:completed",
    "a2:completed",
    "b1:waiting_receipt",
    "b2:waiting_receipt",
    "c_merge:pending",
    "d_publish:pending",
    "e_end:pending",
  ]);

  await w.runToIdle(); // dispatches both; the fake holds their receipts
  const [f1, f2] = http.held();
  assert.ok(f1 && f2);
  const height = w.journal().length;
  assert.ok(http.release(f2)); // feed b answers first
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal(height)), ["receipt_appended"]);
  assert.deepEqual(stepStates(w).slice(2, 5), ["b1:waiting_receipt", "b2:completed", "c_merge:pending"]);

  assert.ok(http.release(f1));
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal(height)), [
    "receipt_appended", // feed b
    "receipt_appended", // feed a: b1 completes, the join is ready
    "domain_event:demo/DigestReady@1",
    "plan_ended",
  ]);
  assert.deepEqual(w.journal(height).map((x) => x.intent).slice(0, 2), [
    w.journal().find((x) => x.kind === "effect_queued" && urlOf(x.body.params as Uint8Array) === FEED_B)!
      .intent,
    w.journal().find((x) => x.kind === "effect_queued" && urlOf(x.body.params as Uint8Array) === FEED_A)!
      .intent,
  ]);
  // The merged list follows the plan's order, not the arrival order.
  const digest = w.journal().find((x) => x.schema === "demo/DigestReady@1")!;
  assert.deepEqual(digest.value, { request_id: "d-1", bodies: [BODY[FEED_A], BODY[FEED_B]] });
  assert.deepEqual(w.state("demo/Digest@1"), { request_id: "d-1", bodies: [BODY[FEED_A], BODY[FEED_B]] });
  assert.equal(w.plans()[0]?.status, "ok");
  await w.assertReplay();
});

Deno.test("fan-out/join: scheduling follows step ids, not declaration order", async () => {
  // Declared backwards: e_end, d_publish, c_merge, b2, b1, a2, a1.
  await using w = await TestWorld.create(digestWorld((s) => [...s].reverse()), heldFeeds);
  await w.send("demo/DigestRequested@1", { request_id: "d-1" });
  assert.deepEqual(queuedUrls(w), [FEED_A, FEED_B]);
  const queued = w.journal().filter((x) => x.kind === "effect_queued");
  assert.deepEqual(queued.map((x) => (x.body.origin as { step: string }).step), ["a1", "a2"]);
  await w.runToIdle();
  w.fakes.get("http.request")!.releaseAll("dispatch");
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal()).slice(-4), [
    "receipt_appended",
    "receipt_appended",
    "domain_event:demo/DigestReady@1",
    "plan_ended",
  ]);
  assert.deepEqual(w.state("demo/Digest@1"), { request_id: "d-1", bodies: [BODY[FEED_A], BODY[FEED_B]] });
  await w.assertReplay();
});
