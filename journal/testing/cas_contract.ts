/**
 * The behaviour every `Cas` implementation must show, as a suite of `Deno.test` cases.
 *
 * @module
 */
import assert from "node:assert/strict";
import { AosError, type HashRef, hashRefOf } from "../../air/mod.ts";
import type { Cas, CasSpace } from "../cas.ts";

/** A CAS under test and how to dispose of it. */
export interface CasHarness {
  cas: Cas;
  cleanup(): Promise<void>;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AosError, `expected an AosError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/**
 * Registers the behaviour every `Cas` implementation must show as `Deno.test` cases named `<name>: …`.
 * `factory` is called once per test and must return an empty store.
 */
export function runCasContract(name: string, factory: () => Promise<CasHarness>): void {
  const test = (title: string, body: (cas: Cas) => Promise<void>) => {
    Deno.test(`${name}: ${title}`, async () => {
      const { cas, cleanup } = await factory();
      try {
        await body(cas);
      } finally {
        await cleanup();
      }
    });
  };
  const bytes = new TextEncoder().encode("hello, world");

  test("put() returns the sha256 reference and get() returns the same bytes", async (cas) => {
    const ref = await cas.put("blobs", bytes);
    assert.equal(ref, hashRefOf(bytes));
    assert.deepEqual(await cas.get("blobs", ref), bytes);
    assert.equal(await cas.has("blobs", ref), true);
  });

  test("sizeOf() is the stored object's length, undefined when absent or in the other space", async (cas) => {
    const ref = await cas.put("blobs", bytes);
    assert.equal(cas.sizeOf("blobs", ref), bytes.length);
    assert.equal(cas.sizeOf("nodes", ref), undefined);
    assert.equal(cas.sizeOf("blobs", hashRefOf(new Uint8Array([1]))), undefined);
    assert.equal(cas.sizeOf("blobs", await cas.put("blobs", new Uint8Array())), 0);
  });

  test("put() is idempotent", async (cas) => {
    const first = await cas.put("nodes", bytes);
    const second = await cas.put("nodes", bytes.slice());
    assert.equal(second, first);
    assert.deepEqual(await cas.get("nodes", first), bytes);
  });

  test("get() of an absent object throws AOS_CAS_MISSING and has() is false", async (cas) => {
    const ref = hashRefOf(new Uint8Array([0xde, 0xad]));
    assert.equal(await cas.has("blobs", ref), false);
    await rejectsWithCode(cas.get("blobs", ref), "AOS_CAS_MISSING");
  });

  test("spaces are separate", async (cas) => {
    const ref = await cas.put("nodes", bytes);
    assert.equal(await cas.has("blobs", ref), false);
    await rejectsWithCode(cas.get("blobs", ref), "AOS_CAS_MISSING");
  });

  test("stored bytes do not change when the caller mutates its buffers", async (cas) => {
    const input = bytes.slice();
    const ref = await cas.put("blobs", input);
    input[0] = 0;
    const output = await cas.get("blobs", ref);
    output[1] = 0;
    assert.deepEqual(await cas.get("blobs", ref), bytes);
  });

  test("the empty object can be stored", async (cas) => {
    const ref = await cas.put("blobs", new Uint8Array());
    assert.equal(ref, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.deepEqual(await cas.get("blobs", ref), new Uint8Array());
  });

  test("list() gives every reference of a space, sorted", async (cas) => {
    assert.deepEqual(await cas.list("blobs"), []);
    const refs = [await cas.put("blobs", bytes), await cas.put("blobs", new Uint8Array([9]))].sort();
    await cas.put("nodes", new Uint8Array([8]));
    assert.deepEqual(await cas.list("blobs"), refs);
    assert.equal((await cas.list("nodes")).length, 1);
  });

  test("malformed hash references and spaces are rejected with TypeError", async (cas) => {
    await assert.rejects(async () => await cas.get("blobs", "sha256:../../etc/passwd"), TypeError);
    await assert.rejects(async () => await cas.has("nodes", "sha256:ABC" as HashRef), TypeError);
    await assert.rejects(async () => await cas.put("other" as CasSpace, bytes), TypeError);
  });
}
