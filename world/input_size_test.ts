import assert from "node:assert/strict";
import { limits } from "../air/mod.ts";
import { withLimits, withTestLimits } from "../journal/testing/mod.ts";
import { hasCode, tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld } from "./_test_fixtures.ts";
import { worldPaths } from "./paths.ts";
import type { FileWorld } from "./world.ts";

// At a 256 KiB entry bound, or the real 16 MiB with AOS_REAL_LIMITS=1 (`deno task test:long`).
Deno.test("World.step() quarantines a queued event that cannot be journaled and admits the others", async () => {
  await withTestLimits({ journalEntrySizeBytesMax: 256 * 1024 }, quarantinesTooLarge);
});

async function quarantinesTooLarge(): Promise<void> {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    await world.enqueue([{ schema: "demo/Increment@1", value: { by: 1n } }]);
    // Queued behind enqueue's back (as an older aos would have): too large for one journal entry.
    const huge = { schema: "demo/Increment@1", value: new Uint8Array(limits.journalEntrySizeBytesMax) };
    await world.inbox.add([huge], 0, world.defs.manifestHash);
    const report = await world.step();
    assert.equal(report.admitted, 1);
    assert.equal(report.quarantined?.length, 1);
    assert.match(report.quarantined![0]!.reason, /AOS_INPUT_TOO_LARGE|journal entry|limit/);
    assert.equal(await world.pendingInbox(), 0);
    assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 1n });
  } finally {
    world.close();
  }
}

const inc = (by: bigint) => ({ schema: "demo/Increment@1", value: { by } });

/** Runs `fn` on a fresh counter world (in folder `dir`) with `limits.inboxBatchMax` lowered to `batchMax`. */
async function withBatchMax(
  batchMax: number,
  fn: (world: FileWorld, dir: string) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    await withLimits({ inboxBatchMax: batchMax }, () => fn(world, dir.path));
  } finally {
    world.close();
  }
}

Deno.test("World.step() admits at most limits.inboxBatchMax events; the rest stay queued for the next step", async () => {
  await withBatchMax(3, async (world) => {
    await world.enqueue([inc(1n), inc(2n)]);
    await world.enqueue([inc(3n), inc(4n), inc(5n)]);
    const first = await world.step();
    assert.equal(first.admitted, 3);
    assert.equal(first.remaining, 2);
    assert.equal(await world.pendingInbox(), 2);
    assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 6n });
    const second = await world.step();
    assert.equal(second.admitted, 2);
    assert.equal(second.remaining, undefined);
    assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 15n });
    assert.deepEqual(await world.inbox.list(), []);
    await assert.rejects(world.enqueue([inc(1n), inc(1n), inc(1n), inc(1n)]), hasCode("AOS_INPUT_TOO_LARGE"));
  });
});

Deno.test("World.step() reads only the inbox batches it admits: a later damaged batch waits for the step that reaches it, counted from its header", async () => {
  await withBatchMax(3, async (world) => {
    await world.enqueue([inc(1n), inc(2n), inc(3n)]);
    await world.enqueue([inc(4n), inc(5n)]);
    // The second batch loses its last byte: its header still says two events, its body no longer decodes.
    const [, second] = await world.inbox.refs();
    const bytes = await Deno.readFile(second!.file);
    await Deno.writeFile(second!.file, bytes.subarray(0, bytes.length - 1));
    const first = await world.step();
    assert.equal(first.admitted, 3);
    assert.equal(first.quarantined, undefined, "the damaged batch was not read yet");
    assert.equal(first.remaining, 2);
    assert.equal(await world.pendingInbox(), 2);
    const next = await world.step();
    assert.equal(next.admitted, 0);
    assert.equal(next.quarantined?.length, 1);
    assert.equal(next.remaining, undefined);
    assert.equal(await world.pendingInbox(), 0);
    assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 6n });
  });
});

Deno.test("World.step() quarantines a queued file whose header is not a batch's at once, even past inboxBatchMax", async () => {
  await withBatchMax(2, async (world, dir) => {
    await world.enqueue([inc(1n), inc(2n)]);
    await world.enqueue([inc(3n)]);
    await Deno.writeTextFile(`${worldPaths(dir).inbox}/000000000009.cbor`, "not cbor");
    const report = await world.step();
    assert.equal(report.admitted, 2);
    assert.equal(report.quarantined?.length, 1);
    assert.equal(report.quarantined![0]!.file, "000000000009.cbor");
    assert.equal(report.remaining, 1);
  });
});
