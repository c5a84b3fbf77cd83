/**
 * The one domain error type of AgentOS. Every failure a user can cause carries a stable `code`
 * (API; the CLI maps it to an exit code) and a human message (not API).
 *
 * @module
 */

/** Stable error codes. Codes are API; messages are not. */
export type AosErrorCode =
  | "AOS_CBOR_INVALID"
  | "AOS_CBOR_NON_CANONICAL"
  | "AOS_TYPE_MISMATCH"
  | "AOS_JSON_INVALID"
  | "AOS_AIR_INVALID"
  | "AOS_SCHEMA_UNKNOWN"
  | "AOS_CAS_MISSING"
  | "AOS_CAS_CORRUPT"
  | "AOS_JOURNAL_CORRUPT"
  | "AOS_JOURNAL_TORN"
  | "AOS_REPLAY_DIVERGED"
  | "AOS_WORLD_NOT_FOUND"
  | "AOS_WORLD_EXISTS"
  | "AOS_WASM_INVALID"
  | "AOS_REDUCER_UNKNOWN"
  | "AOS_EXPR_ERROR"
  | "AOS_PATCH_STALE"
  | "AOS_PATCH_INVALID"
  | "AOS_USAGE"
  | "AOS_JOURNAL_IO"
  | "AOS_CONFIG_INVALID"
  | "AOS_BUSY"
  | "AOS_PROPOSAL_REFUSED"
  | "AOS_PATH_NOT_FOUND"
  | "AOS_PATH_EXISTS"
  | "AOS_NOT_A_DIRECTORY"
  | "AOS_IS_A_DIRECTORY"
  | "AOS_PERMISSION_DENIED"
  | "AOS_IO"
  | "AOS_DIR_NOT_EMPTY"
  | "AOS_INPUT_TOO_LARGE"
  | "AOS_SECRET_UNAVAILABLE";

/** Extra context that locates a problem: file, JSON path, definition, step, journal position. */
export interface AosErrorContext {
  file?: string;
  path?: string;
  def?: string;
  step?: string;
  seq?: number;
  segment?: string;
  offset?: number;
  reducer?: string;
}

/** A domain error with a stable code. */
export class AosError extends Error {
  readonly code: AosErrorCode;
  readonly context: AosErrorContext;

  constructor(
    code: AosErrorCode,
    message: string,
    options: { cause?: unknown; context?: AosErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AosError";
    this.code = code;
    this.context = options.context ?? {};
  }
}

/**
 * A broken invariant: a bug in AgentOS, never a user error and never an outcome. It is deliberately not an
 * {@linkcode AosError}, so no domain `catch` (which handles named `AosError` codes) can turn it into a
 * journaled outcome or a replay divergence; it propagates to the top, where the CLI reports it as a bug.
 */
export class InvariantError extends Error {
  /** Stable code for reports (not an {@linkcode AosErrorCode}: nothing handles it). */
  readonly code = "AOS_INVARIANT" as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "InvariantError";
  }
}

/** Throws an {@linkcode InvariantError} when `condition` is false. Invariant errors are bugs, never user errors. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(`Invariant violated: ${message}`);
}

/**
 * True when `error` is an {@linkcode AosError} with one of `codes`: catch sites name the codes they handle
 * and rethrow everything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AosError, isAosError } from "./errors.ts";
 *
 * const error = new AosError("AOS_TYPE_MISMATCH", "Expected a nat");
 * assert.equal(isAosError(error, ["AOS_TYPE_MISMATCH", "AOS_CBOR_INVALID"]), true);
 * assert.equal(isAosError(error, ["AOS_EXPR_ERROR"]), false);
 * ```
 */
export function isAosError(error: unknown, codes: readonly AosErrorCode[]): error is AosError {
  return error instanceof AosError && codes.includes(error.code);
}
