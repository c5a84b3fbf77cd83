/**
 * Defect 10c of issue 13: `aos run` handed every queued effect to its adapter at once (1,001 simultaneous
 * HTTP requests were observed). Now at most `limits.effectsInFlightMax` (16), or the world's
 * `effects.inflight_max`, are in flight; the rest go out as receipts come back.
 */
import assert from "node:assert/strict";
import { limits } from "../air/mod.ts";
import { expectAos, withTempDir } from "./_test_helpers.ts";

const NOTIFICATIONS = 40;

/**
 * A local service that holds requests until a full wave of `cap` (or of the requests still to come) has
 * arrived, then answers the wave; it records the most requests it ever had open at once. Without a cap on
 * the client's side, that maximum exceeds `cap`; with one below `cap`, the wave never fills (the run stops
 * at its timeout and the test fails).
 */
function holdingServer(cap: number, total: number) {
  let open = 0;
  let maxOpen = 0;
  let answered = 0;
  let held: Array<() => void> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    const answer = new Promise<void>((resolve) => held.push(resolve));
    if (held.length >= Math.min(cap, total - answered)) {
      answered += held.length;
      for (const resolve of held) resolve();
      held = [];
    }
    await answer;
    open--;
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/x`,
    get maxOpen() {
      return maxOpen;
    },
    async close() {
      for (const resolve of held) resolve();
      await server.shutdown();
    },
  };
}

async function runNotifications(root: string, name: string, cap: number, config?: string): Promise<number> {
  const server = holdingServer(cap, NOTIFICATIONS);
  try {
    await expectAos(0, root, "init", name, "--template", "fetch-notify");
    const world = `${root}/${name}`;
    if (config !== undefined) await Deno.writeTextFile(`${world}/.aos/config.json`, config);
    const lines = Array.from(
      { length: NOTIFICATIONS },
      (_, i) => JSON.stringify({ schema: "demo/Notify@1", value: { request_id: `r${i}`, url: server.url } }),
    );
    await Deno.writeTextFile(`${world}/notify.jsonl`, lines.join("\n") + "\n");
    await expectAos(0, world, "event", "send", "--file", "notify.jsonl");
    const run = JSON.parse((await expectAos(0, world, "run", "--timeout", "120s", "--json")).stdout);
    assert.equal(run.idle, true);
    assert.equal(run.dispatched, NOTIFICATIONS);
    assert.equal(run.receipts, NOTIFICATIONS);
    await expectAos(0, world, "replay", "--verify");
    return server.maxOpen;
  } finally {
    await server.close();
  }
}

Deno.test("aos run keeps at most effectsInFlightMax (16) effects in flight, or the world's effects.inflight_max", async () => {
  await withTempDir(async (root) => {
    assert.equal(limits.effectsInFlightMax, 16);
    assert.equal(await runNotifications(root, "default", limits.effectsInFlightMax), 16);
    assert.equal(await runNotifications(root, "four", 4, '{"effects": {"inflight_max": 4}}'), 4);
  });
});

Deno.test("config.json effects.inflight_max must be a positive integer", async () => {
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "w", "--template", "fetch-notify");
    await Deno.writeTextFile(`${root}/w/.aos/config.json`, '{"effects": {"inflight_max": 0}}');
    const run = await expectAos(1, `${root}/w`, "run", "--timeout", "5s");
    assert.match(run.stderr, /error\[AOS_CONFIG_INVALID\]: .*\$\.effects\.inflight_max/);
  });
});
