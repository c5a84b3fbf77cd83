/**
 * `aos` processes racing on one world: the world lock (an OS file lock, shared by reference count within
 * one process) is what keeps them apart, so the racers are real `deno run cli.ts` subprocesses; the set-up
 * and the checks afterwards run in process.
 */
import assert from "node:assert/strict";
import { aosProcess, expectAos, withTempDir } from "./_test_helpers.ts";

const CLI = decodeURIComponent(new URL("../cli.ts", import.meta.url).pathname);

Deno.test("aos: concurrent event send and step processes lose no event and admit none twice", async () => {
  await withTempDir(async (dir) => {
    await expectAos(0, dir, "init", "w", "--template", "counter");
    const world = `${dir}/w`;
    // Two senders and two steppers race on one world.
    const runs = await Promise.all([
      ...[1, 2].map((by) => aosProcess(world, "event", "send", "demo/Increment@1", `{"by": ${by}}`)),
      aosProcess(world, "step"),
      aosProcess(world, "step"),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    await expectAos(0, world, "step");
    const state = await expectAos(0, world, "state", "get", "demo/Counter@1", "--json");
    assert.equal(state.stdout.trim(), '{"count":3}');
    const lines = (await expectAos(0, world, "journal", "show", "--json")).stdout.trim().split("\n");
    assert.equal(lines.filter((l) => l.includes('"domain_event"')).length, 2);
    await expectAos(0, world, "replay", "--verify");
  });
});

Deno.test("aos run releases the world lock while it waits: event send and step from other processes go through", async () => {
  await withTempDir(async (dir) => {
    // A local HTTP service that holds every request until the test lets it answer.
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    let requests = 0;
    let firstRequest!: () => void;
    const requested = new Promise<void>((resolve) => firstRequest = resolve);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
      requests++;
      firstRequest();
      await released;
      return new Response("ok");
    });
    try {
      await expectAos(0, dir, "init", "w", "--template", "fetch-notify");
      const world = `${dir}/w`;
      const url = `http://127.0.0.1:${server.addr.port}/x`;
      await expectAos(0, world, "event", "send", "demo/Notify@1", JSON.stringify({ request_id: "r1", url }));
      const run = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-all", CLI, "run", "--timeout", "60s", "--json"],
        cwd: world,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      let runEnded = false;
      const runOutput = run.output().then((output) => {
        runEnded = true;
        return output;
      });
      await requested; // aos run is now waiting for the held HTTP response
      const send = await aosProcess(
        world,
        "event",
        "send",
        "demo/Notify@1",
        JSON.stringify({ request_id: "r2", url }),
      );
      assert.equal(send.code, 0, send.stderr);
      // A step from another process writes the journal: aos run must notice and reopen the world.
      const step = await aosProcess(world, "step", "--json");
      assert.equal(step.code, 0, step.stderr);
      assert.equal(JSON.parse(step.stdout).admitted, 1);
      assert.equal(runEnded, false, "event send and step finished while aos run was still waiting");
      release();
      const output = await runOutput;
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const report = JSON.parse(new TextDecoder().decode(output.stdout));
      assert.equal(report.idle, true);
      assert.equal(report.pending_intents, 0);
      assert.equal(requests, 2);
      const plans = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
      assert.equal(plans.pending.outbox, 0);
      await expectAos(0, world, "replay", "--verify");
    } finally {
      release();
      await server.shutdown();
    }
  });
});
