/**
 * End-to-end tests of crash recovery (KERNEL §8.5): a torn journal tail left by a crash mid-write is cut by
 * writing commands (its bytes kept in `.aos/quarantine/`) and only reported by reading ones; damage to an
 * acknowledged entry is corruption. Real files, `aos` run in process.
 */
import assert from "node:assert/strict";
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
];

for (const args of WRITING_COMMANDS) {
  Deno.test(`aos ${args.join(" ")}: cuts a torn journal tail, says so on stderr, keeps the bytes in .aos/quarantine/`, async () => {
    await withTempDir(async (root) => {
      const t = await tornWorld(root);
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
