/**
 * A world's snapshot bytes are the canonical encoding of the snapshot (the kernel writes its cells straight
 * into the encoder): what the generic encoder (tested against cborg) writes for the decoded snapshot, with many keyed
 * cells of varied keys, cells added and updated between snapshots.
 */
import assert from "node:assert/strict";
import { decodeCanonical, encodeCanonical, toHex } from "../air/mod.ts";
import { T0_NS, tempDir } from "../kernel/_test_fixtures.ts";
import { Kernel, VirtualClock } from "../kernel/mod.ts";
import { initWorld, readAirFolder, readWasmFolders } from "./init_world.ts";
import { SNAPSHOT_WRITE_AMPLIFICATION_MAX, World } from "./world.ts";

const CELLS = new URL("../examples/cells", import.meta.url).pathname;

Deno.test("Kernel.snapshot() of a keyed world is its canonical encoding, as cells are added and updated", async () => {
  await using dir = await tempDir();
  const world = await initWorld(
    dir.path,
    await readAirFolder(`${CELLS}/air`),
    await readWasmFolders([`${CELLS}/modules`]),
    { clock: new VirtualClock(T0_NS) },
  );
  try {
    // Keys of every length class and order: empty, short, long, non-ASCII, and ones sharing prefixes.
    const users = ["", "a", "ab", "b", "z".repeat(30), "é", "日本", "a".repeat(300), "u10", "u9"];
    for (const round of [0, 1, 2]) {
      await world.send(
        users.slice(0, 4 + 3 * round).map((user, i) => ({
          schema: "demo/CellIncrement@1",
          value: { user, by: BigInt(1 + i + round) },
        })),
      );
      const bytes = world.kernel.snapshot();
      assert.equal(toHex(bytes), toHex(encodeCanonical(decodeCanonical(bytes))), `round ${round}`);
      const restored = Kernel.restore(world.defs, world.library.host, bytes, world.library);
      assert.equal(toHex(restored.snapshot()), toHex(bytes));
      assert.equal(restored.cellsOf("demo/CellCounter@1").length, 4 + 3 * round);
    }
  } finally {
    world.close();
  }
});

Deno.test("a snapshot of many cells waits until the journal has grown by half its size, then is taken on time", async () => {
  await using dir = await tempDir();
  const clock = new VirtualClock(T0_NS);
  (await initWorld(
    dir.path,
    await readAirFolder(`${CELLS}/air`),
    await readWasmFolders([`${CELLS}/modules`]),
    {
      clock,
    },
  )).close();
  const interval = 10;
  let world = await World.open(dir.path, { clock, snapshotIntervalEntries: interval });
  try {
    const cell = (user: string) => ({ schema: "demo/CellIncrement@1", value: { user, by: 1n } });
    const created = await world.send(Array.from({ length: 1_000 }, (_, i) => cell(`user-${i}`)));
    assert.ok(created.snapshot, "the step took snapshots");
    const first = world.lastSnapshot!;
    const size = (await world.cas.get("blobs", first.hash)).length;
    // The journal must grow by this many bytes before the next one.
    const due = Math.ceil(size / SNAPSHOT_WRITE_AMPLIFICATION_MAX);
    // The journal's bytes from the snapshot's marker up to (not including) seq `to`.
    const since = (to = world.height) => {
      let bytes = 0;
      for (const entry of world.journal.entries(first.height)) {
        if (entry.seq >= to) break;
        bytes += entry.bytes.length;
      }
      return bytes;
    };
    // One event a step: no snapshot until the entries since the last one hold `due` bytes, then one at once; a
    // world reopened meanwhile counts the bytes of the tail it replayed.
    let steps = 0;
    for (;; steps++) {
      if (steps === interval) {
        world.close();
        world = await World.open(dir.path, { clock, snapshotIntervalEntries: interval });
      }
      const before = since();
      const report = await world.send([cell(`user-${steps % 1_000}`)]);
      if (report.snapshot === undefined) {
        assert.ok(since() < due, `no snapshot with ${since()} bytes journaled since one of ${size}`);
        continue;
      }
      // Taken at the end of the first step that brought the bytes since the last one to `due`.
      assert.equal(report.snapshot.height, world.height - 1);
      assert.ok(before < due, `${before} bytes before this step`);
      assert.ok(
        since(report.snapshot.height) >= due,
        `${since(report.snapshot.height)} bytes at the snapshot`,
      );
      break;
    }
    assert.ok(steps > 2 * interval, `${steps} steps: the snapshot's size, not the interval, set the pace`);
  } finally {
    world.close();
  }
});
