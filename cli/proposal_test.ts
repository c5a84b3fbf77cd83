/**
 * End-to-end tests of `aos proposal` and `aos manifest`: every command runs as a real `deno run cli.ts`
 * subprocess against a fetch-notify world whose grant first admits only `api.example.com`. A local
 * `Deno.serve` on 127.0.0.1 counts requests: the shadow run never reaches it; after apply `aos run` does.
 */
import assert from "node:assert/strict";
import { readJournalDir } from "../journal/mod.ts";
import { FileHeadStore, worldPaths } from "../world/mod.ts";
import { copyDir, expectAos, withTempDir } from "./_test_helpers.ts";

const FETCH_NOTIFY = decodeURIComponent(new URL("../examples/fetch-notify", import.meta.url).pathname);
const HTTP_OK = {
  status: 200,
  headers: {},
  body_ref: null,
  timings: { start_ns: 0, end_ns: 0 },
  adapter_id: "shadow",
};

/** Parses every non-empty line of `text` as JSON. */
function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

type AirJson = { [key: string]: unknown };

async function editJson(path: string, edit: (json: AirJson) => void): Promise<void> {
  const json = JSON.parse(await Deno.readTextFile(path));
  edit(json);
  await Deno.writeTextFile(path, JSON.stringify(json, null, 2));
}

function grantHosts(manifest: AirJson): Array<{ text: string }> {
  const grants = (manifest.defaults as { cap_grants: Array<{ params: AirJson }> }).cap_grants;
  const record = grants[0]!.params.record as { hosts: { set: Array<{ text: string }> } };
  return record.hosts.set;
}

/** A fetch-notify world whose only grant admits `api.example.com`. */
async function narrowWorld(root: string): Promise<string> {
  await copyDir(FETCH_NOTIFY, `${root}/src`);
  await editJson(`${root}/src/air/manifest.air.json`, (m) => {
    grantHosts(m).splice(0, 1, { text: "api.example.com" });
  });
  await expectAos(0, root, "init", "world", "--from", "src");
  return `${root}/world`;
}

async function withCountingServer(
  fn: (port: number, requests: () => number) => Promise<void>,
): Promise<void> {
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    count++;
    return new Response("hello");
  });
  try {
    await fn(server.addr.port, () => count);
  } finally {
    await server.shutdown();
  }
}

async function journalBytes(world: string): Promise<string> {
  const dir = `${world}/.aos/journal`;
  const parts: string[] = [];
  for (const name of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    parts.push(`${name}:${(await Deno.readFile(`${dir}/${name}`)).length}`);
  }
  return parts.join(",");
}

Deno.test("aos proposal: submit --air (dry run, then for real), shadow with a harness, approve, apply; grants and schemas change only after apply", async () => {
  await withCountingServer(async (port, requests) => {
    await withTempDir(async (root) => {
      const world = await narrowWorld(root);
      const url = `http://127.0.0.1:${port}/hello`;
      const genesis = JSON.parse((await expectAos(0, world, "manifest", "show", "--json")).stdout);

      // Before: the grant refuses the local server
      await expectAos(0, world, "event", "send", "demo/Notify@1", JSON.stringify({ request_id: "r1", url }));
      await expectAos(0, world, "run", "--timeout", "5s");
      assert.equal(requests(), 0);
      const denied = jsonLines((await expectAos(0, world, "journal", "show", "--json")).stdout);
      assert.ok(denied.some((e) => e.kind === "effect_rejected"), "the gate refused the local host");

      // Edit the world's AIR: widen the grant, add a schema
      await editJson(`${world}/air/manifest.air.json`, (m) => {
        grantHosts(m).push({ text: "127.0.0.1" });
        (m.schemas as Array<{ name: string }>).push({ name: "demo/Audit@1" });
      });
      await Deno.writeTextFile(
        `${world}/air/audit.air.json`,
        JSON.stringify({ $kind: "defschema", name: "demo/Audit@1", type: { record: { who: { text: {} } } } }),
      );
      const journalBefore = await journalBytes(world);
      const dry = JSON.parse(
        (await expectAos(0, world, "proposal", "submit", "--air", "air", "--dry-run", "--json")).stdout,
      );
      assert.equal(dry.base_manifest_hash, genesis.manifest_hash);
      assert.deepEqual(dry.patches.map((op: AirJson) => Object.keys(op)[0]), ["add_def", "set_defaults"]);
      assert.equal(await journalBytes(world), journalBefore, "a dry run journals nothing");

      const submitted = JSON.parse(
        (await expectAos(
          0,
          world,
          "proposal",
          "submit",
          "--air",
          "air",
          "--author",
          "alice",
          "--description",
          "reach the local service",
          "--json",
        )).stdout,
      );
      assert.equal(submitted.id, 1);
      assert.equal(submitted.state, "submitted");
      assert.equal(submitted.author, "alice");
      assert.match(submitted.candidate_manifest_hash, /^sha256:/);

      // Illegal transitions are refused and journal nothing
      const journalSubmitted = await journalBytes(world);
      const early = await expectAos(2, world, "proposal", "approve", "1", "--approver", "bob");
      assert.match(early.stderr, /AOS_PROPOSAL_REFUSED.*shadow it/);
      await expectAos(2, world, "proposal", "apply", "1");
      await expectAos(2, world, "proposal", "show", "7");
      assert.equal(await journalBytes(world), journalSubmitted);

      // Shadow with a harness: the predicted effect and its cost appear, no request is made
      await Deno.writeTextFile(
        `${root}/harness.json`,
        JSON.stringify({
          events: [
            { schema: "demo/Notify@1", value: { request_id: "s1", url } },
          ],
          receipts: [{ kind: "http.request", status: "ok", cost_cents: 3, payload: HTTP_OK }],
        }),
      );
      const report = JSON.parse(
        (await expectAos(0, world, "proposal", "shadow", "1", "--harness", "../harness.json", "--json"))
          .stdout,
      );
      assert.equal(report.ok, true);
      assert.deepEqual(
        report.predicted_effects.map((p: AirJson) => [p.kind, p.cap, p.origin_name, p.estimated]),
        [["http.request", "http_local", "demo/fetch@1", { cents: 3 }]],
      );
      assert.deepEqual(report.required_caps, ["http_local"]);
      assert.deepEqual(report.ledger_deltas.map((d: AirJson) => [d.ledger, d.name, d.change]), [
        ["capability", "http_local", "changed"],
      ]);
      assert.ok(report.manifest_diff.some((c: AirJson) => c.name === "demo/Audit@1" && c.change === "added"));
      assert.equal(requests(), 0, "the shadow run never reaches the server");
      const text = await expectAos(0, world, "proposal", "show", "1");
      assert.match(text.stdout, /shadowed/);
      assert.match(text.stdout, /http\.request cap http_local from plan demo\/fetch@1 .*\(3 cents\)/);
      assert.match(text.stdout, /draws on http_local: 1 effect, 3 cents, 0 tokens, 0 bytes\n/);

      // Before apply: the schema is unknown and the grant still refuses the server
      await expectAos(2, world, "event", "send", "demo/Audit@1", '{"who": "x"}');

      await expectAos(0, world, "proposal", "approve", "1", "--approver", "bob", "--note", "ok");
      const applied = JSON.parse((await expectAos(0, world, "proposal", "apply", "1", "--json")).stdout);
      assert.equal(applied.applied, true);
      assert.equal(applied.manifest_hash, submitted.candidate_manifest_hash);
      assert.equal(applied.previous_manifest_hash, genesis.manifest_hash);
      const shown = JSON.parse((await expectAos(0, world, "manifest", "show", "--json")).stdout);
      assert.equal(shown.manifest_hash, submitted.candidate_manifest_hash);
      assert.ok(shown.manifest.schemas.some((s: AirJson) => s.name === "demo/Audit@1"));

      // After apply: the schema is known and the widened grant reaches the server
      await expectAos(0, world, "event", "send", "demo/Audit@1", '{"who": "x"}');
      await expectAos(0, world, "event", "send", "demo/Notify@1", JSON.stringify({ request_id: "r2", url }));
      await expectAos(0, world, "run", "--timeout", "10s");
      assert.equal(requests(), 1);

      const ls = JSON.parse((await expectAos(0, world, "proposal", "ls", "--json")).stdout);
      assert.deepEqual(ls.map((p: AirJson) => [p.id, p.state, p.approver]), [[1, "applied", "bob"]]);
      const show = JSON.parse((await expectAos(0, world, "proposal", "show", "1", "--json")).stdout);
      assert.deepEqual(show.patch.ops.map((op: AirJson) => op.op), ["add_def", "set_defaults"]);
      assert.equal(show.report.ok, true);
      await expectAos(0, world, "replay", "--verify");
    });
  });
});

Deno.test("aos proposal: rejection at validation (exit 2, journaled), at approval, and for a stale base (exit 1); a crash before manifest_applied; replay --verify", async () => {
  await withTempDir(async (root) => {
    const world = await narrowWorld(root);
    const base = JSON.parse((await expectAos(0, world, "manifest", "show", "--json")).stdout).manifest_hash;
    const addSchema = (name: string) => ({
      base_manifest_hash: base,
      patches: [{ add_def: { kind: "defschema", node: { $kind: "defschema", name, type: { text: {} } } } }],
    });
    await Deno.writeTextFile(`${root}/a.json`, JSON.stringify(addSchema("demo/A@1")));
    await Deno.writeTextFile(`${root}/b.json`, JSON.stringify(addSchema("demo/B@1")));
    await Deno.writeTextFile(`${root}/c.json`, JSON.stringify(addSchema("demo/C@1")));
    await Deno.writeTextFile(
      `${root}/bad.json`,
      JSON.stringify({
        base_manifest_hash: base,
        patches: [{ remove_def: { kind: "defplan", name: "demo/none@1", pre_hash: base } }, { add_def: {} }],
      }),
    );

    // Validation: journaled as submitted, then rejected, with every diagnostic; exit 2
    const bad = await expectAos(2, world, "proposal", "submit", "../bad.json", "--json");
    const rejected = JSON.parse(bad.stdout);
    assert.equal(rejected.state, "rejected");
    assert.equal(rejected.rejection.stage, "validation");
    assert.ok(rejected.diagnostics.length >= 1);
    const badText = await expectAos(2, world, "proposal", "submit", "../bad.json");
    assert.match(badText.stderr, /rejected at validation/);
    assert.match(badText.stderr, /AIR_PATCH_SHAPE/);
    await expectAos(2, world, "proposal", "submit", "../missing.json");
    await Deno.writeTextFile(`${root}/notjson.json`, "{");
    await expectAos(2, world, "proposal", "submit", "../notjson.json");

    // Three proposals on one base
    for (const file of ["a", "b", "c"]) await expectAos(0, world, "proposal", "submit", `../${file}.json`);
    for (const id of ["3", "4", "5"]) await expectAos(0, world, "proposal", "shadow", id);
    // Approval stage: rejected with a note
    const r = JSON.parse(
      (await expectAos(0, world, "proposal", "reject", "5", "--approver", "carol", "--note", "no", "--json"))
        .stdout,
    );
    assert.deepEqual(r.rejection, { stage: "approval", reasons: ["no"] });
    await expectAos(2, world, "proposal", "approve", "5", "--approver", "bob");
    for (const id of ["3", "4"]) await expectAos(0, world, "proposal", "approve", id, "--approver", "bob");
    await expectAos(0, world, "proposal", "apply", "3");
    const stale = await expectAos(1, world, "proposal", "apply", "4");
    assert.match(stale.stderr, /stale base/);
    const four = JSON.parse((await expectAos(0, world, "proposal", "show", "4", "--json")).stdout);
    assert.deepEqual(four.rejection, { stage: "apply", reasons: ["stale base"] });

    // A crash between apply_requested and manifest_applied: the journal ends after the input
    await Deno.writeTextFile(
      `${root}/d.json`,
      JSON.stringify({
        base_manifest_hash: JSON.parse((await expectAos(0, world, "manifest", "show", "--json")).stdout)
          .manifest_hash,
        patches: [{
          add_def: { kind: "defschema", node: { $kind: "defschema", name: "demo/D@1", type: { nat: {} } } },
        }],
      }),
    );
    await expectAos(0, world, "proposal", "submit", "../d.json");
    await expectAos(0, world, "proposal", "shadow", "6");
    await expectAos(0, world, "proposal", "approve", "6", "--approver", "bob");
    const applied = JSON.parse((await expectAos(0, world, "proposal", "apply", "6", "--json")).stdout);
    const paths = worldPaths(world);
    const { entries } = await readJournalDir(paths.journal);
    const last = entries[entries.length - 1]!;
    const input = entries[entries.length - 2]!;
    assert.equal(last.kind, "manifest_applied");
    assert.equal(input.kind, "apply_requested");
    const segment = `${paths.journal}/${
      [...Deno.readDirSync(paths.journal)].map((e) => e.name).sort().pop()
    }`;
    const bytes = await Deno.readFile(segment);
    await Deno.writeFile(segment, bytes.subarray(0, bytes.length - (last.bytes.length + 8)));
    await new FileHeadStore(paths.head).write({ height: input.seq, hash: entries[input.seq - 1]!.hash });
    // A reader completes the cut block in memory only and says so; a writer journals it.
    const reading = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(reading.height, entries.length - 1);
    assert.equal(reading.recovery.incomplete_block, 1);
    assert.equal(reading.manifest_hash, applied.manifest_hash);
    await expectAos(0, world, "step");
    const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
    assert.equal(info.height, entries.length);
    assert.equal(info.recovery.incomplete_block, null);
    assert.equal(info.manifest_hash, applied.manifest_hash);
    const after = jsonLines((await expectAos(0, world, "journal", "show", "--json")).stdout);
    assert.equal(after[after.length - 1]!.kind, "manifest_applied");

    const ls = JSON.parse((await expectAos(0, world, "proposal", "ls", "--json")).stdout);
    assert.deepEqual(ls.map((p: AirJson) => [p.id, p.state]), [
      [1, "rejected"],
      [2, "rejected"],
      [3, "applied"],
      [4, "rejected"],
      [5, "rejected"],
      [6, "applied"],
    ]);
    const verify = JSON.parse((await expectAos(0, world, "replay", "--verify", "--json")).stdout);
    assert.equal(verify.ok, true);
  });
});
