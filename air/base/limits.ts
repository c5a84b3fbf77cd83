/**
 * Every bound of the system in one place (TigerBeetle style): loops and queues are bounded by these.
 *
 * @module
 */
export const limits = {
  /**
   * Fuel of one reducer call (KERNEL §3.6): function entries plus loop iterations, counted by the checks
   * `kernel/fuel.ts` adds at load time. About 100 units per byte of a 4 MiB envelope; a runaway loop spends
   * it in roughly 0.25–1.2 s. Also the budget of a module's start function. At most 2^31 - 1.
   */
  reducerFuelMax: 500_000_000,
  /** Reducer linear memory, in 64 KiB pages (16 MiB). */
  reducerMemoryPagesMax: 256,
  /** Input and output envelope size for one reducer call. */
  envelopeSizeBytesMax: 4 * 1024 * 1024,
  /** Effects one reducer step may emit. */
  effectsPerReducerStepMax: 1,
  /** Encoded size of one journal entry. */
  journalEntrySizeBytesMax: 16 * 1024 * 1024,
  /**
   * A journal segment rolls over once it reaches this size (a larger entry gets a segment of its own). Every
   * open digests the last segment's checkpointed bytes, so this bounds that work: 16 MiB is about 10 ms.
   */
  journalSegmentSizeBytesMax: 16 * 1024 * 1024,
  /** Ticks the kernel may run for one input before it declares the block runaway. */
  ticksPerBlockMax: 100_000,
  /** Domain events one reducer step may emit. */
  eventsPerReducerStepMax: 1_024,
  /**
   * Domain events the reducers and plans of one block may emit in all (KERNEL §2.3). A reducer that routes
   * its own events back to itself multiplies them per tick: the step that would pass this ends the block
   * with `reducer_error` code `block_limit`. Part of the deterministic kernel: replay needs the same value.
   */
  derivedEventsPerBlockMax: 16_384,
  /** Bytes (schema, value and key) of the domain events one block may emit in all; as above. */
  derivedEventBytesPerBlockMax: 64 * 1024 * 1024,
  /** Nesting depth of CBOR items and types. */
  nestingDepthMax: 64,
  /** Steps per plan. */
  planStepsMax: 1_024,
  /** Expression depth and node count per evaluation. */
  exprDepthMax: 64,
  exprNodesMax: 10_000,
  /** Intent hashes remembered as settled. */
  settledHashesMax: 4_096,
  /** Entries between automatic snapshots. */
  snapshotIntervalEntries: 1_000,
  /**
   * Inputs a step admits between two offers to a store that can take rows before the step's commit
   * (PostgreSQL: `Journal.sendAhead`), so the database inserts them while the kernel computes the next ones.
   */
  sendAheadInputsEvery: 4_096,
  /** Rows a PostgreSQL journal holds uncommitted before an offer sends them into the step's transaction. */
  sendAheadRowsMin: 8_192,
  /**
   * Effects `aos run` has in flight at once (dispatched, receipt not back yet); the rest wait in the outbox
   * and go out as receipts come back. A world may lower or raise it (`effects.inflight_max` in config.json).
   */
  effectsInFlightMax: 16,
  /** Rounds of dispatch and receipt admission one `aos run` may take before it returns. */
  runRoundsMax: 1_000_000,
  /** Inputs one `aos step` admits in one batch. */
  inboxBatchMax: 100_000,
  /** Names a drop-box writer tries before it gives up when racing writers keep taking the next one. */
  dropBoxCreateAttemptsMax: 1_000,
} as const;
