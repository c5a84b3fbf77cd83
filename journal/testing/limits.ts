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
