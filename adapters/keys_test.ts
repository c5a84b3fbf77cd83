import assert from "node:assert/strict";
import { AosError, fromHex, toHex } from "../air/mod.ts";
import type { UnsignedReceipt } from "../kernel/mod.ts";
import { AdapterKey, adapterKeyPaths, loadOrCreateKey, signReceipt } from "./keys.ts";
import { verifyReceiptSignature as verifyReceipt } from "../kernel/mod.ts";

const unsigned: UnsignedReceipt = {
  intentHash: new Uint8Array(32).fill(7),
  adapterId: "aos-test",
  status: "ok",
  payload: new Uint8Array([0xa0]),
  costCents: 3n,
  fence: { generation: 1n, height: 42n },
};

Deno.test("verifyReceipt() accepts a signed receipt and rejects a flipped signature byte", () => {
  const key = AdapterKey.generate();
  const receipt = signReceipt(unsigned, key);
  assert.equal(receipt.signature.length, 64);
  assert.equal(verifyReceipt(receipt, key.publicKey), true);
  for (const index of [0, 31, 63]) {
    const forged = receipt.signature.slice();
    forged[index]! ^= 0x01;
    assert.equal(verifyReceipt({ ...receipt, signature: forged }, key.publicKey), false, `byte ${index}`);
  }
});

Deno.test("verifyReceipt() rejects a changed field, another key and malformed keys", () => {
  const key = AdapterKey.generate();
  const receipt = signReceipt(unsigned, key);
  assert.equal(verifyReceipt({ ...receipt, status: "error" }, key.publicKey), false);
  assert.equal(verifyReceipt({ ...receipt, costCents: 4n }, key.publicKey), false);
  const { costCents: _, ...withoutCost } = receipt;
  assert.equal(verifyReceipt(withoutCost, key.publicKey), false);
  assert.equal(verifyReceipt({ ...receipt, fence: { generation: 2n, height: 42n } }, key.publicKey), false);
  assert.equal(verifyReceipt({ ...receipt, payload: new Uint8Array([0xa1]) }, key.publicKey), false);
  assert.equal(verifyReceipt(receipt, AdapterKey.generate().publicKey), false);
  assert.equal(verifyReceipt(receipt, key.publicKey.subarray(0, 31)), false);
  assert.equal(verifyReceipt({ ...receipt, signature: receipt.signature.subarray(1) }, key.publicKey), false);
  assert.equal(verifyReceipt({ ...receipt, costCents: -1n }, key.publicKey), false);
});

Deno.test("AdapterKey.fromSeed() matches RFC 8032 test vector 1", () => {
  const key = AdapterKey.fromSeed(
    fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
  );
  assert.equal(toHex(key.publicKey), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  assert.equal(
    toHex(key.sign(new Uint8Array())),
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
  assert.throws(() => AdapterKey.fromSeed(new Uint8Array(31)), RangeError);
});

Deno.test("AdapterKey.fromPem() round-trips and rejects a non-Ed25519 key with AOS_USAGE", () => {
  const key = AdapterKey.generate();
  assert.deepEqual(AdapterKey.fromPem(key.toPem()).publicKey, key.publicKey);
  assert.throws(
    () => AdapterKey.fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    (error: unknown) => error instanceof AosError && error.code === "AOS_USAGE",
  );
});

Deno.test("loadOrCreateKey() persists the key with mode 0600 and reloads the same public key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const created = await loadOrCreateKey(dir, "aos-http");
    const paths = adapterKeyPaths(dir, "aos-http");
    assert.equal(paths.key, `${dir}/.aos/keys/aos-http.key`);
    const pem = await Deno.readTextFile(paths.key);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(paths.key)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(paths.pub), `${toHex(created.publicKey)}\n`);

    const reloaded = await loadOrCreateKey(dir, "aos-http");
    assert.deepEqual(reloaded.publicKey, created.publicKey);
    assert.equal(await Deno.readTextFile(paths.key), pem, "an existing key is never rewritten");
    const receipt = signReceipt(unsigned, reloaded);
    assert.equal(verifyReceipt(receipt, created.publicKey), true);

    await Deno.writeTextFile(paths.pub, "stale\n");
    await loadOrCreateKey(dir, "aos-http");
    assert.equal(await Deno.readTextFile(paths.pub), `${toHex(created.publicKey)}\n`, ".pub is derived data");

    const other = await loadOrCreateKey(dir, "aos-timer");
    assert.notDeepEqual(other.publicKey, created.publicKey);
    const leftovers = [...Deno.readDirSync(paths.dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
    assert.deepEqual(leftovers, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateKey() racing creators end with one key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKey(dir, "aos-llm")));
    for (const key of keys) assert.deepEqual(key.publicKey, keys[0]!.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("adapterKeyPaths() rejects an id that is not a safe file name", () => {
  for (const id of ["", "../x", "a/b", "A", ".hidden", "x".repeat(65)]) {
    assert.throws(() => adapterKeyPaths("/w", id), TypeError, id);
  }
});

Deno.test("loadOrCreateKey() names a damaged key file in its error", async () => {
  const world = await Deno.makeTempDir({ prefix: "aos_keys_" });
  try {
    const paths = adapterKeyPaths(world, "aos-http");
    await loadOrCreateKey(world, "aos-http");
    await Deno.writeTextFile(paths.key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    await assert.rejects(loadOrCreateKey(world, "aos-http"), (error: unknown) => {
      assert.ok(error instanceof AosError);
      assert.match(
        error.message,
        new RegExp(`^Invalid adapter key file "${paths.key}": Invalid adapter key`),
      );
      return true;
    });
  } finally {
    await Deno.remove(world, { recursive: true });
  }
});
