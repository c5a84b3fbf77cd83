/**
 * `aos` processes racing on one world: the world lock (an OS file lock, shared by reference count within
 * one process) is what keeps them apart, so the racers are real `deno run cli.ts` subprocesses; the set-up
 * and the checks afterwards run in process.
 */
import assert from "node:assert/strict";
import { aosProcess, expectAos, withTempDir } from "./_test_helpers.ts";

Deno.test("aos: concurrent event send and step processes lose no event and admit none twice", async () => {
  await withTempDir(async (dir) => {
    await expectAos(0, dir, "init", "w", "--template", "counter");
    const world = `${dir}/w`;
    // Six senders and three steppers race on one world.
    const runs = await Promise.all([
      ...[1, 2, 3, 4, 5, 6].map((by) =>
        aosProcess(world, "event", "send", "demo/Increment@1", `{"by": ${by}}`)
      ),
      aosProcess(world, "step"),
      aosProcess(world, "step"),
      aosProcess(world, "step"),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    await expectAos(0, world, "step");
    const state = await expectAos(0, world, "state", "get", "demo/Counter@1", "--json");
    assert.equal(state.stdout.trim(), '{"count":21}');
    const lines = (await expectAos(0, world, "journal", "show", "--json")).stdout.trim().split("\n");
    assert.equal(lines.filter((l) => l.includes('"domain_event"')).length, 6);
    await expectAos(0, world, "replay", "--verify");
  });
});
