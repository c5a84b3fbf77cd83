import assert from "node:assert/strict";
import {
  type AosErrorCode,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  hashRefToBytes,
  toHex,
} from "../air/mod.ts";
import { FsJournal, type JournalEntry, readJournalDir } from "../journal/mod.ts";
import { verifyWorld } from "./verify.ts";
import { hasCode, relaySpec, T0_NS, tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld, initSpecWorld } from "./_test_fixtures.ts";
import type { Clock } from "../kernel/mod.ts";
import { ControlPlaneLibrary } from "./content.ts";
import { type EventInput, World } from "./world.ts";
import { worldPaths } from "./paths.ts";
import { restoreLatest } from "./restore.ts";

const COUNTER = "demo/Counter@1";

function increments(...bys: number[]) {
  return bys.map((by): EventInput => ({ schema: "demo/Increment@1", value: { by: BigInt(by) } }));
}

async function journalEntries(dir: string): Promise<JournalEntry[]> {
  return (await readJournalDir(worldPaths(dir).journal)).entries;
}

/** The journal segment bytes of a world, concatenated, to prove something left them alone. */
async function journalBytes(dir: string): Promise<string> {
  const { segments } = await readJournalDir(worldPaths(dir).journal);
  const parts = await Promise.all(segments.map((s) => Deno.readFile(`${worldPaths(dir).journal}/${s.name}`)));
  return parts.map(toHex).join("|");
}

async function inboxFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(worldPaths(dir).inbox)) names.push(e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

function origin(entry: JournalEntry): CborValue {
  return entry.body.origin!;
}

Deno.test("initWorld() journals genesis for the counter manifest and starts with no state", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    assert.equal(world.height, 1);
    assert.equal(world.stateJson(COUNTER), null);
    const [genesis] = await journalEntries(dir.path);
    assert.equal(genesis!.kind, "genesis");
    assert.deepEqual(genesis!.body, {
      ingress_ns: T0_NS,
      manifest_hash: hashRefToBytes(world.defs.manifestHash),
      world_id: world.kernel.worldId,
    });
    assert.equal(world.kernel.worldId?.length, 16);
    const manifestCbor = await Deno.readFile(worldPaths(dir.path).manifestCbor);
    assert.equal(toHex(manifestCbor), toHex(await world.cas.get("nodes", world.defs.manifestHash)));
  } finally {
    world.close();
  }
});

Deno.test("initWorld() refuses a folder that already holds a world with AOS_WORLD_EXISTS", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  world.close();
  const before = await journalBytes(dir.path);
  await assert.rejects(initCounterWorld(dir.path), hasCode("AOS_WORLD_EXISTS"));
  assert.equal(await journalBytes(dir.path), before);
});

Deno.test("World.open() of a folder without a world throws AOS_WORLD_NOT_FOUND", async () => {
  await using dir = await tempDir();
  await assert.rejects(
    World.open(dir.path, { clock: { nowNs: () => T0_NS } }),
    hasCode("AOS_WORLD_NOT_FOUND"),
  );
});

Deno.test("step() admits inbox batches in arrival order and a reopened world has the same state", async () => {
  // Given two batches queued 10 ns apart
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  assert.equal(await world.enqueue(increments(1)), 1);
  clock.advance(10n);
  assert.equal(await world.enqueue(increments(2, 3)), 2);
  assert.equal(await world.pendingInbox(), 3);
  assert.equal(world.height, 1, "enqueue journals nothing");
  clock.advance(5n);
  // When
  const report = await world.step();
  // Then one block per event, in arrival order, stamped with the time of the step
  assert.deepEqual(report, {
    admitted: 3,
    heightBefore: 1,
    height: 4,
    entries: [{ seq: 1, kind: "domain_event" }, { seq: 2, kind: "domain_event" }, {
      seq: 3,
      kind: "domain_event",
    }],
    reducerErrors: [],
    eventSchemas: ["demo/Increment@1"],
  });
  const inputs = (await journalEntries(dir.path)).slice(1);
  assert.deepEqual(inputs.map(origin), [
    { kind: "external", source: "inbox:1:0" },
    { kind: "external", source: "inbox:2:0" },
    { kind: "external", source: "inbox:2:1" },
  ]);
  assert.deepEqual(inputs.map((e) => decodeCanonical(e.body.value as Uint8Array)), [{ by: 1 }, { by: 2 }, {
    by: 3,
  }]);
  assert.deepEqual(inputs.map((e) => e.body.ingress_ns), [T0_NS + 15n, T0_NS + 15n, T0_NS + 15n]);
  assert.deepEqual(world.stateJson(COUNTER), { count: 6n });
  assert.equal(toHex(world.kernel.reducerState(COUNTER)!), "a165636f756e7406");
  assert.equal(await world.pendingInbox(), 0);
  assert.deepEqual(await inboxFiles(dir.path), []);
  const hashes = world.kernel.stateHashes();
  world.close();
  // And a reopened world has the same state
  const reopened = await World.open(dir.path, { clock });
  try {
    assert.equal(reopened.height, 4);
    assert.deepEqual(reopened.kernel.stateHashes(), hashes);
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 6n });
    assert.equal(reopened.kernel.nowNs, T0_NS + 15n);
  } finally {
    reopened.close();
  }
});

Deno.test("step() with an empty inbox admits nothing and leaves the journal untouched", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    const before = await journalBytes(dir.path);
    const report = await world.step();
    assert.deepEqual(report, { admitted: 0, heightBefore: 1, height: 1, entries: [], reducerErrors: [] });
    assert.equal(await journalBytes(dir.path), before);
  } finally {
    world.close();
  }
});

Deno.test("step() takes a snapshot every snapshotIntervalEntries and World.open() restores from it", async () => {
  // Given a counter world opened with a snapshot every 3 entries
  await using dir = await tempDir();
  const { world: created, clock } = await initCounterWorld(dir.path);
  created.close();
  const world = await World.open(dir.path, { clock, snapshotIntervalEntries: 3 });
  await world.enqueue(increments(1, 2));
  // When two events bring the journal to 3 entries
  const report = await world.step();
  // Then a snapshot marker follows them at seq 3, covering entries 0..2
  assert.equal(report.admitted, 2);
  assert.ok(report.snapshot, "a snapshot was taken");
  assert.equal(report.snapshot.height, 3);
  assert.equal(report.height, 4);
  const marker = (await journalEntries(dir.path))[3]!;
  assert.equal(marker.kind, "snapshot");
  assert.deepEqual(marker.body, { height: 3, snapshot_hash: hashRefToBytes(report.snapshot.hash) });
  assert.deepEqual(world.lastSnapshot, report.snapshot);
  // And the next step (height 5, 2 entries past the snapshot) takes none
  await world.enqueue(increments(4));
  const second = await world.step();
  assert.equal(second.snapshot, undefined);
  assert.equal(second.height, 5);
  const hashes = world.kernel.stateHashes();
  world.close();
  // When reopened
  const reopened = await World.open(dir.path, { clock, snapshotIntervalEntries: 3 });
  try {
    // Then it starts from the snapshot and replays only the tail to the same state
    assert.deepEqual(reopened.lastSnapshot, report.snapshot);
    assert.deepEqual(reopened.kernel.stateHashes(), hashes);
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 7n });
    const entries = await journalEntries(dir.path);
    const restored = await restoreLatest(
      reopened.journal,
      reopened.cas,
      new ControlPlaneLibrary(reopened.cas),
    );
    assert.equal(entries.length, reopened.journal.height);
    assert.equal(restored.fromSeq, 3);
    assert.equal(restored.kernel.height, 3);
    assert.equal(toHex(restored.kernel.reducerState(COUNTER)!), "a165636f756e7403");
  } finally {
    reopened.close();
  }
});

const rejected: Array<[what: string, events: EventInput[], code: AosErrorCode]> = [
  ["a value of the wrong type", [{ schema: "demo/Increment@1", value: { by: "x" } }], "AOS_TYPE_MISMATCH"],
  ["a negative nat", [{ schema: "demo/Increment@1", value: { by: -1n } }], "AOS_TYPE_MISMATCH"],
  ["a missing field", [{ schema: "demo/Increment@1", value: {} }], "AOS_TYPE_MISMATCH"],
  ["an extra field", [{ schema: "demo/Increment@1", value: { by: 1n, extra: 2n } }], "AOS_TYPE_MISMATCH"],
  [
    "a key on an unkeyed route",
    [{ schema: "demo/Increment@1", value: { by: 1n }, key: "k" }],
    "AOS_TYPE_MISMATCH",
  ],
  ["a schema not in the manifest", [{ schema: "demo/Decrement@1", value: { by: 1n } }], "AOS_SCHEMA_UNKNOWN"],
  ["a built-in sys/ schema", [{ schema: "sys/TimerFired@1", value: {} }], "AOS_SCHEMA_UNKNOWN"],
  [
    "a batch whose second event is invalid",
    [{ schema: "demo/Increment@1", value: { by: 1n } }, { schema: "demo/Increment@1", value: { by: "x" } }],
    "AOS_TYPE_MISMATCH",
  ],
];

for (const [what, events, code] of rejected) {
  Deno.test(`enqueue() rejects ${what} with ${code} and queues nothing`, async () => {
    await using dir = await tempDir();
    const { world } = await initCounterWorld(dir.path);
    try {
      const before = await journalBytes(dir.path);
      await assert.rejects(
        world.enqueue(events),
        hasCode(code),
      );
      assert.equal(await world.pendingInbox(), 0);
      assert.deepEqual(await inboxFiles(dir.path), []);
      assert.equal(await journalBytes(dir.path), before);
    } finally {
      world.close();
    }
  });
}

Deno.test("step() does not admit an inbox batch twice when its file survives a crash after the fsync", async () => {
  // Given batch 1 admitted, then its file written back (a crash between the fsync and the removal)
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  await world.enqueue(increments(5));
  const [file] = await inboxFiles(dir.path);
  assert.equal(file, "000000000001.cbor");
  const batchPath = `${worldPaths(dir.path).inbox}/${file}`;
  const batchBytes = await Deno.readFile(batchPath);
  await world.step();
  assert.deepEqual(await inboxFiles(dir.path), []);
  await Deno.writeFile(batchPath, batchBytes);
  const after = await journalBytes(dir.path);
  // When the same world steps again
  const again = await world.step();
  // Then nothing is admitted
  assert.equal(again.admitted, 0);
  assert.equal(await world.pendingInbox(), 0);
  world.close();
  // And neither does a reopened world, which learns the last admitted batch from the journal
  const reopened = await World.open(dir.path, { clock });
  try {
    assert.equal(await reopened.pendingInbox(), 0);
    assert.equal((await reopened.step()).admitted, 0);
    assert.equal(await journalBytes(dir.path), after);
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 5n });
    // And the next batch gets a fresh number and is admitted once
    assert.equal(await reopened.enqueue(increments(1)), 2);
    const next = await reopened.step();
    assert.equal(next.admitted, 1);
    const last = (await journalEntries(dir.path)).at(-1)!;
    assert.deepEqual(origin(last), { kind: "external", source: "inbox:2:0" });
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 6n });
  } finally {
    reopened.close();
  }
});

Deno.test("step() quarantines a batch whose event no longer validates, and admits each good one once", async () => {
  // Given a valid batch 1 and a batch 2 that bypassed enqueue's checks (e.g. queued under an older manifest)
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  await world.enqueue(increments(1));
  await world.inbox.add([{ schema: "demo/Increment@1", value: encodeCanonical({ by: "x" }) }], 1);
  try {
    // When
    const report = await world.step();
    // Then the bad batch is journaled as quarantined (first) and moved aside; the good one is admitted once
    assert.equal(report.admitted, 1);
    assert.deepEqual(report.quarantined?.map((q) => [q.seq, q.file]), [[1, "000000000002.cbor"]]);
    assert.match(report.quarantined![0]!.reason, /^events\[0\] \(demo\/Increment@1\): /);
    const entries = (await journalEntries(dir.path)).slice(1);
    assert.deepEqual(entries.map((e) => e.kind), ["inbox_quarantined", "domain_event"]);
    assert.equal(entries[0]!.body.file, "000000000002.cbor");
    assert.deepEqual(entries.slice(1).map(origin), [{ kind: "external", source: "inbox:1:0" }]);
    assert.ok(await Deno.stat(`${worldPaths(dir.path).quarantine}/000000000002.cbor`));
    assert.equal(await world.pendingInbox(), 0);
    assert.equal((await world.step()).admitted, 0);
    assert.deepEqual(world.stateJson(COUNTER), { count: 1n });
  } finally {
    world.close();
  }
  const verified = await verifyWorld(dir.path);
  assert.equal(verified.ok, true);
});

Deno.test("send() admits events directly, one block each, with source api", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    const report = await world.send(increments(2, 3));
    assert.equal(report.admitted, 2);
    assert.deepEqual(report.entries, [{ seq: 1, kind: "domain_event" }, { seq: 2, kind: "domain_event" }]);
    const entries = await journalEntries(dir.path);
    assert.deepEqual(entries.slice(1).map(origin), [{ kind: "external", source: "api" }, {
      kind: "external",
      source: "api",
    }]);
    assert.deepEqual(world.stateJson(COUNTER), { count: 5n });
    assert.equal(await world.pendingInbox(), 0);
  } finally {
    world.close();
  }
});

Deno.test("send() rejects an invalid event with AOS_TYPE_MISMATCH before journaling anything", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    const before = await journalBytes(dir.path);
    await assert.rejects(
      world.send([...increments(1), { schema: "demo/Increment@1", value: { by: "x" } }]),
      hasCode("AOS_TYPE_MISMATCH"),
    );
    assert.equal(await journalBytes(dir.path), before);
    assert.equal(world.height, 1);
  } finally {
    world.close();
  }
});

Deno.test("step() never stamps an input earlier than the block before it", async () => {
  await using dir = await tempDir();
  const { world: created } = await initCounterWorld(dir.path);
  created.close();
  // A clock that went backwards (e.g. a host clock step) must not move logical time back.
  const early: Clock = { nowNs: () => T0_NS - 1_000n };
  const world = await World.open(dir.path, { clock: early });
  try {
    await world.send(increments(1));
    const last = (await journalEntries(dir.path)).at(-1)!;
    assert.equal(last.body.ingress_ns, T0_NS);
    assert.equal(world.kernel.nowNs, T0_NS);
  } finally {
    world.close();
  }
});

Deno.test("stateJson() of an unknown reducer throws AOS_REDUCER_UNKNOWN", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    assert.throws(() => world.stateJson("demo/Nope@1"), hasCode("AOS_REDUCER_UNKNOWN"));
  } finally {
    world.close();
  }
});

/** Appends external inputs straight to a world's journal, as a process that crashed mid-batch left it. */
async function appendRaw(dir: string, records: Array<{ schema: string; value: CborValue; source: string }>) {
  const journal = await FsJournal.open(worldPaths(dir).journal);
  journal.append(records.map((r) => ({
    kind: "domain_event",
    body: {
      schema: r.schema,
      value: encodeCanonical(r.value),
      origin: { kind: "external", source: r.source },
      ingress_ns: T0_NS + 1n,
    },
  })));
  await journal.sync();
  journal.close();
}

Deno.test("step() after a crash in the middle of a batch admits only the events not yet journaled", async () => {
  // Given batch 1 = [{by:1}, {by:2}] and a journal holding only its first event (crash after that block)
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  await world.enqueue(increments(1, 2));
  world.close();
  await appendRaw(dir.path, [{ schema: "demo/Increment@1", value: { by: 1 }, source: "inbox:1:0" }]);
  // When the world reopens and steps
  const reopened = await World.open(dir.path, { clock });
  try {
    assert.equal(await reopened.pendingInbox(), 1);
    const report = await reopened.step();
    // Then only the second event is admitted, once
    assert.equal(report.admitted, 1);
    const sources = (await journalEntries(dir.path)).slice(1).map(origin);
    assert.deepEqual(sources, [
      { kind: "external", source: "inbox:1:0" },
      { kind: "external", source: "inbox:1:1" },
    ]);
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 3n });
    assert.deepEqual(await inboxFiles(dir.path), []);
  } finally {
    reopened.close();
  }
});

Deno.test("World.open() completes a last block cut short by a crash by re-running its input", async () => {
  // Given a relay world whose journal ends right after an external Ping{n:1} (its derived Ping{0} missing)
  await using dir = await tempDir();
  const { world, clock } = await initSpecWorld(dir.path, relaySpec());
  world.close();
  await appendRaw(dir.path, [{ schema: "test/Ping@1", value: { n: 1 }, source: "api" }]);
  assert.equal((await journalEntries(dir.path)).length, 2);
  // When it reopens
  const reopened = await World.open(dir.path, { clock });
  reopened.close();
  // Then the derived event is journaled and the world verifies
  const entries = await journalEntries(dir.path);
  assert.deepEqual(entries.map((e) => e.kind), ["genesis", "domain_event", "domain_event"]);
  assert.deepEqual(origin(entries[2]!), { kind: "reducer", name: "test/Relay@1", event_seq: 1 });
  assert.equal((await verifyWorld(dir.path)).ok, true);
});

Deno.test("step() re-validates a batch queued under another manifest than the one in force", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  const other = `sha256:${"0".repeat(64)}`;
  await world.inbox.add([{ schema: "demo/Increment@1", value: encodeCanonical({ by: "x" }) }], 0, other);
  try {
    const report = await world.step();
    assert.equal(report.admitted, 0);
    assert.match(report.quarantined?.[0]?.reason ?? "", /events\[0\]/);
    assert.equal(world.height, 2);
    // A batch enqueue() wrote carries the manifest it was validated against.
    await world.enqueue(increments(1));
    const [batch] = await world.inbox.list();
    assert.equal(batch?.validatedFor, world.defs.manifestHash);
    assert.equal((await world.step()).admitted, 1);
  } finally {
    world.close();
  }
});

Deno.test("relock() after releaseLock(): true when nobody wrote the world, false when another writer appended (even past its head)", async () => {
  await using dir = await tempDir();
  const { world, clock } = await initCounterWorld(dir.path);
  try {
    world.releaseLock();
    // Another writer may queue events meanwhile (the inbox is not the journal).
    const other = await World.open(dir.path, { clock });
    await other.enqueue(increments(1));
    other.close();
    assert.equal(await world.relock(), true);
    assert.equal((await world.step()).admitted, 1);

    world.releaseLock();
    const head = await Deno.readFile(worldPaths(dir.path).head);
    const writer = await World.open(dir.path, { clock });
    await writer.send(increments(2));
    writer.close();
    // The head is put back as if the writer crashed before recording it: the segment sizes still tell.
    await Deno.writeFile(worldPaths(dir.path).head, head);
    assert.equal(await world.relock(), false);
  } finally {
    world.close();
  }
});

Deno.test("a long step takes snapshots by cadence between its blocks; the world reopens from the last one", async () => {
  await using dir = await tempDir();
  const { world: created, clock } = await initCounterWorld(dir.path);
  created.close();
  // Inside a step the cadence is STEP_SNAPSHOT_FACTOR (10) × 3 = 30 entries: 100 events, one entry each.
  const world = await World.open(dir.path, { clock, snapshotIntervalEntries: 3 });
  let height: number;
  try {
    const report = await world.send(increments(...Array.from({ length: 100 }, () => 1)));
    height = report.height;
    const heights = world.snapshots().map((s) => s.height).reverse();
    assert.ok(heights.length >= 3, `snapshots at ${heights.join(", ")}`);
    // Every snapshot but possibly the last was taken inside the step, between two of its blocks.
    for (const h of heights.slice(0, -1)) assert.ok(h > report.heightBefore && h < report.height, `${h}`);
    assert.deepEqual(report.snapshot?.height, heights.at(-1));
    // Each is a snapshot of the blocks before it: the counter at that height.
    const entries = await journalEntries(dir.path);
    for (const h of heights) {
      const before = entries.filter((e) => e.seq < h && e.kind === "domain_event").length;
      assert.ok(before > 0 && before <= 100, `${before} events before the snapshot at ${h}`);
    }
  } finally {
    world.close();
  }
  const reopened = await World.open(dir.path, { clock });
  try {
    assert.equal(reopened.height, height);
    assert.deepEqual(reopened.stateJson(COUNTER), { count: 100n });
  } finally {
    reopened.close();
  }
});
