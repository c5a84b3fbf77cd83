/**
 * Ladder rung 06 (`examples/ladder/06-safe-upgrade`): a world changes through governance. v1 (`air/`)
 * fetches a URL; v2 (`air.v2/`, same reducer) fetches and then POSTs a follow-up to an audit host under a
 * new grant. The patch from v1 to v2 is submitted, shadowed (which predicts both requests and the new
 * grant), approved and applied; until `apply` the world keeps behaving as v1.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakeOutcome } from "../../adapters/mod.ts";
import { readAirFolder, readWasmFolders } from "../../world/mod.ts";
import { exampleWorld } from "../_examples.ts";
import type { WorldDefinition } from "../fixtures.ts";
import { TestWorld } from "../test_world.ts";
import { httpReceipt, queuedUrls, urlOf } from "./_receipts.ts";

const RUNG = "ladder/06-safe-upgrade";
const DIR = decodeURIComponent(new URL(`../../examples/${RUNG}`, import.meta.url).pathname);
const URL_A = "http://127.0.0.1:8080/a";
const HTTP_OK = {
  status: 200,
  headers: {},
  body_ref: null,
  timings: { start_ns: 0, end_ns: 0 },
  adapter_id: "shadow",
};

async function v2(): Promise<WorldDefinition> {
  return {
    airFiles: await readAirFolder(`${DIR}/air.v2`),
    wasmFiles: await readWasmFolders([`${DIR}/modules`]),
  };
}

/** 200 to the fetches, 201 to the audit follow-ups. */
const api = {
  respond: {
    "http.request": (intent: { params: Uint8Array }): FakeOutcome => ({
      status: "ok",
      payload: httpReceipt(urlOf(intent.params).startsWith("https://audit.example.com/") ? 201 : 200),
    }),
  },
};

Deno.test("ladder 06 safe-upgrade: v1 → v2 through submit, shadow, approve, apply; the follow-up starts only after apply", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), api);
  await w.send("demo/FetchRequested@1", { request_id: "r1", url: URL_A });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Upgrader@1"), { results: { r1: { status: 200n } } });

  const { proposal } = await w.propose(await v2(), { author: "ops" });
  assert.equal(proposal.state, "submitted");
  const { report } = await w.shadow(proposal.id, {
    events: [{ schema: "demo/FetchRequested@1", value: { request_id: "s1", url: URL_A } }],
    receipts: [
      { kind: "http.request", status: "ok", payload: HTTP_OK },
      { kind: "http.request", status: "ok", payload: HTTP_OK },
    ],
  });
  assert.equal(report.ok, true, report.errors.join("; "));
  assert.deepEqual(report.required_caps, ["http_followup", "http_primary"]);
  assert.deepEqual(report.predicted_effects.map((e) => `${e.origin_name} ${e.kind} ${e.cap}`), [
    "demo/fetch_plan@2 http.request http_primary",
    "demo/fetch_plan@2 http.request http_followup",
  ]);
  assert.deepEqual(
    report.ledger_deltas.map((d) => `${d.ledger} ${d.name} ${d.change}`),
    ["capability http_followup added", "policy demo/fetch_policy@2 changed"],
  );
  assert.deepEqual(report.plan_results.map((p) => `${p.plan} ${p.status}`), ["demo/fetch_plan@2 ok"]);
  // The shadow ran in a fork: no adapter saw its intents, and the live world is still v1.
  assert.equal(w.fakes.get("http.request")!.calls.length, 1);

  await w.send("demo/FetchRequested@1", { request_id: "r2", url: URL_A });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Upgrader@1"), { results: { r1: { status: 200n }, r2: { status: 200n } } });

  await w.approve(proposal.id, "lead");
  assert.equal((await w.apply(proposal.id)).state, "applied");
  await w.send("demo/FetchRequested@1", { request_id: "r3", url: URL_A });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Upgrader@1"), {
    results: { r1: { status: 200n }, r2: { status: 200n }, r3: { status: 200n, followup_status: 201n } },
  });
  assert.deepEqual(queuedUrls(w), [URL_A, URL_A, URL_A, "https://audit.example.com/log/r3"]);
  assert.deepEqual(w.plans().map((p) => `${p.plan}:${p.status}`), [
    "demo/fetch_plan@1:ok",
    "demo/fetch_plan@1:ok",
    "demo/fetch_plan@2:ok",
  ]);
  await w.assertReplay();
});

Deno.test("ladder 06 safe-upgrade: a v1 instance in flight at apply finishes as v1", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), {
    respond: { "http.request": () => ({ status: "ok", payload: httpReceipt(200), hold: true }) },
  });
  await w.send("demo/FetchRequested@1", { request_id: "r1", url: URL_A });
  await w.runToIdle();
  const http = w.fakes.get("http.request")!;
  assert.equal(http.held().length, 1);
  const { proposal } = await w.propose(await v2());
  await w.shadow(proposal.id);
  await w.approve(proposal.id);
  assert.equal((await w.apply(proposal.id)).state, "applied");
  http.releaseAll();
  await w.runToIdle();
  // The receipt reaches the v1 instance, which raises FetchDone and ends: no follow-up.
  assert.deepEqual(w.state("demo/Upgrader@1"), { results: { r1: { status: 200n } } });
  assert.deepEqual(w.plans().map((p) => `${p.plan}:${p.status}`), ["demo/fetch_plan@1:ok"]);
  assert.deepEqual(queuedUrls(w), [URL_A]);
  await w.assertReplay();
});

Deno.test("ladder 06 safe-upgrade: a rejected proposal changes nothing", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), api);
  const before = w.world.defs.manifestHash;
  const { proposal } = await w.propose(await v2());
  await w.shadow(proposal.id);
  assert.equal((await w.reject(proposal.id, "lead", "not now")).state, "rejected");
  await assert.rejects(
    () => w.apply(proposal.id),
    (error: { code?: string }) => error.code === "AOS_PROPOSAL_REFUSED",
  );
  assert.equal(w.world.defs.manifestHash, before);
  await w.send("demo/FetchRequested@1", { request_id: "r1", url: URL_A });
  await w.runToIdle();
  assert.deepEqual(queuedUrls(w), [URL_A]);
  await w.assertReplay();
});
