/**
 * The domain errors the kernel turns into journaled outcomes, by code. A catch in the kernel names the
 * codes it handles; anything else (an {@linkcode InvariantError}, a `TypeError`, an unexpected code) is a
 * bug and propagates: it is never journaled as a `reducer_error`, a failed plan or a divergence.
 *
 * @module
 */
import { type AosErrorCode, isAosError } from "../air/mod.ts";

/** Codes of a value that does not decode or does not fit its schema (guest output, params, payloads). */
export const VALUE_ERROR_CODES: readonly AosErrorCode[] = Object.freeze([
  "AOS_CBOR_INVALID",
  "AOS_CBOR_NON_CANONICAL",
  "AOS_TYPE_MISMATCH",
  "AOS_SCHEMA_UNKNOWN",
]);

/** Codes of an Expr evaluation or a value conversion inside a plan. */
export const PLAN_EVAL_ERROR_CODES: readonly AosErrorCode[] = Object.freeze([
  ...VALUE_ERROR_CODES,
  "AOS_EXPR_ERROR",
]);

/** The codes a manual plan start may be refused with (bad input or locals). */
export const PLAN_START_ERROR_CODES: readonly AosErrorCode[] = Object.freeze([
  ...PLAN_EVAL_ERROR_CODES,
  "AOS_USAGE",
]);

/**
 * The message of a handled error (one of `codes`); rethrows anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AosError, InvariantError } from "../air/errors.ts";
 * import { handledMessage, VALUE_ERROR_CODES } from "./handled_errors.ts";
 *
 * assert.equal(handledMessage(new AosError("AOS_TYPE_MISMATCH", "Expected a nat"), VALUE_ERROR_CODES), "Expected a nat");
 * assert.throws(() => handledMessage(new InvariantError("bug"), VALUE_ERROR_CODES), InvariantError);
 * ```
 */
export function handledMessage(error: unknown, codes: readonly AosErrorCode[]): string {
  if (isAosError(error, codes)) return error.message;
  throw error;
}
