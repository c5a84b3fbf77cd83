/**
 * Waiting for an absolute time (the `timer.set` adapter's only I/O): {@linkcode SystemTimerScheduler}
 * arms real `setTimeout`s against a wall clock; {@linkcode VirtualTimerScheduler} holds the waits until a
 * test or a deterministic testkit moves its virtual clock (`advance`, `runNext`), and tells when the next
 * timer is due (`nextDueNs`) so a simulation can skip straight to it.
 *
 * @example Skip to the next timer
 * ```ts
 * import assert from "node:assert/strict";
 * import { VirtualClock } from "../kernel/clock.ts";
 * import { VirtualTimerScheduler } from "./timer_scheduler.ts";
 *
 * const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
 * const fired = scheduler.waitUntil(5_000n);
 * assert.equal(scheduler.nextDueNs(), 5_000n);
 * assert.equal(scheduler.runNext(), 1);
 * assert.equal(await fired, 5_000n);
 * ```
 *
 * @module
 */
import { assert } from "../air/mod.ts";
import { type Clock, VirtualClock } from "../kernel/mod.ts";
import { adapterLimits } from "./limits.ts";
import { SystemClock } from "./system_clock.ts";

/** Schedules waits for absolute times on a clock. */
export interface TimerScheduler {
  /** The clock the due times are read on. */
  readonly clock: Clock;
  /** Waits registered and not yet fired. */
  readonly pendingCount: number;
  /**
   * Registers the wait before returning (synchronously); the promise resolves with the clock's time when it
   * fires, which is at or after `dueNs`. It never rejects; after `close()` it never settles.
   */
  waitUntil(dueNs: bigint): Promise<bigint>;
  /** The earliest pending due time, or undefined when nothing waits. */
  nextDueNs(): bigint | undefined;
  /** Stops the scheduler: timeouts are cleared and pending waits are dropped (a restart re-dispatches them). */
  close(): void;
}

interface Wait {
  dueNs: bigint;
  seq: number;
  resolve: (firedAtNs: bigint) => void;
}

/** Pending waits ordered by (due time, registration order). */
class WaitQueue {
  readonly #waits: Wait[] = [];
  #seq = 0;
  closed = false;

  get size(): number {
    return this.#waits.length;
  }

  add(dueNs: bigint): Promise<bigint> {
    if (dueNs < 0n) throw new RangeError(`Invalid due time "${dueNs}": expected nanoseconds >= 0`);
    return new Promise<bigint>((resolve) => {
      if (this.closed) return;
      const wait = { dueNs, seq: this.#seq++, resolve };
      // Binary search for the first later wait; equal due times keep registration order.
      let low = 0;
      let high = this.#waits.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (this.#waits[mid]!.dueNs <= dueNs) low = mid + 1;
        else high = mid;
      }
      this.#waits.splice(low, 0, wait);
    });
  }

  nextDueNs(): bigint | undefined {
    return this.#waits[0]?.dueNs;
  }

  /** Resolves every wait due at `nowNs`, in order; returns how many fired. */
  fireDue(nowNs: bigint): number {
    let fired = 0;
    while (this.#waits.length > 0 && this.#waits[0]!.dueNs <= nowNs) {
      const wait = this.#waits.shift()!;
      assert(wait.dueNs <= nowNs, "a timer never fires before it is due");
      wait.resolve(nowNs);
      fired++;
    }
    return fired;
  }

  clear(): void {
    this.closed = true;
    this.#waits.length = 0;
  }
}

/**
 * Real waits: one `setTimeout` armed for the earliest wait, re-armed after each firing. The clock is read
 * again when the timeout fires, so a timeout that fires early (timer coarseness) simply re-arms.
 */
export class SystemTimerScheduler implements TimerScheduler {
  readonly clock: Clock;
  readonly #queue = new WaitQueue();
  #timeoutId: ReturnType<typeof setTimeout> | undefined;
  #armedForNs: bigint | undefined;

  constructor(clock: Clock = new SystemClock()) {
    this.clock = clock;
  }

  get pendingCount(): number {
    return this.#queue.size;
  }

  waitUntil(dueNs: bigint): Promise<bigint> {
    const promise = this.#queue.add(dueNs);
    this.#arm();
    return promise;
  }

  nextDueNs(): bigint | undefined {
    return this.#queue.nextDueNs();
  }

  close(): void {
    this.#queue.clear();
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timeoutId !== undefined) clearTimeout(this.#timeoutId);
    this.#timeoutId = undefined;
    this.#armedForNs = undefined;
  }

  #arm(): void {
    if (this.#queue.closed) return;
    const due = this.#queue.nextDueNs();
    if (due === undefined) return this.#disarm();
    if (this.#armedForNs !== undefined && this.#armedForNs <= due) return;
    this.#disarm();
    const remainingNs = due - this.clock.nowNs();
    const delayMs = remainingNs <= 0n
      ? 0
      : Math.min(Number((remainingNs + 999_999n) / 1_000_000n), adapterLimits.setTimeoutMsMax);
    this.#armedForNs = due;
    this.#timeoutId = setTimeout(() => {
      this.#timeoutId = undefined;
      this.#armedForNs = undefined;
      this.#queue.fireDue(this.clock.nowNs());
      this.#arm();
    }, delayMs);
  }
}

/**
 * Virtual waits for tests and deterministic runs: nothing fires until the clock is moved through
 * `advance`/`advanceTo`/`runNext`, or `runDue` is called after the clock was moved elsewhere.
 */
export class VirtualTimerScheduler implements TimerScheduler {
  readonly clock: VirtualClock;
  readonly #queue = new WaitQueue();

  constructor(clock: VirtualClock = new VirtualClock()) {
    this.clock = clock;
  }

  get pendingCount(): number {
    return this.#queue.size;
  }

  waitUntil(dueNs: bigint): Promise<bigint> {
    return this.#queue.add(dueNs);
  }

  nextDueNs(): bigint | undefined {
    return this.#queue.nextDueNs();
  }

  /** Fires every wait due at the clock's current time; returns how many fired. */
  runDue(): number {
    return this.#queue.fireDue(this.clock.nowNs());
  }

  /** Moves the clock forward by `byNs`, then fires what is due. */
  advance(byNs: bigint): number {
    this.clock.advance(byNs);
    return this.runDue();
  }

  /** Moves the clock to `atNs` (never backwards), then fires what is due. */
  advanceTo(atNs: bigint): number {
    const now = this.clock.nowNs();
    if (atNs > now) this.clock.advance(atNs - now);
    return this.runDue();
  }

  /** Skips to the earliest pending wait and fires it (and any due with it); 0 when nothing waits. */
  runNext(): number {
    const due = this.#queue.nextDueNs();
    return due === undefined ? 0 : this.advanceTo(due);
  }

  close(): void {
    this.#queue.clear();
  }
}
