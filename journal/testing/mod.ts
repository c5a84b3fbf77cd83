/**
 * The contract suites every `Journal` and `Cas` implementation must pass (file, memory, and any store a
 * user adds): one suite per port, run with a factory of fresh instances. Test-only: it ships
 * `node:assert`, so the library surface (`journal/mod.ts`) does not export it.
 *
 * @example Run the journal contract against the in-memory journal
 * ```ts ignore
 * import { MemoryJournal } from "../mod.ts";
 * import { runJournalContract } from "./mod.ts";
 *
 * runJournalContract("MemoryJournal", () => {
 *   let journal = new MemoryJournal();
 *   return { open: () => Promise.resolve(journal = MemoryJournal.from(journal.entries())) };
 * });
 * ```
 *
 * @module
 */
export { type CasHarness, runCasContract } from "./cas_contract.ts";
export { type JournalHarness, runJournalContract, sampleRecord } from "./journal_contract.ts";
export { type LimitName, realLimits, withLimits, withTestLimits } from "./limits.ts";
export { outcomeOf } from "./outcome.ts";
