/**
 * The one error type of Expr evaluation (AIR §12.3): deterministic failures with a stable `exprCode`.
 *
 * @module
 */
import { AosError, jsonPath } from "../base/mod.ts";

/** The stable reasons an evaluation fails (API, like `AosError.code`). */
export const EXPR_ERROR_CODES = [
  "missing_ref",
  "wrong_kind",
  "overflow",
  "division_by_zero",
  "bad_arity",
  "limit",
  "unknown_op",
  "bad_literal",
] as const;
/** Why an evaluation failed: see {@linkcode EXPR_ERROR_CODES}. */
export type ExprErrorCode = (typeof EXPR_ERROR_CODES)[number];

/**
 * A deterministic evaluation failure (`code` is always `AOS_EXPR_ERROR`); `context.path` is the JSON path
 * of the failing node within the expression.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const error = new ExprError("division_by_zero", 'Cannot evaluate "div": division by zero', ["args", 1]);
 * strictEqual(error.code, "AOS_EXPR_ERROR");
 * strictEqual(error.context.path, "$.args[1]");
 * ```
 */
export class ExprError extends AosError {
  /** The stable reason. */
  readonly exprCode: ExprErrorCode;

  constructor(
    exprCode: ExprErrorCode,
    message: string,
    path: ReadonlyArray<string | number> = [],
    options: { cause?: unknown } = {},
  ) {
    super("AOS_EXPR_ERROR", message, { ...options, context: { path: jsonPath(path) } });
    this.name = "ExprError";
    this.exprCode = exprCode;
  }
}
