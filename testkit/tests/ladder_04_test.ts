/**
 * Ladder rung 04 (`examples/ladder/04-aggregator`): one plan fans out three fetches, joins the three
 * receipts, and raises `AggregateComplete` (all ok) or `AggregateFailed` (the receipt statuses) to the
 * reducer. The fake `http.request` adapter answers by URL; holding the receipts shows that all three
 * requests are out before any answer comes back.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hashRefOf } from "../../air/mod.ts";
import type { FakeOutcome } from "../../adapters/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TestWorld } from "../test_world.ts";
import { httpReceipt, queuedUrls, urlOf } from "./_receipts.ts";

const RUNG = "ladder/04-aggregator";
const URLS = {
  primary_url: "http://127.0.0.1:8080/weather",
  secondary_url: "https://example.com/news",
  tertiary_url: "http://127.0.0.1:8080/traffic",
};
const bodyOf = (url: string) => hashRefOf(new TextEncoder().encode(`body of ${url}`));
/** HTTP status per URL; the news source answers 404 (still an ok receipt). */
const STATUS: { [url: string]: number } = {
  [URLS.primary_url]: 200,
  [URLS.secondary_url]: 404,
  [URLS.tertiary_url]: 200,
};

function answer(hold: boolean, failing?: string) {
  return {
    respond: {
      "http.request": (intent: { params: Uint8Array }): FakeOutcome => {
        const url = urlOf(intent.params);
        if (url === failing) return { status: "timeout", hold };
        return { status: "ok", payload: httpReceipt(STATUS[url]!, { body_ref: bodyOf(url) }), hold };
      },
    },
  };
}

Deno.test("ladder 04 aggregator: three fetches go out together, the join raises one AggregateComplete", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), answer(true));
  await w.send("demo/AggregateRequested@1", { request_id: "agg-1", topic: "morning", ...URLS });
  assert.deepEqual(w.state("demo/Aggregator@1"), { results: { "agg-1": { Pending: null } } });
  // All three intents are queued in the block of the trigger, before any receipt.
  assert.deepEqual(queuedUrls(w), [URLS.primary_url, URLS.secondary_url, URLS.tertiary_url]);
  await w.runToIdle();
  assert.equal(w.fakes.get("http.request")!.held().length, 3);
  w.fakes.get("http.request")!.releaseAll("reverse");
  await w.runToIdle();
  const source = (url: string) => ({ status: BigInt(STATUS[url]!), body_ref: bodyOf(url) });
  assert.deepEqual(w.state("demo/Aggregator@1"), {
    results: {
      "agg-1": {
        Complete: {
          request_id: "agg-1",
          topic: "morning",
          primary: source(URLS.primary_url),
          secondary: source(URLS.secondary_url),
          tertiary: source(URLS.tertiary_url),
        },
      },
    },
  });
  assert.deepEqual(orderOf(w.journal()).slice(1), [
    "domain_event:demo/AggregateRequested@1",
    "plan_started",
    ...Array(3).fill(["policy_decision", "effect_queued"]).flat(),
    "receipt_appended",
    "receipt_appended",
    "receipt_appended",
    "domain_event:demo/AggregateComplete@1",
    "plan_ended",
  ]);
  const [instance] = w.plans();
  assert.equal(instance?.status, "ok");
  assert.deepEqual(
    instance?.steps.filter((s) => s.state === "skipped").map((s) => s.id),
    ["d_failed"],
  );
  await w.assertReplay();
});

Deno.test("ladder 04 aggregator: one source timing out raises AggregateFailed with the receipt statuses", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), answer(false, URLS.tertiary_url));
  await w.send("demo/AggregateRequested@1", { request_id: "agg-2", topic: "evening", ...URLS });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Aggregator@1"), {
    results: { "agg-2": { Failed: { request_id: "agg-2", statuses: ["ok", "ok", "timeout"] } } },
  });
  await w.assertReplay();
});
