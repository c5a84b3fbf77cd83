/**
 * Governance scenarios (KERNEL §10): a world changes its own control plane only through propose → shadow →
 * approve → apply, every step journaled and replayed. A local `Deno.serve` on 127.0.0.1 counts requests:
 * shadow runs never reach it (no adapter is called; here the fake adapters answer after apply).
 */
import assert from "node:assert/strict";
import { AosError, encodeCanonical as cbor, hashRefToBytes, toHex } from "../../air/mod.ts";
import { readJournalDir } from "../../journal/mod.ts";
import { Kernel } from "../../kernel/mod.ts";
import { FileHeadStore, verifyWorld, World, worldPaths } from "../../world/mod.ts";
import {
  chain,
  e,
  grants,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  trigger,
  world as defineWorld,
  type WorldDefinition,
} from "../mod.ts";

const GO = "demo/Go@1";
const PING = "demo/Ping@1";
const PINGER = "demo/Pinger@1";
const FETCH = "demo/fetch@1";
const HTTP_OK = {
  status: 200,
  headers: {},
  body_ref: null,
  timings: { start_ns: 0, end_ns: 0 },
  adapter_id: "shadow",
};

const pingerWasm = scriptedReducer({
  rules: [{ when: { schema: PING }, then: { state: cbor({ count: 1 }) } }],
}).wasm;

/** A fetch plan on grant `api`, plus an unused timer grant; with `extended`, a Ping reducer and route. */
function fetchWorld(hosts: string[], options: { extended?: boolean; result?: string } = {}): WorldDefinition {
  const extended = options.extended === true;
  return defineWorld({
    schemas: [
      schema(GO, t.record({ url: t.text })),
      schema("demo/Out@1", t.record({ version: t.text })),
      ...(extended
        ? [schema(PING, t.record({ n: t.nat })), schema("demo/PingState@1", t.record({ count: t.nat }))]
        : []),
    ],
    reducers: extended ? [reducer(PINGER, { state: "demo/PingState@1", event: PING, wasm: pingerWasm })] : [],
    routing: extended ? [route(PING, PINGER)] : [],
    grants: [grants.http("api", hosts), grants.timer("unused")],
    plans: [plan(FETCH, {
      input: GO,
      output: "demo/Out@1",
      allowedEffects: ["http.request"],
      requiredCaps: ["api"],
      steps: [
        step.emit(
          "a_fetch",
          "http.request",
          "api",
          e.record({ method: e.text("GET"), url: e.ref("@plan.input.url"), headers: e.map() }),
          "req",
        ),
        step.awaitReceipt("b_wait", "req", "resp"),
        step.end("c_end", e.record({ version: e.text(options.result ?? "v1") })),
      ],
      edges: chain("a_fetch", "b_wait", "c_end"),
    })],
    triggers: [trigger(GO, FETCH)],
  });
}

/** Runs `fn` with the URL of a local server and a counter of the requests it got. */
async function withCountingServer(fn: (url: string, requests: () => number) => Promise<void>): Promise<void> {
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    count++;
    return new Response("hello");
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/hello`, () => count);
  } finally {
    await server.shutdown();
  }
}

async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AosError, String(error));
    assert.equal(error.code, "AOS_PROPOSAL_REFUSED");
    assert.match(error.message, pattern);
    return true;
  });
}

function statuses(test: TestWorld): string[] {
  return test.plans().map((p) => `#${p.id} ${p.status}`);
}

Deno.test("governance: a proposal widening a grant and adding a schema and route is shadowed without any request, then changes routing and grants only when applied", async () => {
  await withCountingServer(async (url, requests) => {
    await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
    const genesis = test.world.defs.manifestHash;
    // Given a world whose grant refuses the local host and that knows no Ping
    await test.send(GO, { url });
    assert.deepEqual(statuses(test), ["#1 error"]);
    await assert.rejects(test.send(PING, { n: 1 }), /AOS_SCHEMA_UNKNOWN|Unknown event schema/);

    // When an agent proposes the widened grant, a new schema, a new reducer and its route
    const { proposal } = await test.propose(
      fetchWorld(["api.example.com", "127.0.0.1"], { extended: true }),
      {
        author: "agent-7",
        description: "let fetch reach the local service; count pings",
      },
    );
    assert.equal(proposal.state, "submitted");
    assert.equal(proposal.author, "agent-7");
    const heightSubmitted = test.world.height;

    // And shadows it with seed events and a canned receipt that costs 7 cents
    const { report, proposal: shadowed } = await test.shadow(proposal.id, {
      events: [{ schema: GO, value: { url } }, { schema: PING, value: { n: 1 } }],
      receipts: [{ kind: "http.request", status: "ok", cost_cents: 7, payload: HTTP_OK }],
    });

    // Then the report predicts the effect and its cost, exactly the grants exercised, and the changes
    assert.equal(report.ok, true, report.errors.join("; "));
    assert.equal(shadowed.state, "shadowed");
    assert.deepEqual(
      report.predicted_effects.map((p) => [p.kind, p.cap, p.origin_kind, p.origin_name, p.estimated]),
      [["http.request", "api", "plan", FETCH, { cents: 7n }]],
    );
    assert.deepEqual(report.required_caps, ["api"]);
    assert.deepEqual(report.denials, []);
    assert.deepEqual(report.pending_receipts, []);
    assert.deepEqual(report.plan_results.map((p) => [p.plan, p.status, p.result]), [
      [FETCH, "ok", { version: "v1" }],
    ]);
    assert.deepEqual(report.state_diffs.map((d) => [d.reducer, d.before_hash, typeof d.after_hash]), [
      [PINGER, undefined, "string"],
    ]);
    assert.deepEqual(report.manifest_diff, [
      { kind: "defschema", name: PING, change: "added" },
      { kind: "defschema", name: "demo/PingState@1", change: "added" },
      { kind: "defmodule", name: PINGER, change: "added" },
      { kind: "manifest", name: "routing.events", change: "added" },
      { kind: "manifest", name: "defaults.cap_grants", change: "changed" },
    ]);
    assert.deepEqual(report.ledger_deltas.map((d) => [d.ledger, d.name, d.change]), [[
      "capability",
      "api",
      "changed",
    ]]);
    assert.deepEqual(report.budget_draws.map((d) => [d.grant, d.effects, d.cents]), [["api", 1n, 7n]]);
    assert.equal(report.harness.events, 2n);
    // And no request reached the server, no adapter was called, and nothing of the fork persisted
    assert.equal(requests(), 0);
    assert.equal(test.fakes.get("http.request")!.calls.length, 0);
    assert.equal(test.world.defs.manifestHash, genesis);
    assert.deepEqual(test.kinds(heightSubmitted), ["shadow_run_completed"]);
    assert.equal(test.world.kernel.reducerState(PINGER), null);

    // When the world sees the same traffic before apply, routing and grants are still the old ones
    await test.send(GO, { url });
    assert.deepEqual(statuses(test), ["#1 error", "#2 error"]);
    await assert.rejects(test.send(PING, { n: 1 }), /Unknown event schema/);

    // When it is approved and applied
    assert.equal((await test.approve(proposal.id, "bob", "looks right")).state, "approved");
    const applied = await test.apply(proposal.id);
    assert.equal(applied.state, "applied");
    assert.equal(test.world.defs.manifestHash, proposal.candidateManifestHash);
    const tail = test.journal(test.world.height - 2).map((entry) => entry.kind);
    assert.deepEqual(tail, ["apply_requested", "manifest_applied"]);

    // Then the widened grant admits the local host and the new route reaches the new reducer
    await test.send(GO, { url });
    await test.runToIdle();
    assert.deepEqual(statuses(test), ["#1 error", "#2 error", "#3 ok"]);
    await test.send(PING, { n: 1 });
    assert.deepEqual(test.state(PINGER), { count: 1n });
    assert.equal(requests(), 0); // the fake adapter answered
    await test.assertReplay();
  });
});

Deno.test("governance: a patch that does not validate is journaled and rejected at validation with every diagnostic", async () => {
  await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
  const base = test.world.defs.manifestHash;
  const height = test.world.height;
  // A stale pre_hash and a removal of a name the manifest does not list
  const { proposal, diagnostics } = await test.submitPatch({
    base_manifest_hash: base,
    patches: [
      { remove_def: { kind: "defschema", name: "demo/Nope@1", pre_hash: `sha256:${"0".repeat(64)}` } },
    ],
  });
  assert.equal(proposal.state, "rejected");
  assert.equal(proposal.rejection?.stage, "validation");
  assert.deepEqual(diagnostics.map((d) => d.code), ["AIR_PATCH_REF_MISSING"]);
  assert.match(proposal.rejection!.reasons[0]!, /AIR_PATCH_REF_MISSING/);
  assert.deepEqual(test.kinds(height), ["proposal_submitted", "proposal_rejected"]);

  // A document that is not a patch at all is journaled as given and rejected with its shape diagnostics
  const shape = await test.submitPatch({ base_manifest_hash: base, patches: [{ rename_def: {} }] });
  assert.equal(shape.proposal.state, "rejected");
  assert.deepEqual(shape.diagnostics.map((d) => d.code), ["AIR_PATCH_SHAPE"]);

  // A module that keeps its name but changes its state schema is rejected (bump the version instead)
  const extended = fetchWorld(["api.example.com"], { extended: true });
  const added = await test.propose(extended);
  await test.shadow(added.proposal.id);
  await test.approve(added.proposal.id);
  assert.equal((await test.apply(added.proposal.id)).state, "applied");
  const changed = await test.submitPatch({
    base_manifest_hash: test.world.defs.manifestHash,
    patches: [{
      replace_def: {
        kind: "defschema",
        name: "demo/PingState@1",
        new_node: schema("demo/PingState@1", t.record({ count: t.text })),
        pre_hash: test.world.defs.manifest.schemas.find((s) => s.name === "demo/PingState@1")!.hash!,
      },
    }],
  });
  assert.equal(changed.proposal.state, "rejected");
  assert.match(changed.proposal.rejection!.reasons[0]!, /keeps its name but changes its state schema/);

  // A rejected proposal takes no more commands, and refusing changes nothing
  const before = test.world.height;
  await refused(test.shadow(proposal.id), /rejected/);
  await refused(test.approve(proposal.id), /rejected/);
  assert.equal(test.world.height, before);
  await test.assertReplay();
});

Deno.test("governance: illegal transitions are refused and journal nothing; a rejection at approval is terminal", async () => {
  await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
  const target = fetchWorld(["api.example.com", "127.0.0.1"]);
  const { proposal } = await test.propose(target);
  const height = test.world.height;
  await refused(test.approve(proposal.id), /shadow it/);
  await refused(test.apply(proposal.id), /only an approved proposal/);
  await refused(test.apply(99n), /no proposal #99/);
  await refused(test.shadow(99n), /no proposal #99/);
  assert.equal(test.world.height, height);

  // A shadow run that is not ok is recorded, and blocks approval until a passing one replaces it
  const failing = await test.shadow(proposal.id, { events: [{ schema: "demo/Unknown@1", value: {} }] });
  assert.equal(failing.report.ok, false);
  assert.match(failing.report.errors[0]!, /harness event #0/);
  await refused(test.approve(proposal.id), /not ok/);
  assert.equal((await test.shadow(proposal.id)).report.ok, true);

  // Rejected at approval: journaled with the note as its reason, terminal
  const rejected = await test.reject(proposal.id, "carol", "not now");
  assert.equal(rejected.state, "rejected");
  assert.deepEqual(rejected.rejection, { stage: "approval", reasons: ["not now"] });
  assert.deepEqual(test.kinds(test.world.height - 2), ["approval_recorded", "proposal_rejected"]);
  const after = test.world.height;
  await refused(test.approve(proposal.id), /rejected/);
  await refused(test.apply(proposal.id), /rejected/);
  await refused(test.reject(proposal.id), /rejected/);
  assert.equal(test.world.height, after);
  await test.assertReplay();
});

Deno.test("governance: applying a proposal whose base is no longer in force is rejected at apply (stale base)", async () => {
  await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
  const first = await test.propose(fetchWorld(["api.example.com", "127.0.0.1"]));
  const second = await test.propose(fetchWorld(["api.example.com", "10.0.0.1"]));
  for (const { proposal } of [first, second]) {
    await test.shadow(proposal.id);
    await test.approve(proposal.id);
  }
  // Events queued in the inbox were validated against the manifest in force: they go in before it changes
  await test.world.enqueue([{ schema: GO, value: { url: "https://api.example.com/q" } }]);
  await refused(test.apply(first.proposal.id), /1 event wait in the inbox/);
  await test.world.step();
  assert.equal((await test.apply(first.proposal.id)).state, "applied");
  const stale = await test.apply(second.proposal.id);
  assert.equal(stale.state, "rejected");
  assert.deepEqual(stale.rejection, { stage: "apply", reasons: ["stale base"] });
  assert.deepEqual(test.kinds(test.world.height - 2), ["apply_requested", "proposal_rejected"]);
  assert.equal(test.world.defs.manifestHash, first.proposal.candidateManifestHash);
  await test.assertReplay();
});

Deno.test("governance: a plan started before apply finishes on its pinned manifest, also across a snapshot and reopen", async () => {
  await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
  const old = test.world.defs.manifestHash;
  // Given a plan instance waiting for its receipt (its intent not dispatched yet)
  await test.send(GO, { url: "https://api.example.com/a" });
  assert.deepEqual(statuses(test), ["#1 waiting"]);
  // When a proposal that changes the plan's result is applied
  const { proposal } = await test.propose(fetchWorld(["api.example.com"], { result: "v2" }));
  await test.shadow(proposal.id);
  await test.approve(proposal.id);
  assert.equal((await test.apply(proposal.id)).state, "applied");
  // Then the running instance keeps its manifest, pinned in snapshots, while new instances use the new one
  await test.world.snapshot();
  const snapshot = await test.world.cas.get("blobs", test.world.lastSnapshot!.hash);
  assert.deepEqual(
    Kernel.snapshotManifests(snapshot).pinned,
    [old],
  );
  await test.assertReplay(); // reopens from the snapshot: the pinned manifest is loaded again
  await test.send(GO, { url: "https://api.example.com/b" });
  assert.deepEqual(test.plans().map((p) => p.manifestHash), [old, proposal.candidateManifestHash]);
  await test.runToIdle();
  assert.deepEqual(statuses(test), ["#1 ok", "#2 ok"]);
  const results = test.plans().map((p) => toHex(p.result!));
  assert.deepEqual(results, [toHex(cbor({ version: "v1" })), toHex(cbor({ version: "v2" }))]);
  await test.assertReplay();
});

Deno.test("governance: a crash between apply_requested and manifest_applied is completed when the world reopens", async () => {
  await using test = await TestWorld.create(fetchWorld(["api.example.com"]));
  const { proposal } = await test.propose(fetchWorld(["api.example.com", "127.0.0.1"], { extended: true }));
  await test.shadow(proposal.id);
  await test.approve(proposal.id);
  await test.apply(proposal.id);
  const height = test.world.height;
  test.world.close();
  // Simulate the crash: the journal ends right after the input and the head lags (the block was not fsynced)
  const paths = worldPaths(test.dir);
  const { entries } = await readJournalDir(paths.journal);
  const applySeq = entries.findIndex((entry) => entry.kind === "apply_requested");
  assert.equal(entries[applySeq + 1]?.kind, "manifest_applied");
  await truncateAfter(paths.journal, entries[applySeq]!.bytes);
  await new FileHeadStore(paths.head).write({ height: applySeq, hash: entries[applySeq - 1]!.hash });

  const reopened = await World.open(test.dir, { clock: test.clock });
  try {
    assert.equal(reopened.height, height);
    assert.equal(reopened.defs.manifestHash, proposal.candidateManifestHash);
    assert.equal(reopened.kernel.proposal(proposal.id)?.state, "applied");
    const [last] = reopened.journal.entries(height - 1);
    assert.equal(last?.kind, "manifest_applied");
    assert.deepEqual(last?.body.manifest_hash, hashRefToBytes(proposal.candidateManifestHash!));
  } finally {
    reopened.close();
  }
  assert.equal((await verifyWorld(test.dir)).ok, true);
});

/** Cuts the last journal segment right after the frame holding `entryBytes`. */
async function truncateAfter(journalDir: string, entryBytes: Uint8Array): Promise<void> {
  const names = [...Deno.readDirSync(journalDir)].map((e) => e.name).filter((n) => n.endsWith(".log")).sort();
  const file = `${journalDir}/${names[names.length - 1]}`;
  const bytes = await Deno.readFile(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length;) {
    const size = view.getUint32(at, true);
    const end = at + 8 + size;
    if (toHex(bytes.subarray(at + 4, at + 4 + size)) === toHex(entryBytes)) {
      await Deno.writeFile(file, bytes.subarray(0, end));
      return;
    }
    at = end;
  }
  throw new Error("entry not found in the last segment");
}

Deno.test("governance: predicted costs come from max_tokens and the price table; an unanswered intent stays pending and its plan waits", async () => {
  const ask = (extraSchema: boolean) =>
    defineWorld({
      schemas: [
        schema("demo/Ask@1", t.record({ q: t.text })),
        ...(extraSchema ? [schema("demo/Note@1", t.text)] : []),
      ],
      grants: [{
        name: "llm",
        cap: "sys/llm.basic@1",
        params: { record: {} },
        budget: { tokens: 1_000n },
      }],
      plans: [plan("demo/ask@1", {
        input: "demo/Ask@1",
        allowedEffects: ["llm.generate"],
        requiredCaps: ["llm"],
        steps: [
          step.emit(
            "a_ask",
            "llm.generate",
            "llm",
            e.record({
              provider: e.text("mock"),
              model: e.text("m1"),
              temperature: { dec128: "0.5" },
              max_tokens: e.nat(500),
              input_ref: e.hash(`sha256:${"ab".repeat(32)}`),
            }),
            "req",
          ),
          step.awaitReceipt("b_wait", "req", "resp"),
        ],
        edges: chain("a_ask", "b_wait"),
      })],
      triggers: [trigger("demo/Ask@1", "demo/ask@1")],
    });
  await using test = await TestWorld.create(ask(false));
  const { proposal } = await test.propose(ask(true));
  const { report, reportHash } = await test.shadow(
    proposal.id,
    { events: [{ schema: "demo/Ask@1", value: { q: "why?" } }] },
    { config: { prices: { "llm.generate": { perEffectCents: 1, per1kTokensCents: 6 } } } },
  );
  assert.equal(report.ok, true, report.errors.join("; "));
  assert.deepEqual(report.predicted_effects.map((p) => p.estimated), [{ tokens: 500n, cents: 4n }]);
  assert.deepEqual(report.pending_receipts.map((p) => [p.kind, p.origin_name, p.instance_id]), [
    ["llm.generate", "demo/ask@1", 1n],
  ]);
  assert.deepEqual(report.plan_results.map((p) => [p.plan, p.status]), [["demo/ask@1", "waiting"]]);
  assert.deepEqual(report.budget_draws, [{
    grant: "llm",
    effects: 1n,
    tokens: 500n,
    bytes: 0n,
    cents: 4n,
    limits: { tokens: 1_000n },
  }]);
  // The same world, proposal and harness give the same report, byte for byte
  const again = await test.shadow(
    proposal.id,
    { events: [{ schema: "demo/Ask@1", value: { q: "why?" } }] },
    { config: { prices: { "llm.generate": { perEffectCents: 1, per1kTokensCents: 6 } } } },
  );
  assert.equal(again.reportHash, reportHash);
  assert.equal(test.world.kernel.proposal(proposal.id)?.reportHash, reportHash);
  assert.deepEqual(test.plans(), []);
  await test.assertReplay();
});

Deno.test({
  name: "governance: a budget raised by a proposal replenishes an exhausted grant",
  async fn() {
    const limited = (cents: bigint) =>
      defineWorld({
        schemas: [schema(GO, t.record({ url: t.text }))],
        grants: [{ ...grants.http("api", ["api.example.com"]), budget: { cents } }],
        plans: [plan(FETCH, {
          input: GO,
          allowedEffects: ["http.request"],
          requiredCaps: ["api"],
          steps: [
            step.emit(
              "a_fetch",
              "http.request",
              "api",
              e.record({ method: e.text("GET"), url: e.ref("@plan.input.url"), headers: e.map() }),
              "req",
            ),
          ],
        })],
        triggers: [trigger(GO, FETCH)],
      });
    await using test = await TestWorld.create(limited(5n), {
      respond: { "http.request": () => ({ status: "ok", costCents: 6n }) },
    });
    await test.send(GO, { url: "https://api.example.com/1" });
    await test.runToIdle();
    await test.send(GO, { url: "https://api.example.com/2" }); // the grant is exhausted: denied at budget
    assert.equal(test.kinds().filter((k) => k === "effect_rejected").length, 1);
    const { proposal } = await test.propose(limited(50n));
    await test.shadow(proposal.id);
    await test.approve(proposal.id);
    await test.apply(proposal.id);
    await test.send(GO, { url: "https://api.example.com/3" }); // replenished: queued again
    assert.equal(test.kinds().filter((k) => k === "effect_queued").length, 2);
    await test.assertReplay();
  },
});
