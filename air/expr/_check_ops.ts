/**
 * Private to `air/expr/`: the static result types of the operators of AIR §12.3, with argument checks.
 *
 * @module
 */
import { hasOwn, type SchemaResolver, type TypeExpr, type TypeView } from "../value/mod.ts";
import { describeType } from "./describe_type.ts";
import type { Expr, OpName } from "./expr_ast.ts";
import { isAssignable, sameType } from "./is_assignable.ts";

/** What the operator typer needs from the checker. */
export interface OpCheckContext {
  schemas: SchemaResolver;
  issue(code: string, message: string, path: Array<string | number>): void;
  /** The resolved view of a type, or undefined when it does not resolve (reported elsewhere). */
  view(type: TypeExpr): TypeView | undefined;
}

/** One checked argument. */
export interface CheckedArg {
  expr: Expr;
  type: TypeExpr | undefined;
  path: Array<string | number>;
}

const BOOL: TypeExpr = { bool: {} };
const NAT: TypeExpr = { nat: {} };
const INT: TypeExpr = { int: {} };
const TEXT: TypeExpr = { text: {} };
const INTEGERS: ReadonlySet<string> = new Set(["int", "nat", "time", "duration"]);

/** The payload type of a variant when every alternative has the same one, else undefined. */
export function variantPayload(
  view: Extract<TypeView, { kind: "variant" }>,
  schemas: SchemaResolver,
): TypeExpr | undefined {
  const payloads = Object.values(view.tags);
  const first = payloads[0];
  return first !== undefined && payloads.every((p) => sameType(p, first, schemas)) ? first : undefined;
}

function unwrapOption(ctx: OpCheckContext, type: TypeExpr): TypeView | undefined {
  let view = ctx.view(type);
  for (let hops = 0; view?.kind === "option" && hops < 2; hops++) view = ctx.view(view.item);
  return view;
}

function getType(ctx: OpCheckContext, [container, key]: CheckedArg[], path: Array<string | number>) {
  const view = container!.type === undefined ? undefined : unwrapOption(ctx, container!.type);
  if (view === undefined) return undefined;
  const fieldName = key!.expr.kind === "const" && key!.expr.value.kind === "text"
    ? key!.expr.value.value
    : undefined;
  switch (view.kind) {
    case "record":
      if (fieldName === undefined) {
        ctx.issue("EXPR_TYPE", '"get" on a record needs a text literal field name', key!.path);
        return undefined;
      }
      if (!hasOwn(view.fields, fieldName)) {
        ctx.issue(
          "EXPR_UNKNOWN_FIELD",
          `No field "${fieldName}" in ${describeType(container!.type!)}`,
          key!.path,
        );
        return undefined;
      }
      return view.fields[fieldName];
    case "variant":
      if (fieldName === "$tag") return TEXT;
      if (fieldName === "$value") return variantPayload(view, ctx.schemas);
      ctx.issue("EXPR_TYPE", '"get" on a variant reads "$tag" or "$value"', key!.path);
      return undefined;
    case "map":
      if (key!.type !== undefined && !isAssignable(key!.type, view.key, ctx.schemas)) {
        ctx.issue(
          "EXPR_TYPE",
          `Map key must be ${describeType(view.key)}, got ${describeType(key!.type)}`,
          key!.path,
        );
      }
      return view.value;
    case "list":
      if (key!.type !== undefined && !["int", "nat"].includes(ctx.view(key!.type)?.kind ?? "int")) {
        ctx.issue("EXPR_TYPE", `List index must be int or nat, got ${describeType(key!.type)}`, key!.path);
      }
      return view.item;
  }
  ctx.issue(
    "EXPR_TYPE",
    `"get" needs a record, variant, map or list, got ${describeType(container!.type!)}`,
    path,
  );
  return undefined;
}

/** Checks `(container, item)` of `has`/`contains`; texts and bytes only for `contains`. */
function membership(
  ctx: OpCheckContext,
  op: OpName,
  [container, item]: CheckedArg[],
  path: Array<string | number>,
) {
  if (container!.type === undefined) return BOOL;
  const view = ctx.view(container!.type);
  const element = (type: TypeExpr) => {
    if (item!.type !== undefined && !isAssignable(item!.type, type, ctx.schemas)) {
      ctx.issue(
        "EXPR_TYPE",
        `"${op}" element must be ${describeType(type)}, got ${describeType(item!.type)}`,
        item!.path,
      );
    }
    return BOOL;
  };
  switch (view?.kind) {
    case undefined:
      return BOOL;
    case "list":
    case "set":
      return element(view.item);
    case "map":
      return element(view.key);
    case "record":
      if (op === "has") return element(TEXT);
      break;
    case "text":
    case "bytes":
      if (op === "contains") return element({ [view.kind]: {} } as TypeExpr);
      break;
  }
  ctx.issue("EXPR_TYPE", `"${op}" cannot search a ${describeType(container!.type)}`, path);
  return BOOL;
}

/** The result type of `op` applied to checked arguments (arity already checked), reporting argument issues. */
export function opResultType(
  ctx: OpCheckContext,
  op: OpName,
  args: CheckedArg[],
  path: Array<string | number>,
): TypeExpr | undefined {
  const kinds = args.map((arg) => (arg.type === undefined ? undefined : ctx.view(arg.type)?.kind));
  const known = kinds.every((kind) => kind !== undefined);
  const want = (allowed: (kind: string) => boolean, what: string, result: TypeExpr | undefined) => {
    args.forEach((arg, i) => {
      const kind = kinds[i];
      if (kind !== undefined && !allowed(kind)) {
        ctx.issue(
          "EXPR_TYPE",
          `"${op}" argument ${i} must be ${what}, got ${describeType(arg.type!)}`,
          arg.path,
        );
      }
    });
    return result;
  };
  switch (op) {
    case "len":
      return want(
        (k) => ["list", "set", "map", "record", "text", "bytes"].includes(k),
        "a list, set, map, record, text or bytes",
        NAT,
      );
    case "get":
      return getType(ctx, args, path);
    case "has":
    case "contains":
      return membership(ctx, op, args, path);
    case "eq":
    case "ne":
      return BOOL;
    case "lt":
    case "le":
    case "gt":
    case "ge": {
      const [a, b] = kinds;
      const ok = !known || (INTEGERS.has(a!) && INTEGERS.has(b!)) ||
        (a === b && (a === "text" || a === "dec128"));
      if (!ok) {
        ctx.issue(
          "EXPR_TYPE",
          `"${op}" compares two numbers, two texts or two dec128, got ${
            args.map((x) => describeType(x.type!)).join(" and ")
          }`,
          path,
        );
      }
      return BOOL;
    }
    case "and":
    case "or":
    case "not":
      return want((k) => k === "bool", "a bool", BOOL);
    case "concat":
      return want((k) => k === "text", "a text", TEXT);
    case "starts_with":
    case "ends_with":
      return want((k) => k === "text", "a text", BOOL);
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "mod": {
      // sub of two nats is typed int: below zero it yields an int (AIR §12.3), and int conforms to nat.
      const bothNat = kinds.every((k) => k === "nat") && op !== "sub";
      return want((k) => k === "int" || k === "nat", "an int or nat", bothNat ? NAT : INT);
    }
  }
}
