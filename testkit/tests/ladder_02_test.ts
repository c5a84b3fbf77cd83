/**
 * Ladder rung 02 (`examples/ladder/02-blob-echo`): a reducer's blob round trip, `blob.put` then `blob.get`,
 * through the REAL blob adapters on the test world's CAS (namespaces in memory), so the ref and size that
 * come back are the blob's own.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hashRefOf } from "../../air/mod.ts";
import { AdapterKey, BlobGetAdapter, BlobPutAdapter, MemoryBlobNamespaces } from "../../adapters/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TestWorld, type TestWorldOptions } from "../test_world.ts";

const RUNG = "ladder/02-blob-echo";
const TEXT = new TextEncoder();

/** The real blob adapters on the world's CAS, with a fixed key. */
function realBlobs(): TestWorldOptions {
  const namespaces = new MemoryBlobNamespaces();
  const key = AdapterKey.fromSeed(new Uint8Array(32).fill(42));
  return {
    adapters: ({ cas }) => [
      new BlobPutAdapter({ key, cas, namespaces }),
      new BlobGetAdapter({ key, cas, namespaces }),
    ],
  };
}

Deno.test("ladder 02 blob-echo: put then get through the real adapters returns the same blob", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), realBlobs());
  const bytes = TEXT.encode("hello, blob world");
  const ref = await w.world.cas.put("blobs", bytes);
  await w.send("demo/Echo@1", { namespace: "echo", blob_ref: ref });
  assert.deepEqual(w.state("demo/BlobEcho@1"), { stage: "putting", blob_ref: ref, namespace: "echo" });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/BlobEcho@1"), {
    stage: "done",
    blob_ref: ref,
    namespace: "echo",
    echoed_ref: ref,
    echoed_size: BigInt(bytes.length),
    stored_size: BigInt(bytes.length),
  });
  assert.deepEqual(orderOf(w.journal()), [
    "genesis",
    "domain_event:demo/Echo@1",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:sys/BlobPutResult@1",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:sys/BlobGetResult@1",
  ]);
  const receipts = w.journal().filter((x) => x.kind === "receipt_appended");
  assert.deepEqual(receipts.map((x) => x.body.adapter_id), ["aos-blob", "aos-blob"]);
  await w.assertReplay();
});

Deno.test("ladder 02 blob-echo: a blob missing from the CAS fails at put", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), realBlobs());
  const missing = hashRefOf(TEXT.encode("never stored"));
  await w.send("demo/Echo@1", { namespace: "echo", blob_ref: missing });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/BlobEcho@1"), { stage: "failed", blob_ref: missing, namespace: "echo" });
  assert.equal(w.journal().find((x) => x.kind === "receipt_appended")?.body.status, "error");
  // A new echo may start once the last one ended.
  const ref = await w.world.cas.put("blobs", TEXT.encode("second try"));
  await w.send("demo/Echo@1", { namespace: "echo", blob_ref: ref });
  await w.runToIdle();
  assert.equal((w.state("demo/BlobEcho@1") as { stage: string }).stage, "done");
  await w.assertReplay();
});
