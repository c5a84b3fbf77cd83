/** Consistent output: unique hex prefixes, one object for --json, --json everywhere. */
import assert from "node:assert/strict";
import { expectAos, withTempDir } from "./_test_helpers.ts";

async function submitIgnored(w: string, intentHex: string): Promise<void> {
  await Deno.writeTextFile(
    `${w}/r.json`,
    `{"intent_hash": "sha256:${intentHex}", "adapter_id": "nobody", "status": "ok", "payload": "", ` +
      `"fence": {"generation": 0, "height": 0}, "signature": "00"}`,
  );
  await expectAos(0, w, "receipts", "submit", "r.json");
}

Deno.test("receipts show takes a unique hex prefix; empty or ambiguous is exit 2 listing the candidates", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "counter");
    const w = `${root}/w`;
    const first = "ab".repeat(32);
    const second = "ac".repeat(32);
    await submitIgnored(w, first);
    await submitIgnored(w, second);
    await expectAos(0, w, "step");
    const one = JSON.parse((await expectAos(0, w, "receipts", "show", first.slice(0, 12), "--json")).stdout);
    assert.equal(one.intent_hash, `sha256:${first}`);
    assert.equal(one.kind, "receipt_ignored");
    // What `journal show` prints (12 characters and an ellipsis) works too.
    await expectAos(0, w, "receipts", "show", `${second.slice(0, 12)}…`);
    const ambiguous = await expectAos(2, w, "receipts", "show", "a");
    assert.match(ambiguous.stderr, new RegExp(`ambiguous.*sha256:${first}.*sha256:${second}`));
    assert.match(
      (await expectAos(2, w, "receipts", "show", "")).stderr,
      /^error\[AOS_USAGE\]: Give an intent/,
    );
  });
});

Deno.test("--json for plan cancel and air fmt; replay requires --verify", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "timer-retry");
    const w = `${root}/w`;
    const fmt = JSON.parse((await expectAos(0, w, "air", "fmt", "--check", "--json")).stdout);
    assert.equal(fmt.check, true);
    assert.deepEqual(fmt.changed, []);
    assert.ok(fmt.files > 0);
    const replay = await expectAos(2, w, "replay");
    assert.match(replay.stderr, /^error\[AOS_USAGE\]: required option '--verify' not specified/);
    const missing = await expectAos(2, w, "plan", "cancel", "9", "--json");
    assert.match(missing.stderr, /^error\[/);
  });
});

Deno.test("journal show decodes a plan's input in text and --json, and lines up the kind column", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "fetch-notify");
    const w = `${root}/w`;
    await expectAos(
      0,
      w,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r1", "url": "http://127.0.0.1:9/x"}',
    );
    await expectAos(0, w, "step");
    const lines = (await expectAos(0, w, "journal", "show")).stdout.trimEnd().split("\n");
    const started = lines.find((l) => l.includes("plan_started"));
    assert.ok(started, lines.join("\n"));
    assert.match(
      started,
      /#1 demo\/fetch@1 \{"url":"http:\/\/127\.0\.0\.1:9\/x","request_id":"r1"\} \(trigger event \d+\)/,
    );
    // Every detail starts in the same column.
    const detailStart = (l: string) => /^\s*\d+ {2}\S+\s+/.exec(l)![0].length;
    assert.equal(new Set(lines.map(detailStart)).size, 1, lines.join("\n"));
    const json = (await expectAos(0, w, "journal", "show", "--json")).stdout.trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const entry = json.find((e) => e.kind === "plan_started");
    assert.deepEqual(entry.body.input_json, { url: "http://127.0.0.1:9/x", request_id: "r1" });
  });
});

Deno.test("plan cancel says an effect already queued may still be delivered; run --until-idle is accepted", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "fetch-notify");
    const w = `${root}/w`;
    const input = '{"url": "http://127.0.0.1:9/x", "request_id": "r1"}';
    await expectAos(0, w, "plan", "start", "demo/fetch@1", input);
    await expectAos(0, w, "plan", "start", "demo/fetch@1", input);
    await expectAos(0, w, "step");
    const text = await expectAos(0, w, "plan", "cancel", "1", "--reason", "changed my mind");
    assert.match(
      text.stdout,
      /^Cancelled plan instance #1\n {2}1 effect it queued is still in the outbox: it may still be delivered, and its receipt settled\n$/,
    );
    const json = JSON.parse((await expectAos(0, w, "plan", "cancel", "2", "--json")).stdout);
    assert.deepEqual(json, { cancelled: 2, outbox: 1 });
    // Both intents stay in the outbox; `run --until-idle` (the only mode, accepted for scripts) runs them.
    const info = JSON.parse((await expectAos(0, w, "info", "--json")).stdout);
    assert.equal(info.pending.outbox, 2);
    const run = JSON.parse(
      (await expectAos(0, w, "run", "--until-idle", "--timeout", "10s", "--json")).stdout,
    );
    assert.equal(run.dispatched, 2);
  });
});

Deno.test("run and replay count in words: one receipt, one plan instance", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "fetch-notify");
    const w = `${root}/w`;
    await expectAos(
      0,
      w,
      "plan",
      "start",
      "demo/fetch@1",
      '{"url": "http://127.0.0.1:9/x", "request_id": "r1"}',
    );
    const run = await expectAos(0, w, "run", "--timeout", "10s");
    assert.match(run.stdout, /^Idle: height \d+ -> \d+, 1 dispatched, 1 receipt, 0 ignored, 0 pending\n/);
    const replay = await expectAos(0, w, "replay", "--verify");
    assert.match(replay.stdout, /\n {2}1 plan instance and 0 pending intents identical\n/);
  });
});
