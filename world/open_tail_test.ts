/**
 * Opening a world reads only the end of its journal (issue 9): sealed segments are neither read nor
 * checked on open, but every full check (`verifyJournal`, `verifyWorld`) and every read that reaches
 * them is.
 */
import assert from "node:assert/strict";
import { AosError, encodeCanonical } from "../air/mod.ts";
import { FsJournal } from "../journal/mod.ts";
import { counterLikeSpec, tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld, initSpecWorld } from "./_test_fixtures.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { FileHeadStore } from "./head.ts";
import { worldPaths } from "./paths.ts";
import { verifyJournal, verifyWorld } from "./verify.ts";
import { type EventInput, World } from "./world.ts";

const COUNTER = "demo/Counter@1";
const SEGMENT_SIZE_BYTES_MAX = 2_000;

function increments(...bys: number[]): EventInput[] {
  return bys.map((by) => ({ schema: "demo/Increment@1", value: { by: BigInt(by) } }));
}

async function segmentNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of Deno.readDir(worldPaths(dir).journal)) {
    if (item.name.endsWith(".log")) names.push(item.name);
  }
  return names.sort();
}

/** A counter world of many small segments with a snapshot every 10 entries; returns its count. */
async function manySegments(dir: string): Promise<{ clock: VirtualClock; count: number; height: number }> {
  const { world: created, clock } = await initCounterWorld(dir);
  created.close();
  const world = await World.open(dir, {
    clock,
    segmentSizeBytesMax: SEGMENT_SIZE_BYTES_MAX,
    snapshotIntervalEntries: 10,
  });
  try {
    // Through the inbox, so the head records where the inbox stands.
    for (let batch = 0; batch < 12; batch++) {
      await world.enqueue(increments(1, 2, 3, 4, 5));
      await world.step();
    }
    assert.deepEqual(world.stateJson(COUNTER), { count: 180n });
    return { clock, count: 180, height: world.height };
  } finally {
    world.close();
  }
}

function isCorruptIn(segment: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof AosError, String(error));
    assert.equal(error.code, "AOS_JOURNAL_CORRUPT", error.message);
    assert.equal(error.context.segment, segment, error.message);
    return true;
  };
}

Deno.test("World.open() reads only the journal's tail: a destroyed sealed segment does not stop it, a full check finds it", async () => {
  // Given a world of many segments whose second segment is overwritten with garbage of the same size
  await using dir = await tempDir();
  const { clock, height } = await manySegments(dir.path);
  const segments = await segmentNames(dir.path);
  assert.ok(segments.length >= 6, `${segments.length} segments`);
  const damaged = `${worldPaths(dir.path).journal}/00002.log`;
  const size = (await Deno.stat(damaged)).size;
  await Deno.writeFile(damaged, new Uint8Array(size).fill(0xa5));
  // When it is opened, it opens: nothing before the latest snapshot is read
  const world = await World.open(dir.path, { clock, segmentSizeBytesMax: SEGMENT_SIZE_BYTES_MAX });
  try {
    assert.equal(world.height, height);
    assert.deepEqual(world.stateJson(COUNTER), { count: 180n });
    assert.equal(world.failureCount(), 0);
    assert.equal(await world.pendingInbox(), 0);
    // And it keeps working at the tail
    await world.send(increments(10));
    assert.deepEqual(world.stateJson(COUNTER), { count: 190n });
    // But reading through the damaged segment throws, naming it
    assert.throws(() => [...world.journal.entries(0)], isCorruptIn("00002.log"));
  } finally {
    world.close();
  }
  // And the full checks report it, read-only
  const journal = await verifyJournal(dir.path);
  assert.equal(journal.ok, false);
  assert.equal(journal.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal(journal.error?.context.segment, "00002.log");
  assert.equal(journal.segments, (await segmentNames(dir.path)).length);
  const replay = await verifyWorld(dir.path);
  assert.equal(replay.ok, false);
  assert.equal(replay.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal(replay.error?.context.segment, "00002.log");
  assert.deepEqual(await Deno.readFile(damaged), new Uint8Array(size).fill(0xa5));
});

Deno.test("verifyJournal() and verifyWorld() pass a world of many segments, and reopening keeps its place", async () => {
  await using dir = await tempDir();
  const { clock, height } = await manySegments(dir.path);
  assert.deepEqual(await verifyJournal(dir.path), {
    ok: true,
    height,
    segments: (await segmentNames(dir.path)).length,
  });
  const report = await verifyWorld(dir.path);
  assert.equal(report.ok, true, JSON.stringify(report.error ?? report.divergence));
  assert.equal(report.replayed, height);
  // The head records the inbox position: a reopened world admits nothing twice.
  const head = await new FileHeadStore(worldPaths(dir.path).head).read();
  assert.deepEqual(head?.inbox, { batch: 12, index: 4 });
  assert.equal(head?.failures, 0);
  const world = await World.open(dir.path, { clock });
  try {
    assert.equal(await world.pendingInbox(), 0);
    assert.equal((await world.step()).admitted, 0);
  } finally {
    world.close();
  }
});

Deno.test("World.open() of a world whose head predates the inbox position and failure count finds both, and records them", async () => {
  // Given a trap world (every event is a reducer_error) stepped through the inbox, whose head is rewritten
  // the old way ({height, hash} only)
  await using dir = await tempDir();
  const { world, clock } = await initSpecWorld(dir.path, counterLikeSpec("trap"));
  await world.enqueue(increments(1, 2));
  await world.enqueue(increments(3));
  await world.step();
  assert.equal(world.failureCount(), 3);
  world.close();
  const headStore = new FileHeadStore(worldPaths(dir.path).head);
  const head = (await headStore.read())!;
  assert.deepEqual(head.inbox, { batch: 2, index: 0 });
  assert.equal(head.failures, 3);
  await Deno.writeFile(worldPaths(dir.path).head, encodeCanonical({ height: head.height, hash: head.hash }));
  // When it is opened, then it counts its failures and finds the inbox position from the journal
  const reopened = await World.open(dir.path, { clock });
  try {
    assert.equal(reopened.failureCount(), 3);
    assert.equal(await reopened.pendingInbox(), 0);
    await reopened.enqueue(increments(4));
    const step = await reopened.step();
    assert.equal(step.admitted, 1);
    assert.equal(reopened.failureCount(), 4);
  } finally {
    reopened.close();
  }
  // And the head records both again
  const after = (await headStore.read())!;
  assert.deepEqual(after.inbox, { batch: 3, index: 0 });
  assert.equal(after.failures, 4);
  assert.equal((await verifyJournal(dir.path)).ok, true);
});

Deno.test("verifyJournal() reports a head whose failure count or inbox position disagrees with the journal", async () => {
  await using dir = await tempDir();
  const { world } = await initSpecWorld(dir.path, counterLikeSpec("trap"));
  await world.enqueue(increments(1));
  await world.step();
  world.close();
  const headStore = new FileHeadStore(worldPaths(dir.path).head);
  const head = (await headStore.read())!;
  await headStore.write({ ...head, failures: 0 });
  const failures = await verifyJournal(dir.path);
  assert.equal(failures.ok, false);
  assert.equal(failures.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.match(failures.error?.message ?? "", /records 0 reducer errors, the journal has 1/);
  assert.equal((await verifyWorld(dir.path)).error?.code, "AOS_JOURNAL_CORRUPT");
  await headStore.write({ ...head, inbox: { batch: 7, index: 0 } });
  assert.match((await verifyJournal(dir.path)).error?.message ?? "", /inbox position 7:0/);
  await headStore.write(head);
  assert.equal((await verifyJournal(dir.path)).ok, true);
});

Deno.test("World.open() completes a block a crash cut short in a later segment, and the head counts its entries", async () => {
  // Given a trap world of small segments whose last derived entry (a reducer_error) was lost in a crash
  await using dir = await tempDir();
  const { world, clock } = await initSpecWorld(dir.path, counterLikeSpec("trap"));
  world.close();
  const opened = await World.open(dir.path, { clock, segmentSizeBytesMax: 600 });
  await opened.send(increments(1, 2, 3));
  opened.close();
  const journalDir = worldPaths(dir.path).journal;
  const last = (await segmentNames(dir.path)).at(-1)!;
  const journal = await FsJournal.open(journalDir, { readOnly: true });
  const entries = [...journal.entries(journal.height - 1)];
  const lastSize = journal.segments.at(-1)!.sizeBytes;
  journal.close();
  assert.equal(entries[0]!.kind, "reducer_error");
  await Deno.truncate(`${journalDir}/${last}`, lastSize - entries[0]!.bytes.length - 8);
  // The head was written after the lost entry was fsynced in this simulation, so put it back one entry.
  const headStore = new FileHeadStore(worldPaths(dir.path).head);
  const head = (await headStore.read())!;
  await headStore.write({ height: head.height - 1, hash: entries[0]!.prev, inbox: head.inbox!, failures: 2 });
  // When reopened, then the block is completed and the head counts all three failures
  const reopened = await World.open(dir.path, { clock, segmentSizeBytesMax: 600 });
  try {
    assert.equal(reopened.height, head.height);
    assert.equal(reopened.failureCount(), 3);
  } finally {
    reopened.close();
  }
  assert.equal((await headStore.read())?.failures, 3);
  assert.equal((await verifyJournal(dir.path)).ok, true);
  assert.equal((await verifyWorld(dir.path)).ok, true);
});

Deno.test("a missing head on a journal beyond genesis is damage: open refuses it, both verifies report it", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  world.close();
  // Only genesis and no head (a crash right after genesis): the world opens.
  await Deno.remove(worldPaths(dir.path).head);
  const reopened = await World.open(dir.path, { clock: new VirtualClock() });
  await reopened.send([{ schema: "demo/Increment@1", value: { by: 1n } }]);
  await reopened.send([{ schema: "demo/Increment@1", value: { by: 2n } }]);
  reopened.close();
  // Entries beyond genesis and no head: a cut at a frame boundary would be invisible, so it is damage.
  await Deno.remove(worldPaths(dir.path).head);
  await assert.rejects(
    World.open(dir.path, { clock: new VirtualClock() }),
    (error: AosError) => error.code === "AOS_JOURNAL_CORRUPT" && /head .* is missing/.test(error.message),
  );
  assert.equal((await verifyWorld(dir.path)).error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal((await verifyJournal(dir.path)).error?.code, "AOS_JOURNAL_CORRUPT");
});

Deno.test("World.open() falls back past a damaged snapshot blob to the one before it (or genesis) and says so", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  await world.send([{ schema: "demo/Increment@1", value: { by: 1n } }]);
  const first = await world.snapshot();
  await world.send([{ schema: "demo/Increment@1", value: { by: 2n } }]);
  const second = await world.snapshot();
  await world.send([{ schema: "demo/Increment@1", value: { by: 3n } }]);
  world.close();
  // Flip a byte of the newest snapshot blob: the CAS re-hash on read catches it.
  const blob = `${worldPaths(dir.path).store}/blobs/sha256/${second.hash.slice(7)}`;
  const bytes = await Deno.readFile(blob);
  bytes[0]! ^= 0xff;
  await Deno.writeFile(blob, bytes);
  const reopened = await World.open(dir.path, { clock: new VirtualClock() });
  try {
    assert.deepEqual(reopened.lastSnapshot, first);
    assert.deepEqual(reopened.unusableSnapshots.map((s) => [s.height, s.code]), [[
      second.height,
      "AOS_CAS_CORRUPT",
    ]]);
    assert.deepEqual(reopened.stateJson("demo/Counter@1"), { count: 6n });
  } finally {
    reopened.close();
  }
  // With the older one gone too, the world replays from genesis.
  await Deno.remove(`${worldPaths(dir.path).store}/blobs/sha256/${first.hash.slice(7)}`);
  const fromGenesis = await World.open(dir.path, { clock: new VirtualClock() });
  try {
    assert.equal(fromGenesis.lastSnapshot, undefined);
    assert.deepEqual(fromGenesis.unusableSnapshots.map((s) => s.code), [
      "AOS_CAS_CORRUPT",
      "AOS_CAS_MISSING",
    ]);
    assert.deepEqual(fromGenesis.stateJson("demo/Counter@1"), { count: 6n });
  } finally {
    fromGenesis.close();
  }
});
