/**
 * End-to-end tests of crash recovery (KERNEL §8.5): a torn journal tail left by a crash mid-write is cut by
 * writing commands (its bytes kept in `.aos/quarantine/`) and only reported by reading ones; damage to an
 * acknowledged entry is corruption. Real files, `aos` run in process.
 */
import assert from "node:assert/strict";
import { crc32c } from "../journal/mod.ts";
import { copyDir, exists, expectAos, hashTree, withTempDir } from "./_test_helpers.ts";

const COUNTER = "demo/Counter@1";
const INCREMENT = "demo/Increment@1";
const SEGMENT = "00001.log";

/** A counter world with three admitted events (count 6). */
async function worldWithEvents(root: string): Promise<string> {
  await expectAos(0, root, "init", "world", "--template", "counter");
  const world = `${root}/world`;
  for (const by of [1, 2, 3]) await expectAos(0, world, "event", "send", INCREMENT, `{"by": ${by}}`);
  await expectAos(0, world, "step");
  return world;
}

/** What a crash mid-write left: the world, where the torn frame starts, and its bytes on disk. */
interface TornWorld {
  world: string;
  segment: string;
  offset: number;
  tornBytes: Uint8Array;
}

/**
 * A world as a crash while `aos step` wrote its block leaves it: one more event queued, its block written
 * only in part (`keep` bytes of it reached the disk), the head and the inbox as they were before the step.
 */
async function tornWorld(root: string, keep = 7): Promise<TornWorld> {
  const world = await worldWithEvents(root);
  await expectAos(0, world, "event", "send", INCREMENT, '{"by": 10}');
  const saved = `${root}/saved-aos`;
  await copyDir(`${world}/.aos`, saved);
  const segment = `${world}/.aos/journal/${SEGMENT}`;
  const offset = (await Deno.stat(segment)).size;
  await expectAos(0, world, "step");
  const after = await Deno.readFile(segment);
  assert.ok(after.length > offset + keep, "the step appended more than the torn bytes");
  await Deno.remove(`${world}/.aos`, { recursive: true });
  await copyDir(saved, `${world}/.aos`);
  await Deno.remove(saved, { recursive: true });
  const torn = after.slice(0, offset + keep);
  await Deno.writeFile(segment, torn);
  return { world, segment, offset, tornBytes: torn.slice(offset) };
}

function quarantineFile(t: TornWorld): string {
  return `${t.world}/.aos/quarantine/${SEGMENT}@${t.offset}.torn`;
}

const WRITING_COMMANDS: string[][] = [
  ["step"],
  ["event", "send", INCREMENT, '{"by": 100}'],
  ["snapshot"],
  ["run", "--timeout", "1s"],
  ["receipts", "submit", "receipt.json"],
  ["proposal", "submit", "patch.json"],
];

/** Files some writing commands read: a receipt from an unknown adapter, a patch adding a schema. */
async function writeInputs(world: string): Promise<void> {
  await Deno.writeTextFile(
    `${world}/receipt.json`,
    `{"intent_hash": "sha256:${"ab".repeat(32)}", "adapter_id": "nobody", "status": "ok", "payload": "", ` +
      `"fence": {"generation": 0, "height": 0}, "signature": "00"}`,
  );
  const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
  await Deno.writeTextFile(
    `${world}/patch.json`,
    JSON.stringify({
      base_manifest_hash: info.manifest_hash,
      patches: [{
        add_def: {
          kind: "defschema",
          node: { $kind: "defschema", name: "demo/Extra@1", type: { text: {} } },
        },
      }],
    }),
  );
}

for (const args of WRITING_COMMANDS) {
  Deno.test(`aos ${args.join(" ")}: cuts a torn journal tail, says so on stderr, keeps the bytes in .aos/quarantine/`, async () => {
    await withTempDir(async (root) => {
      const t = await tornWorld(root);
      await writeInputs(t.world);
      const run = await expectAos(0, t.world, ...args);
      assert.match(
        run.stderr,
        new RegExp(
          `^warning: cut a torn journal tail .*: ${SEGMENT} at offset ${t.offset}, ${t.tornBytes.length} bytes .*` +
            `kept in \\.aos/quarantine/${SEGMENT}@${t.offset}\\.torn$`,
          "m",
        ),
      );
      assert.equal((await Deno.stat(t.segment)).size >= t.offset, true);
      assert.deepEqual(await Deno.readFile(quarantineFile(t)), t.tornBytes, "the cut bytes are kept exactly");
      // The journal is whole again, and the next open has nothing to recover.
      const verify = await expectAos(0, t.world, "journal", "verify");
      assert.equal(verify.stderr, "");
      const info = JSON.parse((await expectAos(0, t.world, "info", "--json")).stdout);
      assert.equal(info.recovery.torn_tail, null);
      assert.deepEqual(info.recovery.quarantine, [{
        file: `.aos/quarantine/${SEGMENT}@${t.offset}.torn`,
        size_bytes: t.tornBytes.length,
      }]);
      assert.deepEqual(info.recovery.torn_tails_cut, [{
        segment: SEGMENT,
        offset: t.offset,
        bytes_cut: t.tornBytes.length,
        quarantine_file: `.aos/quarantine/${SEGMENT}@${t.offset}.torn`,
      }]);
      await expectAos(0, t.world, "replay", "--verify");
    });
  });
}

Deno.test("aos step after a torn tail admits the event the crash interrupted, exactly once", async () => {
  await withTempDir(async (root) => {
    const t = await tornWorld(root);
    const step = JSON.parse((await expectAos(0, t.world, "step", "--json")).stdout);
    assert.equal(step.admitted, 1);
    const state = JSON.parse((await expectAos(0, t.world, "state", "get", COUNTER, "--json")).stdout);
    assert.deepEqual(state, { count: 16 });
    await expectAos(0, t.world, "replay", "--verify");
  });
});

Deno.test("aos read-only commands report a torn tail and change no file under .aos/", async () => {
  await withTempDir(async (root) => {
    const t = await tornWorld(root);
    const before = await hashTree(`${t.world}/.aos`);
    const readers = [
      ["info"],
      ["state", "get", COUNTER],
      ["journal", "show"],
      ["journal", "verify"],
      ["replay", "--verify"],
      ["snapshot", "ls"],
    ];
    for (const args of readers) {
      const run = await expectAos(0, t.world, ...args);
      assert.match(
        run.stderr,
        new RegExp(
          `^warning: torn journal tail .*: ${SEGMENT} at offset ${t.offset}, ${t.tornBytes.length} bytes .*` +
            "left in place by this read-only command",
          "m",
        ),
        `aos ${args.join(" ")}: ${run.stderr}`,
      );
    }
    const info = JSON.parse((await expectAos(0, t.world, "info", "--json")).stdout);
    assert.deepEqual(info.recovery.torn_tail, {
      segment: SEGMENT,
      offset: t.offset,
      bytes_cut: 0,
      size_bytes: t.tornBytes.length,
      cut: false,
      reason: info.recovery.torn_tail.reason,
      quarantine_file: null,
    });
    assert.match(info.recovery.torn_tail.reason, /frame needs \d+ bytes, 7 present/);
    assert.match(
      (await expectAos(0, t.world, "info")).stdout,
      new RegExp(`recovery  torn journal tail in ${SEGMENT}`),
    );
    const verify = JSON.parse((await expectAos(0, t.world, "journal", "verify", "--json")).stdout);
    assert.equal(verify.ok, true);
    assert.equal(verify.torn_tail.offset, t.offset);
    const replay = JSON.parse((await expectAos(0, t.world, "replay", "--verify", "--json")).stdout);
    assert.equal(replay.ok, true);
    assert.equal(replay.torn_tail.size_bytes, t.tornBytes.length);
    assert.deepEqual(
      JSON.parse((await expectAos(0, t.world, "state", "get", COUNTER, "--json")).stdout),
      { count: 6 },
    );
    assert.deepEqual(await hashTree(`${t.world}/.aos`), before, "reading changed nothing");
    assert.equal(await exists(`${t.world}/.aos/quarantine`), false);
  });
});

Deno.test("aos: a flipped byte in an acknowledged last frame is corruption (exit 1), never cut", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const bytes = await Deno.readFile(segment);
    bytes[bytes.length - 6]! ^= 0x01;
    await Deno.writeFile(segment, bytes);
    const before = await hashTree(`${world}/.aos`);
    for (const args of [["step"], ["info"], ["journal", "verify"], ["replay", "--verify"], ["snapshot"]]) {
      const run = await expectAos(1, world, ...args);
      assert.match(
        run.stderr,
        /AOS_JOURNAL_CORRUPT.*00001\.log at offset \d+ \(seq 3\): acknowledged entry 3 is damaged/,
      );
    }
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
  });
});

/** Byte offset of every frame of a segment. */
function frameOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets: number[] = [];
  for (let at = 0; at < bytes.length; at += 8 + view.getUint32(at, true)) offsets.push(at);
  return offsets;
}

/** Counter world: events 1, 2, 3 (seqs 1–3), a snapshot (seq 4), events 4, 5 (seqs 5, 6); count 15. */
async function worldWithSnapshot(root: string): Promise<string> {
  const world = await worldWithEvents(root);
  await expectAos(0, world, "snapshot");
  for (const by of [4, 5]) await expectAos(0, world, "event", "send", INCREMENT, `{"by": ${by}}`);
  await expectAos(0, world, "step");
  return world;
}

Deno.test("aos journal repair --quarantine: a flipped byte mid-journal is named, moved aside, and the lost seqs are said", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const original = await Deno.readFile(segment);
    const offsets = frameOffsets(original);
    assert.equal(offsets.length, 7);
    const damaged = original.slice();
    damaged[offsets[5]! + 12]! ^= 0x01;
    await Deno.writeFile(segment, damaged);
    const headBytes = await Deno.readFile(`${world}/.aos/head`);

    // Writing commands refuse, naming segment and offset, and say what to do next.
    const step = await expectAos(1, world, "step");
    assert.match(step.stderr, new RegExp(`AOS_JOURNAL_CORRUPT.*${SEGMENT} at offset ${offsets[5]}`));
    assert.match(step.stderr, /"aos journal verify".*"aos journal repair --quarantine"/);
    const verify = JSON.parse((await expectAos(1, world, "journal", "verify", "--json")).stdout);
    assert.equal(verify.error.offset, offsets[5]);
    // Repair is never implied.
    const before = await hashTree(`${world}/.aos`);
    const usage = await expectAos(2, world, "journal", "repair");
    assert.match(
      usage.stderr,
      /^error\[AOS_USAGE\]: aos journal repair needs --quarantine: it moves the damaged/,
    );
    assert.deepEqual(await hashTree(`${world}/.aos`), before);

    const repair = JSON.parse(
      (await expectAos(0, world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.deepEqual(repair, {
      repaired: true,
      damage: {
        kind: "corrupt_frame",
        message: repair.damage.message,
        segment: SEGMENT,
        offset: offsets[5],
        seq: 5,
      },
      torn_tail: null,
      quarantine: { folder: ".aos/quarantine/repair-seq-5", moved: [SEGMENT, "head"] },
      height: 5,
      lost: { from: 5, to: 6, count: 2 },
      restored_from: { height: 4, hash: repair.restored_from.hash },
      unusable_snapshots: [],
    });
    assert.match(repair.damage.message, /CRC-32C mismatch/);
    // Nothing is thrown away: the damaged segment and the old head are kept byte for byte.
    assert.deepEqual(await Deno.readFile(`${world}/.aos/quarantine/repair-seq-5/${SEGMENT}`), damaged);
    assert.deepEqual(await Deno.readFile(`${world}/.aos/quarantine/repair-seq-5/head`), headBytes);
    assert.deepEqual(await Deno.readFile(segment), original.subarray(0, offsets[5]));
    // The world is whole again and goes on.
    await expectAos(0, world, "journal", "verify");
    await expectAos(0, world, "replay", "--verify");
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 6 },
    );
    await expectAos(0, world, "event", "send", INCREMENT, '{"by": 100}');
    await expectAos(0, world, "step");
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 106 },
    );
    await expectAos(0, world, "replay", "--verify");
    const again = await expectAos(0, world, "journal", "repair", "--quarantine");
    assert.match(again.stdout, /^Journal OK: nothing to repair \(6 entries\)$/m);
  });
});

Deno.test("aos journal repair --quarantine text output names the damage, the folder, the snapshot and the lost seqs", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const bytes = await Deno.readFile(segment);
    const offsets = frameOffsets(bytes);
    bytes[offsets[6]! + 12]! ^= 0x01;
    // The last frame, but acknowledged: corruption, not a torn tail.
    await Deno.writeFile(segment, bytes);
    const run = await expectAos(0, world, "journal", "repair", "--quarantine");
    assert.match(
      run.stdout,
      new RegExp(
        `^Found: Corrupt journal in ${SEGMENT} at offset ${
          offsets[6]
        } \\(seq 6\\): acknowledged entry 6 is damaged`,
        "m",
      ),
    );
    assert.match(run.stdout, /^Moved to \.aos\/quarantine\/repair-seq-6\/: 00001\.log, head$/m);
    assert.match(
      run.stdout,
      /^Restored from the snapshot at height 4 and replayed the intact entries: the journal holds seqs 0\.\.5$/m,
    );
    assert.match(run.stdout, /^Lost seqs 6\.\.6 \(1 entry\): send their inputs again/m);
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 10 },
    );
  });
});

Deno.test("aos journal repair --quarantine: acknowledged entries cut off at a frame boundary are reported lost", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const bytes = await Deno.readFile(segment);
    const offsets = frameOffsets(bytes);
    await Deno.writeFile(segment, bytes.subarray(0, offsets[5]));
    const step = await expectAos(1, world, "step");
    assert.match(
      step.stderr,
      /AOS_JOURNAL_CORRUPT.*7 entries were acknowledged.*"aos journal repair --quarantine"/,
    );
    const repair = JSON.parse(
      (await expectAos(0, world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.equal(repair.damage.kind, "missing_entries");
    assert.deepEqual(repair.quarantine, { folder: ".aos/quarantine/repair-seq-5", moved: ["head"] });
    assert.deepEqual(repair.lost, { from: 5, to: 6, count: 2 });
    assert.equal(repair.height, 5);
    await expectAos(0, world, "journal", "verify");
    await expectAos(0, world, "replay", "--verify");
  });
});

Deno.test("aos journal repair --quarantine on a torn tail only cuts it (nothing acknowledged is lost)", async () => {
  await withTempDir(async (root) => {
    const t = await tornWorld(root);
    const repair = JSON.parse(
      (await expectAos(0, t.world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.equal(repair.damage.kind, "torn_tail");
    assert.equal(repair.lost, null);
    assert.equal(repair.torn_tail.offset, t.offset);
    assert.equal(repair.torn_tail.cut, true);
    assert.deepEqual(await Deno.readFile(quarantineFile(t)), t.tornBytes);
    assert.equal((await Deno.stat(t.segment)).size, t.offset);
  });
});

Deno.test("aos journal repair --quarantine on an intact journal changes nothing", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    const before = await hashTree(`${world}/.aos`);
    const repair = JSON.parse(
      (await expectAos(0, world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.equal(repair.repaired, false);
    assert.equal(repair.damage, null);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
  });
});

Deno.test("aos rollback --to: restores a snapshot, goes on, replays, snapshots and reopens", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    // --to must be a snapshot height: exit 2 listing them
    const notSnapshot = await expectAos(2, world, "rollback", "--to", "3");
    assert.match(
      notSnapshot.stderr,
      /^error\[AOS_USAGE\]: Cannot roll back to height 3: it is not a snapshot height; snapshots are at heights 4$/m,
    );
    await expectAos(2, world, "rollback", "--to", "four");

    const rollback = JSON.parse((await expectAos(0, world, "rollback", "--to", "4", "--json")).stdout);
    assert.deepEqual(rollback, {
      seq: 7,
      to_height: 4,
      snapshot_hash: rollback.snapshot_hash,
      generation: 1,
      abandoned: { from: 5, to: 6 },
      height: 8,
    });
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 6 },
      "the state is the snapshot's",
    );
    // The abandoned entries stay for audit.
    const kinds = (await expectAos(0, world, "journal", "show", "--json")).stdout.trim().split("\n").map((
      l,
    ) => JSON.parse(l).kind);
    assert.deepEqual(kinds, [
      "genesis",
      "domain_event",
      "domain_event",
      "domain_event",
      "snapshot",
      "domain_event",
      "domain_event",
      "rollback",
    ]);
    // New events go on from the snapshot's state.
    await expectAos(0, world, "event", "send", INCREMENT, '{"by": 100}');
    await expectAos(0, world, "step");
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 106 },
    );
    await expectAos(0, world, "replay", "--verify");
    await expectAos(0, world, "snapshot");
    await expectAos(0, world, "event", "send", INCREMENT, '{"by": 1000}');
    await expectAos(0, world, "step");
    await expectAos(0, world, "replay", "--verify");
    await expectAos(0, world, "journal", "verify");
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 1106 },
    );
    const text = await expectAos(0, world, "rollback", "--to", "9");
    assert.match(
      text.stdout,
      /^Rolled back to the snapshot at height 9 \(sha256:[0-9a-f]{64}\): journaled as seq 11, generation 2$/m,
    );
    assert.match(text.stdout, /^Entry 10 is abandoned \(kept in the journal for audit\)/m);
    const shown = (await expectAos(0, world, "journal", "show", "--from", "11")).stdout;
    assert.match(shown, /^\s+11 {2}rollback\s+to height 9 sha256:[0-9a-f]{64}, generation 2$/m);
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 106 },
    );
    await expectAos(0, world, "replay", "--verify");
  });
});

Deno.test("aos step: an inbox file that is not CBOR is named on stderr and kept, byte for byte, in .aos/quarantine/", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    await expectAos(0, world, "event", "send", INCREMENT, '{"by": 1}');
    const inbox = `${world}/.aos/inbox`;
    const [name] = [...Deno.readDirSync(inbox)].map((e) => e.name);
    const poison = new Uint8Array([0xff, 0x00, 0x13]);
    await Deno.writeFile(`${inbox}/${name}`, poison);
    const step = await expectAos(0, world, "step");
    assert.match(step.stderr, new RegExp(`^warning: .*${name!.replace(".", "\\.")}`, "m"));
    assert.deepEqual(await Deno.readFile(`${world}/.aos/quarantine/${name}`), poison);
    assert.deepEqual([...Deno.readDirSync(inbox)], []);
  });
});

Deno.test("aos journal repair --quarantine: an acknowledged last entry changed (CRC recomputed) is cut at the head", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const bytes = await Deno.readFile(segment);
    const offsets = frameOffsets(bytes);
    const last = offsets.at(-1)!;
    const view = new DataView(bytes.buffer);
    const size = view.getUint32(last, true);
    const payload = bytes.subarray(last + 4, last + 4 + size);
    // {by: 5} is CBOR `62 62 79 05`: make it 7 and fix the CRC, so only the head can tell.
    const at = payload.findIndex((_, i) =>
      payload[i] === 0x62 && payload[i + 1] === 0x62 && payload[i + 2] === 0x79 && payload[i + 3] === 0x05
    );
    assert.ok(at >= 0);
    payload[at + 3] = 0x07;
    view.setUint32(last + 4 + size, crc32c(payload), true);
    await Deno.writeFile(segment, bytes);
    await expectAos(1, world, "step");
    const repair = JSON.parse(
      (await expectAos(0, world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.equal(repair.damage.kind, "changed_entry");
    assert.equal(repair.damage.seq, 6);
    assert.equal(repair.damage.offset, last);
    assert.deepEqual(repair.lost, { from: 6, to: 6, count: 1 });
    assert.deepEqual(repair.quarantine.moved, [SEGMENT, "head"]);
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 10 },
    );
    await expectAos(0, world, "replay", "--verify");
  });
});

Deno.test("aos journal repair --quarantine: an unreadable head is set aside and rebuilt from the journal", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithSnapshot(root);
    await Deno.writeFile(`${world}/.aos/head`, new Uint8Array([0xff, 0xff]));
    const step = await expectAos(1, world, "step");
    assert.match(
      step.stderr,
      new RegExp(`AOS_JOURNAL_CORRUPT\\]: Head file "${world}/\\.aos/head" is not canonical CBOR`),
    );
    const repair = JSON.parse(
      (await expectAos(0, world, "journal", "repair", "--quarantine", "--json")).stdout,
    );
    assert.equal(repair.damage.kind, "head_unreadable");
    assert.equal(repair.lost, null);
    assert.deepEqual(repair.quarantine.moved, ["head"]);
    assert.deepEqual(
      await Deno.readFile(`${world}/${repair.quarantine.folder}/head`),
      new Uint8Array([0xff, 0xff]),
    );
    await expectAos(0, world, "journal", "verify");
    assert.deepEqual(
      JSON.parse((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout),
      { count: 15 },
    );
  });
});

Deno.test("aos step after a crash mid-block: the torn derived frame is cut, the block completed by re-running its input, and the event is not admitted twice", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "world", "--template", "fetch-notify");
    const world = `${root}/world`;
    await expectAos(
      0,
      world,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r0", "url": "http://127.0.0.1:9/x"}',
    );
    await expectAos(0, world, "step");
    await expectAos(
      0,
      world,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r1", "url": "http://127.0.0.1:9/x"}',
    );
    const saved = `${root}/saved-aos`;
    await copyDir(`${world}/.aos`, saved);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const offset = (await Deno.stat(segment)).size;
    await expectAos(0, world, "step");
    const complete = await Deno.readFile(segment);
    const expected = (await expectAos(0, world, "journal", "show", "--json")).stdout;
    // The crash: the input frame and 5 bytes of the first derived frame reached the disk, nothing else did.
    const [input, derived] = frameOffsets(complete.subarray(offset)).map((at) => at + offset);
    assert.ok(input === offset && derived !== undefined);
    await Deno.remove(`${world}/.aos`, { recursive: true });
    await copyDir(saved, `${world}/.aos`);
    await Deno.writeFile(segment, complete.subarray(0, derived + 5));

    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(step.admitted, 0, "the event in the interrupted block is not admitted again");
    assert.deepEqual(
      await Deno.readFile(`${world}/.aos/quarantine/${SEGMENT}@${derived}.torn`),
      complete.subarray(derived, derived + 5),
    );
    assert.deepEqual(await Deno.readFile(segment), complete, "re-running the input wrote the same bytes");
    assert.equal((await expectAos(0, world, "journal", "show", "--json")).stdout, expected);
    await expectAos(0, world, "journal", "verify");
    await expectAos(0, world, "replay", "--verify");
  });
});
