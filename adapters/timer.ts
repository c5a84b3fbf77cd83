/**
 * The `timer.set` adapter (AIR §9.1): fires at or after `deliver_at_ns` (absolute nanoseconds on the
 * scheduler's clock) and echoes `key`; receipt `sys/TimerSetReceipt@1 {delivered_at_ns, key}`.
 *
 * @example A timer on a virtual scheduler
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTyped, SchemaIndex, type Value } from "../air/mod.ts";
 * import { VirtualClock } from "../kernel/clock.ts";
 * import { intentHash } from "../kernel/mod.ts";
 * import { verifyReceiptSignature } from "../kernel/mod.ts";
 * import { AdapterKey } from "./keys.ts";
 * import { TimerAdapter } from "./timer.ts";
 * import { VirtualTimerScheduler } from "./timer_scheduler.ts";
 *
 * const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
 * const key = AdapterKey.generate();
 * const timer = new TimerAdapter({ key, scheduler });
 * const params = encodeTyped({ ref: "sys/TimerSetParams@1" }, {
 *   kind: "record",
 *   value: new Map<string, Value>([["deliver_at_ns", { kind: "nat", value: 1_000n }], ["key", { kind: "text", value: "a" }]]),
 * }, new SchemaIndex([]));
 * const base = { kind: "timer.set" as const, capName: "timer_cap", params, idempotencyKey: new Uint8Array(32) };
 * const pending = timer.execute({ ...base, intentHash: intentHash(base), fence: { generation: 0n, height: 3n } });
 * scheduler.runNext();
 * const receipt = await pending;
 * assert.equal(receipt.status, "ok");
 * assert.ok(verifyReceiptSignature(receipt, key.publicKey));
 * ```
 *
 * @module
 */
import { SchemaIndex, type SchemaResolver, type Value } from "../air/mod.ts";
import type { EffectAdapter, EffectIntent, Receipt } from "../kernel/mod.ts";
import type { AdapterFailure } from "./adapter_failure.ts";
import type { AdapterKey } from "./keys.ts";
import { adapterLimits } from "./limits.ts";
import type { TimerScheduler } from "./timer_scheduler.ts";
import { type AdapterCore, executeOnce, field, fieldOf, Once, type Outcome, v } from "./_receipts.ts";

/** Options of a {@linkcode TimerAdapter}. */
export interface TimerAdapterOptions {
  key: AdapterKey;
  scheduler: TimerScheduler;
  /** Default `aos-timer`. */
  adapterId?: string;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
  /** Told why an intent got `error`/`timeout` (the receipt carries no reason). */
  onFailure?: (failure: AdapterFailure) => void;
}

/** `timer.set`: one wait per intent (hash and fence), however often it is dispatched. */
export class TimerAdapter implements EffectAdapter {
  readonly kind = "timer.set" as const;
  readonly adapterId: string;
  readonly publicKey: Uint8Array;
  readonly #core: AdapterCore;
  /** Where the waits are registered (advance it when it is virtual). */
  readonly scheduler: TimerScheduler;
  readonly #once = new Once();

  constructor(options: TimerAdapterOptions) {
    this.adapterId = options.adapterId ?? "aos-timer";
    this.publicKey = options.key.publicKey;
    this.scheduler = options.scheduler;
    this.#core = {
      kind: this.kind,
      adapterId: this.adapterId,
      key: options.key,
      schemas: options.schemas ?? new SchemaIndex([]),
      onFailure: options.onFailure,
    };
  }

  /** Registers the wait before returning, so a virtual scheduler sees it at once. */
  execute(intent: EffectIntent): Promise<Receipt> {
    return executeOnce(this.#core, this.#once, intent, (fields) => this.#set(fields));
  }

  /** Stops the scheduler; pending timers are re-dispatched by the driver after a restart. */
  close(): void {
    this.scheduler.close();
  }

  #set(fields: Map<string, Value>): Promise<Outcome> {
    if (this.scheduler.pendingCount >= adapterLimits.pendingTimersMax) {
      return Promise.resolve({
        status: "error",
        reason: `Too many pending timers: the limit is ${adapterLimits.pendingTimersMax}`,
      });
    }
    const dueNs = fieldOf(fields, "deliver_at_ns", "nat").value;
    // Same value form for the verbatim `key: text` and the amended `key: option<text>` schemas.
    const key = field(fields, "key");
    return this.scheduler.waitUntil(dueNs).then((deliveredAtNs) => ({
      status: "ok",
      payload: v.record({ delivered_at_ns: v.nat(deliveredAtNs), key }),
    }));
  }
}
