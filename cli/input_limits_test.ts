/**
 * Issue 13: inputs `aos` must refuse at submission (size, encoding, batch limits) leaving nothing queued,
 * and failures that must end cleanly (one error line, the right exit code).
 *
 * @module
 */
import assert from "node:assert/strict";
import { limits } from "../air/mod.ts";
import { encodeReceiptFile } from "../world/mod.ts";
import { aos, expectAos, hashTree, withTempDir } from "./_test_helpers.ts";

async function fetchNotifyWorld(root: string): Promise<string> {
  const world = `${root}/w`;
  await expectAos(0, root, "init", world, "--template", "fetch-notify");
  return world;
}

Deno.test("aos event send: an event too large to journal exits 2, queues nothing, and step still works", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const before = await hashTree(`${world}/.aos`);
    const url = "x".repeat(limits.journalEntrySizeBytesMax);
    await Deno.writeTextFile(
      `${root}/big.jsonl`,
      JSON.stringify({ schema: "demo/Configure@1", value: { url } }) + "\n",
    );
    const run = await expectAos(2, world, "event", "send", "--file", `${root}/big.jsonl`);
    assert.match(run.stderr, /^error\[AOS_INPUT_TOO_LARGE\]: .*journalEntrySizeBytesMax/);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
    const step = await aos(world, "step", "--json");
    assert.equal(step.code, 0, step.stderr);
  });
});

Deno.test("aos receipts submit: a receipt too large to journal exits 2 and leaves nothing in .aos/receipts/", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const before = await hashTree(`${world}/.aos`);
    const receipt = encodeReceiptFile({
      intentHash: new Uint8Array(32),
      adapterId: "aos-http",
      status: "ok",
      payload: new Uint8Array(limits.journalEntrySizeBytesMax),
      fence: { generation: 0n, height: 0n },
      signature: new Uint8Array(64),
    });
    await Deno.writeFile(`${root}/big.cbor`, receipt);
    const run = await expectAos(2, world, "receipts", "submit", `${root}/big.cbor`);
    assert.match(run.stderr, /^error\[AOS_INPUT_TOO_LARGE\]: /);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
  });
});

Deno.test("aos receipts submit: a refused receipt (intent hash not 32 bytes) exits 2 and queues no file", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const before = await hashTree(`${world}/.aos`);
    const receipt = encodeReceiptFile({
      intentHash: new Uint8Array(31),
      adapterId: "aos-http",
      status: "ok",
      payload: new Uint8Array(4),
      fence: { generation: 0n, height: 0n },
      signature: new Uint8Array(64),
    });
    await Deno.writeFile(`${root}/short.cbor`, receipt);
    const run = await expectAos(2, world, "receipts", "submit", `${root}/short.cbor`);
    assert.match(run.stderr, /^error\[AOS_CBOR_INVALID\]: .*intent_hash/);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
  });
});
