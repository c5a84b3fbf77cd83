/**
 * The seeded crash simulation of a world on real files (fault-injecting fakes of the file ports,
 * a workload, and the invariants checked after every injected crash). Test-only: `testkit/mod.ts` does not
 * export it.
 *
 * @example Run three seeds
 * ```ts ignore
 * import { emptyStats, runSeed, simTemplate } from "./mod.ts";
 *
 * const template = await simTemplate();
 * const stats = emptyStats();
 * for (const seed of [1, 2, 3]) await runSeed(seed, template, stats);
 * console.log(stats.crashes, stats.lost);
 * await Deno.remove(template, { recursive: true });
 * ```
 *
 * @module
 */
export {
  emptyStats,
  FaultPlan,
  FaultyCas,
  FaultyHeadStore,
  FaultyInbox,
  FaultyJournal,
  FaultyReceiptInbox,
  InjectedFault,
  JournalDisk,
  runSeed,
  SimFailure,
  SimRandom,
  type SimStats,
  simTemplate,
} from "./crash_sim.ts";
