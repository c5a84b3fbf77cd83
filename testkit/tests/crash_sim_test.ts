/**
 * Issue 13, "Proving it": the seeded crash simulation (see `testkit/sim/crash_sim.ts`). 8 seeds by default;
 * `AOS_SIM_SEEDS=1000` for the long runs (`deno task test:long`, `deno task sim`), `AOS_SIM_FIRST_SEED=<n>` to start elsewhere,
 * `AOS_SIM_SEED=<n>` to rerun one seed. A failing
 * seed prints the command that reruns it.
 */
import assert from "node:assert/strict";
import { emptyStats, runSeed, simTemplate } from "../sim/mod.ts";

const one = Deno.env.get("AOS_SIM_SEED");
const count = Number(Deno.env.get("AOS_SIM_SEEDS") ?? "8");
const first = Number(Deno.env.get("AOS_SIM_FIRST_SEED") ?? "1");
const seeds = one !== undefined ? [Number(one)] : Array.from({ length: count }, (_, i) => first + i);

Deno.test(`crash simulation: ${seeds.length} seeds; after every injected crash acknowledged events are journaled once, nothing unjournaled was dispatched, replay verifies`, async () => {
  const template = await simTemplate();
  const stats = emptyStats();
  try {
    for (const seed of seeds) {
      try {
        await runSeed(seed, template, stats);
      } catch (error) {
        throw new Error(
          `seed ${seed} failed; rerun it with: AOS_SIM_SEED=${seed} deno test --allow-all testkit/tests/crash_sim_test.ts`,
          { cause: error },
        );
      }
    }
  } finally {
    await Deno.remove(template, { recursive: true });
  }
  console.log(
    `crash sim: ${stats.seeds} seeds, ${stats.crashes} crash points, ${stats.acknowledged} acknowledged events, ` +
      `${stats.lost} lost, ${stats.duplicated} duplicated, ${stats.dispatchedUnjournaled} dispatched unjournaled, ` +
      `${stats.survived} failures survived, ${stats.tornTails} torn tails cut, ${stats.unsyncedBytesKept} unsynced bytes kept, ` +
      `${stats.verified} replay verifications`,
  );
  console.log(`crash points by operation: ${JSON.stringify(stats.byPoint)}`);
  assert.equal(stats.lost, 0);
  assert.equal(stats.duplicated, 0);
  assert.equal(stats.dispatchedUnjournaled, 0);
  assert.ok(seeds.length < 10 || stats.crashes > seeds.length / 2, "faults were injected");
});
