/**
 * What a call gave, for tests that compare a fast path with its reference on inputs either may refuse.
 *
 * @module
 */
import { AosError } from "../../air/mod.ts";

/** What `fn` returned, or the code and message of the `AosError` it threw (anything else is rethrown). */
export function outcomeOf(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}
