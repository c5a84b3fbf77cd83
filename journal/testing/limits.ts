/**
 * Tests that need a bound of `limits` lower than the real one (to reach it with a few events instead of
 * thousands) set it for the duration of one function. The commands they run in process read `limits` when
 * they use a bound, so they see the lowered value.
 *
 * @module
 */
import { limits } from "../../air/mod.ts";

/** The numeric bounds of {@linkcode limits}. */
export type LimitName = keyof typeof limits;

/** Runs `fn` with the `lowered` bounds in `limits`, and restores them afterwards, whatever `fn` does. */
export async function withLimits<T>(
  lowered: Partial<Record<LimitName, number>>,
  fn: () => Promise<T>,
): Promise<T> {
  const mutable = limits as Record<LimitName, number>;
  const saved = Object.fromEntries(Object.keys(lowered).map((name) => [name, mutable[name as LimitName]]));
  Object.assign(mutable, lowered);
  try {
    return await fn();
  } finally {
    Object.assign(mutable, saved);
  }
}

/**
 * Whether tests run at the real bounds: `AOS_REAL_LIMITS=1` (`deno task test:long`; `AOS_REAL_BLOCK_LIMITS=1`,
 * its earlier name, too). Read when called, so importing this module needs no environment permission.
 */
export function realLimits(): boolean {
  return Deno.env.get("AOS_REAL_LIMITS") === "1" || Deno.env.get("AOS_REAL_BLOCK_LIMITS") === "1";
}

/**
 * Runs `fn` with the `lowered` bounds, or at the real ones when {@linkcode realLimits} says so. For tests
 * whose inputs grow with a bound (an entry as large as `journalEntrySizeBytesMax` is 16 MiB): the same
 * check refuses them at a lowered bound, for a fraction of the memory and time.
 */
export function withTestLimits<T>(
  lowered: Partial<Record<LimitName, number>>,
  fn: () => Promise<T>,
): Promise<T> {
  return realLimits() ? fn() : withLimits(lowered, fn);
}
