/**
 * World rollback (KERNEL §8.6): `rollback {to_height, snapshot_hash, generation}` restores a snapshot as a
 * journaled input; receipts of the abandoned branch are ignored, replay reproduces it, and the abandoned
 * entries stay in the journal.
 */
import assert from "node:assert/strict";
import { decodeCanonical, encodeTyped, SchemaIndex, toHex } from "../../air/mod.ts";
import { AdapterKey, signReceipt } from "../../adapters/mod.ts";
import type { OutboxEntry, Receipt } from "../../kernel/mod.ts";
import { World, worldPaths } from "../../world/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { httpReceipt } from "./_receipts.ts";
import { TestWorld } from "../test_world.ts";

const EXTERNAL = AdapterKey.fromSeed(new Uint8Array(32).fill(42));

function okReceipt(intent: OutboxEntry): Receipt {
  const payload = encodeTyped({ ref: "sys/HttpRequestReceipt@1" }, httpReceipt(200), new SchemaIndex([]));
  return signReceipt(
    { intentHash: intent.intentHash, adapterId: "ext-http", status: "ok", payload, fence: intent.fence },
    EXTERNAL,
  );
}

const directory = {
  publicKeyOf: (id: string) => (id === "ext-http" ? EXTERNAL.publicKey : undefined),
  kindsOf: (id: string) => (id === "ext-http" ? ["http.request"] : undefined),
};

Deno.test("rollback restores a snapshot; receipts of the abandoned branch are ignored; replay reproduces it", async () => {
  // Given a fetch-notify world with a snapshot taken before a plan queued an http intent
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"));
  const keys = worldPaths(world.dir).keys;
  await Deno.mkdir(keys, { recursive: true });
  await Deno.writeTextFile(`${keys}/ext-http.pub`, toHex(EXTERNAL.publicKey) + "\n");
  const snapshot = await world.world.snapshot();
  const before = world.world.kernel.snapshot();
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  const [abandoned] = world.world.kernel.outbox();
  assert.ok(abandoned, "the plan queued an http intent");
  assert.equal(abandoned.fence.generation, 0n);
  const abandonedHeight = world.world.height;

  // When the world is rolled back to the snapshot
  const report = await world.world.rollback(snapshot.height);

  // Then the rollback is journaled with the next generation, and the state is the snapshot's
  assert.equal(report.seq, abandonedHeight);
  assert.equal(report.generation, 1n);
  assert.deepEqual(report.abandoned, { from: snapshot.height + 1, to: abandonedHeight - 1 });
  const [entry] = world.journal(report.seq);
  assert.equal(entry?.kind, "rollback");
  assert.deepEqual(
    { to: Number(entry?.body.to_height), generation: Number(entry?.body.generation) },
    { to: snapshot.height, generation: 1 },
  );
  assert.equal(world.world.kernel.generation, 1n);
  assert.equal(world.world.kernel.outbox().length, 0);
  assert.equal(world.world.kernel.plans().length, 0);
  assert.equal(world.world.kernel.height, report.seq + 1);
  const part = (bytes: Uint8Array, key: string) =>
    (decodeCanonical(bytes) as { [key: string]: unknown })[key];
  for (const key of ["reducers", "plans", "outbox", "budgets", "governance", "manifest_hash"]) {
    assert.deepEqual(
      part(world.world.kernel.snapshot(), key),
      part(before, key),
      `${key} are the snapshot's`,
    );
  }
  // And the abandoned entries stay in the journal for audit
  assert.ok(world.kinds(snapshot.height).includes("plan_started"));

  // And a receipt for the abandoned intent is ignored as unknown
  const late = await world.world.admitReceipts([okReceipt(abandoned)], directory);
  assert.equal(late.outcomes[0]?.ignored, "unknown_intent");
  assert.equal(world.journal().at(-1)?.kind, "receipt_ignored");

  // When the same plan runs again, its intent carries the new generation: the old receipt is fenced off
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  const [again] = world.world.kernel.outbox();
  assert.ok(again);
  assert.equal(again.fence.generation, 1n);
  assert.equal(toHex(again.intentHash), toHex(abandoned.intentHash), "the same intent is queued again");
  const fenced = await world.world.admitReceipts([okReceipt(abandoned)], directory);
  assert.equal(fenced.outcomes[0]?.ignored, "fence_mismatch");
  const accepted = await world.world.admitReceipts([okReceipt(again)], directory);
  assert.equal(accepted.outcomes[0]?.ignored, undefined);
  assert.equal(world.world.kernel.outbox().length, 0);

  // Then replay from genesis (and a reopen from snapshot + tail) reproduces the world exactly
  await world.assertReplay();
  // And a snapshot after the rollback carries the new generation and reopens
  await world.world.snapshot();
  await world.assertReplay();
  const reopened = await World.open(world.dir, { clock: world.clock });
  try {
    assert.equal(reopened.kernel.generation, 1n);
    assert.deepEqual(reopened.kernel.snapshot(), world.world.kernel.snapshot());
  } finally {
    reopened.close();
  }
});

Deno.test("rollback refuses a height that is not a snapshot, listing the snapshot heights", async () => {
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"));
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  await assert.rejects(world.world.rollback(1), /no snapshot \(take one with "aos snapshot"\)/);
  const snapshot = await world.world.snapshot();
  const height = world.world.height;
  await assert.rejects(
    world.world.rollback(1),
    new RegExp(`not a snapshot height; snapshots are at heights ${snapshot.height}$`),
  );
  assert.equal(world.world.height, height, "nothing was journaled");
});
