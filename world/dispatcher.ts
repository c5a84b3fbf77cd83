/**
 * Dispatching outbox intents to adapters and collecting their receipts: one shared piece of the run loop
 * (`World.run`) and of the testkit's deterministic driver. It never dispatches an intent twice while it is
 * in flight or its receipt waits for admission (the intent is still in the outbox then), and holds back intents whose receipt was ignored until {@linkcode Dispatcher.forgetIgnored}
 * (what a restart does): re-dispatching at once would loop while an adapter keeps answering wrongly.
 *
 * @module
 */
import { bytesToHashRef, type HashRef, type SecretRef, toHex } from "../air/mod.ts";
import type { AdapterDirectory, OutboxEntry, Receipt } from "../kernel/mod.ts";

/** What one {@linkcode Dispatcher.dispatch} did. */
export interface DispatchRound {
  /** Intents handed to an adapter in this round. */
  dispatched: number;
  /** Intents no adapter is registered for (they stay in the outbox). */
  undispatchable: Array<{ intentHash: HashRef; kind: string }>;
}

/** Hex of intent hashes, kept per byte array: the outbox hands the same arrays round after round. */
const hexes = new WeakMap<Uint8Array, string>();

function hexOf(intentHash: Uint8Array): string {
  let hex = hexes.get(intentHash);
  if (hex === undefined) {
    hex = toHex(intentHash);
    hexes.set(intentHash, hex);
  }
  return hex;
}

/** Tracks intents in flight and receipts ready for admission. */
export class Dispatcher {
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #inflightMax: number;
  /** Intents whose receipt came back and waits in `#ready`: still in the outbox until it is admitted. */
  readonly #answered = new Set<string>();
  readonly #ignored = new Set<string>();
  readonly #ready: Receipt[] = [];
  #wake: (() => void) | undefined;

  /**
   * `inflightMax`: intents in flight at once; {@linkcode dispatch} leaves the rest in the outbox for a later
   * round (default: no bound — the testkit's deterministic driver; `aos run` passes `limits.effectsInFlightMax`
   * or the world's configured value).
   */
  constructor(options: { inflightMax?: number } = {}) {
    this.#inflightMax = options.inflightMax ?? Number.POSITIVE_INFINITY;
  }

  /** Intents handed to an adapter whose receipt has not come back yet. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Receipts that came back and wait for admission. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /**
   * Hands every outbox intent that is neither in flight nor held back to its adapter, in outbox order, while
   * fewer than `inflightMax` are in flight, with `resolveSecret` (the world's {@linkcode World.secretAccess})
   * for the secrets its params reference.
   */
  dispatch(
    outbox: readonly OutboxEntry[],
    directory: Pick<AdapterDirectory, "adapterFor">,
    resolveSecret?: (ref: SecretRef) => Promise<string>,
  ): DispatchRound {
    const round: DispatchRound = { dispatched: 0, undispatchable: [] };
    for (const entry of outbox) {
      const adapter = directory.adapterFor(entry.kind);
      // At the in-flight bound nothing with an adapter can go now: skip it before any work (a round scans
      // the whole outbox, so this keeps a round cheap while thousands of intents wait).
      if (adapter && this.#inflight.size >= this.#inflightMax) continue;
      const hex = hexOf(entry.intentHash);
      if (this.#inflight.has(hex) || this.#answered.has(hex) || this.#ignored.has(hex)) continue;
      if (!adapter) {
        round.undispatchable.push({ intentHash: bytesToHashRef(entry.intentHash), kind: entry.kind });
        continue;
      }
      const { intentHash, kind, capName, params, idempotencyKey, fence } = entry;
      const intent = { intentHash, kind, capName, params, idempotencyKey, fence };
      const promise = adapter.execute(resolveSecret ? { ...intent, resolveSecret } : intent).then(
        (receipt) => {
          this.#inflight.delete(hex);
          this.#answered.add(hex);
          this.#ready.push(receipt);
          this.#wake?.();
        },
      );
      this.#inflight.set(hex, promise);
      round.dispatched++;
    }
    return round;
  }

  /** Adds receipts to admit that did not come from a dispatch (duplicates a fake adapter produced). */
  deliver(receipts: readonly Receipt[]): void {
    this.#ready.push(...receipts);
  }

  /** Takes every receipt that is ready, in arrival order (group commit of whatever came back). */
  takeReady(): Receipt[] {
    this.#answered.clear();
    return this.#ready.splice(0);
  }

  /** Resolves when a receipt is ready (at once if one is), or when `deadline` settles; false then. */
  async waitForReceipt(deadline?: Promise<void>): Promise<boolean> {
    if (this.#ready.length > 0) return true;
    const arrived = new Promise<true>((resolve) => {
      this.#wake = () => resolve(true);
    });
    try {
      return await Promise.race([arrived, ...(deadline ? [deadline.then(() => false as const)] : [])]);
    } finally {
      this.#wake = undefined;
    }
  }

  /** Holds back an intent whose receipt was ignored. */
  holdBack(intentHash: HashRef): void {
    this.#ignored.add(intentHash.slice("sha256:".length));
  }

  /** True when the intent is held back. */
  isHeldBack(intentHash: Uint8Array): boolean {
    return this.#ignored.has(hexOf(intentHash));
  }

  /** Lets held-back intents be dispatched again. */
  forgetIgnored(): void {
    this.#ignored.clear();
  }
}
