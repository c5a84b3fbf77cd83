/**
 * The adapters of a world: {@linkcode AdapterRegistry} maps each effect kind to its adapter and each
 * adapter id to the Ed25519 public key its receipts must verify under (KERNEL §6.3–6.4);
 * {@linkcode createWorldAdapters} builds the real set for a world folder, with keys kept in
 * `.aos/keys/` and blob namespaces in `.aos/blob_ns/`.
 *
 * @example The adapters of a world
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCas } from "../journal/cas.ts";
 * import { VirtualClock } from "../kernel/clock.ts";
 * import { createWorldAdapters } from "./registry.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const adapters = await createWorldAdapters(dir, { clock: new VirtualClock(), cas: new MemoryCas() });
 * assert.deepEqual(adapters.kinds(), ["blob.get", "blob.put", "http.request", "llm.generate", "timer.set"]);
 * assert.equal(adapters.publicKey("aos-timer")?.length, 32);
 * adapters.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { bytesEqual, type EffectKind, type SchemaResolver } from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import {
  type AdapterDirectory,
  type Clock,
  type EffectAdapter,
  type Receipt,
  VirtualClock,
} from "../kernel/mod.ts";
import { BlobGetAdapter, BlobPutAdapter } from "./blob.ts";
import { FsBlobNamespaces } from "./blob_namespaces.ts";
import { HttpAdapter } from "./http.ts";
import { loadOrCreateKey } from "./keys.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";
import { LlmAdapter, type LlmConfig } from "./llm.ts";
import { TimerAdapter } from "./timer.ts";
import { SystemTimerScheduler, type TimerScheduler, VirtualTimerScheduler } from "./timer_scheduler.ts";
import type { AdapterFailure } from "./adapter_failure.ts";

function closable(adapter: EffectAdapter): adapter is EffectAdapter & { close(): void } {
  return typeof (adapter as { close?: unknown }).close === "function";
}

/** Kind → adapter and adapter id → public key. */
export class AdapterRegistry {
  readonly #byKind = new Map<EffectKind, EffectAdapter>();
  readonly #keys = new Map<string, Uint8Array>();
  readonly #kinds = new Map<string, EffectKind[]>();

  constructor(adapters: Iterable<EffectAdapter> = []) {
    for (const adapter of adapters) this.register(adapter);
  }

  /**
   * Adds an adapter. Throws a `TypeError` when its kind already has one, or when its id is registered
   * with a different public key (one id, one key: receipts are checked against the id's key).
   */
  register(adapter: EffectAdapter): this {
    if (this.#byKind.has(adapter.kind)) {
      throw new TypeError(`Effect kind "${adapter.kind}" already has an adapter`);
    }
    const known = this.#keys.get(adapter.adapterId);
    if (known !== undefined && !bytesEqual(known, adapter.publicKey)) {
      throw new TypeError(`Adapter id "${adapter.adapterId}" is registered with a different public key`);
    }
    if (adapter.publicKey.length !== 32) {
      throw new TypeError(`Adapter "${adapter.adapterId}" has no 32-byte Ed25519 public key`);
    }
    this.#byKind.set(adapter.kind, adapter);
    this.#keys.set(adapter.adapterId, adapter.publicKey);
    this.#kinds.set(adapter.adapterId, [...(this.#kinds.get(adapter.adapterId) ?? []), adapter.kind].sort());
    return this;
  }

  /** The adapter of `kind`. */
  get(kind: EffectKind): EffectAdapter | undefined {
    return this.#byKind.get(kind);
  }

  /** The public key registered for `adapterId`. */
  publicKey(adapterId: string): Uint8Array | undefined {
    return this.#keys.get(adapterId);
  }

  /** The effect kinds `adapterId` was registered for (the only ones its receipts may settle), sorted. */
  kindsOf(adapterId: string): EffectKind[] | undefined {
    const kinds = this.#kinds.get(adapterId);
    return kinds === undefined ? undefined : [...kinds];
  }

  /** The directory a driver dispatches through and admits receipts with (keys scoped to their kinds). */
  directory(): AdapterDirectory {
    return {
      adapterFor: (kind) => this.get(kind),
      publicKeyOf: (id) => this.publicKey(id),
      kindsOf: (id) => this.kindsOf(id),
    };
  }

  /** Every kind with an adapter, sorted. */
  kinds(): EffectKind[] {
    return [...this.#byKind.keys()].sort();
  }

  /** `[adapter id, public key]` pairs, sorted by id: what a world registers. */
  publicKeys(): Array<[string, Uint8Array]> {
    return [...this.#keys.keys()].sort().map((id) => [id, this.#keys.get(id)!]);
  }

  /**
   * True when the receipt's adapter is registered, its signature verifies under that adapter's key and,
   * when `kind` (the intent's effect kind) is given, the adapter was registered for it.
   */
  verify(receipt: Receipt, kind?: EffectKind): boolean {
    const key = this.#keys.get(receipt.adapterId);
    if (kind !== undefined && !this.#kinds.get(receipt.adapterId)?.includes(kind)) return false;
    return key !== undefined && verifyReceiptSignature(receipt, key);
  }

  /** Closes every adapter that can be closed (timers stop; pending ones are re-dispatched on restart). */
  close(): void {
    for (const adapter of this.#byKind.values()) if (closable(adapter)) adapter.close();
  }
}

/** What {@linkcode createWorldAdapters} needs. */
export interface WorldAdapterOptions {
  /** Timings of HTTP exchanges; and the timer clock unless `scheduler` is given. */
  clock: Clock;
  cas: Cas;
  /** Deadline of one `http.request`; default 30 s. */
  httpTimeoutMs?: number;
  /** OpenAI-compatible LLM providers; the fake `mock` provider is always there. */
  llm?: LlmConfig;
  /** Default: a {@linkcode VirtualTimerScheduler} on a `VirtualClock`, else a {@linkcode SystemTimerScheduler}. */
  scheduler?: TimerScheduler;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
  /** Told why an intent got `error`/`timeout`. */
  onFailure?: (failure: AdapterFailure) => void;
  /** Reads LLM API keys; default `Deno.env.get`. */
  getEnv?: (name: string) => string | undefined;
}

/**
 * The real adapters of the world in `worldDir`: `timer.set` (`aos-timer`), `blob.put`/`blob.get`
 * (`aos-blob`, namespaces under `.aos/blob_ns/`), `http.request` (`aos-http`) and `llm.generate`
 * (`aos-llm`), each signing with its key from `.aos/keys/` (created on first use).
 */
export async function createWorldAdapters(
  worldDir: string,
  options: WorldAdapterOptions,
): Promise<AdapterRegistry> {
  const shared = {
    cas: options.cas,
    ...(options.schemas === undefined ? {} : { schemas: options.schemas }),
    ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
  };
  const scheduler = options.scheduler ??
    (options.clock instanceof VirtualClock
      ? new VirtualTimerScheduler(options.clock)
      : new SystemTimerScheduler(options.clock));
  const blobKey = await loadOrCreateKey(worldDir, "aos-blob", ["blob.get", "blob.put"]);
  const namespaces = new FsBlobNamespaces(`${worldDir}/.aos/blob_ns`);
  return new AdapterRegistry([
    new TimerAdapter({
      ...shared,
      key: await loadOrCreateKey(worldDir, "aos-timer", ["timer.set"]),
      scheduler,
    }),
    new BlobPutAdapter({ ...shared, key: blobKey, namespaces }),
    new BlobGetAdapter({ ...shared, key: blobKey, namespaces }),
    new HttpAdapter({
      ...shared,
      key: await loadOrCreateKey(worldDir, "aos-http", ["http.request"]),
      clock: options.clock,
      ...(options.httpTimeoutMs === undefined ? {} : { timeoutMs: options.httpTimeoutMs }),
    }),
    new LlmAdapter({
      ...shared,
      key: await loadOrCreateKey(worldDir, "aos-llm", ["llm.generate"]),
      ...(options.llm === undefined ? {} : { config: options.llm }),
      ...(options.getEnv === undefined ? {} : { getEnv: options.getEnv }),
    }),
  ]);
}
