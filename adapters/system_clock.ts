/**
 * The real wall clock, for the CLI's driver. Kernel code never reads it; it only reaches the kernel as
 * journaled `ingress_ns`.
 *
 * @module
 */
import type { Clock } from "../kernel/mod.ts";

/** Wall-clock time with millisecond resolution, in nanoseconds. */
export class SystemClock implements Clock {
  nowNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }
}
