/**
 * The `Clock` port: the only source of time, used by the driver to stamp inputs (KERNEL §2.5).
 *
 * @module
 */

/** Gives the current time in nanoseconds since the Unix epoch. */
export interface Clock {
  nowNs(): bigint;
}

/** A clock that only moves when told to; for tests and deterministic runs. */
export class VirtualClock implements Clock {
  #nowNs: bigint;
  constructor(startNs = 1_700_000_000_000_000_000n) {
    this.#nowNs = startNs;
  }
  nowNs(): bigint {
    return this.#nowNs;
  }
  /** Moves time forward. */
  advance(byNs: bigint): void {
    if (byNs < 0n) throw new RangeError("A clock cannot go backwards");
    this.#nowNs += byNs;
  }
}
