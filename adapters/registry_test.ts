import assert from "node:assert/strict";
import { hashRefToBytes, type Value } from "../air/mod.ts";
import { FsCas } from "../journal/mod.ts";
import { type Receipt, VirtualClock } from "../kernel/mod.ts";
import { FakeAdapter } from "./fake_adapter.ts";
import { AdapterKey } from "./keys.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";
import { AdapterRegistry, createWorldAdapters } from "./registry.ts";
import { VirtualTimerScheduler } from "./timer_scheduler.ts";
import { checkReceipt, integer, makeIntent, record } from "./_test_support.ts";

const nat = (value: bigint): Value => ({ kind: "nat", value });

Deno.test("createWorldAdapters() registers every kind with keys that persist across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cas = new FsCas(`${dir}/.aos/store`);
    const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
    const first = await createWorldAdapters(dir, { clock: scheduler.clock, cas, scheduler });
    assert.deepEqual(first.kinds(), ["blob.get", "blob.put", "http.request", "llm.generate", "timer.set"]);
    assert.deepEqual(first.publicKeys().map(([id]) => id), ["aos-blob", "aos-http", "aos-llm", "aos-timer"]);

    const intent = makeIntent("timer.set", { deliver_at_ns: nat(50n) });
    const pending = first.get("timer.set")!.execute(intent);
    scheduler.runNext();
    const receipt = await pending;
    assert.equal(first.verify(receipt), true);
    checkReceipt(intent, receipt, first.publicKey("aos-timer")!);
    first.close();

    const second = await createWorldAdapters(dir, { clock: new VirtualClock(), cas });
    assert.deepEqual(second.publicKeys(), first.publicKeys());
    assert.equal(second.verify(receipt), true, "a restarted world still accepts the receipt");
    assert.equal(second.verify({ ...receipt, adapterId: "aos-blob" }), false);
    assert.equal(second.verify({ ...receipt, adapterId: "unknown" }), false);

    const blob = await cas.put("blobs", new TextEncoder().encode("published"));
    const put = makeIntent("blob.put", {
      namespace: { kind: "text", value: "n" },
      blob_ref: { kind: "hash", value: hashRefToBytes(blob) },
    });
    const putReceipt = await second.get("blob.put")!.execute(put);
    assert.equal(putReceipt.status, "ok");
    checkReceipt(put, putReceipt, second.publicKey("aos-blob")!);
    const get = makeIntent("blob.get", {
      namespace: { kind: "text", value: "n" },
      key: { kind: "text", value: blob },
    });
    const third = await createWorldAdapters(dir, { clock: new VirtualClock(), cas });
    const getReceipt = await third.get("blob.get")!.execute(get);
    assert.equal(getReceipt.status, "ok", "namespaces live in .aos/blob_ns");
    checkReceipt(get, getReceipt, third.publicKey("aos-blob")!);
    second.close();
    third.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AdapterRegistry refuses a second adapter for a kind and one id with two keys", () => {
  const key = AdapterKey.generate();
  const registry = new AdapterRegistry([new FakeAdapter({ kind: "timer.set", key, adapterId: "shared" })]);
  assert.throws(() => registry.register(new FakeAdapter({ kind: "timer.set", key })), TypeError);
  assert.throws(
    () =>
      registry.register(
        new FakeAdapter({ kind: "blob.put", key: AdapterKey.generate(), adapterId: "shared" }),
      ),
    TypeError,
  );
  registry.register(new FakeAdapter({ kind: "blob.put", key, adapterId: "shared" }));
  assert.deepEqual(registry.kinds(), ["blob.put", "timer.set"]);
  assert.equal(registry.get("http.request"), undefined);
});

Deno.test("FakeAdapter answers scripted ok, error and timeout receipts signed like real ones", async () => {
  const fake = new FakeAdapter({ kind: "timer.set", key: AdapterKey.fromSeed(new Uint8Array(32).fill(1)) });
  const [a, b, c, d] = [1n, 2n, 3n, 4n].map((at) =>
    makeIntent("timer.set", { deliver_at_ns: nat(at) }, { height: at })
  );
  fake.script(a!.intentHash, {
    status: "ok",
    payload: record({ delivered_at_ns: nat(7n), key: { kind: "none" } }),
    costCents: 5n,
  });
  fake.script(b!.intentHash, { status: "error" });
  fake.script(c!.intentHash, { status: "timeout" });
  const receipts = await Promise.all([a!, b!, c!, d!].map((intent) => fake.execute(intent)));
  assert.deepEqual(receipts.map((r) => r.status), ["ok", "error", "timeout", "ok"]);
  assert.equal(receipts[0]!.costCents, 5n);
  assert.equal(integer(checkReceipt(a!, receipts[0]!, fake.publicKey)!.get("delivered_at_ns")), 7n);
  assert.equal(
    integer(checkReceipt(d!, receipts[3]!, fake.publicKey)!.get("delivered_at_ns")),
    0n,
    "zero value",
  );
  checkReceipt(b!, receipts[1]!, fake.publicKey);
  checkReceipt(c!, receipts[2]!, fake.publicKey);
  assert.equal(fake.calls.length, 4);
  assert.equal(fake.adapterId, "fake-timer.set");
});

Deno.test("FakeAdapter delays on a virtual scheduler, holds, reorders and duplicates receipts", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
  const fake = new FakeAdapter({ kind: "blob.put", key: AdapterKey.generate(), scheduler });
  const intents = [1, 2, 3].map((n) =>
    makeIntent("blob.put", {
      namespace: { kind: "text", value: "n" },
      blob_ref: { kind: "hash", value: new Uint8Array(32).fill(n) },
    }, { height: BigInt(n) })
  );
  const [first, second, third] = intents as [typeof intents[0], typeof intents[0], typeof intents[0]];
  fake.script(first.intentHash, { status: "ok", delayNs: 100n, duplicates: 2 });
  fake.script(second.intentHash, { status: "ok", hold: true });
  fake.script(third.intentHash, { status: "error", hold: true });

  const arrived: bigint[] = [];
  const done = intents.map((intent) => fake.execute(intent).then((r) => (arrived.push(r.fence.height), r)));
  assert.deepEqual(fake.held(), [second.intentHash, third.intentHash]);
  assert.equal(scheduler.nextDueNs(), 100n);
  assert.equal(fake.releaseAll("reverse"), 2);
  await Promise.all(done.slice(1));
  assert.deepEqual(arrived, [3n, 2n], "reordered: the later intent's receipt first");
  scheduler.runNext();
  const receipts = await Promise.all(done);
  assert.deepEqual(arrived, [3n, 2n, 1n]);

  const duplicates = fake.takeDuplicates();
  assert.equal(duplicates.length, 2);
  assert.deepEqual(duplicates[0], receipts[0]);
  assert.deepEqual(fake.takeDuplicates(), []);
  for (const [i, receipt] of receipts.entries()) checkReceipt(intents[i]!, receipt, fake.publicKey);
});

Deno.test("FakeAdapter can corrupt a signature, echo a wrong fence or send raw payload bytes", async () => {
  const fake = new FakeAdapter({ kind: "timer.set", key: AdapterKey.generate() });
  const intent = makeIntent("timer.set", { deliver_at_ns: nat(1n) });
  fake.script(intent.intentHash, { status: "ok", corruptSignature: true })
    .script(intent.intentHash, { status: "ok", fence: { generation: 9n, height: 1n } })
    .script(intent.intentHash, { status: "ok", payload: new Uint8Array([0xff]) });
  const corrupt: Receipt = await fake.execute(intent);
  assert.equal(verifyReceiptSignature(corrupt, fake.publicKey), false);
  const fenced = await fake.execute(intent);
  assert.equal(verifyReceiptSignature(fenced, fake.publicKey), true);
  assert.deepEqual(fenced.fence, { generation: 9n, height: 1n });
  const raw = await fake.execute(intent);
  assert.equal(verifyReceiptSignature(raw, fake.publicKey), true);
  assert.deepEqual(raw.payload, new Uint8Array([0xff]));
  const fallback = await fake.execute(intent);
  assert.equal(fallback.status, "ok", "scripts used up: the default answer");
  checkReceipt(intent, fallback, fake.publicKey);
  assert.throws(
    () =>
      new FakeAdapter({ kind: "timer.set", key: AdapterKey.generate() }).script(intent.intentHash, {
        status: "ok",
        delayNs: 1n,
      }),
    TypeError,
  );
});
