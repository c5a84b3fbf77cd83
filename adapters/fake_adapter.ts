/**
 * A FAKE adapter for the testkit and simulations: no I/O, receipts scripted per intent — ok with a
 * payload, error, timeout, delayed on a (virtual) scheduler, held until released (so receipts can be
 * reordered), duplicated, or with a corrupted signature or a wrong fence — and signed like real receipts
 * with the fake's own Ed25519 key, so the driver's admission checks run exactly as in production.
 *
 * @example Hold two receipts and release them in reverse order
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTyped, SchemaIndex, type Value } from "../air/mod.ts";
 * import { FakeAdapter } from "./fake_adapter.ts";
 * import { intentHash } from "../kernel/mod.ts";
 * import { verifyReceiptSignature } from "../kernel/mod.ts";
 * import { AdapterKey } from "./keys.ts";
 *
 * const fake = new FakeAdapter({ kind: "timer.set", key: AdapterKey.fromSeed(new Uint8Array(32)) });
 * const intent = (at: bigint) => {
 *   const value: Value = { kind: "record", value: new Map([["deliver_at_ns", { kind: "nat", value: at }]]) };
 *   const params = encodeTyped({ ref: "sys/TimerSetParams@1" }, value, new SchemaIndex([]));
 *   const base = { kind: "timer.set" as const, capName: "timer", params, idempotencyKey: new Uint8Array(32) };
 *   return { ...base, intentHash: intentHash(base), fence: { generation: 0n, height: at } };
 * };
 * const [a, b] = [intent(1n), intent(2n)];
 * fake.script(a.intentHash, { status: "ok", hold: true }).script(b.intentHash, { status: "error", hold: true });
 * const order: string[] = [];
 * const done = [fake.execute(a), fake.execute(b)].map((p) => p.then((r) => (order.push(r.status), r)));
 * assert.equal(fake.releaseAll("reverse"), 2);
 * const receipts = await Promise.all(done);
 * assert.deepEqual(order, ["error", "ok"]);
 * assert.ok(receipts.every((r) => verifyReceiptSignature(r, fake.publicKey)));
 * ```
 *
 * @module
 */
import {
  type EffectKind,
  effectSpec,
  encodeTyped,
  SchemaIndex,
  type SchemaResolver,
  toHex,
  type Value,
  zeroValue,
} from "../air/mod.ts";
import type { EffectAdapter, EffectIntent, Fence, Receipt, UnsignedReceipt } from "../kernel/mod.ts";
import { type AdapterKey, signReceipt } from "./keys.ts";
import type { TimerScheduler } from "./timer_scheduler.ts";

/** What the fake answers for one intent. */
export interface FakeOutcome {
  status: "ok" | "error" | "timeout";
  /**
   * Raw bytes are sent as they are (even invalid ones, to exercise admission); a value is encoded with the
   * kind's receipt schema. Default: for `ok` the zero value of the receipt schema, else empty.
   */
  payload?: Uint8Array | Value;
  costCents?: bigint;
  /** Answer only after the scheduler's clock moved this far past the dispatch (needs `scheduler`). */
  delayNs?: bigint;
  /** Answer only when `release`/`releaseAll` is called (held from dispatch, or from the end of the delay). */
  hold?: boolean;
  /** Extra copies of the receipt, collected by `takeDuplicates()` for the driver to admit again. */
  duplicates?: number;
  /** Flip one signature bit, so admission must say `bad_signature`. */
  corruptSignature?: boolean;
  /** Echo this fence instead of the intent's (for `fence_mismatch`). */
  fence?: Fence;
}

/** Options of a {@linkcode FakeAdapter}. */
export interface FakeAdapterOptions {
  kind: EffectKind;
  key: AdapterKey;
  /** Default `fake-<kind>`. */
  adapterId?: string;
  /** The outcome of an intent without a script; default `{status: "ok"}`. */
  respond?: (intent: EffectIntent) => FakeOutcome;
  /** Needed for `delayNs`. */
  scheduler?: TimerScheduler;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
}

interface Held {
  intentHash: Uint8Array;
  release: () => void;
}

/** A scripted, signing fake of any effect kind. */
export class FakeAdapter implements EffectAdapter {
  readonly kind: EffectKind;
  readonly adapterId: string;
  readonly publicKey: Uint8Array;
  readonly #key: AdapterKey;
  readonly #respond: (intent: EffectIntent) => FakeOutcome;
  readonly #scheduler: TimerScheduler | undefined;
  readonly #schemas: SchemaResolver;
  readonly #scripts = new Map<string, FakeOutcome[]>();
  readonly #calls: EffectIntent[] = [];
  readonly #held: Held[] = [];
  readonly #duplicates: Receipt[] = [];

  constructor(options: FakeAdapterOptions) {
    this.kind = options.kind;
    this.adapterId = options.adapterId ?? `fake-${options.kind}`;
    this.#key = options.key;
    this.publicKey = options.key.publicKey;
    this.#respond = options.respond ?? (() => ({ status: "ok" }));
    this.#scheduler = options.scheduler;
    this.#schemas = options.schemas ?? new SchemaIndex([]);
  }

  /** Scripts the next answer to `intentHash`; several scripts for one hash are used in order. */
  script(intentHash: Uint8Array, outcome: FakeOutcome): this {
    if (outcome.delayNs !== undefined && this.#scheduler === undefined) {
      throw new TypeError("A delayed fake receipt needs a scheduler");
    }
    const id = toHex(intentHash);
    this.#scripts.set(id, [...(this.#scripts.get(id) ?? []), outcome]);
    return this;
  }

  /** Every intent executed so far, in dispatch order. */
  get calls(): readonly EffectIntent[] {
    return this.#calls;
  }

  /** Intent hashes whose receipts wait for `release`, in dispatch order. */
  held(): Uint8Array[] {
    return this.#held.map((h) => h.intentHash);
  }

  /** Releases the first held receipt of `intentHash`; false when none is held. */
  release(intentHash: Uint8Array): boolean {
    const index = this.#held.findIndex((h) => toHex(h.intentHash) === toHex(intentHash));
    if (index < 0) return false;
    this.#held.splice(index, 1)[0]!.release();
    return true;
  }

  /** Releases every held receipt in dispatch or reverse order; returns how many. */
  releaseAll(order: "dispatch" | "reverse" = "dispatch"): number {
    const held = this.#held.splice(0);
    for (const h of order === "dispatch" ? held : held.reverse()) h.release();
    return held.length;
  }

  /** Duplicate receipts produced so far (then forgotten). */
  takeDuplicates(): Receipt[] {
    return this.#duplicates.splice(0);
  }

  execute(intent: EffectIntent): Promise<Receipt> {
    this.#calls.push(intent);
    const queue = this.#scripts.get(toHex(intent.intentHash));
    const outcome = queue?.shift() ?? this.#respond(intent);
    if (queue?.length === 0) this.#scripts.delete(toHex(intent.intentHash));
    const receipt = this.#sign(intent, outcome);
    const hold = (): Promise<void> =>
      new Promise<void>((release) => this.#held.push({ intentHash: intent.intentHash, release }));
    let ready: Promise<unknown>;
    if (outcome.delayNs !== undefined) {
      if (this.#scheduler === undefined) throw new TypeError("A delayed fake receipt needs a scheduler");
      const delayed = this.#scheduler.waitUntil(this.#scheduler.clock.nowNs() + outcome.delayNs);
      ready = outcome.hold === true ? delayed.then(hold) : delayed;
    } else {
      // Registered before returning, so `held()` lists it at once.
      ready = outcome.hold === true ? hold() : Promise.resolve();
    }
    return ready.then(() => {
      for (let i = 0; i < (outcome.duplicates ?? 0); i++) this.#duplicates.push(receipt);
      return receipt;
    });
  }

  #sign(intent: EffectIntent, outcome: FakeOutcome): Receipt {
    let payload = outcome.payload ?? new Uint8Array();
    if (outcome.payload === undefined && outcome.status === "ok") {
      payload = zeroValue({ ref: this.#receiptSchema() }, this.#schemas);
    }
    const unsigned: UnsignedReceipt = {
      intentHash: intent.intentHash,
      adapterId: this.adapterId,
      status: outcome.status,
      payload: payload instanceof Uint8Array
        ? payload
        : encodeTyped({ ref: this.#receiptSchema() }, payload, this.#schemas),
      fence: outcome.fence ?? intent.fence,
    };
    if (outcome.costCents !== undefined) unsigned.costCents = outcome.costCents;
    const receipt = signReceipt(unsigned, this.#key);
    if (outcome.corruptSignature === true) {
      receipt.signature = receipt.signature.slice();
      receipt.signature[0]! ^= 1;
    }
    return receipt;
  }

  #receiptSchema(): string {
    const spec = effectSpec(this.kind);
    if (spec === undefined) throw new TypeError(`Effect kind "${this.kind}" is not in the catalog`);
    return spec.receipt;
  }
}
