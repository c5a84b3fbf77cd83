import assert from "node:assert/strict";
import {
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  fromHex,
  hashRefOf,
  hashRefToBytes,
  toHex,
} from "../air/mod.ts";
import { encodeEntry, encodeFrame, type EntryRecord, FsJournal, readJournalDir } from "../journal/mod.ts";
import { hasCode, relaySpec, T0_NS, tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld, initSpecWorld } from "./_test_fixtures.ts";
import { FileHeadStore } from "./head.ts";
import { verifyWorld } from "./verify.ts";
import { type EventInput, World } from "./world.ts";
import { worldPaths } from "./paths.ts";

const COUNTER = "demo/Counter@1";
const RELAY = "test/Relay@1";

function increments(...bys: number[]): EventInput[] {
  return bys.map((by) => ({ schema: "demo/Increment@1", value: { by: BigInt(by) } }));
}

async function segmentBytes(dir: string, segment = "00001.log"): Promise<Uint8Array> {
  return await Deno.readFile(`${worldPaths(dir).journal}/${segment}`);
}

/** Byte offsets of the frames in a segment (`u32 LE length | payload | u32 CRC`). */
function frameOffsets(segment: Uint8Array): number[] {
  const offsets: number[] = [];
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  for (let at = 0; at < segment.length; at += 8 + view.getUint32(at, true)) offsets.push(at);
  return offsets;
}

/**
 * Replaces a world's journal with `records`, validly framed and chained, and rewrites the acknowledged
 * head to match (a forger with write access to all of `.aos/`).
 */
async function forgeJournal(dir: string, records: EntryRecord[]): Promise<void> {
  const path = worldPaths(dir).journal;
  await Deno.remove(path, { recursive: true });
  const journal = await FsJournal.open(path, { create: true });
  try {
    journal.append(records);
    await journal.sync();
    await new FileHeadStore(worldPaths(dir).head).write({ height: journal.height, hash: journal.lastHash });
  } finally {
    journal.close();
  }
}

async function journalRecords(dir: string): Promise<EntryRecord[]> {
  const { entries } = await readJournalDir(worldPaths(dir).journal);
  return entries.map(({ kind, body }) => ({ kind, body }));
}

Deno.test("verifyWorld() passes a freshly created world", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  world.close();
  assert.deepEqual(await verifyWorld(dir.path), {
    ok: true,
    height: 1,
    replayed: 1,
    reducers: [],
    plans: 0,
    outbox: 0,
  });
});

Deno.test("verifyWorld() passes a world after steps and agrees with the live state hash", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  await world.enqueue(increments(1));
  await world.enqueue(increments(2, 3));
  await world.step();
  const live = world.kernel.stateHashes();
  world.close();
  const hash = hashRefOf(fromHex("a165636f756e7406"));
  assert.deepEqual(live, [{ reducer: COUNTER, hash }]);
  assert.deepEqual(await verifyWorld(dir.path), {
    ok: true,
    plans: 0,
    outbox: 0,
    height: 4,
    replayed: 4,
    reducers: [{ reducer: COUNTER, replayed: hash, live: hash }],
  });
});

Deno.test("verifyWorld() passes a world with snapshots, replaying all of it from genesis", async () => {
  await using dir = await tempDir();
  const { world: created, clock } = await initCounterWorld(dir.path);
  created.close();
  const world = await World.open(dir.path, { clock, snapshotIntervalEntries: 3 });
  await world.send(increments(1, 2)); // seqs 1, 2; snapshot at 3
  await world.send(increments(3)); // seq 4
  await world.send(increments(4)); // seq 5; snapshot at 6
  await world.send(increments(5)); // seq 7
  world.close();
  const kinds = (await readJournalDir(worldPaths(dir.path).journal)).entries.map((e) => e.kind);
  assert.deepEqual(kinds.map((k, seq) => [seq, k]).filter(([, k]) => k === "snapshot"), [[3, "snapshot"], [
    6,
    "snapshot",
  ]]);
  const hash = hashRefOf(encodeCanonical({ count: 15 }));
  assert.deepEqual(await verifyWorld(dir.path), {
    ok: true,
    plans: 0,
    outbox: 0,
    height: 8,
    replayed: 8,
    reducers: [{ reducer: COUNTER, replayed: hash, live: hash }],
  });
});

Deno.test("verifyWorld() reports a flipped journal byte as AOS_JOURNAL_CORRUPT at its segment and offset, read-only", async () => {
  // Given a world of 4 entries with one byte flipped inside the second frame
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  await world.send(increments(1, 2, 3));
  world.close();
  const bytes = await segmentBytes(dir.path);
  const offsets = frameOffsets(bytes);
  assert.equal(offsets.length, 4);
  bytes[offsets[1]! + 10]! ^= 0x01;
  await Deno.writeFile(`${worldPaths(dir.path).journal}/00001.log`, bytes);
  // When
  const report = await verifyWorld(dir.path);
  // Then
  assert.equal(report.ok, false);
  assert.equal(report.divergence, undefined);
  assert.equal(report.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal(report.error?.context.segment, "00001.log");
  assert.equal(report.error?.context.offset, offsets[1]);
  // And the journal is left exactly as it was, and the world refuses to open
  assert.equal(toHex(await segmentBytes(dir.path)), toHex(bytes));
  await assert.rejects(World.open(dir.path, { clock }), hasCode("AOS_JOURNAL_CORRUPT"));
  assert.equal(toHex(await segmentBytes(dir.path)), toHex(bytes));
});

Deno.test("verifyWorld() reports a forged reducer_error that replay does not produce as a divergence at its seq", async () => {
  // Given a chain- and CRC-valid journal: genesis, an external Increment, then a reducer_error the counter never raised
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  const manifestHash = world.defs.manifestHash;
  world.close();
  await forgeJournal(dir.path, [
    { kind: "genesis", body: { manifest_hash: hashRefToBytes(manifestHash), ingress_ns: T0_NS } },
    {
      kind: "domain_event",
      body: {
        schema: "demo/Increment@1",
        value: encodeCanonical({ by: 1 }),
        origin: { kind: "external", source: "api" },
        ingress_ns: T0_NS,
      },
    },
    { kind: "reducer_error", body: { reducer: COUNTER, event_seq: 1, code: "trap", message: "forged" } },
  ]);
  // When
  const report = await verifyWorld(dir.path);
  // Then
  assert.equal(report.ok, false);
  assert.equal(report.error, undefined);
  assert.equal(report.height, 3);
  assert.equal(report.divergence?.seq, 2);
  assert.equal(report.divergence?.reducer, COUNTER);
  // And opening the world refuses with the same seq
  await assert.rejects(World.open(dir.path, { clock }), (error: unknown) => {
    hasCode("AOS_REPLAY_DIVERGED")(error);
    assert.deepEqual((error as { context: unknown }).context, { seq: 2, reducer: COUNTER });
    return true;
  });
});

Deno.test("verifyWorld() reports a reducer-emitted event with a forged value as a divergence naming the reducer", async () => {
  // Given a relay world whose Ping{1} derived Ping{0} at seq 2, re-journaled with Ping{5} there
  await using dir = await tempDir();
  const { world, clock } = await initSpecWorld(dir.path, relaySpec());
  await world.send([{ schema: "test/Ping@1", value: { n: 1n } }]);
  world.close();
  assert.deepEqual(await verifyWorld(dir.path), {
    ok: true,
    plans: 0,
    outbox: 0,
    height: 3,
    replayed: 3,
    reducers: [{
      reducer: RELAY,
      replayed: hashRefOf(encodeCanonical({ seen: 2 })),
      live: hashRefOf(encodeCanonical({ seen: 2 })),
    }],
  });
  const records = await journalRecords(dir.path);
  assert.deepEqual(records[2]!.body.origin, { kind: "reducer", name: RELAY, event_seq: 1 });
  assert.deepEqual(decodeCanonical(records[2]!.body.value as Uint8Array), { n: 0 });
  records[2] = { kind: "domain_event", body: { ...records[2]!.body, value: encodeCanonical({ n: 5 }) } };
  await forgeJournal(dir.path, records);
  // When
  const report = await verifyWorld(dir.path);
  // Then
  assert.equal(report.ok, false);
  assert.equal(report.error, undefined);
  assert.equal(report.divergence?.seq, 2);
  assert.equal(report.divergence?.reducer, RELAY);
  await assert.rejects(World.open(dir.path, { clock }), hasCode("AOS_REPLAY_DIVERGED"));
});

/**
 * A counter world of increments 1 and 2 with a snapshot at seq 3 (count 3), then the increments `after`,
 * whose snapshot marker is re-pointed at a blob holding count 99.
 */
async function forgedSnapshotWorld(dir: string, after: number[]): Promise<void> {
  const { world: created, clock } = await initCounterWorld(dir);
  created.close();
  const world = await World.open(dir, { clock, snapshotIntervalEntries: 3 });
  await world.send(increments(1, 2));
  const snapshot = world.lastSnapshot!;
  assert.equal(snapshot.height, 3);
  if (after.length > 0) await world.send(increments(...after));
  const raw = decodeCanonical(await world.cas.get("blobs", snapshot.hash)) as { [key: string]: CborValue };
  assert.deepEqual(raw.reducers, [{ reducer: COUNTER, state: encodeCanonical({ count: 3 }) }]);
  raw.reducers = [{ reducer: COUNTER, state: encodeCanonical({ count: 99 }) }];
  const forgedHash = await world.cas.put("blobs", encodeCanonical(raw));
  world.close();
  const records = await journalRecords(dir);
  assert.equal(records.length, 4 + after.length);
  records[3] = { kind: "snapshot", body: { height: 3, snapshot_hash: hashRefToBytes(forgedHash) } };
  await forgeJournal(dir, records);
}

for (
  const [what, after, replayed, live] of [
    ["a snapshot whose state disagrees with replay from genesis", [], 3, 99],
    ["a forged snapshot with entries after it, comparing the live world it opens to", [4], 7, 103],
  ] as const
) {
  Deno.test(`verifyWorld() reports ${what}`, async () => {
    // Given a world whose snapshot at seq 3 (count 3) is re-pointed at a blob with count 99
    await using dir = await tempDir();
    await forgedSnapshotWorld(dir.path, [...after]);
    // When
    const report = await verifyWorld(dir.path);
    // Then the live world (count 99 plus what came after) is named against the replay
    assert.equal(report.ok, false);
    assert.equal(report.error, undefined);
    assert.equal(report.divergence?.reducer, COUNTER);
    assert.deepEqual(report.reducers, [{
      reducer: COUNTER,
      replayed: hashRefOf(encodeCanonical({ count: replayed })),
      live: hashRefOf(encodeCanonical({ count: live })),
    }]);
  });
}

Deno.test("verifyWorld() passes a world whose newest snapshot blob is damaged, as opening falls back past it", async () => {
  // Given a counter world with snapshots at two heights and an event after each, the newer blob flipped
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  await world.send(increments(1));
  await world.snapshot();
  await world.send(increments(2));
  const second = await world.snapshot();
  await world.send(increments(3));
  world.close();
  const blob = `${worldPaths(dir.path).store}/blobs/sha256/${second.hash.slice(7)}`;
  const bytes = await Deno.readFile(blob);
  bytes[0]! ^= 0xff;
  await Deno.writeFile(blob, bytes);
  // When
  const report = await verifyWorld(dir.path);
  // Then the world the fallback opens agrees with the replay
  assert.equal(report.ok, true, JSON.stringify(report.divergence ?? report.error));
  const count6 = hashRefOf(encodeCanonical({ count: 6 }));
  assert.deepEqual(report.reducers, [{ reducer: COUNTER, replayed: count6, live: count6 }]);
});

Deno.test("verifyWorld() reports a journal that does not start with genesis as AOS_JOURNAL_CORRUPT", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  world.close();
  await forgeJournal(dir.path, [{
    kind: "snapshot",
    body: { height: 0, snapshot_hash: new Uint8Array(32) },
  }]);
  const report = await verifyWorld(dir.path);
  assert.equal(report.ok, false);
  assert.equal(report.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal(report.error?.context.seq, 0);
});

Deno.test("verifyWorld() and World.open() detect an edited last entry whose CRC was recomputed (head check)", async () => {
  // Given a counter world with two events, whose last frame is rewritten to {by: 9} with a valid CRC and chain
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  await world.send(increments(1, 1));
  world.close();
  const segment = await segmentBytes(dir.path);
  const last = frameOffsets(segment).at(-1)!;
  const { entries } = await readJournalDir(worldPaths(dir.path).journal);
  const original = entries.at(-1)!;
  const forged = encodeEntry(
    original.seq,
    { kind: original.kind, body: { ...original.body, value: encodeCanonical({ by: 9 }) } },
    original.prev,
  );
  const bytes = new Uint8Array([...segment.subarray(0, last), ...encodeFrame(forged)]);
  await Deno.writeFile(`${worldPaths(dir.path).journal}/00001.log`, bytes);
  // When verified and opened, then both refuse with AOS_JOURNAL_CORRUPT naming the last seq
  const report = await verifyWorld(dir.path);
  assert.equal(report.ok, false);
  assert.equal(report.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.equal(report.error?.context.seq, original.seq);
  await assert.rejects(World.open(dir.path, { clock }), hasCode("AOS_JOURNAL_CORRUPT"));
});

Deno.test("verifyWorld() detects acknowledged entries cut off at a frame boundary", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  await world.send(increments(1, 2));
  world.close();
  const segment = await segmentBytes(dir.path);
  await Deno.writeFile(
    `${worldPaths(dir.path).journal}/00001.log`,
    segment.subarray(0, frameOffsets(segment).at(-1)!),
  );
  const report = await verifyWorld(dir.path);
  assert.equal(report.error?.code, "AOS_JOURNAL_CORRUPT");
  assert.match(report.error?.message ?? "", /3 entries were acknowledged/);
});
