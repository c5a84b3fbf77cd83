/**
 * Defect 9 of issue 13: one poison file in `.aos/inbox/` (not CBOR, not canonical, the wrong shape, or an
 * event the manifest refuses) made every `aos step` fail, forever. Now `step` journals it as
 * `inbox_quarantined`, moves it to `.aos/quarantine/`, says so on stderr and in its output, and admits the rest.
 */
import assert from "node:assert/strict";
import { encodeCanonical } from "../air/mod.ts";
import { expectAos, withTempDir } from "./_test_helpers.ts";

const INCREMENT = "demo/Increment@1";

Deno.test("aos step quarantines poison inbox files, journals inbox_quarantined, admits the others; replay verifies", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "world", "--template", "counter");
    const world = `${root}/world`;
    const inbox = `${world}/.aos/inbox`;
    await expectAos(0, world, "event", "send", INCREMENT, '{"by": 2}'); // batch 1
    const poison: Record<string, Uint8Array> = {
      "000000000002.cbor": new TextEncoder().encode("not cbor at all"),
      "000000000003.cbor": encodeCanonical({ version: 9, events: "?" }), // the wrong shape
      "000000000004.cbor": Uint8Array.from([0xa1, 0x61, 0x61, 0x18, 0x01]), // {"a": 1} not canonical
      // A bare array is re-validated against the manifest: `by` must be a nat.
      "000000000005.cbor": encodeCanonical([{ schema: INCREMENT, value: encodeCanonical({ by: "x" }) }]),
    };
    for (const [name, bytes] of Object.entries(poison)) await Deno.writeFile(`${inbox}/${name}`, bytes);
    await Deno.writeTextFile(
      `${world}/e.jsonl`,
      JSON.stringify({ schema: INCREMENT, value: { by: 5 } }) + "\n",
    );
    await expectAos(0, world, "event", "send", "--file", "e.jsonl"); // batch 6

    const run = await expectAos(0, world, "step", "--json");
    const step = JSON.parse(run.stdout);
    assert.equal(step.admitted, 2);
    assert.deepEqual(step.quarantined.map((q: { file: string }) => q.file), Object.keys(poison));
    assert.deepEqual(step.quarantined.map((q: { seq: number }) => q.seq), [1, 2, 3, 4]);
    assert.match(step.quarantined[3].reason, /events\[0\] \(demo\/Increment@1\)/);
    for (const name of Object.keys(poison)) {
      assert.match(
        run.stderr,
        new RegExp(`warning: inbox file ${name.replace(".", "\\.")} cannot be admitted`),
      );
      assert.deepEqual(await Deno.readFile(`${world}/.aos/quarantine/${name}`), poison[name]);
    }
    assert.deepEqual([...Deno.readDirSync(inbox)].filter((e) => e.name.endsWith(".cbor")), []);
    const state = await expectAos(0, world, "state", "get", "demo/Counter@1", "--json");
    assert.equal(state.stdout, '{"count":7}\n');

    const shown = await expectAos(0, world, "journal", "show");
    assert.equal(shown.stdout.match(/inbox_quarantined/g)?.length, 4);
    await expectAos(0, world, "replay", "--verify");
    // Nothing is left to quarantine or admit.
    const again = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.equal(again.admitted, 0);
    assert.deepEqual(again.quarantined, []);
    // An unreadable file numbered below what was admitted is quarantined too, never silently removed.
    await Deno.writeFile(`${inbox}/000000000001.cbor`, poison["000000000002.cbor"]!);
    const low = JSON.parse((await expectAos(0, world, "step", "--json")).stdout);
    assert.deepEqual(low.quarantined.map((q: { file: string }) => q.file), ["000000000001.cbor"]);
    assert.ok(await Deno.stat(`${world}/.aos/quarantine/000000000001.cbor`));
    // Human output names the file too.
    await Deno.writeFile(`${inbox}/000000000009.cbor`, poison["000000000002.cbor"]!);
    const human = await expectAos(0, world, "step");
    assert.match(human.stdout, /quarantined inbox file 000000000009\.cbor/);
    assert.ok(await Deno.stat(`${world}/.aos/quarantine/000000000009.cbor`));
  });
});
