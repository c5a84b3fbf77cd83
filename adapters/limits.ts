/**
 * Every bound the adapters enforce, in one place (STYLE: a limit on everything). The kernel's own limits
 * live in `air/base/limits.ts`.
 *
 * @module
 */

/** Adapter bounds and defaults. Sizes in bytes, durations in milliseconds. */
export const adapterLimits = {
  /** Receipts an adapter remembers per intent (hash + fence) so a re-dispatch returns the same receipt. */
  recentReceiptsMax: 4_096,
  /** Timers one scheduler may hold at once; more are refused with status `error`. */
  pendingTimersMax: 100_000,
  /** The longest single `setTimeout` a real scheduler arms (about 24.8 days); longer waits re-arm. */
  setTimeoutMsMax: 2 ** 31 - 1,
  /** Default deadline of one `http.request`, retries included. */
  httpTimeoutMsDefault: 30_000,
  /** Default bound of an `http.request` response body; a bigger body gives status `error`. */
  httpResponseSizeBytesMax: 16 * 1024 * 1024,
  /** Transport retries an HTTP adapter may be configured with. */
  httpRetriesMax: 10,
  /** Default deadline of one `llm.generate`. */
  llmTimeoutMsDefault: 120_000,
  /** Bound of an LLM provider's response body. */
  llmResponseSizeBytesMax: 16 * 1024 * 1024,
  /** Bound of an `llm.generate` input blob. */
  llmInputSizeBytesMax: 16 * 1024 * 1024,
  /** UTF-8 length of a blob namespace name (its hex form is a directory name). */
  blobNamespaceSizeBytesMax: 120,
  /** Length of an adapter id (it becomes a key file name). */
  adapterIdLengthMax: 64,
} as const;
