import assert from "node:assert/strict";
import { AosError } from "../air/mod.ts";
import { FsCas, MemoryCas } from "./cas.ts";
import { runCasContract } from "./testing/mod.ts";

runCasContract(
  "MemoryCas",
  () => Promise.resolve({ cas: new MemoryCas(), cleanup: () => Promise.resolve() }),
);

runCasContract("FsCas", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_cas_" });
  return { cas: new FsCas(`${root}/.aos/store`), cleanup: () => Deno.remove(root, { recursive: true }) };
});

async function withStore(body: (cas: FsCas, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "aos_cas_" });
  try {
    await body(new FsCas(`${root}/store`), `${root}/store`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const bytes = new TextEncoder().encode("a node");

Deno.test("FsCas stores objects at <root>/<space>/sha256/<hex> and leaves no temp files", async () => {
  await withStore(async (cas, root) => {
    const ref = await cas.put("nodes", bytes);
    const hex = ref.slice("sha256:".length);
    assert.equal(cas.pathOf("nodes", ref), `${root}/nodes/sha256/${hex}`);
    assert.deepEqual(await Deno.readFile(`${root}/nodes/sha256/${hex}`), bytes);
    const names = [];
    for await (const item of Deno.readDir(`${root}/nodes/sha256`)) names.push(item.name);
    assert.deepEqual(names, [hex]);
  });
});

Deno.test("FsCas.get() detects a flipped byte on disk with AOS_CAS_CORRUPT", async () => {
  await withStore(async (cas) => {
    const ref = await cas.put("blobs", bytes);
    const path = cas.pathOf("blobs", ref);
    const stored = await Deno.readFile(path);
    stored[2]! ^= 0x01;
    await Deno.writeFile(path, stored);
    await assert.rejects(cas.get("blobs", ref), (error: unknown) => {
      assert.ok(error instanceof AosError);
      assert.equal(error.code, "AOS_CAS_CORRUPT");
      assert.equal(error.context.file, path);
      return true;
    });
  });
});

Deno.test("FsCas.put() of an existing object does not rewrite the file", async () => {
  await withStore(async (cas) => {
    const ref = await cas.put("blobs", bytes);
    const path = cas.pathOf("blobs", ref);
    // A corrupted object stays corrupted: put() never repairs silently, and get() keeps reporting it.
    const stored = await Deno.readFile(path);
    stored[0]! ^= 0xff;
    await Deno.writeFile(path, stored);
    const before = await Deno.stat(path);
    assert.equal(await cas.put("blobs", bytes), ref);
    const after = await Deno.stat(path);
    assert.equal(after.ino, before.ino);
    assert.deepEqual(await Deno.readFile(path), stored);
    await assert.rejects(
      cas.get("blobs", ref),
      (error: unknown) => error instanceof AosError && error.code === "AOS_CAS_CORRUPT",
    );
  });
});

Deno.test("FsCas.get() of a missing object names the file in AOS_CAS_MISSING", async () => {
  await withStore(async (cas) => {
    const ref = "sha256:0000000000000000000000000000000000000000000000000000000000000000" as const;
    await assert.rejects(cas.get("nodes", ref), (error: unknown) => {
      assert.ok(error instanceof AosError);
      assert.equal(error.code, "AOS_CAS_MISSING");
      assert.equal(error.context.file, cas.pathOf("nodes", ref));
      return true;
    });
  });
});
