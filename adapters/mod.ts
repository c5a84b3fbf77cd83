/**
 * Effect adapters (KERNEL §6.3, AIR §9): the I/O edge that executes authorized intents and answers each
 * with one receipt signed by the adapter's Ed25519 key. Real adapters — `timer.set`, `blob.put`,
 * `blob.get`, `http.request` (real `fetch`), `llm.generate` (OpenAI-compatible, plus the fake `mock`
 * provider) — are idempotent on the intent hash and never reject; `createWorldAdapters` builds them for a
 * world folder with keys kept in `.aos/keys/`. For tests and simulations: `VirtualTimerScheduler` (skip
 * to the next timer) and `FakeAdapter` (scripted, signed receipts: errors, timeouts, delays, duplicates,
 * reordering). Adapters depend on the kernel's port types; the kernel never imports this folder.
 *
 * @example A world's timer on virtual time, its receipt checked as the driver would
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTyped, SchemaIndex, type Value } from "../air/mod.ts";
 * import { MemoryCas } from "../journal/mod.ts";
 * import { VirtualClock } from "../kernel/mod.ts";
 * import { intentHash } from "../kernel/mod.ts";
 * import { createWorldAdapters, VirtualTimerScheduler } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
 * const adapters = await createWorldAdapters(dir, { clock: scheduler.clock, cas: new MemoryCas(), scheduler });
 *
 * const fields = new Map<string, Value>([["deliver_at_ns", { kind: "nat", value: 1_000n }]]);
 * const params = encodeTyped({ ref: "sys/TimerSetParams@1" }, { kind: "record", value: fields }, new SchemaIndex([]));
 * const base = { kind: "timer.set" as const, capName: "timer", params, idempotencyKey: new Uint8Array(32) };
 * const pending = adapters.get("timer.set")!.execute({ ...base, intentHash: intentHash(base), fence: { generation: 0n, height: 4n } });
 *
 * assert.equal(scheduler.nextDueNs(), 1_000n);
 * scheduler.runNext();
 * const receipt = await pending;
 * assert.equal(receipt.status, "ok");
 * assert.equal(adapters.verify(receipt), true);
 * adapters.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export type { AdapterFailure } from "./adapter_failure.ts";
export { adapterLimits } from "./limits.ts";
export { AdapterKey, adapterKeyPaths, isAdapterId, loadOrCreateKey, signReceipt } from "./keys.ts";
export { SystemClock } from "./system_clock.ts";
export { SystemTimerScheduler, type TimerScheduler, VirtualTimerScheduler } from "./timer_scheduler.ts";
export { TimerAdapter, type TimerAdapterOptions } from "./timer.ts";
export {
  type BlobNamespaces,
  FsBlobNamespaces,
  MemoryBlobNamespaces,
  namespaceProblem,
} from "./blob_namespaces.ts";
export { type BlobAdapterOptions, BlobGetAdapter, BlobPutAdapter } from "./blob.ts";
export { HttpAdapter, type HttpAdapterOptions } from "./http.ts";
export { LlmAdapter, type LlmAdapterOptions, type LlmConfig } from "./llm.ts";
export {
  type ChatMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmResult,
  parseLlmInput,
} from "./llm_provider.ts";
export { llmCostCents, type LlmPrice, OpenAiProvider, type OpenAiProviderConfig } from "./llm_openai.ts";
export { MockLlmProvider } from "./llm_mock.ts";
export { FakeAdapter, type FakeAdapterOptions, type FakeOutcome } from "./fake_adapter.ts";
export { AdapterRegistry, createWorldAdapters, type WorldAdapterOptions } from "./registry.ts";
