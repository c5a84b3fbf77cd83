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

/** Microseconds per event for ticks and approvals with `waiting` instances waiting. */
async function perEvent(waiting: number, events: number): Promise<{ tickUs: number; approveUs: number }> {
  await using w = await TestWorld.create(definition, { snapshotIntervalEntries: 1_000_000 });
  const starts = Array.from(
    { length: waiting },
    (_, i) => ({ schema: "demo/Start@1", value: { id: BigInt(i) } }),
  );
  for (let i = 0; i < starts.length; i += 10_000) await w.world.send(starts.slice(i, i + 10_000));
  // Each figure is the best of ROUNDS: one round of a few thousand events lasts tens of milliseconds, and a
  // garbage collection in it (longer with more instances alive) moved single measurements by 2×.
  let tickSec = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const ticks = Array.from(
      { length: events },
      (_, i) => ({ schema: "demo/Tick@1", value: { n: BigInt(round * events + i) } }),
    );
    tickSec = Math.min(tickSec, await timed(() => w.world.send(ticks)));
  }
  // Approvals wake their instances: each round approves its own share of them.
  const approvals = Math.min(events, waiting);
  const share = Math.max(1, Math.floor(approvals / ROUNDS));
  let approveSec = Infinity;
  let approved = 0;
  for (let round = 0; round < ROUNDS && approved + share <= approvals; round++) {
    const batch = Array.from(
      { length: share },
      (_, i) => ({ schema: "demo/Approve@1", value: { id: BigInt(approved + i) } }),
    );
    approveSec = Math.min(approveSec, await timed(() => w.world.send(batch)));
    approved += share;
  }
  if (w.plans().filter((p) => p.status === "waiting").length !== waiting - approved) {
    throw new Error("plans bench: an approval did not wake its instance");
  }
  return { tickUs: (tickSec * 1e6) / events, approveUs: (approveSec * 1e6) / share };
}

/** Rounds per figure, the fastest kept. */
const ROUNDS = 5;

/** Rows of `[label, value]`. */
export async function plansBench(plans: number, events: number): Promise<Array<[string, string]>> {
  // A first, discarded run warms the JIT, so the first measured configuration is not charged for it.
  await perEvent(Math.min(events, plans), events);
  const one = await perEvent(1, events);
  const small = await perEvent(Math.min(events, plans), events);
  const many = await perEvent(plans, events);
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

if (import.meta.main) {
  for (const [k, v] of await plansBench(Number(Deno.args[0] ?? 10_000), Number(Deno.args[1] ?? 2_000))) {
    console.log(`${k.padEnd(56)} ${v}`);
  }
}
