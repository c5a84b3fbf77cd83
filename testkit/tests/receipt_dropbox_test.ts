/**
 * Receipts delivered from outside the process (`.aos/receipts/`, `aos receipts submit`) are admitted by
 * `aos step` with every admission check.
 */
import assert from "node:assert/strict";
import { bytesToHashRef, encodeTyped, SchemaIndex, toHex } from "../../air/mod.ts";
import { AdapterKey, createWorldAdapters, loadOrCreateKey, signReceipt } from "../../adapters/mod.ts";
import { FsCas } from "../../journal/mod.ts";
import { type Receipt, VirtualClock } from "../../kernel/mod.ts";
import { worldPaths } from "../../world/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { httpReceipt } from "./_receipts.ts";
import { TestWorld } from "../test_world.ts";
import { aos } from "../../cli/_test_helpers.ts";

const EXTERNAL = AdapterKey.fromSeed(new Uint8Array(32).fill(42));

/** A fetch-notify world with one http intent queued, and the external adapter's key registered. */
async function waitingWorld(): Promise<TestWorld> {
  const world = await TestWorld.create(await exampleWorld("fetch-notify"));
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  const keys = worldPaths(world.dir).keys;
  await Deno.mkdir(keys, { recursive: true });
  await Deno.writeTextFile(`${keys}/ext-http.pub`, toHex(EXTERNAL.publicKey) + "\n");
  await Deno.writeTextFile(`${keys}/ext-http.kinds`, "http.request\n");
  return world;
}

function receiptFor(world: TestWorld, adapterId: string, key: AdapterKey): Receipt {
  const [intent] = world.world.kernel.outbox();
  assert.ok(intent);
  const payload = encodeTyped({ ref: "sys/HttpRequestReceipt@1" }, httpReceipt(200), new SchemaIndex([]));
  return signReceipt(
    { intentHash: intent.intentHash, adapterId, status: "ok", payload, fence: intent.fence },
    key,
  );
}

Deno.test("step() admits a receipt from the drop box and the waiting plan continues", async () => {
  await using world = await waitingWorld();
  await world.world.receiptInbox.add(receiptFor(world, "ext-http", EXTERNAL));
  const report = await world.world.step();
  assert.deepEqual(report.entries.map((e) => e.kind), ["receipt_appended", "domain_event", "plan_ended"]);
  assert.equal(world.world.kernel.outbox().length, 0);
  assert.deepEqual((await world.world.receiptInbox.list()).length, 0);
  await world.assertReplay();
});

Deno.test("step() ignores a drop-box receipt from an unregistered adapter or with a forged signature", async () => {
  await using world = await waitingWorld();
  await world.world.receiptInbox.add(
    receiptFor(world, "stranger", AdapterKey.fromSeed(new Uint8Array(32).fill(7))),
  );
  await world.world.receiptInbox.add(
    receiptFor(world, "ext-http", AdapterKey.fromSeed(new Uint8Array(32).fill(8))),
  );
  await Deno.writeFile(`${worldPaths(world.dir).receipts}/000000000099.cbor`, new Uint8Array([0xff]));
  await world.world.step();
  const ignored = world.journal().filter((e) => e.kind === "receipt_ignored").map((e) => e.body.reason);
  assert.deepEqual(ignored, ["unknown_adapter", "bad_signature", "malformed"]);
  assert.equal(world.world.kernel.outbox().length, 1);
  await world.assertReplay();
});

Deno.test("aos receipts submit queues a JSON receipt and aos step admits it", async () => {
  await using world = await waitingWorld();
  const r = receiptFor(world, "ext-http", EXTERNAL);
  const file = `${world.dir}/receipt.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      intent_hash: bytesToHashRef(r.intentHash),
      adapter_id: r.adapterId,
      status: r.status,
      payload: toHex(r.payload),
      fence: { generation: 0, height: Number(r.fence.height) },
      signature: toHex(r.signature),
    }),
  );
  world.world.close(); // the CLI opens the world itself, as another process would: release it first
  const submit = await aos(world.dir, "receipts", "submit", "receipt.json");
  assert.equal(submit.code, 0, submit.stderr);
  const step = await aos(world.dir, "step", "--json");
  assert.equal(step.code, 0, step.stderr);
  assert.deepEqual(
    (JSON.parse(step.stdout) as { entries: Array<{ kind: string }> }).entries.map((e) => e.kind),
    ["receipt_appended", "domain_event", "plan_ended"],
  );
  const bad = await aos(world.dir, "receipts", "submit", "receipt.json", "--world", ".");
  assert.equal(bad.code, 0); // queued again: admitted as a duplicate later, never twice
  const again = await aos(world.dir, "step", "--json");
  assert.deepEqual(
    (JSON.parse(again.stdout) as { entries: Array<{ kind: string }> }).entries.map((e) => e.kind),
    [
      "receipt_ignored",
    ],
  );
});

Deno.test("a key settles only the effect kinds it was registered for: others are receipt_ignored kind_not_allowed", async () => {
  await using world = await waitingWorld();
  const keys = worldPaths(world.dir).keys;
  // An external timer adapter's key (drop box), and a key registered with no kinds file at all.
  const timerKey = AdapterKey.fromSeed(new Uint8Array(32).fill(5));
  await Deno.writeTextFile(`${keys}/ext-timer.pub`, toHex(timerKey.publicKey) + "\n");
  await Deno.writeTextFile(`${keys}/ext-timer.kinds`, "# what this key may settle\ntimer.set\n");
  const bare = AdapterKey.fromSeed(new Uint8Array(32).fill(6));
  await Deno.writeTextFile(`${keys}/ext-bare.pub`, toHex(bare.publicKey) + "\n");
  await world.world.receiptInbox.add(receiptFor(world, "ext-timer", timerKey));
  await world.world.receiptInbox.add(receiptFor(world, "ext-bare", bare));
  await world.world.step();
  let ignored = world.journal().filter((e) => e.kind === "receipt_ignored").map((e) => e.body.reason);
  assert.deepEqual(ignored, ["kind_not_allowed", "kind_not_allowed"]);
  assert.equal(world.world.kernel.outbox().length, 1);

  // In process: the world's own aos-timer key cannot settle the http.request intent; aos-http can.
  const registry = await createWorldAdapters(world.dir, {
    clock: new VirtualClock(0n),
    cas: new FsCas(worldPaths(world.dir).store),
  });
  try {
    assert.deepEqual(registry.kindsOf("aos-timer"), ["timer.set"]);
    assert.deepEqual(registry.kindsOf("aos-blob"), ["blob.get", "blob.put"]);
    assert.equal(await Deno.readTextFile(`${keys}/aos-http.kinds`), "http.request\n");
    const timer = await loadOrCreateKey(world.dir, "aos-timer");
    const fromTimer = receiptFor(world, "aos-timer", timer);
    assert.equal(registry.verify(fromTimer), true);
    assert.equal(registry.verify(fromTimer, "http.request"), false);
    const report = await world.world.admitReceipts([fromTimer], registry.directory());
    assert.deepEqual(report.outcomes.map((o) => o.ignored), ["kind_not_allowed"]);
    const http = await loadOrCreateKey(world.dir, "aos-http");
    const admitted = await world.world.admitReceipts(
      [receiptFor(world, "aos-http", http)],
      registry.directory(),
    );
    assert.deepEqual(admitted.outcomes.map((o) => o.ignored), [undefined]);
  } finally {
    registry.close();
  }
  ignored = world.journal().filter((e) => e.kind === "receipt_ignored").map((e) => e.body.reason);
  assert.deepEqual(ignored, ["kind_not_allowed", "kind_not_allowed", "kind_not_allowed"]);
  assert.equal(world.world.kernel.outbox().length, 0);
  await world.assertReplay();
});
