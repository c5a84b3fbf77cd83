/**
 * The parsed form of an Expr (AIR §12.3): what {@linkcode parseExpr} returns and the evaluator and
 * checker walk. Literals are already values; references are split into root, name and path.
 *
 * @module
 */
import type { Value } from "../value/mod.ts";

/** Every operator of AIR §12.3, in the order of its table. */
export const OP_NAMES = [
  "len",
  "get",
  "has",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
  "not",
  "concat",
  "add",
  "sub",
  "mul",
  "div",
  "mod",
  "starts_with",
  "ends_with",
  "contains",
] as const;
/** An operator name. */
export type OpName = (typeof OP_NAMES)[number];

const OP_SET: ReadonlySet<string> = new Set(OP_NAMES);

/** True when `name` is an operator of AIR §12.3. */
export function isOpName(name: string): name is OpName {
  return OP_SET.has(name);
}

/** The number of arguments an operator takes: `and`/`or` take two or more, `len`/`not` one, the rest two. */
export function opArity(op: OpName): { min: number; max: number } {
  if (op === "and" || op === "or") return { min: 2, max: Number.POSITIVE_INFINITY };
  if (op === "len" || op === "not") return { min: 1, max: 1 };
  return { min: 2, max: 2 };
}

/**
 * A reference (AIR §12.3): `@plan.input(.seg)*`, `@var:NAME(.seg)*` or `@step:ID(.seg)*`; `text` is the
 * reference as written.
 */
export type ExprRef =
  | { root: "input"; path: string[]; text: string }
  | { root: "var" | "step"; name: string; path: string[]; text: string };

/** A parsed expression. Record fields keep the order of their JSON text (evaluation has no side effects). */
export type Expr =
  | { kind: "const"; value: Value }
  | { kind: "ref"; ref: ExprRef }
  | { kind: "op"; op: OpName; args: Expr[] }
  | { kind: "record"; fields: Array<[string, Expr]> }
  | { kind: "list" | "set"; items: Expr[] }
  | { kind: "map"; entries: Array<{ key: Expr; value: Expr }> }
  | { kind: "variant"; tag: string; value?: Expr };
