/**
 * The Expr evaluator (AIR §12.3): pure, total and bounded. Every failure is an {@linkcode ExprError} with
 * a stable `exprCode`; nothing else is thrown for any input.
 *
 * @module
 */
import { limits } from "../base/mod.ts";
import type { ExprJson } from "../nodes/mod.ts";
import { compareTextKeys, pathAt, type Value, withPathOnError } from "../value/mod.ts";
import { applyOp } from "./_operators.ts";
import { compareElements, isComparable, sortedUnique } from "./_values.ts";
import { type Expr, type ExprRef, opArity } from "./expr_ast.ts";
import { ExprError, type ExprErrorCode } from "./expr_error.ts";
import { type ExprIssue, parseExpr } from "./parse_expr.ts";

/** What references read: `@plan.input`, `@var:NAME` and `@step:ID` values. */
export interface ExprEnv {
  input?: Value;
  vars: ReadonlyMap<string, Value>;
  steps: ReadonlyMap<string, Value>;
}

type Path = ReadonlyArray<string | number>;

interface Budget {
  nodes: number;
}

const ISSUE_TO_ERROR: Readonly<Record<string, ExprErrorCode>> = {
  EXPR_UNKNOWN_OP: "unknown_op",
  EXPR_ARITY: "bad_arity",
  EXPR_LIMIT: "limit",
};

/** The error of the first parse issue: `unknown_op`, `bad_arity`, `limit`, otherwise `bad_literal`. */
export function exprErrorOfIssue(issue: ExprIssue): ExprError {
  return new ExprError(ISSUE_TO_ERROR[issue.code] ?? "bad_literal", issue.message, issue.path);
}

function readPath(start: Value, ref: ExprRef, path: Path): Value {
  let current = start;
  for (const segment of ref.path) {
    if (current.kind === "record") {
      const field = current.value.get(segment);
      if (field === undefined) {
        throw new ExprError(
          "missing_ref",
          `Cannot read ${JSON.stringify(ref.text)}: no field "${segment}"`,
          path,
        );
      }
      current = field;
    } else if (current.kind === "map") {
      const entry = current.value.find(([key]) => key.kind === "text" && key.value === segment);
      if (entry === undefined) {
        throw new ExprError(
          "missing_ref",
          `Cannot read ${JSON.stringify(ref.text)}: no key "${segment}"`,
          path,
        );
      }
      current = entry[1];
    } else if (current.kind === "none" || current.kind === "unit") {
      // An absent option or an empty receipt payload: a missing field, never null (AIR §12.3).
      const message = `Cannot read ${JSON.stringify(ref.text)}: "${segment}" of ${current.kind}`;
      throw new ExprError("missing_ref", message, path);
    } else {
      throw new ExprError(
        "wrong_kind",
        `Cannot read ${JSON.stringify(ref.text)}: "${segment}" of a ${current.kind} value`,
        path,
      );
    }
  }
  return current;
}

function readRef(ref: ExprRef, env: ExprEnv, path: Path): Value {
  const root = ref.root === "input" ? env.input : (ref.root === "var" ? env.vars : env.steps).get(ref.name);
  if (root === undefined) {
    const what = ref.root === "input" ? "no plan input" : `${ref.root} "${ref.name}" is not bound`;
    throw new ExprError("missing_ref", `Cannot read ${JSON.stringify(ref.text)}: ${what}`, path);
  }
  return readPath(root, ref, path);
}

function comparableItems(items: Value[], what: string, path: Path): Value[] {
  items.forEach((item, i) => {
    if (!isComparable(item)) {
      throw new ExprError(
        "wrong_kind",
        `Cannot build a ${what}: a ${item.kind} is not comparable (int, nat, text, uuid or hash)`,
        [...path, i],
      );
    }
  });
  return items;
}

/** A record expression's fields in canonical key order, sorted once per expression. */
const sortedRecordFields = new WeakMap<object, ReadonlyArray<[string, Expr]>>();

function sortedFields(expr: Expr & { kind: "record" }): ReadonlyArray<[string, Expr]> {
  let fields = sortedRecordFields.get(expr);
  if (fields === undefined) {
    fields = [...expr.fields].sort(([a], [b]) => compareTextKeys(a, b));
    sortedRecordFields.set(expr, fields);
  }
  return fields;
}

function evalNode(expr: Expr, env: ExprEnv, path: Path, budget: Budget): Value {
  budget.nodes++;
  if (budget.nodes > limits.exprNodesMax) {
    throw new ExprError("limit", `Evaluation visits more than ${limits.exprNodesMax} nodes`, path);
  }
  switch (expr.kind) {
    case "const":
      return expr.value;
    case "ref":
      return readRef(expr.ref, env, pathAt(path, "ref"));
    case "record": {
      const out = new Map<string, Value>();
      for (const [name, field] of sortedFields(expr)) {
        out.set(name, evalNode(field, env, pathAt(path, "record", name), budget));
      }
      return { kind: "record", value: out };
    }
    case "list":
      return {
        kind: "list",
        value: expr.items.map((item, i) => evalNode(item, env, pathAt(path, "list", i), budget)),
      };
    case "set": {
      const items = expr.items.map((item, i) => evalNode(item, env, pathAt(path, "set", i), budget));
      return { kind: "set", value: sortedUnique(comparableItems(items, "set", pathAt(path, "set"))) };
    }
    case "map": {
      const here = pathAt(path, "map");
      const pairs = expr.entries.map(({ key, value }, i): [Value, Value] => [
        evalNode(key, env, pathAt(here, i, "key"), budget),
        evalNode(value, env, pathAt(here, i, "value"), budget),
      ]);
      comparableItems(pairs.map(([key]) => key), "map", here);
      const sorted = pairs.sort(([a], [b]) => compareElements(a, b));
      if (sorted.some(([key], i) => i > 0 && compareElements(sorted[i - 1]![0], key) === 0)) {
        throw new ExprError("bad_literal", "Cannot build a map: duplicate keys", here);
      }
      return { kind: "map", value: sorted };
    }
    case "variant": {
      const payload = expr.value === undefined
        ? { kind: "unit" as const }
        : evalNode(expr.value, env, pathAt(path, "variant", "value"), budget);
      return {
        kind: "record",
        value: new Map<string, Value>([["$tag", { kind: "text", value: expr.tag }], ["$value", payload]]),
      };
    }
    case "op":
      return evalOp(expr, env, path, budget);
  }
}

function evalOp(expr: Expr & { kind: "op" }, env: ExprEnv, path: Path, budget: Budget): Value {
  const { op, args } = expr;
  const arity = opArity(op);
  if (args.length < arity.min || args.length > arity.max) {
    const expected = arity.max === arity.min ? `${arity.min}` : `at least ${arity.min}`;
    throw new ExprError(
      "bad_arity",
      `Cannot evaluate "${op}": expected ${expected} arguments, got ${args.length}`,
      [...path, "args"],
    );
  }
  if (op === "and" || op === "or") {
    // Short-circuit left to right, so a guard can test a status before touching a payload.
    for (let i = 0; i < args.length; i++) {
      const value = evalNode(args[i]!, env, pathAt(path, "args", i), budget);
      if (value.kind !== "bool") {
        throw new ExprError(
          "wrong_kind",
          `Cannot evaluate "${op}": argument ${i} is a ${value.kind}, not a bool`,
          [
            ...path,
            "args",
            i,
          ],
        );
      }
      if (value.value === (op === "or")) return value;
    }
    return { kind: "bool", value: op === "and" };
  }
  const values = args.map((arg, i) => evalNode(arg, env, pathAt(path, "args", i), budget));
  return applyOp(op, values, path);
}

/**
 * Evaluates a parsed expression (see {@linkcode evalExpr}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseExpr } from "./parse_expr.ts";
 * const parsed = parseExpr({ op: "not", args: [{ bool: false }] });
 * if (!parsed.ok) throw new Error("unreachable");
 * deepStrictEqual(evaluateExpr(parsed.expr, { vars: new Map(), steps: new Map() }), { kind: "bool", value: true });
 * ```
 */
export function evaluateExpr(expr: Expr, env: ExprEnv): Value {
  // Evaluation is pure: it runs without paths, and again with them only for a failure's path.
  return withPathOnError([], (path) => evalNode(expr, env, path, { nodes: 0 }));
}

/**
 * Evaluates an Expr in its JSON form against an environment (AIR §12.3). A malformed expression fails
 * with `unknown_op`, `bad_arity`, `limit` or otherwise `bad_literal`; evaluation fails with `missing_ref`,
 * `wrong_kind`, `overflow`, `division_by_zero`, `bad_arity` or `limit`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Value } from "../value/mod.ts";
 * const status: Value = { kind: "int", value: 404n };
 * const resp: Value = { kind: "record", value: new Map([["status", status]]) };
 * const env = { vars: new Map([["resp", resp]]), steps: new Map() };
 * const expr = { op: "lt", args: [{ ref: "@var:resp.status" }, { int: 400n }] };
 * deepStrictEqual(evalExpr(expr, env), { kind: "bool", value: false });
 * ```
 */
export function evalExpr(expr: ExprJson, env: ExprEnv): Value {
  const cached = typeof expr === "object" && expr !== null ? parsedExprs.get(expr) : undefined;
  if (cached !== undefined) return evaluateExpr(cached, env);
  const parsed = parseExpr(expr);
  if (!parsed.ok) throw exprErrorOfIssue(parsed.issues[0]!);
  if (typeof expr === "object" && expr !== null) parsedExprs.set(expr, parsed.expr);
  return evaluateExpr(parsed.expr, env);
}

/**
 * Parsed forms of the Expr JSON objects evaluated so far, by identity: a plan's exprs are parsed once, not
 * at every step of every instance (AIR definitions are not mutated once loaded).
 */
const parsedExprs = new WeakMap<object, Expr>();
