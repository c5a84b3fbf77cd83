/**
 * Structural validation of an Expr in its JSON text form (AIR §12.3), producing the parsed
 * {@linkcode Expr}. Every problem is reported with its JSON path; nothing is evaluated.
 *
 * @module
 */
import { AosError, limits } from "../base/mod.ts";
import type { ExprJson } from "../nodes/mod.ts";
import { hasOwn, valueFromTaggedJson } from "../value/mod.ts";
import { type Expr, isOpName } from "./expr_ast.ts";
import { parseRef } from "./parse_ref.ts";

/** A problem found in an expression; `path` is the JSON path from the root of the enclosing document. */
export interface ExprIssue {
  code: string;
  message: string;
  path: Array<string | number>;
}

/**
 * The issue codes of {@linkcode parseExpr} and `checkExpr`: shape (`EXPR_SHAPE`, `EXPR_LITERAL`,
 * `EXPR_REF` for a malformed reference, `EXPR_UNKNOWN_OP`, `EXPR_ARITY`, `EXPR_LIMIT`) and typing
 * (`EXPR_UNKNOWN_REF` for an unbound root, `EXPR_UNKNOWN_FIELD`, `EXPR_TYPE`).
 */
export const EXPR_ISSUE_CODES = [
  "EXPR_SHAPE",
  "EXPR_LITERAL",
  "EXPR_REF",
  "EXPR_UNKNOWN_OP",
  "EXPR_ARITY",
  "EXPR_LIMIT",
  "EXPR_UNKNOWN_REF",
  "EXPR_UNKNOWN_FIELD",
  "EXPR_TYPE",
] as const;
/** An issue code. */
export type ExprIssueCode = (typeof EXPR_ISSUE_CODES)[number];

/** The outcome of {@linkcode parseExpr}. */
export type ParseExprResult = { ok: true; expr: Expr } | { ok: false; issues: ExprIssue[] };

/** The tagged constant forms allowed in Expr (AIR §3 minus `null`). */
export const EXPR_CONSTANT_KEYS: ReadonlySet<string> = new Set([
  "bool",
  "int",
  "nat",
  "dec128",
  "text",
  "bytes_b64",
  "time_ns",
  "duration_ns",
  "hash",
  "uuid",
]);

type Path = Array<string | number>;
type JsonObject = { [key: string]: ExprJson };

interface State {
  issues: ExprIssue[];
  nodes: number;
  limited: boolean;
}

function isObject(json: unknown): json is JsonObject {
  return typeof json === "object" && json !== null && !Array.isArray(json);
}

function describe(json: unknown): string {
  if (Array.isArray(json)) return "an array";
  if (json === null) return "null";
  return typeof json === "object" ? "an object" : `a ${typeof json === "bigint" ? "number" : typeof json}`;
}

function quoteKeys(keys: string[]): string {
  return keys.map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)).join(", ");
}

function parseOp(json: JsonObject, path: Path, depth: number, state: State): Expr | undefined {
  const add = (code: string, message: string, at: Path) => state.issues.push({ code, message, path: at });
  const extra = Object.keys(json).filter((k) => k !== "op" && k !== "args");
  if (extra.length > 0) add("EXPR_SHAPE", `Unexpected keys beside "op": ${quoteKeys(extra)}`, path);
  const op = json.op;
  const args = json.args;
  let name: (Expr & { kind: "op" }) | undefined;
  if (typeof op !== "string") {
    add("EXPR_SHAPE", `Invalid "op": expected a string, got ${describe(op)}`, [...path, "op"]);
  } else if (!isOpName(op)) add("EXPR_UNKNOWN_OP", `Unknown operator ${JSON.stringify(op)}`, [...path, "op"]);
  else name = { kind: "op", op, args: [] };
  if (!hasOwn(json, "args")) {
    add("EXPR_SHAPE", 'Missing "args" of an operation', path);
    return undefined;
  }
  if (!Array.isArray(args)) {
    add("EXPR_SHAPE", `Invalid "args": expected an array, got ${describe(args)}`, [...path, "args"]);
    return undefined;
  }
  if (args.length === 0) add("EXPR_ARITY", "An operation needs at least one argument", [...path, "args"]);
  const parsed = parseItems(args, [...path, "args"], depth, state);
  return name === undefined || parsed === undefined || args.length === 0
    ? undefined
    : { ...name, args: parsed };
}

function parseItems(items: ExprJson[], path: Path, depth: number, state: State): Expr[] | undefined {
  const out: Expr[] = [];
  let ok = true;
  for (let i = 0; i < items.length && state.nodes <= limits.exprNodesMax; i++) {
    const item = parseNode(items[i]!, [...path, i], depth + 1, state);
    if (item === undefined) ok = false;
    else out.push(item);
  }
  return ok ? out : undefined;
}

function parseMap(payload: ExprJson, path: Path, depth: number, state: State): Expr | undefined {
  if (!Array.isArray(payload)) {
    state.issues.push({
      code: "EXPR_SHAPE",
      message: `Invalid "map": expected an array, got ${describe(payload)}`,
      path,
    });
    return undefined;
  }
  const entries: Array<{ key: Expr; value: Expr }> = [];
  let ok = true;
  for (let i = 0; i < payload.length && state.nodes <= limits.exprNodesMax; i++) {
    const entry = payload[i];
    const keys = isObject(entry) ? Object.keys(entry).sort() : [];
    if (!isObject(entry) || keys.join(",") !== "key,value") {
      state.issues.push({
        code: "EXPR_SHAPE",
        message: 'Invalid map entry: expected {"key": Expr, "value": Expr}',
        path: [...path, i],
      });
      ok = false;
      continue;
    }
    const key = parseNode(entry.key!, [...path, i, "key"], depth + 1, state);
    const value = parseNode(entry.value!, [...path, i, "value"], depth + 1, state);
    if (key === undefined || value === undefined) ok = false;
    else entries.push({ key, value });
  }
  return ok ? { kind: "map", entries } : undefined;
}

function parseVariant(payload: ExprJson, path: Path, depth: number, state: State): Expr | undefined {
  const tag = isObject(payload) ? payload.tag : undefined;
  const extra = isObject(payload) ? Object.keys(payload).filter((k) => k !== "tag" && k !== "value") : [];
  if (!isObject(payload) || typeof tag !== "string" || extra.length > 0) {
    state.issues.push({
      code: "EXPR_SHAPE",
      message: 'Invalid "variant": expected {"tag": text, "value"?: Expr}',
      path,
    });
    return undefined;
  }
  if (!hasOwn(payload, "value")) return { kind: "variant", tag };
  const value = parseNode(payload.value!, [...path, "value"], depth + 1, state);
  return value === undefined ? undefined : { kind: "variant", tag, value };
}

function parseNode(json: ExprJson, path: Path, depth: number, state: State): Expr | undefined {
  const add = (code: string, message: string, at: Path = path) =>
    state.issues.push({ code, message, path: at });
  state.nodes++;
  if (state.nodes > limits.exprNodesMax) {
    if (!state.limited) add("EXPR_LIMIT", `Expression has more than ${limits.exprNodesMax} nodes`);
    state.limited = true;
    return undefined;
  }
  if (depth > limits.exprDepthMax) {
    add("EXPR_LIMIT", `Expression is nested deeper than ${limits.exprDepthMax} levels`);
    return undefined;
  }
  // The original AgentOS writes `"body_ref": null`: a bare JSON null is none (typed only where an option is
  // expected, `check_expr.ts`).
  if (json === null) return { kind: "const", value: { kind: "none" } };
  if (!isObject(json)) {
    add("EXPR_SHAPE", `Invalid expression: expected an object, got ${describe(json)}`);
    return undefined;
  }
  if (hasOwn(json, "op")) return parseOp(json, path, depth, state);
  const keys = Object.keys(json);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) {
    add(
      "EXPR_SHAPE",
      `Invalid expression: expected exactly one key, got ${keys.length} (${quoteKeys(keys)})`,
    );
    return undefined;
  }
  const payload = json[key]!;
  const at: Path = [...path, key];
  if (EXPR_CONSTANT_KEYS.has(key)) {
    try {
      return { kind: "const", value: valueFromTaggedJson(json, path) };
    } catch (cause) {
      if (!(cause instanceof AosError)) throw cause;
      add("EXPR_LITERAL", `Invalid ${key} literal: ${cause.message}`, at);
      return undefined;
    }
  }
  switch (key) {
    case "ref": {
      if (typeof payload !== "string") {
        add("EXPR_REF", `Invalid reference: expected a string, got ${describe(payload)}`, at);
        return undefined;
      }
      const ref = parseRef(payload);
      if (!ref.ok) add("EXPR_REF", ref.message, at);
      return ref.ok ? { kind: "ref", ref: ref.ref } : undefined;
    }
    case "record": {
      if (!isObject(payload)) {
        add("EXPR_SHAPE", `Invalid "record": expected an object, got ${describe(payload)}`, at);
        return undefined;
      }
      const fields: Array<[string, Expr]> = [];
      let ok = true;
      for (const name of Object.keys(payload)) {
        if (state.nodes > limits.exprNodesMax) break;
        const field = parseNode(payload[name]!, [...at, name], depth + 1, state);
        if (field === undefined) ok = false;
        else fields.push([name, field]);
      }
      return ok ? { kind: "record", fields } : undefined;
    }
    case "list":
    case "set": {
      if (!Array.isArray(payload)) {
        add("EXPR_SHAPE", `Invalid "${key}": expected an array, got ${describe(payload)}`, at);
        return undefined;
      }
      const items = parseItems(payload, at, depth, state);
      return items === undefined ? undefined : { kind: key, items };
    }
    case "map":
      return parseMap(payload, at, depth, state);
    case "variant":
      return parseVariant(payload, at, depth, state);
    case "null":
      add(
        "EXPR_SHAPE",
        'Invalid expression: the tagged "null" is not available inside Expr (write null, or omit an optional field)',
      );
      return undefined;
    default:
      add("EXPR_SHAPE", `Invalid expression: unknown form ${quoteKeys([key])}`);
      return undefined;
  }
}

/**
 * Checks the structure of an Expr (AIR §12.3) and parses it. Issues carry `path` prefixed by the given
 * path of the expression in its document.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const good = parseExpr({ op: "add", args: [{ nat: 1n }, { nat: 2n }] });
 * strictEqual(good.ok, true);
 * const bad = parseExpr({ op: "pow", args: [{ nat: 1n }] }, ["when"]);
 * strictEqual(bad.ok ? "" : bad.issues[0]!.code, "EXPR_UNKNOWN_OP");
 * ```
 */
export function parseExpr(json: ExprJson, path: ReadonlyArray<string | number> = []): ParseExprResult {
  const state: State = { issues: [], nodes: 0, limited: false };
  const expr = parseNode(json, [...path], 1, state);
  if (expr !== undefined && state.issues.length === 0) return { ok: true, expr };
  return { ok: false, issues: state.issues };
}
