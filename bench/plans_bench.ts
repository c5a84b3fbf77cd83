/**
 * Per-event cost as waiting plan instances grow (issue 9): a plan started per `Start` event waits for an
 * `Approve` correlated by id. With 1 and with PLANS instances waiting, it measures events nobody awaits
 * (`Tick`) and approvals that each wake one instance. An event should cost the same whatever waits.
 *
 * @module
 */
import { plan, schema, step, t, TestWorld, trigger, world } from "../testkit/mod.ts";

const definition = world({
  schemas: [
    schema("demo/Start@1", t.record({ id: t.nat })),
    schema("demo/Approve@1", t.record({ id: t.nat })),
    schema("demo/Tick@1", t.record({ n: t.nat })),
  ],
  plans: [
    plan("demo/wait@1", {
      input: "demo/Start@1",
      steps: [step.awaitEvent("wait", "demo/Approve@1", "approval"), step.end("done")],
      edges: [{ from: "wait", to: "done" }],
    }),
  ],
  triggers: [trigger("demo/Start@1", "demo/wait@1", "id")],
});

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** A world with `waiting` instances waiting, and what has been measured on it (seconds, best round). */
interface Waiting {
  w: TestWorld;
  waiting: number;
  tickSec: number;
  approveSec: number;
  /** Approvals per round, and how many have been sent. */
  share: number;
  approved: number;
}

async function waitingWorld(waiting: number, events: number): Promise<Waiting> {
  const w = await TestWorld.create(definition, { snapshotIntervalEntries: 1_000_000 });
  const starts = Array.from(
    { length: waiting },
    (_, i) => ({ schema: "demo/Start@1", value: { id: BigInt(i) } }),
  );
  for (let i = 0; i < starts.length; i += 10_000) await w.world.send(starts.slice(i, i + 10_000));
  const approvals = Math.min(events, waiting);
  return {
    w,
    waiting,
    tickSec: Infinity,
    approveSec: Infinity,
    share: Math.max(1, Math.floor(approvals / ROUNDS)),
    approved: 0,
  };
}

/** One round on `world`: `events` ticks nobody awaits, then its share of approvals, each waking one instance. */
async function round(world: Waiting, events: number, n: number): Promise<void> {
  const ticks = Array.from(
    { length: events },
    (_, i) => ({ schema: "demo/Tick@1", value: { n: BigInt(n * events + i) } }),
  );
  world.tickSec = Math.min(world.tickSec, await timed(() => world.w.world.send(ticks)));
  if (world.approved + world.share > Math.min(events, world.waiting)) return;
  const batch = Array.from(
    { length: world.share },
    (_, i) => ({ schema: "demo/Approve@1", value: { id: BigInt(world.approved + i) } }),
  );
  world.approveSec = Math.min(world.approveSec, await timed(() => world.w.world.send(batch)));
  world.approved += world.share;
}

/**
 * Rounds per figure, the fastest kept: one round of a few thousand events lasts tens of milliseconds, and a
 * garbage collection in it (longer with more instances alive) moved single measurements by 2×.
 */
const ROUNDS = 5;

/**
 * Rows of `[label, value]`: microseconds per event with 1, `events` (at most `plans`) and `plans` instances
 * waiting. The worlds take turns, round by round, so a drift of the host's speed (a third within minutes
 * on the build machine) falls on all of them alike.
 */
export async function plansBench(plans: number, events: number): Promise<Array<[string, string]>> {
  const worlds = [
    await waitingWorld(1, events),
    await waitingWorld(Math.min(events, plans), events),
    await waitingWorld(plans, events),
  ];
  try {
    // A first, discarded round warms the JIT, so the first world measured is not charged for it.
    for (const world of worlds) await round(world, events, 0);
    for (const world of worlds) {
      world.tickSec = Infinity;
      world.approveSec = Infinity;
    }
    for (let n = 1; n <= ROUNDS; n++) for (const world of worlds) await round(world, events, n);
    for (const world of worlds) {
      const awaiting = world.w.plans().filter((p) => p.status === "waiting").length;
      if (awaiting !== world.waiting - world.approved) {
        throw new Error("plans bench: an approval did not wake its instance");
      }
    }
  } finally {
    for (const world of worlds) await world.w[Symbol.asyncDispose]();
  }
  const [one, small, many] = worlds.map((world) => ({
    tickUs: (world.tickSec * 1e6) / events,
    approveUs: (world.approveSec * 1e6) / world.share,
  })) as [Us, Us, Us];
  return [
    [`plans: event nobody awaits, 1 waiting (µs/event)`, one.tickUs.toFixed(1)],
    [`plans: event nobody awaits, ${plans} waiting (µs/event)`, many.tickUs.toFixed(1)],
    [`plans: ratio ${plans} / 1 waiting`, (many.tickUs / one.tickUs).toFixed(2)],
    [`plans: approval waking one, ${Math.min(events, plans)} waiting (µs/event)`, small.approveUs.toFixed(1)],
    [`plans: approval waking one, ${plans} waiting (µs/event)`, many.approveUs.toFixed(1)],
    [
      `plans: ratio ${plans} / ${Math.min(events, plans)} waiting`,
      (many.approveUs / small.approveUs).toFixed(2),
    ],
  ];
}

type Us = { tickUs: number; approveUs: number };

if (import.meta.main) {
  for (const [k, v] of await plansBench(Number(Deno.args[0] ?? 10_000), Number(Deno.args[1] ?? 2_000))) {
    console.log(`${k.padEnd(56)} ${v}`);
  }
}
