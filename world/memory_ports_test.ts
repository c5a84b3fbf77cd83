import assert from "node:assert/strict";
import { MemoryCas, MemoryJournal } from "../journal/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { readAirFolder, readWasmFolders, storeAirSource, validateAirSource } from "./init_world.ts";
import { MemoryHeadStore } from "./head.ts";
import { verifyReplay } from "./verify.ts";
import { World } from "./world.ts";

const COUNTER = new URL("../examples/counter", import.meta.url).pathname;

async function counterOnMemory(): Promise<{ journal: MemoryJournal; cas: MemoryCas; world: World }> {
  const { source } = validateAirSource(
    await readAirFolder(`${COUNTER}/air`),
    await readWasmFolders([`${COUNTER}/modules`]),
  );
  assert.ok(source);
  const cas = new MemoryCas();
  const manifestHash = await storeAirSource(cas, source);
  const journal = new MemoryJournal();
  const world = await World.createOn({ journal, cas, clock: new VirtualClock() }, manifestHash, {
    snapshotIntervalEntries: 4,
  });
  return { journal, cas, world };
}

Deno.test("World runs on in-memory ports: send, snapshot, reopen from snapshot + tail, verify replay", async () => {
  const { journal, cas, world } = await counterOnMemory();
  const head = new MemoryHeadStore();
  for (let i = 1; i <= 5; i++) await world.send([{ schema: "demo/Increment@1", value: { by: BigInt(i) } }]);
  assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 15n });
  assert.ok(world.lastSnapshot, "a snapshot was taken on the in-memory store");
  world.close();

  // A second world on the same (durable in memory) journal and store starts from the snapshot.
  const reopened = await World.openOn({
    journal: MemoryJournal.from(journal.entries()),
    cas,
    clock: new VirtualClock(),
    head,
  });
  assert.deepEqual(reopened.lastSnapshot, world.lastSnapshot);
  assert.deepEqual(reopened.stateJson("demo/Counter@1"), { count: 15n });
  reopened.close();

  const report = await verifyReplay(journal, cas);
  assert.equal(report.ok, true, JSON.stringify(report.divergence ?? report.error));
  assert.equal(report.replayed, journal.height);
});

Deno.test("World.fork() runs on its own in-memory ports and leaves the world untouched", async () => {
  const { journal, world } = await counterOnMemory();
  await world.send([{ schema: "demo/Increment@1", value: { by: 2n } }]);
  const height = journal.height;
  const fork = await world.fork();
  assert.equal(fork.height, height);
  await fork.send([{ schema: "demo/Increment@1", value: { by: 40n } }]);
  assert.deepEqual(fork.stateJson("demo/Counter@1"), { count: 42n });
  assert.equal(fork.journal.height, height + 1);
  // The world's journal and state did not move.
  assert.equal(journal.height, height);
  assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 2n });
  fork.close();
  world.close();
});

Deno.test("World.openOn() refuses a journal that lost an acknowledged entry", async () => {
  const { journal, cas, world } = await counterOnMemory();
  await world.send([{ schema: "demo/Increment@1", value: { by: 1n } }]);
  const head = new MemoryHeadStore();
  await head.write({ height: journal.height, hash: journal.lastHash });
  world.close();
  const truncated = MemoryJournal.from([...journal.entries()].slice(0, journal.height - 1));
  await assert.rejects(
    World.openOn({ journal: truncated, cas, clock: new VirtualClock(), head }),
    (error: Error & { code?: string }) => error.code === "AOS_JOURNAL_CORRUPT",
  );
});
