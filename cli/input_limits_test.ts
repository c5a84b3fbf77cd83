/**
 * Issue 13: inputs `aos` must refuse at submission (size, encoding, batch limits) leaving nothing queued,
 * and failures that must end cleanly (one error line, the right exit code).
 *
 * @module
 */
import assert from "node:assert/strict";
import { limits } from "../air/mod.ts";
import { withTestLimits } from "../journal/testing/mod.ts";
import { encodeReceiptFile } from "../world/mod.ts";
import { lineWriter } from "./context.ts";
import { aos, expectAos, hashTree, withTempDir } from "./_test_helpers.ts";

/**
 * The entry bound the two "too large" tests run under: 256 KiB, or the real 16 MiB with `AOS_REAL_LIMITS=1`
 * (`deno task test:long`); the same check refuses both, the real one with 130,000 more page faults.
 */
const ENTRY_BOUND = { journalEntrySizeBytesMax: 256 * 1024 };

async function fetchNotifyWorld(root: string): Promise<string> {
  const world = `${root}/w`;
  await expectAos(0, root, "init", world, "--template", "fetch-notify");
  return world;
}

/** Runs `aos ARGS` in `world`: it must exit 2 with an error matching `error` and leave `.aos/` as it was. */
async function expectRefused(world: string, error: RegExp, ...args: string[]): Promise<void> {
  const before = await hashTree(`${world}/.aos`);
  const run = await expectAos(2, world, ...args);
  assert.match(run.stderr, error);
  assert.deepEqual(await hashTree(`${world}/.aos`), before);
}

Deno.test("aos event send: an event too large to journal exits 2, queues nothing, and step still works", async () => {
  await withTestLimits(ENTRY_BOUND, () =>
    withTempDir(async (root) => {
      const world = await fetchNotifyWorld(root);
      const url = "x".repeat(limits.journalEntrySizeBytesMax);
      await Deno.writeTextFile(
        `${root}/big.jsonl`,
        JSON.stringify({ schema: "demo/Notify@1", value: { request_id: "r1", url } }) + "\n",
      );
      await expectRefused(
        world,
        /^error\[AOS_INPUT_TOO_LARGE\]: .*journalEntrySizeBytesMax/,
        "event",
        "send",
        "--file",
        `${root}/big.jsonl`,
      );
      const step = await aos(world, "step", "--json");
      assert.equal(step.code, 0, step.stderr);
    }));
});

Deno.test("aos receipts submit: a receipt too large to journal exits 2 and leaves nothing in .aos/receipts/", async () => {
  await withTestLimits(ENTRY_BOUND, () =>
    withTempDir(async (root) => {
      const world = await fetchNotifyWorld(root);
      const receipt = encodeReceiptFile({
        intentHash: new Uint8Array(32),
        adapterId: "aos-http",
        status: "ok",
        payload: new Uint8Array(limits.journalEntrySizeBytesMax),
        fence: { generation: 0n, height: 0n },
        signature: new Uint8Array(64),
      });
      await Deno.writeFile(`${root}/big.cbor`, receipt);
      await expectRefused(world, /^error\[AOS_INPUT_TOO_LARGE\]: /, "receipts", "submit", `${root}/big.cbor`);
    }));
});

Deno.test("aos receipts submit: a refused receipt (intent hash not 32 bytes) exits 2 and queues no file", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const receipt = encodeReceiptFile({
      intentHash: new Uint8Array(31),
      adapterId: "aos-http",
      status: "ok",
      payload: new Uint8Array(4),
      fence: { generation: 0n, height: 0n },
      signature: new Uint8Array(64),
    });
    await Deno.writeFile(`${root}/short.cbor`, receipt);
    await expectRefused(
      world,
      /^error\[AOS_CBOR_INVALID\]: .*intent_hash/,
      "receipts",
      "submit",
      `${root}/short.cbor`,
    );
  });
});

Deno.test("aos event send: invalid UTF-8 in --file, or a lone surrogate in the JSON, exits 2 and queues nothing", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const line = new TextEncoder().encode(
      '{"schema":"demo/Notify@1","value":{"request_id":"r1","url":"http://h/\u0001"}}\n',
    );
    line[line.indexOf(1)] = 0xff; // an invalid UTF-8 byte inside the string
    await Deno.writeFile(`${root}/bad.jsonl`, line);
    await expectRefused(
      world,
      /^error\[AOS_JSON_INVALID\]: .*bad\.jsonl.*UTF-8/,
      "event",
      "send",
      "--file",
      `${root}/bad.jsonl`,
    );
    await expectRefused(
      world,
      /^error\[AOS_TYPE_MISMATCH\]: .*\$\.url.*valid Unicode/,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r1", "url": "http://h/\\udc80"}',
    );
  });
});

Deno.test("aos event send --file: more lines than inboxBatchMax exits 2 naming the limit and queues nothing; aos step says how many remain", async () => {
  const mutable = limits as { inboxBatchMax: number };
  const saved = mutable.inboxBatchMax;
  mutable.inboxBatchMax = 2;
  try {
    await withTempDir(async (root) => {
      const world = await fetchNotifyWorld(root);
      const before = await hashTree(`${world}/.aos`);
      const line = (n: number) =>
        JSON.stringify({
          schema: "demo/Notify@1",
          value: { request_id: `r${n}`, url: "http://127.0.0.1:9/x" },
        });
      await Deno.writeTextFile(`${root}/three.jsonl`, [1, 2, 3].map(line).join("\n") + "\n");
      const run = await expectAos(2, world, "event", "send", "--file", `${root}/three.jsonl`);
      assert.match(run.stderr, /^error\[AOS_INPUT_TOO_LARGE\]: .*inboxBatchMax \(2\)/);
      assert.deepEqual(await hashTree(`${world}/.aos`), before);
      await Deno.writeTextFile(`${root}/two.jsonl`, [1, 2].map(line).join("\n") + "\n");
      await expectAos(0, world, "event", "send", "--file", `${root}/two.jsonl`);
      await expectAos(0, world, "event", "send", "--file", `${root}/two.jsonl`);
      const step = await expectAos(0, world, "step");
      assert.match(step.stdout, /Admitted 2 inputs/);
      assert.match(step.stdout, /2 events still queued/);
      const json = await expectAos(0, world, "step", "--json");
      assert.equal(JSON.parse(json.stdout).remaining, 0);
    });
  } finally {
    mutable.inboxBatchMax = saved;
  }
});

Deno.test("lineWriter: a closed reader (BrokenPipe) stops the output instead of crashing; partial writes are completed", () => {
  let calls = 0;
  const broken = lineWriter({
    writeSync: () => {
      calls++;
      throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
    },
  });
  broken("first");
  broken("second");
  assert.equal(calls, 1);
  const written: number[] = [];
  const partial = lineWriter({
    writeSync: (bytes) => {
      written.push(bytes[0]!);
      return 1;
    },
  });
  partial("ab");
  assert.deepEqual(written, [0x61, 0x62, 0x0a]);
});

Deno.test("lineWriter with a buffer: lines wait until the buffer is full, flush() or the running code yields", async () => {
  const writes: string[] = [];
  const decoder = new TextDecoder();
  const out = lineWriter({
    writeSync: (bytes) => {
      writes.push(decoder.decode(bytes));
      return bytes.length;
    },
  }, { bufferBytes: 10 });
  out("abc");
  out("def");
  assert.deepEqual(writes, [], "held back");
  out("ghi"); // 12 characters waiting: over the 10-byte buffer
  assert.deepEqual(writes, ["abc\ndef\nghi\n"]);
  out("jkl");
  out.flush();
  assert.deepEqual(writes, ["abc\ndef\nghi\n", "jkl\n"]);
  out("mno");
  await Promise.resolve(); // the microtask queued with the first held line has run
  assert.deepEqual(writes.at(-1), "mno\n");
  assert.equal(writes.length, 3);
  out.flush();
  assert.equal(writes.length, 3, "nothing held, nothing written");
});

Deno.test("aos: .aos/LOCK being a folder, or .aos/journal being a file, fails cleanly with exit 1 and a code", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    await Deno.remove(`${world}/.aos/LOCK`);
    await Deno.mkdir(`${world}/.aos/LOCK`);
    const lock = await expectAos(1, world, "info");
    assert.match(lock.stderr, /^error\[AOS_IO\]: .*LOCK.*\n$/);
    await Deno.remove(`${world}/.aos/LOCK`);
    await Deno.remove(`${world}/.aos/journal`, { recursive: true });
    await Deno.writeTextFile(`${world}/.aos/journal`, "");
    for (const args of [["info"], ["journal", "show"], ["step"]]) {
      const run = await expectAos(1, world, ...args);
      assert.match(run.stderr, /^error\[AOS_JOURNAL_CORRUPT\]: .*journal/);
    }
  });
});
