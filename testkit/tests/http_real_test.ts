/**
 * Real HTTP through the whole runtime: the fetch-notify world with the real adapters against a local
 * `Deno.serve` on 127.0.0.1 (never any other address).
 */
import assert from "node:assert/strict";
import { createWorldAdapters } from "../../adapters/mod.ts";
import { decodeCanonical } from "../../air/mod.ts";
import { FsCas } from "../../journal/mod.ts";
import { type AdapterDirectory, VirtualClock } from "../../kernel/mod.ts";
import { initWorld, readAirFolder, readWasmFolders } from "../../world/mod.ts";
import { verifyWorld } from "../../world/mod.ts";
import { type FileWorld, World, worldPaths } from "../../world/mod.ts";
import { TEST_EPOCH_NS } from "../test_world.ts";

async function withFetchWorld(
  fn: (world: FileWorld, directory: AdapterDirectory, requests: string[], port: number) => Promise<void>,
  options: { bytesBudget?: number } = {},
) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("idempotency-key") ?? ""}`);
    const path = new URL(req.url).pathname;
    if (path === "/sixteen") return new Response("0123456789abcdef");
    return path === "/missing" ? new Response("no", { status: 404 }) : new Response("hello");
  });
  const dir = await Deno.makeTempDir({ prefix: "aos-http-" });
  const example = new URL("../../examples/fetch-notify", import.meta.url).pathname;
  const clock = new VirtualClock(TEST_EPOCH_NS);
  const air = (await readAirFolder(`${example}/air`)).map((file) =>
    options.bytesBudget === undefined ? file : {
      ...file,
      // The example grants 1 MiB; a test may grant less.
      text: file.text.replace('"budget": {"bytes": 1048576}', `"budget": {"bytes": ${options.bytesBudget}}`),
    }
  );
  assert.ok(
    options.bytesBudget === undefined || air.some((f) => f.text.includes(`"bytes": ${options.bytesBudget}`)),
  );
  (await initWorld(
    dir,
    air,
    await readWasmFolders([`${example}/modules`]),
    { clock },
  ))
    .close();
  const world = await World.open(dir, { clock });
  const registry = await createWorldAdapters(dir, { clock, cas: new FsCas(worldPaths(dir).store) });
  const directory: AdapterDirectory = registry.directory();
  try {
    await fn(world, directory, requests, server.addr.port);
    world.close();
    assert.equal((await verifyWorld(dir)).ok, true);
  } finally {
    registry.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The result of each request, by request_id: the notifier keeps one cell per request. */
function results(world: World): Record<string, unknown> {
  return Object.fromEntries(
    world.kernel.cellsOf("demo/Notifier@1").map(({ key }) => [
      decodeCanonical(key!) as string,
      (world.stateJson("demo/Notifier@1", key) as { result: unknown }).result,
    ]),
  );
}

Deno.test("fetch-notify: a 200 from a local server is fetched once, with the intent hash as Idempotency-Key", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    const url = `http://127.0.0.1:${port}/hello`;
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url } }]);
    const run = await world.run(directory);
    assert.equal(run.idle, true);
    assert.equal(requests.length, 1);
    const queued = [...world.journal.entries()].find((e) => e.kind === "effect_queued")!;
    const hex = [...(queued.body.intent_hash as Uint8Array)].map((b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
    assert.equal(requests[0], `GET /hello ${hex}`);
    const r1 = (results(world) as { r1: { Succeeded?: { status: bigint } } }).r1;
    assert.equal(r1.Succeeded?.status, 200n);
  });
});

Deno.test("fetch-notify: a 404 takes the failure branch", async () => {
  await withFetchWorld(async (world, directory, _requests, port) => {
    const url = `http://127.0.0.1:${port}/missing`;
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url } }]);
    await world.run(directory);
    assert.deepEqual(results(world), { r1: { Failed: null } });
  });
});

Deno.test("fetch-notify: a host outside the grant is rejected at enqueue and no request is sent", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    // "localhost" is not in the grant's hosts (only 127.0.0.1), though it reaches the same server.
    const url = `http://localhost:${port}/hello`;
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url } }]);
    const run = await world.run(directory);
    assert.equal(run.dispatched, 0);
    assert.equal(requests.length, 0);
    const rejected = [...world.journal.entries()].find((e) => e.kind === "effect_rejected")!;
    assert.equal(rejected.body.stage, "constraint");
    const ended = [...world.journal.entries()].find((e) => e.kind === "plan_ended")!;
    assert.equal((ended.body.error as { code: string }).code, "effect_denied");
    assert.deepEqual(results(world), { r1: { Pending: null } });
  });
});

Deno.test("fetch-notify: after a crash between effect_queued and its receipt, the same intent is dispatched again", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    const url = `http://127.0.0.1:${port}/hello`;
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url } }]);
    // The process "dies" here: the intent is journaled and fsynced, never dispatched.
    const pending = world.kernel.outbox().map((e) => e.intentHash);
    assert.equal(pending.length, 1);
    world.close();
    const reopened = await World.open(world.dir, { clock: new VirtualClock(TEST_EPOCH_NS + 1n) });
    try {
      assert.deepEqual(reopened.kernel.outbox().map((e) => e.intentHash), pending);
      await reopened.run(directory);
      assert.equal(requests.length, 1);
      assert.equal(reopened.kernel.outbox().length, 0);
      const receipts = [...reopened.journal.entries()].filter((e) => e.kind === "receipt_appended");
      assert.equal(receipts.length, 1);
      assert.deepEqual(receipts[0]!.body.intent_hash, pending[0]);
    } finally {
      reopened.close();
    }
  });
});

Deno.test("fetch-notify: response bodies exhaust the bytes budget mid-run; the next enqueue is denied and nothing is sent", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    // Given a grant of 20 bytes and two fetches of a 16-byte body
    const url = `http://127.0.0.1:${port}/sixteen`;
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url } }]);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r2", url } }]);
    // When the run sends both (neither reserves: a response's size is unknown until it arrives)
    const run = await world.run(directory);
    assert.equal(run.idle, true);
    assert.equal(requests.length, 2);
    // Then each receipt journals the body size the driver measured in the store, and the second overdraws
    const entries = [...world.journal.entries()];
    const receipts = entries.filter((e) => e.kind === "receipt_appended");
    assert.deepEqual(receipts.map((r) => Number(r.body.body_size)), [16, 16]);
    const exceeded = entries.filter((e) => e.kind === "budget_exceeded");
    assert.equal(exceeded.length, 1);
    assert.deepEqual(
      {
        ...exceeded[0]!.body,
        delta: Number(exceeded[0]!.body.delta),
        new_balance: Number(exceeded[0]!.body.new_balance),
      },
      { grant_name: "http_local", dimension: "bytes", delta: 16, new_balance: -12 },
    );
    assert.equal(entries[entries.indexOf(exceeded[0]!) - 1]!.kind, "receipt_appended");
    assert.deepEqual(world.kernel.budgets(), [
      { grant: "http_local", dimension: "bytes", limit: 20n, spent: 32n, reserved: 0n, exhausted: true },
    ]);
    // When one more fetch is asked for
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r3", url } }]);
    const again = await world.run(directory);
    // Then it is denied at enqueue, naming the grant and the numbers, and no request is sent
    assert.equal(again.dispatched, 0);
    assert.equal(requests.length, 2);
    const rejected = [...world.journal.entries()].filter((e) => e.kind === "effect_rejected");
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.body.stage, "budget");
    assert.equal(rejected[0]!.body.reason, 'grant "http_local" is exhausted: bytes spent 32 of limit 20');
    assert.deepEqual((results(world) as { r3: unknown }).r3, { Pending: null });
  }, { bytesBudget: 20 });
});
