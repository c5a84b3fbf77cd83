/**
 * The example ladder (`examples/ladder/NN-name/`) through the `aos` CLI: every rung's AIR passes
 * `aos air check`; rungs 00 and 03 run as real `aos` processes (`init --from`, `event send`, `step`, `run`,
 * `state get`), 03 against a local HTTP server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { aos, aosProcess, type Run, withTempDir } from "./_test_helpers.ts";

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
    "08-retry-backoff/air",
  ]);
  for (const dir of dirs) {
    const run = expectOk(await aos(LADDER, "air", "check", dir), `aos air check ${dir}`);
    assert.match(run.stdout, /^AIR OK: \d+ files in /, dir);
  }
});

Deno.test("ladder 00 as real aos processes: init --from, event send, step, state get", async () => {
  await withTempDir(async (root) => {
    expectOk(await aosProcess(root, "init", "world", "--from", `${LADDER}/00-counter`), "init");
    const world = `${root}/world`;
    const lines = [
      { schema: "demo/CounterStart@1", value: { target: 2 } },
      { schema: "demo/CounterTick@1", value: {} },
      { schema: "demo/CounterTick@1", value: {} },
    ].map((line) => JSON.stringify(line));
    await Deno.writeTextFile(`${world}/events.jsonl`, lines.join("\n") + "\n");
    expectOk(await aosProcess(world, "event", "send", "--file", "events.jsonl"), "event send");
    const step = JSON.parse(expectOk(await aosProcess(world, "step", "--json"), "step").stdout);
    assert.equal(step.admitted, 3);
    assert.deepEqual(step.reducer_errors, []);
    const state = expectOk(await aosProcess(world, "state", "get", "demo/Counter@1", "--json"), "state get");
    assert.deepEqual(JSON.parse(state.stdout), { pc: { Done: null }, remaining: 0 });
  });
});

Deno.test("ladder 03 as real aos processes: the plan fetches from a local server and the reducer records it", async () => {
  const body = "hello from 127.0.0.1";
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body),
  );
  await withTempDir(async (root) => {
    expectOk(await aosProcess(root, "init", "world", "--from", `${LADDER}/03-fetch-notify`), "init");
    const world = `${root}/world`;
    const url = `http://127.0.0.1:${server.addr.port}/hello`;
    const lines = [
      { schema: "demo/Configure@1", value: { url } },
      { schema: "demo/Notify@1", value: { request_id: "r1" } },
    ].map((line) => JSON.stringify(line));
    await Deno.writeTextFile(`${world}/events.jsonl`, lines.join("\n") + "\n");
    expectOk(await aosProcess(world, "event", "send", "--file", "events.jsonl"), "event send");
    const step = JSON.parse(expectOk(await aosProcess(world, "step", "--json"), "step").stdout);
    assert.equal(step.admitted, 2);
    const kinds = step.entries.map((e: { kind: string }) => e.kind);
    assert.deepEqual(kinds.slice(-4), ["domain_event", "plan_started", "policy_decision", "effect_queued"]);
    expectOk(await aosProcess(world, "run", "--timeout", "20s"), "run");
    const state = expectOk(await aosProcess(world, "state", "get", "demo/Notifier@1", "--json"), "state get");
    const bodyRef = `sha256:${await sha256Hex(new TextEncoder().encode(body))}`;
    assert.deepEqual(JSON.parse(state.stdout), {
      url,
      results: { r1: { Succeeded: { status: 200, body_ref: bodyRef } } },
    });
    expectOk(await aos(world, "replay", "--verify"), "replay --verify");
  });
});

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
