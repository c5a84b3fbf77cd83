/**
 * The example ladder (`examples/ladder/NN-name/`) through the `aos` CLI: every rung's AIR passes
 * `aos air check`; rungs 00 and 03 run through `aos` (`init --from`, `event send`, `step`, `run`, `state get`),
 * 03 against a local HTTP server; rung 06 upgrades through `aos proposal`. In process (`runCli`, as every
 * `aos` command test but the few in `cli_test.ts`, `kill_test.ts` and `concurrency_test.ts` that need a
 * process of their own).
 *
 * @module
 */
import assert from "node:assert/strict";
import { aos, type Run, withTempDir } from "./_test_helpers.ts";

const LADDER = decodeURIComponent(new URL("../examples/ladder", import.meta.url).pathname);

/** The AIR folders of every rung (`air`, and `air.v2` where a rung has one), sorted. */
function ladderAirDirs(): string[] {
  const dirs: string[] = [];
  for (const rung of Deno.readDirSync(LADDER)) {
    if (!rung.isDirectory) continue;
    for (const entry of Deno.readDirSync(`${LADDER}/${rung.name}`)) {
      if (entry.isDirectory && /^air(\.v\d+)?$/.test(entry.name)) dirs.push(`${rung.name}/${entry.name}`);
    }
  }
  return dirs.sort();
}

function expectOk(run: Run, what: string): Run {
  assert.equal(run.code, 0, `${what} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

Deno.test("ladder: every rung's AIR passes aos air check", async () => {
  const dirs = ladderAirDirs();
  assert.deepEqual(dirs, [
    "00-counter/air",
    "01-hello-timer/air",
    "02-blob-echo/air",
    "03-fetch-notify/air",
    "04-aggregator/air",
    "05-chain-comp/air",
    "06-safe-upgrade/air",
    "06-safe-upgrade/air.v2",
    "07-llm-summarizer/air",
    "08-retry-backoff/air",
  ]);
  for (const dir of dirs) {
    const run = expectOk(await aos(LADDER, "air", "check", dir), `aos air check ${dir}`);
    assert.match(run.stdout, /^AIR OK: \d+ files in /, dir);
  }
});

Deno.test("ladder 00 through aos: init --from, event send, step, state get", async () => {
  await withTempDir(async (root) => {
    expectOk(await aos(root, "init", "world", "--from", `${LADDER}/00-counter`), "init");
    const world = `${root}/world`;
    const lines = [
      { schema: "demo/CounterStart@1", value: { target: 2 } },
      { schema: "demo/CounterTick@1", value: {} },
      { schema: "demo/CounterTick@1", value: {} },
    ].map((line) => JSON.stringify(line));
    await Deno.writeTextFile(`${world}/events.jsonl`, lines.join("\n") + "\n");
    expectOk(await aos(world, "event", "send", "--file", "events.jsonl"), "event send");
    const step = JSON.parse(expectOk(await aos(world, "step", "--json"), "step").stdout);
    assert.equal(step.admitted, 3);
    assert.deepEqual(step.reducer_errors, []);
    const state = expectOk(await aos(world, "state", "get", "demo/Counter@1", "--json"), "state get");
    assert.deepEqual(JSON.parse(state.stdout), { pc: { Done: null }, remaining: 0 });
  });
});

Deno.test("ladder 03 through aos: the plan fetches from a local server and the reducer records it", async () => {
  const body = "hello from 127.0.0.1";
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body),
  );
  await withTempDir(async (root) => {
    expectOk(await aos(root, "init", "world", "--from", `${LADDER}/03-fetch-notify`), "init");
    const world = `${root}/world`;
    const url = `http://127.0.0.1:${server.addr.port}/hello`;
    const lines = [
      { schema: "demo/Configure@1", value: { url } },
      { schema: "demo/Notify@1", value: { request_id: "r1" } },
    ].map((line) => JSON.stringify(line));
    await Deno.writeTextFile(`${world}/events.jsonl`, lines.join("\n") + "\n");
    expectOk(await aos(world, "event", "send", "--file", "events.jsonl"), "event send");
    const step = JSON.parse(expectOk(await aos(world, "step", "--json"), "step").stdout);
    assert.equal(step.admitted, 2);
    const kinds = step.entries.map((e: { kind: string }) => e.kind);
    assert.deepEqual(kinds.slice(-4), ["domain_event", "plan_started", "policy_decision", "effect_queued"]);
    expectOk(await aos(world, "run", "--timeout", "20s"), "run");
    const state = expectOk(await aos(world, "state", "get", "demo/Notifier@1", "--json"), "state get");
    const bodyRef = `sha256:${await sha256Hex(new TextEncoder().encode(body))}`;
    assert.deepEqual(JSON.parse(state.stdout), {
      url,
      results: { r1: { Succeeded: { status: 200, body_ref: bodyRef } } },
    });
    expectOk(await aos(world, "replay", "--verify"), "replay --verify");
  });
});

Deno.test("ladder 06 through aos: proposal submit --air air.v2, shadow, approve, apply", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("ok"),
  );
  const url = `http://127.0.0.1:${server.addr.port}/a`;
  const rung = `${LADDER}/06-safe-upgrade`;
  await withTempDir(async (root) => {
    expectOk(await aos(root, "init", "world", "--from", rung), "init");
    const world = `${root}/world`;
    const fetch = (id: string) => JSON.stringify({ request_id: id, url });
    expectOk(await aos(world, "event", "send", "demo/FetchRequested@1", fetch("r1")), "event send");
    expectOk(await aos(world, "run", "--timeout", "20s"), "run");
    const v1 = expectOk(await aos(world, "state", "get", "demo/Upgrader@1", "--json"), "state get");
    assert.deepEqual(JSON.parse(v1.stdout), { results: { r1: { status: 200 } } });

    const submit = expectOk(
      await aos(world, "proposal", "submit", "--air", `${rung}/air.v2`, "--author", "ops", "--json"),
      "proposal submit",
    );
    const id = String(JSON.parse(submit.stdout).id);
    const receipt = (status: number) => ({
      kind: "http.request",
      status: "ok",
      payload: {
        status,
        headers: {},
        body_ref: null,
        timings: { start_ns: 0, end_ns: 0 },
        adapter_id: "shadow",
      },
    });
    await Deno.writeTextFile(
      `${root}/harness.json`,
      JSON.stringify({
        events: [{ schema: "demo/FetchRequested@1", value: { request_id: "s1", url } }],
        receipts: [receipt(200), receipt(201)],
      }),
    );
    const shadow = expectOk(
      await aos(world, "proposal", "shadow", id, "--harness", `${root}/harness.json`, "--json"),
      "proposal shadow",
    );
    const report = JSON.parse(shadow.stdout);
    assert.equal(report.ok, true, shadow.stdout);
    assert.deepEqual(report.required_caps, ["http_followup", "http_primary"]);
    assert.deepEqual(report.predicted_effects.map((e: { cap: string }) => e.cap), [
      "http_primary",
      "http_followup",
    ]);
    expectOk(await aos(world, "proposal", "approve", id, "--approver", "lead"), "proposal approve");
    const applied = expectOk(await aos(world, "proposal", "apply", id, "--json"), "proposal apply");
    assert.equal(JSON.parse(applied.stdout).state, "applied");

    // After apply a request starts v2's plan (not run here: its follow-up goes to a host off this machine).
    expectOk(await aos(world, "event", "send", "demo/FetchRequested@1", fetch("r2")), "event send");
    expectOk(await aos(world, "step"), "step");
    const plans = JSON.parse(expectOk(await aos(world, "plan", "ls", "--json"), "plan ls").stdout);
    assert.deepEqual(plans.map((p: { plan: string; status: string }) => `${p.plan}:${p.status}`), [
      "demo/fetch_plan@1:ok",
      "demo/fetch_plan@2:waiting",
    ]);
  });
});

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
