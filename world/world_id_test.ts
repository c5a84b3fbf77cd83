/**
 * Defect 10d of issue 13: two worlds made from one template derived the same idempotency keys (and so the
 * same intent hashes) for the same effects, so an adapter or a remote service deduplicating on them could
 * answer one world with the other's result. Each world now draws a random id at creation (from an injected
 * source), journals it in genesis and mixes it into every idempotency key; replay stays deterministic.
 */
import assert from "node:assert/strict";
import { bytesEqual, toHex } from "../air/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { idempotencyKey } from "../kernel/effect_manager.ts";
import { ROOT_DIR, T0_NS, tempDir } from "../kernel/_test_fixtures.ts";
import { initWorld, readAirFolder, readWasmFolders } from "./init_world.ts";
import { verifyWorld } from "./verify.ts";
import { World, WORLD_ID_BYTES } from "./world.ts";

/** Creates a fetch-notify world in `dir`, sends one notification, and returns its queued intent. */
async function notifyingWorld(
  dir: string,
  options: { worldId?: Uint8Array | null; random?: (n: number) => Uint8Array },
) {
  const example = `${ROOT_DIR}/examples/fetch-notify`;
  const air = await readAirFolder(`${example}/air`);
  const wasm = await readWasmFolders([`${example}/modules`]);
  const clock = new VirtualClock(T0_NS);
  const world = await initWorld(dir, air, wasm, { clock, ...options });
  try {
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r1", url: "http://127.0.0.1:9/x" } }]);
    const [intent] = world.kernel.outbox();
    assert.ok(intent);
    const [genesis] = [...world.journal.entries()];
    assert.ok(genesis);
    return { intent, genesis, worldId: world.kernel.worldId };
  } finally {
    world.close();
  }
}

Deno.test("two worlds from one template draw different ids, so their idempotency keys and intent hashes differ", async () => {
  await using tmp = await tempDir();
  const a = await notifyingWorld(`${tmp.path}/a`, {});
  const b = await notifyingWorld(`${tmp.path}/b`, {});
  assert.equal(a.worldId?.length, WORLD_ID_BYTES);
  assert.ok(!bytesEqual(a.worldId!, b.worldId!));
  assert.deepEqual(a.genesis.body.world_id, a.worldId);
  assert.notEqual(toHex(a.intent.idempotencyKey), toHex(b.intent.idempotencyKey));
  assert.notEqual(toHex(a.intent.intentHash), toHex(b.intent.intentHash));
  // Same origin (same plan, instance and step): only the world id tells them apart.
  assert.deepEqual(a.intent.origin, b.intent.origin);
  assert.deepEqual(a.intent.idempotencyKey, idempotencyKey(a.intent.origin, a.worldId));
  for (const dir of ["a", "b"]) assert.equal((await verifyWorld(`${tmp.path}/${dir}`)).ok, true);
});

Deno.test("the world id comes from the injected random source; null keeps the keys of worlds without one", async () => {
  await using tmp = await tempDir();
  const drawn: number[] = [];
  const seeded = (n: number) => {
    drawn.push(n);
    return new Uint8Array(n).fill(0x5a);
  };
  const one = await notifyingWorld(`${tmp.path}/one`, { random: seeded });
  const two = await notifyingWorld(`${tmp.path}/two`, { random: seeded });
  assert.deepEqual(drawn, [WORLD_ID_BYTES, WORLD_ID_BYTES]);
  assert.deepEqual(one.worldId, new Uint8Array(WORLD_ID_BYTES).fill(0x5a));
  assert.deepEqual(one.intent.intentHash, two.intent.intentHash); // same id: same keys, deterministically
  const legacy = await notifyingWorld(`${tmp.path}/legacy`, { worldId: null });
  assert.equal(legacy.worldId, undefined);
  assert.equal("world_id" in legacy.genesis.body, false);
  assert.deepEqual(legacy.intent.idempotencyKey, idempotencyKey(legacy.intent.origin));
  assert.notDeepEqual(legacy.intent.idempotencyKey, one.intent.idempotencyKey);
});

Deno.test("the world id survives snapshots and reopening: keys after a restore still mix it in, replay verifies", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/w`;
  const worldId = new Uint8Array(WORLD_ID_BYTES).fill(3);
  await notifyingWorld(dir, { worldId });
  const clock = new VirtualClock(T0_NS + 1_000n);
  let world = await World.open(dir, { clock });
  try {
    await world.snapshot();
  } finally {
    world.close();
  }
  world = await World.open(dir, { clock });
  try {
    assert.deepEqual(world.kernel.worldId, worldId);
    await world.send([{ schema: "demo/Notify@1", value: { request_id: "r2", url: "http://127.0.0.1:9/x" } }]);
    const latest = world.kernel.outbox().at(-1)!;
    assert.deepEqual(latest.idempotencyKey, idempotencyKey(latest.origin, worldId));
  } finally {
    world.close();
  }
  const verified = await verifyWorld(dir);
  assert.equal(verified.ok, true, JSON.stringify(verified.error));
});
