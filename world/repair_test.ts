/**
 * `repairWorld` on a journal of many segments: damage in a sealed segment moves it and every later segment
 * aside, keeps the intact frames before the damage, restores from the latest valid snapshot before it and
 * says which seqs were lost.
 */
import assert from "node:assert/strict";
import { tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld } from "./_test_fixtures.ts";
import { worldPaths } from "./paths.ts";
import { repairWorld } from "./repair.ts";
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

Deno.test("repairWorld() moves a damaged sealed segment and every later one aside and restores from the snapshot before it", async () => {
  // Given a counter world of many small segments, a snapshot every 10 entries
  await using dir = await tempDir();
  const { world: created, clock } = await initCounterWorld(dir.path);
  created.close();
  const options = { clock, segmentSizeBytesMax: SEGMENT_SIZE_BYTES_MAX, snapshotIntervalEntries: 10 };
  const world = await World.open(dir.path, options);
  for (let batch = 0; batch < 12; batch++) await world.send(increments(1, 2, 3, 4, 5));
  const height = world.height;
  world.close();
  const before = await segmentNames(dir.path);
  assert.ok(before.length >= 5, `${before.length} segments`);
  // And a byte flipped in the middle of its third segment
  const journalDir = worldPaths(dir.path).journal;
  const damagedPath = `${journalDir}/00003.log`;
  const damaged = await Deno.readFile(damagedPath);
  damaged[Math.floor(damaged.length / 2)]! ^= 0x40;
  await Deno.writeFile(damagedPath, damaged);
  assert.equal((await verifyJournal(dir.path)).ok, false);

  // When it is repaired
  const report = await repairWorld(dir.path, clock);

  // Then the third segment and every later one (and the head) are in quarantine, byte for byte
  const folder = `${dir.path}/${report.quarantine?.folder}`;
  const moved = before.filter((name) => name >= "00003.log");
  assert.deepEqual(report.quarantine?.moved.filter((f) => f.endsWith(".log")), moved);
  assert.ok(report.quarantine?.moved.includes("head"));
  assert.deepEqual(await Deno.readFile(`${folder}/00003.log`), damaged);
  assert.equal(report.damage?.kind, "corrupt_frame");
  assert.equal(report.damage?.segment, "00003.log");
  // And the journal keeps the intact frames before the damage; the lost seqs run to the old end
  assert.deepEqual(await segmentNames(dir.path), ["00001.log", "00002.log", "00003.log"]);
  assert.equal(report.lost?.from, report.height);
  assert.equal(report.lost?.to, height - 1);
  assert.ok(report.height <= report.damage!.seq!, "nothing at or after the damage is kept");
  assert.ok(report.restoredFrom !== undefined && report.restoredFrom.height <= report.damage!.seq!);
  // And the world is whole: it verifies, reopens and goes on
  assert.equal((await verifyJournal(dir.path)).ok, true);
  const verified = await verifyWorld(dir.path);
  assert.equal(verified.ok, true, JSON.stringify(verified.error ?? verified.divergence));
  const reopened = await World.open(dir.path, options);
  try {
    assert.equal(reopened.height, report.height);
    const count = (reopened.stateJson(COUNTER) as { count: bigint }).count;
    await reopened.send(increments(1000));
    assert.deepEqual(reopened.stateJson(COUNTER), { count: count + 1000n });
  } finally {
    reopened.close();
  }
});
