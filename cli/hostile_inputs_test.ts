/**
 * Issue 13, "Proving it": hostile inputs at the CLI. Oversized, deeply nested, out-of-range and overlong
 * inputs exit 2 and change nothing under `.aos/`; forged receipts (bad signature, unknown adapter, unknown
 * intent, wrong fence, path-like adapter ids, replayed) are each journaled as `receipt_ignored` with their
 * reason and change nothing else; the journal still verifies by replay. (Size, encoding and batch-limit
 * cases of the submission commands, an event over the entry limit among them, are in
 * `input_limits_test.ts`.) The cases of one world share it.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bytesToHashRef,
  encodeTyped,
  fromHex,
  SchemaIndex,
  toHex,
  toJsonValue,
  valueFromJson,
} from "../air/mod.ts";
import { AdapterKey, signReceipt } from "../adapters/mod.ts";
import type { Receipt } from "../kernel/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { encodeReceiptFile, World, worldPaths } from "../world/mod.ts";
import { aos, expectAos, hashTree, withTempDir } from "./_test_helpers.ts";

async function fetchNotifyWorld(root: string): Promise<string> {
  const world = `${root}/w`;
  await expectAos(0, root, "init", world, "--template", "fetch-notify");
  return world;
}

Deno.test("aos event send: 100,000-deep JSON, integers beyond 64 bits and a million-line --file exit 2 and change nothing; a 10 MB event is admitted", async () => {
  await withTempDir(async (root) => {
    const world = await fetchNotifyWorld(root);
    const before = await hashTree(`${world}/.aos`);
    const refused: Array<{ args: string[]; code: RegExp }> = [];
    // 100,000-deep nesting: as the value, inside a field, as a --file line, and as a --key
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    refused.push({ args: ["event", "send", "demo/Notify@1", deep], code: /^error\[AOS_JSON_INVALID\]/ });
    refused.push({
      args: ["event", "send", "demo/Notify@1", `{"request_id": "r", "url": ${deep}}`],
      code: /^error\[AOS_JSON_INVALID\]/,
    });
    const deepObject = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
    await Deno.writeTextFile(`${root}/deep.jsonl`, `{"schema":"demo/Notify@1","value":${deepObject}}\n`);
    refused.push({
      args: ["event", "send", "--file", `${root}/deep.jsonl`],
      code: /^error\[AOS_JSON_INVALID\]/,
    });
    refused.push({
      args: [
        "event",
        "send",
        "demo/Notify@1",
        '{"request_id": "r", "url": "http://127.0.0.1:9/x"}',
        "--key",
        deep,
      ],
      code: /^error\[(AOS_JSON_INVALID|AOS_USAGE|AOS_TYPE_MISMATCH)\]/,
    });
    // Integers beyond 64 bits, where the schema takes an int (i64), and beyond JSON numbers' precision
    for (const status of ["18446744073709551616", "-9223372036854775809", "1" + "0".repeat(400)]) {
      refused.push({
        args: [
          "event",
          "send",
          "demo/FetchSucceeded@1",
          `{"request_id": "r", "status": ${status}, "body_ref": null}`,
        ],
        code: /^error\[AOS_TYPE_MISMATCH\].*status/,
      });
    }
    refused.push({
      args: [
        "event",
        "send",
        "demo/FetchSucceeded@1",
        '{"request_id": "r", "status": 1.5e300, "body_ref": null}',
      ],
      code: /^error\[AOS_JSON_INVALID\]/,
    });
    // Numbers beyond 64 bits (or beyond what a timer can wait) in options and arguments
    refused.push({
      args: ["run", "--timeout", "99999999999999999999s"],
      code: /^error\[AOS_USAGE\].*at most/,
    });
    refused.push({ args: ["run", "--timeout", "3000000000ms"], code: /^error\[AOS_USAGE\].*at most/ });
    refused.push({ args: ["journal", "show", "--from", `${2n ** 64n}`], code: /^error\[AOS_USAGE\]/ });
    refused.push({ args: ["proposal", "show", `${2n ** 64n}`], code: /^error\[AOS_USAGE\]/ });
    // A patch document whose schema nests 1,000 deep (parses as JSON, cannot be hashed)
    const deepType = '{"list":'.repeat(1_000) + '{"nat":{}}' + "}".repeat(1_000);
    await Deno.writeTextFile(
      `${root}/deep-patch.json`,
      `{"base_manifest_hash": "sha256:${"0".repeat(64)}", "patches": [{"add_def": {"kind": "defschema", ` +
        `"node": {"$kind": "defschema", "name": "demo/Deep@1", "type": ${deepType}}}}]}`,
    );
    refused.push({
      args: ["proposal", "submit", `${root}/deep-patch.json`],
      code: /^error\[AOS_(CBOR_INVALID|PATCH_INVALID)\]/,
    });
    // A million lines: refused by their count before any line is parsed (so these need not be events)
    await Deno.writeTextFile(`${root}/million.jsonl`, "{}\n".repeat(1_000_000));
    refused.push({
      args: ["event", "send", "--file", `${root}/million.jsonl`],
      code: /^error\[AOS_INPUT_TOO_LARGE\]: .*1000000 events.*inboxBatchMax/,
    });
    for (const { args, code } of refused) {
      const run = await aos(world, ...args);
      const shown = args.map((a) => (a.length > 60 ? `${a.slice(0, 40)}…(${a.length})` : a)).join(" ");
      assert.equal(run.code, 2, `aos ${shown}: exit ${run.code}\n${run.stderr.slice(0, 300)}`);
      assert.match(run.stderr, code, `aos ${shown}`);
      assert.equal(run.stderr.trim().split("\n").length, 1, `one error line for aos ${shown}`);
    }
    // Then nothing under .aos/ changed
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
    // And a 10 MB event, within the entry limit, is queued, admitted once and replays
    await expectAos(
      0,
      world,
      "event",
      "send",
      "demo/Notify@1",
      JSON.stringify({ request_id: "big", url: "y".repeat(10 << 20) }),
    );
    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout) as { admitted: number };
    assert.equal(step.admitted, 1);
    await expectAos(0, world, "replay", "--verify");
  });
});

/** What a world's inputs can change besides its journal: cells, plan instances, the outbox, budgets. */
function observable(world: World): string {
  const plain = (value: unknown) =>
    JSON.stringify(
      value,
      (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? toHex(v) : v),
    );
  return plain({
    cells: world.kernel.stateHashes(),
    plans: world.kernel.plans(),
    outbox: world.kernel.outbox(),
    budgets: world.kernel.budgets(),
  });
}

const EXTERNAL = AdapterKey.fromSeed(new Uint8Array(32).fill(42));
const INTRUDER = AdapterKey.fromSeed(new Uint8Array(32).fill(43));

function httpPayload(): Uint8Array {
  const receipt = {
    status: 200,
    headers: {},
    body_ref: null,
    timings: { start_ns: 0, end_ns: 0 },
    adapter_id: "ext-http",
  };
  const index = new SchemaIndex([]);
  const ref = { ref: "sys/HttpRequestReceipt@1" };
  return encodeTyped(ref, valueFromJson(ref, toJsonValue(receipt), index), index);
}

Deno.test("aos receipts submit + aos step: forged and replayed receipts are journaled as receipt_ignored and change nothing else", async () => {
  await withTempDir(async (root) => {
    // Given a fetch-notify world waiting on one http intent, with an external adapter's key registered
    const world = await fetchNotifyWorld(root);
    await expectAos(
      0,
      world,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r1", "url": "http://127.0.0.1:9/x"}',
    );
    await expectAos(0, world, "step");
    const keys = worldPaths(world).keys;
    await Deno.mkdir(keys, { recursive: true });
    await Deno.writeTextFile(`${keys}/ext-http.pub`, toHex(EXTERNAL.publicKey) + "\n");
    await Deno.writeTextFile(`${keys}/ext-http.kinds`, "http.request\n");
    const opened = await World.open(world, { clock: new VirtualClock() });
    const [intent] = opened.kernel.outbox();
    const stateBefore = observable(opened);
    opened.close();
    assert.ok(intent, "an http intent waits in the outbox");
    const payload = httpPayload();
    const sign = (fields: Partial<Receipt>, key: AdapterKey): Receipt =>
      signReceipt({
        intentHash: intent.intentHash,
        adapterId: "ext-http",
        status: "ok",
        payload,
        fence: intent.fence,
        ...fields,
      }, key);
    const forged: Array<{ receipt: Receipt; reason: string }> = [
      { receipt: sign({}, INTRUDER), reason: "bad_signature" },
      { receipt: sign({ adapterId: "stranger" }, INTRUDER), reason: "unknown_adapter" },
      { receipt: sign({ adapterId: "../keys/ext-http" }, EXTERNAL), reason: "unknown_adapter" },
      { receipt: sign({ adapterId: "ext-http.pub" }, EXTERNAL), reason: "unknown_adapter" },
      { receipt: sign({ adapterId: "/etc/passwd" }, EXTERNAL), reason: "unknown_adapter" },
      { receipt: sign({ intentHash: fromHex("ab".repeat(32)) }, EXTERNAL), reason: "unknown_intent" },
      {
        receipt: sign(
          { fence: { generation: intent.fence.generation, height: intent.fence.height + 1n } },
          EXTERNAL,
        ),
        reason: "fence_mismatch",
      },
      {
        receipt: sign(
          { fence: { generation: intent.fence.generation + 1n, height: intent.fence.height } },
          EXTERNAL,
        ),
        reason: "fence_mismatch",
      },
      // A good signature over a tampered payload
      { receipt: { ...sign({}, EXTERNAL), payload: payload.slice(0, -1) }, reason: "bad_signature" },
    ];
    // Receipt files that cannot be queued: integers beyond 64 bits, deep nesting, invalid UTF-8
    const before = await hashTree(`${world}/.aos`);
    const json = (fence: string, extra = "") =>
      `{"intent_hash": "${bytesToHashRef(intent.intentHash)}", "adapter_id": "ext-http", "status": "ok", ` +
      `"payload": "", "signature": "${"00".repeat(64)}", "fence": ${fence}${extra}}`;
    const unqueued: Array<{ text: string | Uint8Array; code: RegExp }> = [
      {
        text: json(`{"generation": 0, "height": ${2n ** 64n}}`),
        code: /^error\[AOS_CBOR_INVALID\].*64 bits/,
      },
      {
        text: json(`{"generation": 0, "height": 1}`, `, "cost_cents": "${10n ** 30n}"`),
        code: /^error\[AOS_CBOR_INVALID\].*64 bits/,
      },
      { text: json("[".repeat(100_000) + "]".repeat(100_000)), code: /^error\[AOS_JSON_INVALID\]/ },
      {
        text: Uint8Array.from(
          [...new TextEncoder().encode(json(`{"generation": 0, "height": 1}`))].map((b) =>
            b === 0x78 ? 0xff : b
          ),
        ), // "ext-http" with its "x" made an invalid UTF-8 byte
        code: /^error\[AOS_JSON_INVALID\].*UTF-8/,
      },
    ];
    for (const [i, { text, code }] of unqueued.entries()) {
      const file = `${root}/unqueued-${i}.json`;
      if (typeof text === "string") await Deno.writeTextFile(file, text);
      else await Deno.writeFile(file, text);
      const run = await aos(world, "receipts", "submit", file);
      assert.equal(run.code, 2, `receipt file ${i}: ${run.stderr}`);
      assert.match(run.stderr, code);
    }
    assert.deepEqual(await hashTree(`${world}/.aos`), before);
    // When each is submitted (as a CBOR file, one with a path-like name) and the world steps
    for (const [i, { receipt }] of forged.entries()) {
      const name = i === 0 ? `${root}/..cbor` : `${root}/forged-${i}.cbor`;
      await Deno.writeFile(name, encodeReceiptFile(receipt));
      await expectAos(0, world, "receipts", "submit", name);
    }
    const step = JSON.parse((await expectAos(0, world, "step", "--json")).stdout) as {
      entries: Array<{ seq: number; kind: string }>;
    };
    // Then each is journaled as ignored, with its reason, and nothing else happened
    assert.deepEqual(step.entries.map((e) => e.kind), forged.map(() => "receipt_ignored"));
    const ls = JSON.parse((await expectAos(0, world, "receipts", "ls", "--json")).stdout) as Array<
      { status: string }
    >;
    assert.deepEqual(ls.map((r) => r.status), forged.map((f) => `ignored: ${f.reason}`));
    const after = await World.open(world, { clock: new VirtualClock() });
    try {
      const [still] = after.kernel.outbox();
      assert.equal(bytesToHashRef(still!.intentHash), bytesToHashRef(intent.intentHash));
      assert.equal(observable(after), stateBefore, "cells, plans, outbox and budgets are unchanged");
    } finally {
      after.close();
    }
    // When the genuine receipt is submitted twice (a replay)
    await Deno.writeFile(`${root}/good.cbor`, encodeReceiptFile(sign({}, EXTERNAL)));
    await expectAos(0, world, "receipts", "submit", `${root}/good.cbor`);
    await expectAos(0, world, "receipts", "submit", `${root}/good.cbor`);
    const good = JSON.parse((await expectAos(0, world, "step", "--json")).stdout) as {
      entries: Array<{ kind: string }>;
    };
    // Then it is admitted once and the replay is ignored as a duplicate
    const kinds = good.entries.map((e) => e.kind);
    const reasons = JSON.parse((await expectAos(0, world, "receipts", "ls", "--json")).stdout).map((
      r: { status: string },
    ) => r.status);
    assert.equal(kinds.filter((k) => k === "receipt_appended").length, 1, reasons.join());
    assert.equal(kinds.at(-1), "receipt_ignored", kinds.join());
    assert.equal(
      await aos(world, "receipts", "ls", "--json").then((r) => JSON.parse(r.stdout).at(-1).status),
      "ignored: duplicate",
    );
    await expectAos(0, world, "replay", "--verify");
  });
});
