/** Messages that say what to do next. */
import assert from "node:assert/strict";
import { closeNames, parseKeyArg } from "./hints.ts";
import { copyDir, COUNTER_EXAMPLE, expectAos, withTempDir } from "./_test_helpers.ts";

Deno.test("hints: closeNames finds typos; a bare --key word is text, other non-JSON says how to quote", () => {
  assert.deepEqual(closeNames("demo/Incremnt@1", ["demo/Increment@1", "demo/CounterState@1"]), [
    "demo/Increment@1",
  ]);
  assert.deepEqual(closeNames("zzz", ["demo/Increment@1"]), []);
  assert.equal(parseKeyArg("alice"), "alice");
  assert.equal(parseKeyArg('"alice"'), "alice");
  assert.equal(parseKeyArg("7"), 7n);
  assert.throws(() => parseKeyArg("alice smith"), /AOS_JSON_INVALID|quote text as JSON.*'"alice smith"'/);
});

Deno.test("hints: unknown schema names the close ones; an event nothing consumes warns at send and step", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "counter");
    const w = `${root}/w`;
    const typo = await expectAos(2, w, "event", "send", "demo/Incremnt@1", '{"by": 1}');
    assert.match(
      typo.stderr,
      /^error\[AOS_SCHEMA_UNKNOWN\]: Unknown event schema "demo\/Incremnt@1": did you mean "demo\/Increment@1"\?/,
    );
    const far = await expectAos(2, w, "event", "send", "x/Y@9", "{}");
    assert.match(far.stderr, /the manifest has demo\/CounterState@1, demo\/Increment@1/);

    const sent = await expectAos(0, w, "event", "send", "demo/CounterState@1", '{"count": 1}', "--json");
    assert.deepEqual(JSON.parse(sent.stdout).warnings, [
      'no route, trigger or waiting plan consumes "demo/CounterState@1": it is journaled, but nothing reacts to it',
    ]);
    assert.match(sent.stderr, /^warning: no route, trigger or waiting plan consumes "demo\/CounterState@1"/);
    const routed = await expectAos(0, w, "event", "send", "demo/Increment@1", '{"by": 1}', "--json");
    assert.deepEqual(JSON.parse(routed.stdout).warnings, []);
    assert.equal(routed.stderr, "");
    const step = await expectAos(0, w, "step", "--json");
    assert.equal(JSON.parse(step.stdout).warnings.length, 1);
    assert.match(step.stderr, /warning: .*demo\/CounterState@1/);
  });
});

Deno.test("hints: --key accepts a bare word as a text key", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "cells");
    const w = `${root}/w`;
    await expectAos(0, w, "event", "send", "demo/CellIncrement@1", '{"by": 3, "user": "alice"}');
    await expectAos(0, w, "step");
    const got = await expectAos(0, w, "state", "get", "demo/CellCounter@1", "--key", "alice", "--json");
    assert.equal(got.stdout, '{"count":3}\n');
    const quoted = await expectAos(0, w, "state", "get", "demo/CellCounter@1", "--key", '"alice"', "--json");
    assert.equal(quoted.stdout, got.stdout);
    const bad = await expectAos(2, w, "state", "get", "demo/CellCounter@1", "--key", "two words");
    assert.match(bad.stderr, /quote text as JSON, e\.g\. --key '"two words"'/);
  });
});

Deno.test("hints: a wasm missing lists the .wasm found; step reports drop-box receipts; info counts them", async () => {
  await withTempDir(async (root) => {
    await copyDir(`${COUNTER_EXAMPLE}/air`, `${root}/src/air`);
    await Deno.writeFile(`${root}/src/other.wasm`, new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    const missing = await expectAos(2, root, "init", "w", "--from", "src");
    assert.match(missing.stderr, /AIR_WASM_MISSING/);
    assert.match(missing.stderr, /found other\.wasm \(sha256:[0-9a-f]{64}\)/);

    await expectAos(0, root, "init", "w2", "--template", "counter");
    const w = `${root}/w2`;
    await Deno.writeTextFile(
      `${w}/r.json`,
      JSON.stringify({
        intent_hash: `sha256:${"ab".repeat(32)}`,
        adapter_id: "nobody",
        status: "ok",
        payload: "",
        fence: { generation: "0", height: "0" },
        signature: "00",
      }).replace(/"(0)"/g, "$1"),
    );
    await expectAos(0, w, "receipts", "submit", "r.json");
    const info = JSON.parse((await expectAos(0, w, "info", "--json")).stdout);
    assert.equal(info.pending.receipts, 1);
    assert.match(
      (await expectAos(0, w, "info")).stdout,
      /pending {3}0 queued in the inbox, 1 receipt in the drop box, 0 intents awaiting receipts, 0 plan instances running/,
    );
    const step = JSON.parse((await expectAos(0, w, "step", "--json")).stdout);
    assert.deepEqual(step.receipts, [{
      seq: 1,
      intent_hash: `sha256:${"ab".repeat(32)}`,
      adapter_id: "nobody",
      status: "ignored",
      reason: "unknown_adapter",
    }]);
    assert.equal(JSON.parse((await expectAos(0, w, "info", "--json")).stdout).pending.receipts, 0);
  });
});

Deno.test("hints: journal verify; a damaged journal says what the user can do", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "counter");
    const w = `${root}/w`;
    assert.match((await expectAos(0, w, "journal", "verify")).stdout, /^Journal OK: 1 entries/);
    const segment = `${w}/.aos/journal/00001.log`;
    const bytes = await Deno.readFile(segment);
    bytes[bytes.length - 6]! ^= 0xff;
    await Deno.writeFile(segment, bytes);
    const bad = await expectAos(1, w, "journal", "verify");
    assert.match(
      bad.stderr,
      /^error\[AOS_JOURNAL_CORRUPT\]: Journal damaged: .*"aos journal repair --quarantine"/,
    );
  });
});

Deno.test("hints: a route the reducer does not accept hints at the event family", async () => {
  await withTempDir(async (root) => {
    await copyDir(`${COUNTER_EXAMPLE}/air`, `${root}/src/air`);
    await copyDir(`${COUNTER_EXAMPLE}/modules`, `${root}/src/modules`);
    const manifest = `${root}/src/air/manifest.air.json`;
    await Deno.writeTextFile(
      manifest,
      (await Deno.readTextFile(manifest)).replace(
        '{"event": "demo/Increment@1", "reducer": "demo/Counter@1"}',
        '{"event": "demo/CounterState@1", "reducer": "demo/Counter@1"}',
      ),
    );
    const run = await expectAos(2, root, "air", "check", "src/air");
    assert.match(run.stdout + run.stderr, /AIR_ROUTE_NOT_ACCEPTED.*variant schema, an event family/);
  });
});
