/**
 * Real HTTP through the whole runtime: the fetch-notify world with the real adapters against a local
 * `Deno.serve` on 127.0.0.1 (never any other address).
 */
import assert from "node:assert/strict";
import { createWorldAdapters } from "../../adapters/mod.ts";
import { FsCas } from "../../journal/mod.ts";
import { type AdapterDirectory, VirtualClock } from "../../kernel/mod.ts";
import { initWorld, readAirFolder, readWasmFolders } from "../../world/mod.ts";
import { verifyWorld } from "../../world/mod.ts";
import { type FileWorld, World, worldPaths } from "../../world/mod.ts";
import { TEST_EPOCH_NS } from "../test_world.ts";

async function withFetchWorld(
  fn: (world: FileWorld, directory: AdapterDirectory, requests: string[], port: number) => Promise<void>,
) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("idempotency-key") ?? ""}`);
    return new URL(req.url).pathname === "/missing"
      ? new Response("no", { status: 404 })
      : new Response("hello");
  });
  const dir = await Deno.makeTempDir({ prefix: "aos-http-" });
  const example = new URL("../../examples/fetch-notify", import.meta.url).pathname;
  const clock = new VirtualClock(TEST_EPOCH_NS);
  (await initWorld(
    dir,
    await readAirFolder(`${example}/air`),
    await readWasmFolders([`${example}/modules`]),
    { clock },
  ))
    .close();
  const world = await World.open(dir, { clock });
  const registry = await createWorldAdapters(dir, { clock, cas: new FsCas(worldPaths(dir).store) });
  const directory: AdapterDirectory = {
    adapterFor: (k) => registry.get(k),
    publicKeyOf: (id) => registry.publicKey(id),
  };
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

function results(world: World): unknown {
  return (world.stateJson("demo/Notifier@1") as { results: unknown }).results;
}

Deno.test("fetch-notify: a 200 from a local server is fetched once, with the intent hash as Idempotency-Key", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    await world.send([{ schema: "demo/Configure@1", value: { url: `http://127.0.0.1:${port}/hello` } }]);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1" } }]);
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
    await world.send([{ schema: "demo/Configure@1", value: { url: `http://127.0.0.1:${port}/missing` } }]);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1" } }]);
    await world.run(directory);
    assert.deepEqual(results(world), { r1: { Failed: null } });
  });
});

Deno.test("fetch-notify: a host outside the grant is rejected at enqueue and no request is sent", async () => {
  await withFetchWorld(async (world, directory, requests, port) => {
    // "localhost" is not in the grant's hosts (only 127.0.0.1), though it reaches the same server.
    await world.send([{ schema: "demo/Configure@1", value: { url: `http://localhost:${port}/hello` } }]);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1" } }]);
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
    await world.send([{ schema: "demo/Configure@1", value: { url: `http://127.0.0.1:${port}/hello` } }]);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1" } }]);
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
