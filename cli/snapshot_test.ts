import assert from "node:assert/strict";
import { expectAos, withTempDir } from "./_test_helpers.ts";

Deno.test("aos snapshot takes a snapshot now and aos snapshot ls lists them newest first", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "counter");
    const w = `${root}/w`;
    assert.deepEqual(JSON.parse((await expectAos(0, w, "snapshot", "ls", "--json")).stdout), []);
    assert.match((await expectAos(0, w, "snapshot", "ls")).stdout, /No snapshots yet/);
    await expectAos(0, w, "event", "send", "demo/Increment@1", '{"by": 2}');
    await expectAos(0, w, "step");
    const first = JSON.parse((await expectAos(0, w, "snapshot", "--json")).stdout);
    assert.equal(first.height, 2);
    assert.match(first.hash, /^sha256:[0-9a-f]{64}$/);
    await expectAos(0, w, "event", "send", "demo/Increment@1", '{"by": 3}');
    await expectAos(0, w, "step");
    const second = JSON.parse((await expectAos(0, w, "snapshot", "--json")).stdout);
    assert.equal(second.height, 4);
    const listed = JSON.parse((await expectAos(0, w, "snapshot", "ls", "--json")).stdout);
    assert.deepEqual(listed, [second, first]);
    // The world reopens from the latest snapshot with the same state, and replay agrees.
    assert.equal(
      (await expectAos(0, w, "state", "get", "demo/Counter@1", "--json")).stdout.trim(),
      '{"count":5}',
    );
    await expectAos(0, w, "replay", "--verify");
  });
});
