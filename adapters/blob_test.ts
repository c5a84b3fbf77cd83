import assert from "node:assert/strict";
import { hashRefOf, hashRefToBytes, type Value } from "../air/mod.ts";
import { type Cas, FsCas, MemoryCas } from "../journal/mod.ts";
import { BlobGetAdapter, BlobPutAdapter } from "./blob.ts";
import { type BlobNamespaces, FsBlobNamespaces, MemoryBlobNamespaces } from "./blob_namespaces.ts";
import { AdapterKey } from "./keys.ts";
import { checkReceipt, integer, makeIntent } from "./_test_support.ts";

const text = (value: string): Value => ({ kind: "text", value });
const key = AdapterKey.generate();

interface Setup {
  cas: Cas;
  namespaces: BlobNamespaces;
  close(): Promise<void>;
}

const setups: Array<[string, () => Promise<Setup>]> = [
  ["on disk", async () => {
    const dir = await Deno.makeTempDir();
    return {
      cas: new FsCas(`${dir}/.aos/store`),
      namespaces: new FsBlobNamespaces(`${dir}/.aos/blob_ns`),
      close: () => Deno.remove(dir, { recursive: true }),
    };
  }],
  [
    "in memory",
    () =>
      Promise.resolve({
        cas: new MemoryCas(),
        namespaces: new MemoryBlobNamespaces(),
        close: () => Promise.resolve(),
      }),
  ],
];

for (const [name, setup] of setups) {
  Deno.test(`blob.put publishes a CAS blob and blob.get resolves it (${name})`, async () => {
    const { cas, namespaces, close } = await setup();
    try {
      const put = new BlobPutAdapter({ key, cas, namespaces });
      const get = new BlobGetAdapter({ key, cas, namespaces });
      const bytes = new TextEncoder().encode("hello blob");
      const ref = await cas.put("blobs", bytes);

      const putIntent = makeIntent("blob.put", {
        namespace: text("docs/../x"),
        blob_ref: { kind: "hash", value: hashRefToBytes(ref) },
      });
      const putReceipt = await put.execute(putIntent);
      assert.equal(putReceipt.status, "ok");
      assert.equal(putReceipt.adapterId, "aos-blob");
      const putPayload = checkReceipt(putIntent, putReceipt, key.publicKey)!;
      assert.deepEqual(putPayload.get("blob_ref"), { kind: "hash", value: hashRefToBytes(ref) });
      assert.equal(integer(putPayload.get("size")), BigInt(bytes.length));
      assert.equal(await namespaces.has("docs/../x", ref), true);

      const getIntent = makeIntent("blob.get", { namespace: text("docs/../x"), key: text(ref) });
      const getPayload = checkReceipt(getIntent, await get.execute(getIntent), key.publicKey)!;
      assert.deepEqual(getPayload.get("blob_ref"), { kind: "hash", value: hashRefToBytes(ref) });
      assert.equal(integer(getPayload.get("size")), BigInt(bytes.length));

      const again = makeIntent("blob.put", {
        namespace: text("docs/../x"),
        blob_ref: { kind: "hash", value: hashRefToBytes(ref) },
      }, {
        idempotencySeed: 1,
      });
      assert.equal((await put.execute(again)).status, "ok", "publishing twice is fine");
    } finally {
      await close();
    }
  });

  Deno.test(`blob.put of a missing blob and blob.get of an unpublished key are errors (${name})`, async () => {
    const { cas, namespaces, close } = await setup();
    try {
      const put = new BlobPutAdapter({ key, cas, namespaces });
      const get = new BlobGetAdapter({ key, cas, namespaces });
      const absent = hashRefOf(new TextEncoder().encode("never stored"));
      const stored = await cas.put("blobs", new TextEncoder().encode("stored, not published"));
      const published = await cas.put("blobs", new TextEncoder().encode("published elsewhere"));
      await namespaces.publish("elsewhere", published);

      const cases = [
        makeIntent("blob.put", {
          namespace: text("docs"),
          blob_ref: { kind: "hash", value: hashRefToBytes(absent) },
        }),
        makeIntent("blob.put", {
          namespace: text(""),
          blob_ref: { kind: "hash", value: hashRefToBytes(stored) },
        }),
        makeIntent("blob.get", { namespace: text("docs"), key: text(stored) }),
        makeIntent("blob.get", { namespace: text("docs"), key: text(published) }),
        makeIntent("blob.get", { namespace: text("docs"), key: text("report.pdf") }),
        makeIntent("blob.get", { namespace: text("x".repeat(121)), key: text(stored) }),
      ];
      for (const intent of cases) {
        const adapter = intent.kind === "blob.put" ? put : get;
        const receipt = await adapter.execute(intent);
        assert.equal(receipt.status, "error");
        checkReceipt(intent, receipt, key.publicKey);
      }
      assert.equal(await namespaces.has("docs", absent), false);
    } finally {
      await close();
    }
  });
}

Deno.test("FsBlobNamespaces keeps any namespace text inside its root", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const namespaces = new FsBlobNamespaces(dir);
    const ref = hashRefOf(new Uint8Array([1]));
    for (const namespace of ["..", "a/b", "/etc", "é"]) {
      const path = namespaces.pathOf(namespace, ref);
      assert.ok(path.startsWith(`${dir}/`) && path.split("/").length === dir.split("/").length + 2, path);
      await namespaces.publish(namespace, ref);
      assert.equal(await namespaces.has(namespace, ref), true);
    }
    assert.equal(await namespaces.has("a", ref), false);
    assert.throws(() => namespaces.pathOf("", ref), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
