/**
 * End-to-end tests of `aos`: commands run in process (`runCli` with its own cwd and captured output) in a
 * temporary folder, and the tests check exit codes, printed values and the bytes left under `.aos/`. One
 * test runs `aos` as a real `deno run cli.ts` subprocess and checks that it behaves the same.
 */
import assert from "node:assert/strict";
import { SystemClock } from "../adapters/mod.ts";
import { World } from "../world/mod.ts";
import { crc32c } from "../journal/mod.ts";
import {
  aos,
  aosProcess,
  copyDir,
  COUNTER_EXAMPLE,
  exists,
  expectAos,
  hashTree,
  withTempDir,
} from "./_test_helpers.ts";

const COUNTER = "demo/Counter@1";
const INCREMENT = "demo/Increment@1";
const SEGMENT = "00001.log";

/** Parses every non-empty line of `text` as JSON. */
function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** `aos init NAME --template counter` in `root`; returns the world folder. */
async function initCounterWorld(root: string, name = "world"): Promise<string> {
  await expectAos(0, root, "init", name, "--template", "counter");
  return `${root}/${name}`;
}

/** A JSONL line of an events file. */
function eventLine(by: unknown, schema = INCREMENT): string {
  return JSON.stringify({ schema, value: { by } });
}

/** A world with three admitted events (count 6), used by the bad-input and corruption tests. */
async function worldWithEvents(root: string): Promise<string> {
  const world = await initCounterWorld(root);
  await Deno.writeTextFile(`${world}/events.jsonl`, [1, 2, 3].map((by) => eventLine(by)).join("\n") + "\n");
  await expectAos(0, world, "event", "send", "--file", "events.jsonl");
  const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
  assert.equal(step.admitted, 3);
  assert.equal(step.height, 4);
  return world;
}

/** Frames of a journal segment: `u32 LE size | CBOR | u32 LE CRC-32C`. */
function segmentFrames(bytes: Uint8Array): Array<{ offset: number; size: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Array<{ offset: number; size: number }> = [];
  for (let at = 0; at < bytes.length;) {
    const size = view.getUint32(at, true);
    frames.push({ offset: at, size });
    at += 8 + size;
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------------------

Deno.test("aos: happy path — init, event send (argument and --file), step, state get, info, journal show, replay --verify", async () => {
  await withTempDir(async (root) => {
    const init = await expectAos(0, root, "init", "world", "--template", "counter");
    assert.match(init.stdout, /Initialized world/);
    const world = `${root}/world`;
    for (const f of ["manifest.air.json", "module.air.json", "schemas.air.json"]) {
      assert.ok(await exists(`${world}/air/${f}`), `air/${f} was written`);
    }
    const modules = [...Deno.readDirSync(`${world}/modules`)].map((e) => e.name);
    assert.equal(modules.filter((n) => n.endsWith(".wasm")).length, 1, `one module in ${modules}`);
    assert.ok(await exists(`${world}/.aos/journal/${SEGMENT}`), "genesis was journaled");

    const one = await expectAos(0, world, "event", "send", INCREMENT, '{"by": 2}');
    assert.match(one.stdout, /Queued 1 event\b/);
    // Events are queued durably, not journaled yet.
    let info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.height, 1);
    assert.equal(info.pending.inbox, 1);

    // Several lines, a blank line and no trailing newline.
    await Deno.writeTextFile(
      `${world}/events.jsonl`,
      [eventLine(3), "", eventLine(4), JSON.stringify({ value: { by: 1 }, schema: INCREMENT })].join("\n"),
    );
    const file = await expectAos(0, world, "event", "send", "--file", "events.jsonl");
    assert.match(file.stdout, /Queued 3 events/);
    info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.height, 1);
    assert.equal(info.pending.inbox, 4);

    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(step.admitted, 4);
    assert.equal(step.height_before, 1);
    assert.equal(step.height, 5);
    assert.deepEqual(step.entries, [1, 2, 3, 4].map((seq) => ({ seq, kind: "domain_event" })));
    assert.deepEqual(step.reducer_errors, []);

    const state = await expectAos(0, world, "state", "get", COUNTER, "--json");
    assert.equal(state.stdout, '{"count":10}\n');
    assert.equal(state.stderr, "");
    const pretty = await expectAos(0, world, "state", "get", COUNTER);
    assert.deepEqual(JSON.parse(pretty.stdout), { count: 10 });

    info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.height, 5);
    assert.match(info.manifest_hash, /^sha256:[0-9a-f]{64}$/);
    assert.ok(
      info.reducers.some((r: { name: string }) => r.name === COUNTER),
      `reducers: ${JSON.stringify(info.reducers)}`,
    );
    assert.equal(info.failures, 0);
    assert.equal(info.pending.inbox, 0);
    const infoText = await expectAos(0, world, "info");
    assert.match(infoText.stdout, /height\s+5/);
    assert.ok(infoText.stdout.includes(info.manifest_hash));

    const journal = jsonLines((await expectAos(0, world, "journal", "show", "--json")).stdout);
    assert.deepEqual(journal.map((e) => e.seq), [0, 1, 2, 3, 4]);
    assert.deepEqual(journal.map((e) => e.kind), [
      "genesis",
      "domain_event",
      "domain_event",
      "domain_event",
      "domain_event",
    ]);
    // Admitted in arrival order: the argument first, then the file's lines in order.
    assert.deepEqual(
      journal.slice(1).map((e) => (e.body as { value_json: { by: number } }).value_json.by),
      [2, 3, 4, 1],
    );
    const text = (await expectAos(0, world, "journal", "show")).stdout.trimEnd().split("\n");
    assert.equal(text.length, 5);
    assert.match(text[0]!, /^\s*0\s+genesis\b/);
    assert.match(text[4]!, /^\s*4\s+domain_event\s+demo\/Increment@1\b/);
    const from2 = jsonLines((await expectAos(0, world, "journal", "show", "--from", "2", "--json")).stdout);
    assert.deepEqual(from2.map((e) => e.seq), [2, 3, 4]);

    const verify = await expectAos(0, world, "replay", "--verify");
    assert.equal(verify.stderr, "");
    const verifyJson = JSON.parse((await expectAos(0, world, "replay", "--verify", "--json")).stdout);
    assert.equal(verifyJson.ok, true);
    assert.equal(verifyJson.height, 5);
    assert.equal(verifyJson.divergence, null);
    assert.equal(verifyJson.error, null);
    const journalVerify = await expectAos(0, world, "journal", "verify");
    assert.match(journalVerify.stdout, /^Journal OK: 5 entries in 1 segment\b/);
    assert.deepEqual(JSON.parse((await expectAos(0, world, "journal", "verify", "--json")).stdout), {
      ok: true,
      torn_tail: null,
      height: 5,
      segments: 1,
    });

    // Nothing left to admit; a second step is a no-op.
    const again = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(again.admitted, 0);
    assert.equal(again.height, 5);
  });
});

Deno.test("aos as a real process: init, event send, step, state get, a usage error; output and exit codes as in process", async () => {
  await withTempDir(async (root) => {
    // The same command gives the same exit code, stdout and stderr in a process and in process.
    const same = async (cwd: string, code: number, args: string[]): Promise<void> => {
      const [process, inProcess] = [await aosProcess(cwd, ...args), await aos(cwd, ...args)];
      assert.deepEqual(process, inProcess, `aos ${args.join(" ")}`);
      assert.equal(process.code, code, `aos ${args.join(" ")}: ${process.stderr}`);
    };
    await Promise.all([
      (async () => {
        const init = await aosProcess(root, "init", "world", "--template", "counter");
        assert.equal(init.code, 0, init.stderr);
        assert.match(init.stdout, /Initialized world/);
        assert.equal(init.stderr, "");
        const world = `${root}/world`;
        const send = await aosProcess(world, "event", "send", INCREMENT, '{"by": 2}');
        assert.equal(send.code, 0, send.stderr);
        assert.match(send.stdout, /Queued 1 event\b/);
        const step = await aosProcess(world, "step", "--json");
        assert.equal(step.code, 0, step.stderr);
        assert.equal(JSON.parse(step.stdout).admitted, 1);
        await same(world, 0, ["state", "get", COUNTER, "--json"]);
        assert.equal((await aos(world, "state", "get", COUNTER, "--json")).stdout, '{"count":2}\n');
      })(),
      // Meanwhile, outside any world: a usage error, the help on stderr (80 columns wide, no colors).
      (async () => {
        await same(root, 2, []);
        assert.match((await aos(root)).stderr, /^Usage: aos /);
      })(),
    ]);
  });
});

Deno.test("aos: 1000 events in one step take a snapshot; the world reopens from it and verifies", async () => {
  await withTempDir(async (root) => {
    const world = await initCounterWorld(root);
    const lines = Array.from({ length: 1000 }, (_, i) => eventLine(i % 3));
    await Deno.writeTextFile(`${world}/many.jsonl`, lines.join("\n") + "\n");
    await expectAos(0, world, "event", "send", "--file", "many.jsonl");
    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(step.admitted, 1000);
    assert.notEqual(step.snapshot, null, "a snapshot was taken");
    const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.snapshot.height, step.snapshot.height);
    assert.equal(info.height, step.height);
    const expected = lines.reduce((n, _, i) => n + (i % 3), 0);
    assert.equal(
      (await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout,
      `{"count":${expected}}\n`,
    );
    const verify = JSON.parse((await expectAos(0, world, "replay", "--verify", "--json")).stdout);
    assert.equal(verify.ok, true);
    assert.equal(verify.replayed, step.height);
  });
});

Deno.test("aos: the world is found like git — --world, the current folder or the nearest parent with .aos/", async () => {
  await withTempDir(async (root) => {
    for (let dir = root; dir !== "/"; dir = dir.replace(/\/[^/]*$/, "") || "/") {
      assert.ok(!(await exists(`${dir}/.aos`)), `precondition: no world above the temp folder (${dir}/.aos)`);
    }
    const world = await initCounterWorld(root);
    const deep = `${world}/sub/deeper`;
    await Deno.mkdir(deep, { recursive: true });
    await Deno.writeTextFile(`${deep}/e.jsonl`, eventLine(7) + "\n");

    // From a subfolder, without --world; the events file is relative to the cwd, not the world.
    await expectAos(0, deep, "event", "send", "--file", "e.jsonl");
    const step = JSON.parse((await expectAos(0, deep, "step", "--json")).stdout);
    assert.equal(step.admitted, 1);
    const info = JSON.parse((await expectAos(0, deep, "info", "--json")).stdout);
    assert.equal(info.world, world);
    assert.equal(info.height, 2);

    // From outside, with --world (relative to the cwd, and absolute).
    const outside = `${root}/outside`;
    await Deno.mkdir(outside);
    assert.equal(
      (await expectAos(0, outside, "--world", "../world", "state", "get", COUNTER, "--json")).stdout,
      '{"count":7}\n',
    );
    assert.equal(
      (await expectAos(0, root, "--world", world, "state", "get", COUNTER, "--json")).stdout,
      '{"count":7}\n',
    );

    // Outside any world: exit 2 with a message, and nothing is created.
    for (
      const args of [["info"], ["step"], ["event", "send", INCREMENT, '{"by": 1}'], ["replay", "--verify"]]
    ) {
      const run = await expectAos(2, outside, ...args);
      assert.match(run.stderr, /No world found/, `${args.join(" ")}: ${run.stderr}`);
      assert.ok(run.stderr.includes(outside), run.stderr);
    }
    assert.deepEqual(await hashTree(outside), {});
    // --world pointing at a folder that is not a world.
    const notWorld = await expectAos(2, root, "--world", outside, "info");
    assert.match(notWorld.stderr, /no \.aos/);
  });
});

Deno.test("aos: invalid events exit 2, name the JSON path and leave .aos/ byte-for-byte unchanged", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    const before = await hashTree(`${world}/.aos`);
    const cases: Array<{ args: string[]; stderr: RegExp[] }> = [
      { args: ["demo/Nope@1", '{"by": 1}'], stderr: [/AOS_SCHEMA_UNKNOWN/, /demo\/Nope@1/] },
      { args: [INCREMENT, '{"by": "x"}'], stderr: [/AOS_TYPE_MISMATCH/, /\$\.by\b/] },
      { args: [INCREMENT, '{"by": -1}'], stderr: [/AOS_TYPE_MISMATCH/, /\$\.by\b/] },
      { args: [INCREMENT, '{"by": 18446744073709551616}'], stderr: [/AOS_TYPE_MISMATCH/, /\$\.by\b/] },
      { args: [INCREMENT, '{"by": 1, "extra": 2}'], stderr: [/AOS_TYPE_MISMATCH/, /\$\.extra\b/] },
      { args: [INCREMENT, "{}"], stderr: [/AOS_TYPE_MISMATCH/, /\$/, /"by"/] },
      { args: [INCREMENT, "[1]"], stderr: [/AOS_TYPE_MISMATCH/, /at \$ /] },
      {
        args: [INCREMENT, '{"by": 1.5}'],
        stderr: [/AOS_JSON_INVALID/, /<value argument>/, /\$\.by\b/, /1\.5/],
      },
      { args: [INCREMENT, '{"by": 1'], stderr: [/AOS_JSON_INVALID/, /<value argument>/] },
      { args: [INCREMENT, '{"by": 1}', "--key", "a b"], stderr: [/AOS_JSON_INVALID/, /--key/] },
      { args: [INCREMENT, '{"by": 1}', "--key", "a"], stderr: [/AOS_TYPE_MISMATCH/, /key/] },
      { args: [INCREMENT, '{"by": 1}', "--key", '"a"'], stderr: [/AOS_TYPE_MISMATCH/, /key/] },
    ];
    for (const c of cases) {
      const run = await expectAos(2, world, "event", "send", ...c.args);
      for (const re of c.stderr) assert.match(run.stderr, re, `event send ${c.args.join(" ")}`);
      assert.equal(run.stdout, "");
      assert.deepEqual(
        await hashTree(`${world}/.aos`),
        before,
        `event send ${c.args.join(" ")} changed .aos/`,
      );
    }

    // Events files: the 3rd line is bad in each; nothing of the file may be queued.
    const good = [eventLine(10), eventLine(20)];
    const files: Array<{ name: string; bad: string; stderr: RegExp[] }> = [
      { name: "mismatch.jsonl", bad: eventLine("x"), stderr: [/mismatch\.jsonl:3\b/, /\$\.by\b/] },
      { name: "float.jsonl", bad: eventLine(1.5), stderr: [/float\.jsonl:3\b/, /\$\.value\.by\b/] },
      {
        name: "syntax.jsonl",
        bad: '{"schema": "demo/Increment@1", "value": {"by": 1}',
        stderr: [/syntax\.jsonl:3\b/],
      },
      {
        name: "unknown.jsonl",
        bad: eventLine(1, "demo/Nope@1"),
        stderr: [/unknown\.jsonl:3\b/, /demo\/Nope@1/],
      },
      {
        name: "shape.jsonl",
        bad: JSON.stringify({ schema: INCREMENT, valu: { by: 1 } }),
        stderr: [/shape\.jsonl:3\b/, /valu/],
      },
    ];
    for (const f of files) {
      await Deno.writeTextFile(`${root}/${f.name}`, [...good, f.bad, eventLine(30)].join("\n") + "\n");
      const run = await expectAos(2, world, "event", "send", "--file", `../${f.name}`);
      for (const re of f.stderr) assert.match(run.stderr, re, `event send --file ${f.name}`);
      assert.deepEqual(await hashTree(`${world}/.aos`), before, `event send --file ${f.name} changed .aos/`);
    }
    const missing = await expectAos(2, world, "event", "send", "--file", "no-such.jsonl");
    assert.match(missing.stderr, /no-such\.jsonl/);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);

    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(step.admitted, 0, "nothing of the rejected files was queued");
    assert.equal(step.height, 4);
    assert.equal((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout, '{"count":6}\n');
  });
});

Deno.test("aos: a corrupt journal is detected by replay --verify and on open, and left untouched", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const original = await Deno.readFile(segment);
    const frames = segmentFrames(original);
    assert.equal(frames.length, 4);

    // Flip one byte inside the payload of the frame that holds the middle of the segment.
    const middle = Math.floor(original.length / 2);
    const frame = frames.findLast((f) => f.offset <= middle)!;
    assert.ok(frame !== frames[frames.length - 1], "the middle frame is not the last one");
    const flipped = original.slice();
    const at = frame.offset + 4 + Math.floor(frame.size / 2);
    flipped[at] = flipped[at]! ^ 0x01;
    await Deno.writeFile(segment, flipped);
    const before = await hashTree(`${world}/.aos`);

    const verify = await expectAos(1, world, "replay", "--verify");
    const said = verify.stdout + verify.stderr;
    assert.ok(said.includes(SEGMENT), said);
    assert.match(said, new RegExp(`offset ${frame.offset}\\b`));
    const report = JSON.parse((await expectAos(1, world, "replay", "--verify", "--json")).stdout);
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "AOS_JOURNAL_CORRUPT");
    assert.ok(String(report.error.segment).endsWith(SEGMENT), report.error.segment);
    assert.equal(report.error.offset, frame.offset);
    const journalReport = JSON.parse((await expectAos(1, world, "journal", "verify", "--json")).stdout);
    assert.deepEqual(journalReport, {
      ok: false,
      torn_tail: null,
      height: 0,
      segments: 0,
      error: { ...report.error, seq: null },
    });
    assert.match((await expectAos(1, world, "journal", "verify")).stderr, /Journal damaged: .*00001\.log/);

    for (const args of [["info"], ["step"], ["state", "get", COUNTER], ["journal", "show"]]) {
      const run = await expectAos(1, world, ...args);
      assert.match(run.stderr, /AOS_JOURNAL_CORRUPT/, `${args.join(" ")}: ${run.stderr}`);
      assert.ok(run.stderr.includes(SEGMENT), run.stderr);
    }
    // Nothing can be queued into a corrupt world.
    await expectAos(1, world, "event", "send", INCREMENT, '{"by": 1}');
    assert.deepEqual(
      await hashTree(`${world}/.aos`),
      before,
      "verify and open leave a corrupt world untouched",
    );
    assert.deepEqual(await Deno.readFile(segment), flipped);
  });
});

Deno.test("aos: a cut acknowledged last frame is corruption, never a torn tail to cut", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const original = await Deno.readFile(segment);
    const lastFrame = segmentFrames(original).at(-1)!;
    // The head covers every entry: a crash cannot have cut this frame, damage did.
    const torn = original.slice(0, original.length - 3);
    await Deno.writeFile(segment, torn);
    await Deno.writeTextFile(`${world}/more.jsonl`, eventLine(5) + "\n");
    const before = await hashTree(`${world}/.aos`);

    const verify = await expectAos(1, world, "replay", "--verify");
    assert.ok(verify.stderr.includes(SEGMENT), verify.stderr);
    assert.match(verify.stderr, new RegExp(`offset ${lastFrame.offset}\\b`));
    const report = JSON.parse((await expectAos(1, world, "replay", "--verify", "--json")).stdout);
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "AOS_JOURNAL_CORRUPT");
    assert.match(report.error.message, /acknowledged entry 3 is damaged/);
    assert.ok(String(report.error.segment).endsWith(SEGMENT));
    assert.equal(report.error.offset, lastFrame.offset);
    const journalReport = JSON.parse((await expectAos(1, world, "journal", "verify", "--json")).stdout);
    assert.equal(journalReport.error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(journalReport.error.offset, lastFrame.offset);

    const step = await expectAos(1, world, "step");
    assert.match(step.stderr, /AOS_JOURNAL_CORRUPT.*acknowledged entry 3 is damaged/);
    await expectAos(1, world, "info");
    await expectAos(1, world, "event", "send", "--file", "more.jsonl");
    assert.deepEqual(await hashTree(`${world}/.aos`), before, "the damage was left as found");
    assert.equal((await Deno.stat(segment)).size, torn.length);
  });
});

Deno.test("aos: an edited journal entry (with a valid CRC) breaks the hash chain and is refused", async () => {
  await withTempDir(async (root) => {
    const world = await worldWithEvents(root);
    const segment = `${world}/.aos/journal/${SEGMENT}`;
    const bytes = await Deno.readFile(segment);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Entry seq 1 is {by: 1}: CBOR `62 62 79 01` is the key "by" and the value 1. Make it 9, fix the CRC.
    const frame = segmentFrames(bytes)[1]!;
    const payload = bytes.subarray(frame.offset + 4, frame.offset + 4 + frame.size);
    const at = payload.findIndex((_, i) =>
      payload[i] === 0x62 && payload[i + 1] === 0x62 && payload[i + 2] === 0x79 && payload[i + 3] === 0x01
    );
    assert.ok(at >= 0, "found the event value in entry 1");
    payload[at + 3] = 0x09;
    view.setUint32(frame.offset + 4 + frame.size, crc32c(payload), true);
    await Deno.writeFile(segment, bytes);
    const before = await hashTree(`${world}/.aos`);

    const report = JSON.parse((await expectAos(1, world, "replay", "--verify", "--json")).stdout);
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(report.error.seq, 2, "the chain breaks at the entry after the edit");
    assert.ok(String(report.error.segment).endsWith(SEGMENT));
    const journalReport = JSON.parse((await expectAos(1, world, "journal", "verify", "--json")).stdout);
    assert.equal(journalReport.error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(journalReport.error.seq, 2);
    const state = await expectAos(1, world, "state", "get", COUNTER, "--json");
    assert.equal(state.stdout, "", "no state is printed from an edited journal");
    assert.match(state.stderr, /hash chain/);
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
  });
});

Deno.test("aos: a world of many segments opens reading only its tail; journal verify and replay --verify check it all", async () => {
  await withTempDir(async (root) => {
    // Given a world whose journal is spread over small segments (written in-process), with snapshots
    const world = await initCounterWorld(root);
    const opened = await World.open(world, {
      clock: new SystemClock(),
      segmentSizeBytesMax: 1_000,
      snapshotIntervalEntries: 10,
    });
    for (let batch = 0; batch < 8; batch++) {
      await opened.send([1, 2, 3, 4, 5].map((by) => ({ schema: INCREMENT, value: { by: BigInt(by) } })));
    }
    opened.close();
    const journalDir = `${world}/.aos/journal`;
    const segments = [...Deno.readDirSync(journalDir)].filter((e) => e.name.endsWith(".log")).length;
    assert.ok(segments >= 5, `${segments} segments`);
    const healthy = JSON.parse((await expectAos(0, world, "journal", "verify", "--json")).stdout);
    assert.equal(healthy.ok, true);
    assert.equal(healthy.segments, segments);
    // When a byte of a sealed segment in the middle is flipped
    const damaged = `${journalDir}/00002.log`;
    const bytes = await Deno.readFile(damaged);
    const frame = segmentFrames(bytes)[1]!;
    bytes[frame.offset + 4 + Math.floor(frame.size / 2)]! ^= 0x01;
    await Deno.writeFile(damaged, bytes);
    const before = await hashTree(`${world}/.aos`);
    // Then the world still opens (nothing before the latest snapshot is read) …
    const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.height, healthy.height);
    assert.equal((await expectAos(0, world, "state", "get", COUNTER, "--json")).stdout, '{"count":120}\n');
    // … but every full check, and every read through the damage, reports it with segment and offset
    const report = JSON.parse((await expectAos(1, world, "journal", "verify", "--json")).stdout);
    assert.equal(report.ok, false);
    assert.equal(report.height, healthy.height);
    assert.equal(report.segments, segments);
    assert.equal(report.error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(report.error.segment, "00002.log");
    assert.equal(report.error.offset, frame.offset);
    const replay = JSON.parse((await expectAos(1, world, "replay", "--verify", "--json")).stdout);
    assert.equal(replay.error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(replay.error.segment, "00002.log");
    assert.equal(replay.error.offset, frame.offset);
    const show = await expectAos(1, world, "journal", "show");
    assert.match(show.stderr, /AOS_JOURNAL_CORRUPT.*00002\.log/);
    assert.deepEqual(await hashTree(`${world}/.aos`), before, "checks leave the world untouched");
  });
});

Deno.test("aos: usage errors exit 2", async () => {
  await withTempDir(async (root) => {
    const world = await initCounterWorld(root);
    const before = await hashTree(`${world}/.aos`);
    const cases: Array<{ args: string[]; stderr: RegExp }> = [
      { args: ["frobnicate"], stderr: /unknown command 'frobnicate'/ },
      { args: [], stderr: /Usage: aos/ },
      { args: ["state"], stderr: /Usage: aos state/ },
      { args: ["step", "--bogus"], stderr: /unknown option '--bogus'/ },
      { args: ["state", "get", "demo/Nope@1"], stderr: /AOS_REDUCER_UNKNOWN.*demo\/Nope@1/ },
      { args: ["state", "get"], stderr: /missing required argument 'reducer'/ },
      { args: ["init"], stderr: /AOS_WORLD_EXISTS/ },
      { args: ["init", "."], stderr: /AOS_WORLD_EXISTS/ },
      { args: ["replay"], stderr: /--verify/ },
      { args: ["journal", "show", "--from", "x"], stderr: /--from.*"x"/ },
      { args: ["journal", "show", "--from", "-1"], stderr: /--from/ },
      { args: ["journal", "show", "--from", ""], stderr: /--from/ },
      { args: ["event", "send"], stderr: /Usage: aos event send/ },
      { args: ["event", "send", INCREMENT], stderr: /Usage: aos event send/ },
      { args: ["event", "send", INCREMENT, '{"by": 1}', "--file", "e.jsonl"], stderr: /not both/ },
    ];
    for (const c of cases) {
      const run = await expectAos(2, world, ...c.args);
      assert.match(run.stderr, c.stderr, `aos ${c.args.join(" ")}`);
    }
    // `init DIR` from elsewhere into an existing world.
    await expectAos(2, root, "init", "world", "--template", "counter");
    assert.deepEqual(await hashTree(`${world}/.aos`), before, "usage errors leave the world untouched");
    // An unknown template creates no world.
    const unknown = await expectAos(2, root, "init", "fresh", "--template", "nope");
    assert.match(unknown.stderr, /Unknown template "nope"/);
    assert.ok(!(await exists(`${root}/fresh/.aos`)));
    // Help is not an error; --from past the end shows nothing.
    assert.match((await expectAos(0, world, "--help")).stdout, /Usage: aos/);
    assert.equal((await expectAos(0, world, "journal", "show", "--from", "99")).stdout, "");
  });
});

Deno.test("aos: init DIR uses DIR's own air/ and modules/; invalid AIR exits 2 naming file and path, creating nothing", async () => {
  await withTempDir(async (root) => {
    const own = `${root}/own`;
    await copyDir(`${COUNTER_EXAMPLE}/air`, `${own}/air`);
    await copyDir(`${COUNTER_EXAMPLE}/modules`, `${own}/modules`);
    const sources = await hashTree(own);
    // `aos init` without DIR initializes the current folder (from the default template).
    await Deno.mkdir(`${root}/here`);
    await expectAos(0, `${root}/here`, "init");
    assert.ok(await exists(`${root}/here/.aos/journal/${SEGMENT}`));
    const init = JSON.parse((await expectAos(0, root, "init", "own", "--json")).stdout);
    assert.equal(init.template, null);
    assert.equal(init.height, 1);
    assert.deepEqual(init.reducers, [COUNTER]);
    assert.match(init.manifest_hash, /^sha256:[0-9a-f]{64}$/);
    const after = await hashTree(own);
    for (const [path, hash] of Object.entries(sources)) {
      assert.equal(after[path], hash, `${path} is unchanged`);
    }
    // Same AIR, same manifest hash as the template.
    const fromTemplate = JSON.parse(
      (await expectAos(0, root, "init", "tpl", "--template", "counter", "--json")).stdout,
    );
    assert.equal(fromTemplate.manifest_hash, init.manifest_hash);
    await expectAos(0, own, "event", "send", INCREMENT, '{"by": 4}');
    await expectAos(0, own, "step");
    assert.equal((await expectAos(0, own, "state", "get", COUNTER, "--json")).stdout, '{"count":4}\n');

    const broken: Array<{ name: string; file: string; edit: (text: string) => string; stderr: RegExp[] }> = [
      {
        name: "badtype",
        file: "schemas.air.json",
        edit: (t) => t.replace(/"count":\s*\{\s*"nat":\s*\{\s*\}\s*\}/, '"count": { "nat": 1 }'),
        stderr: [/badtype\/air\/schemas\.air\.json/, /\$\[0\]\.type\.record\.count\.nat\b/],
      },
      {
        name: "badroute",
        file: "manifest.air.json",
        edit: (t) => t.replace('"reducer": "demo/Counter@1"', '"reducer": "demo/Nope@1"'),
        stderr: [/badroute\/air\/manifest\.air\.json/, /\$\.routing\.events\[0\]\.reducer\b/, /demo\/Nope@1/],
      },
      {
        name: "badjson",
        file: "manifest.air.json",
        edit: (t) => t.slice(0, t.length / 2),
        stderr: [/badjson\/air\/manifest\.air\.json/, /JSON/],
      },
      {
        name: "nowasm",
        file: "module.air.json",
        edit: (t) => t,
        stderr: [/nowasm\/air\/module\.air\.json/, /\$\.wasm_hash\b/],
      },
    ];
    for (const b of broken) {
      const dir = `${root}/${b.name}`;
      await copyDir(`${COUNTER_EXAMPLE}/air`, `${dir}/air`);
      if (b.name !== "nowasm") await copyDir(`${COUNTER_EXAMPLE}/modules`, `${dir}/modules`);
      const text = await Deno.readTextFile(`${dir}/air/${b.file}`);
      const edited = b.edit(text);
      assert.ok(b.name === "nowasm" || edited !== text, `${b.name}: the edit applies`);
      await Deno.writeTextFile(`${dir}/air/${b.file}`, edited);
      const tree = await hashTree(dir);
      const run = await expectAos(2, root, "init", b.name);
      assert.match(run.stderr, /AOS_AIR_INVALID/, b.name);
      for (const re of b.stderr) assert.match(run.stderr, re, b.name);
      assert.ok(!(await exists(`${dir}/.aos`)), `${b.name}: no .aos/ was created`);
      assert.deepEqual(await hashTree(dir), tree, `${b.name}: the folder is unchanged`);
    }
  });
});

Deno.test({
  name: "aos: a rejected events-file line is named by its line number, counting blank lines",
  fn: async () => {
    await withTempDir(async (root) => {
      const world = await initCounterWorld(root);
      await Deno.writeTextFile(`${world}/gaps.jsonl`, [eventLine(1), "", eventLine("x")].join("\n") + "\n");
      const run = await expectAos(2, world, "event", "send", "--file", "gaps.jsonl");
      assert.match(run.stderr, /gaps\.jsonl:3\b/);
    });
  },
});

Deno.test("aos commands reach the process only through CliIo (so that in-process runs are faithful)", async () => {
  const ambient = /\bDeno\.(cwd|chdir|env|args|exit|stdin|stdout|stderr)\b|\bconsole\.|\bprocess\./;
  const offenders: string[] = [];
  const dir = decodeURIComponent(new URL(".", import.meta.url).pathname);
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts") || e.name.startsWith("_")) {
      continue;
    }
    // `processIo()` is the one place that reads the process; everything else gets it passed in.
    const text = (await Deno.readTextFile(`${dir}/${e.name}`))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "")
      .replace(/export function processIo\(\)[\s\S]*?\n}\n/, "");
    for (const line of text.split("\n")) if (ambient.test(line)) offenders.push(`${e.name}: ${line.trim()}`);
  }
  assert.deepEqual(offenders, []);
});
