/**
 * Ladder rung 03 (`examples/ladder/03-fetch-notify`): a reducer asks, a triggered plan fetches over HTTP
 * under a narrow grant with a bytes budget, and raises the outcome back to the reducer. The fake
 * `http.request` adapter answers; the response body is in the world's CAS so the budget settles its size.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TestWorld } from "../test_world.ts";
import { httpReceipt, urlOf } from "./_receipts.ts";

const RUNG = "ladder/03-fetch-notify";
const BODY = new TextEncoder().encode("<html>hello from the fetch</html>");

Deno.test("ladder 03 fetch-notify: Notify → plan → http receipt → FetchSucceeded, the body charged to the budget", async () => {
  let bodyRef = "";
  await using w = await TestWorld.create(await exampleWorld(RUNG), {
    respond: { "http.request": () => ({ status: "ok", payload: httpReceipt(200, { body_ref: bodyRef }) }) },
  });
  bodyRef = await w.world.cas.put("blobs", BODY);
  await w.send("demo/Configure@1", { url: "http://127.0.0.1:8080/hello" });
  await w.send("demo/Notify@1", { request_id: "r1" });
  assert.deepEqual(w.state("demo/Notifier@1"), {
    url: "http://127.0.0.1:8080/hello",
    results: { r1: { Pending: null } },
  });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Notifier@1"), {
    url: "http://127.0.0.1:8080/hello",
    results: { r1: { Succeeded: { status: 200n, body_ref: bodyRef } } },
  });
  assert.deepEqual(orderOf(w.journal()).slice(3), [
    "domain_event:demo/FetchRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:demo/FetchSucceeded@1",
    "plan_ended",
  ]);
  const queued = w.journal().find((x) => x.kind === "effect_queued")!;
  assert.equal(urlOf(queued.body.params as Uint8Array), "http://127.0.0.1:8080/hello");
  assert.deepEqual(w.world.kernel.budgets(), [
    {
      grant: "http_local",
      dimension: "bytes",
      limit: 1_048_576n,
      spent: BigInt(BODY.length),
      reserved: 0n,
      exhausted: false,
    },
  ]);
  await w.assertReplay();
});

Deno.test("ladder 03 fetch-notify: an error receipt ends in Failed; a host outside the grant is denied at enqueue", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), {
    respond: { "http.request": () => ({ status: "error" }) },
  });
  await w.send("demo/Configure@1", { url: "http://127.0.0.1:8080/down" });
  await w.send("demo/Notify@1", { request_id: "r1" });
  await w.runToIdle();
  await w.send("demo/Configure@1", { url: "https://example.com/" });
  await w.send("demo/Notify@1", { request_id: "r2" });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Notifier@1"), {
    url: "https://example.com/",
    results: { r1: { Failed: null }, r2: { Pending: null } },
  });
  assert.equal(w.fakes.get("http.request")!.calls.length, 1);
  const [, second] = w.plans();
  assert.equal(second?.status, "error");
  await w.assertReplay();
});
