/**
 * Expr (AIR §12.3): the side-effect-free expressions of plans — guards, bindings, effect params, events
 * and results. {@linkcode parseExpr} checks the JSON structure, {@linkcode evalExpr} evaluates (pure,
 * total, bounded; failures are {@linkcode ExprError}s), {@linkcode checkExpr} types an expression
 * statically, and {@linkcode conformValue} / {@linkcode isAssignable} implement the Conformance rule of
 * AIR §3 at run time and statically.
 *
 * @example Evaluate a guard and type-check it
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkExpr, evalExpr } from "./mod.ts";
 * import type { Value } from "../value/mod.ts";
 *
 * const guard = {
 *   op: "and",
 *   args: [
 *     { op: "eq", args: [{ ref: "@step:wait.status" }, { text: "ok" }] },
 *     { op: "lt", args: [{ ref: "@var:resp.status" }, { int: 400n }] },
 *   ],
 * };
 * // The receipt failed: `and` stops before reading the (absent) payload.
 * const wait: Value = { kind: "record", value: new Map([["status", { kind: "text", value: "error" }]]) };
 * const result = evalExpr(guard, { vars: new Map(), steps: new Map([["wait", wait]]) });
 * assert.deepEqual(result, { kind: "bool", value: false });
 *
 * const schemas = { resolve: () => undefined };
 * const checked = checkExpr(guard, {
 *   vars: new Map([["resp", { record: { status: { int: {} } } }]]),
 *   steps: new Map([["wait", { record: { status: { text: {} } } }]]),
 *   schemas,
 * });
 * assert.deepEqual(checked.type, { bool: {} });
 * assert.deepEqual(checked.issues, []);
 * ```
 *
 * @module
 */
export { checkExpr, type CheckExprResult, type ExprTypeEnv } from "./check_expr.ts";
export { conformValue } from "./conform_value.ts";
export { describeType } from "./describe_type.ts";
export { evalExpr, evaluateExpr, type ExprEnv, exprErrorOfIssue } from "./eval_expr.ts";
export { type Expr, type ExprRef, isOpName, OP_NAMES, opArity, type OpName } from "./expr_ast.ts";
export { EXPR_ERROR_CODES, ExprError, type ExprErrorCode } from "./expr_error.ts";
export { isAssignable, sameType } from "./is_assignable.ts";
export {
  EXPR_CONSTANT_KEYS,
  EXPR_ISSUE_CODES,
  type ExprIssue,
  type ExprIssueCode,
  parseExpr,
  type ParseExprResult,
} from "./parse_expr.ts";
export { PlanScope, stepBinding } from "./plan_scope.ts";
export { parseRef, type ParseRefResult, REF_NAME_PATTERN, REF_SEGMENT_PATTERN } from "./parse_ref.ts";
