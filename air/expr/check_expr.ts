/**
 * The static type checker of Expr (AIR §12.3 "Static typing"), used by the plan validator.
 *
 * Choices:
 * - A reference path reads record fields, text-keyed map values and a variant's `$tag` (text) and
 *   `$value` (typed only when every alternative has the same payload type). A segment applied to an
 *   `option<T>` reads into `T`: the result has the field's type, and a none there fails at run time with
 *   `missing_ref` (a missing field is an error, never null).
 * - With an `expected` type (a typed position: params, event, key, local, result), literal records,
 *   lists, sets, maps and variants are checked member by member, so issues point inside the literal;
 *   other expressions are inferred and must be {@linkcode isAssignable} to it.
 * - Empty collection literals without an expected type, and references listed in `env.untyped`, have
 *   no known type: they are accepted wherever a type is needed (the earlier error was reported once).
 * - `sub` of two nats is typed int; `eq`/`ne` accept any two types.
 * - A JSON `null` (as the original AgentOS writes `"body_ref": null`) is none: accepted only where an
 *   `option<T>` is expected, an `EXPR_TYPE` issue elsewhere.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import type { ExprJson } from "../nodes/mod.ts";
import { hasOwn, type SchemaResolver, type TypeExpr, type TypeView, viewType } from "../value/mod.ts";
import { type CheckedArg, type OpCheckContext, opResultType, variantPayload } from "./_check_ops.ts";
import { describeType } from "./describe_type.ts";
import { type Expr, type ExprRef, opArity } from "./expr_ast.ts";
import { isAssignable, sameType } from "./is_assignable.ts";
import { type ExprIssue, parseExpr } from "./parse_expr.ts";

/** The types references see: `@plan.input`, `@var:NAME`, `@step:ID`. */
export interface ExprTypeEnv {
  input?: TypeExpr;
  vars: ReadonlyMap<string, TypeExpr>;
  steps: ReadonlyMap<string, TypeExpr>;
  schemas: SchemaResolver;
  /** References that are bound but of unknown type (after an earlier error): they type as unknown. */
  untyped?: { input?: boolean; vars?: ReadonlySet<string>; steps?: ReadonlySet<string> };
}

/** The outcome of {@linkcode checkExpr}: the type (absent when unknown) and the issues. */
export interface CheckExprResult {
  type?: TypeExpr;
  issues: ExprIssue[];
  /** The parsed expression, when it is well-formed. */
  expr?: Expr;
}

type Path = Array<string | number>;

const COMPARABLE: ReadonlySet<string> = new Set(["int", "nat", "text", "uuid", "hash"]);
const INTEGERS: ReadonlySet<string> = new Set(["int", "nat", "time", "duration"]);

class Checker implements OpCheckContext {
  readonly issues: ExprIssue[] = [];
  readonly schemas: SchemaResolver;

  constructor(readonly env: ExprTypeEnv) {
    this.schemas = env.schemas;
  }

  issue(code: string, message: string, path: Path): void {
    this.issues.push({ code, message, path });
  }

  view(type: TypeExpr): TypeView | undefined {
    try {
      return viewType(type, this.schemas);
    } catch (cause) {
      if (cause instanceof AosError) return undefined; // an unknown schema: its definition reports it
      throw cause;
    }
  }

  check(expr: Expr, path: Path, expected?: TypeExpr): TypeExpr | undefined {
    return expected === undefined ? this.infer(expr, path) : this.against(expr, path, expected);
  }

  infer(expr: Expr, path: Path): TypeExpr | undefined {
    switch (expr.kind) {
      case "const":
        if (expr.value.kind === "none") {
          this.issue("EXPR_TYPE", "null (none) is allowed only where an option is expected", path);
          return undefined;
        }
        return { [expr.value.kind]: {} } as TypeExpr;
      case "ref":
        return this.ref(expr.ref, [...path]);
      case "op": {
        const arity = opArity(expr.op);
        if (expr.args.length < arity.min || expr.args.length > arity.max) {
          const expected = arity.max === arity.min ? `${arity.min}` : `at least ${arity.min}`;
          this.issue("EXPR_ARITY", `"${expr.op}" takes ${expected} arguments, got ${expr.args.length}`, [
            ...path,
            "args",
          ]);
        }
        const args: CheckedArg[] = expr.args.map((arg, i) => {
          const at = [...path, "args", i];
          return { expr: arg, type: this.infer(arg, at), path: at };
        });
        if (args.length < arity.min) return undefined;
        return opResultType(this, expr.op, args.slice(0, arity.max), path);
      }
      case "record": {
        const fields: { [name: string]: TypeExpr } = {};
        let known = true;
        for (const [name, field] of expr.fields) {
          const type = this.infer(field, [...path, "record", name]);
          if (type === undefined) known = false;
          else Object.defineProperty(fields, name, { value: type, enumerable: true });
        }
        return known ? { record: fields } : undefined;
      }
      case "list":
      case "set": {
        const at = [...path, expr.kind];
        const item = this.join(expr.items.map((item, i) => [this.infer(item, [...at, i]), [...at, i]]));
        if (item === undefined) return undefined;
        if (expr.kind === "list") return { list: item };
        return this.comparable(item, "set element", at) ? { set: item } : undefined;
      }
      case "map": {
        const at = [...path, "map"];
        const key = this.join(
          expr.entries.map((e, i) => [this.infer(e.key, [...at, i, "key"]), [...at, i, "key"]]),
        );
        const value = this.join(
          expr.entries.map((e, i) => [this.infer(e.value, [...at, i, "value"]), [...at, i, "value"]]),
        );
        const comparable = key === undefined || this.comparable(key, "map key", at);
        if (key === undefined || value === undefined || !comparable) return undefined;
        return { map: { key, value } };
      }
      case "variant": {
        const payload = expr.value === undefined
          ? { unit: {} }
          : this.infer(expr.value, [...path, "variant", "value"]);
        if (payload === undefined) return undefined;
        const tags: { [tag: string]: TypeExpr } = {};
        Object.defineProperty(tags, expr.tag, { value: payload, enumerable: true });
        return { variant: tags };
      }
    }
  }

  comparable(type: TypeExpr, what: string, path: Path): boolean {
    const kind = this.view(type)?.kind;
    if (kind === undefined || COMPARABLE.has(kind)) return true;
    this.issue(
      "EXPR_TYPE",
      `A ${what} must be int, nat, text, uuid or hash, got ${describeType(type)}`,
      path,
    );
    return false;
  }

  /** The common type of collection items; unknown when any item is unknown or the list is empty. */
  join(items: Array<[TypeExpr | undefined, Path]>): TypeExpr | undefined {
    let joined: TypeExpr | undefined;
    for (const [type, path] of items) {
      if (type === undefined) return undefined;
      if (joined === undefined || sameType(type, joined, this.schemas)) {
        joined ??= type;
        continue;
      }
      const [a, b] = [this.view(joined)?.kind ?? "", this.view(type)?.kind ?? ""];
      if (INTEGERS.has(a) && INTEGERS.has(b)) joined = { int: {} };
      else if (isAssignable(type, joined, this.schemas)) continue;
      else if (isAssignable(joined, type, this.schemas)) joined = type;
      else {
        this.issue(
          "EXPR_TYPE",
          `Items have different types: ${describeType(joined)} and ${describeType(type)}`,
          path,
        );
        return undefined;
      }
    }
    return joined;
  }

  ref(ref: ExprRef, path: Path): TypeExpr | undefined {
    const untyped = this.env.untyped;
    let type: TypeExpr | undefined;
    if (ref.root === "input") {
      type = this.env.input;
      if (type === undefined && untyped?.input === true) return undefined;
    } else {
      type = (ref.root === "var" ? this.env.vars : this.env.steps).get(ref.name);
      if (type === undefined && (ref.root === "var" ? untyped?.vars : untyped?.steps)?.has(ref.name)) {
        return undefined;
      }
    }
    if (type === undefined) {
      const what = ref.root === "input"
        ? "there is no plan input"
        : `${ref.root} "${ref.name}" is not bound here`;
      this.issue("EXPR_UNKNOWN_REF", `Unbound reference ${JSON.stringify(ref.text)}: ${what}`, path);
      return undefined;
    }
    for (const segment of ref.path) {
      let view = this.view(type);
      for (let hops = 0; view?.kind === "option" && hops < 2; hops++) view = this.view(view.item);
      if (view === undefined) return undefined;
      if (view.kind === "record" && hasOwn(view.fields, segment)) type = view.fields[segment]!;
      else if (view.kind === "map" && this.view(view.key)?.kind === "text") type = view.value;
      else if (view.kind === "variant" && (segment === "$tag" || segment === "$value")) {
        if (segment === "$tag") type = { text: {} };
        else {
          const payload = variantPayload(view, this.schemas);
          if (payload === undefined) return undefined; // depends on the tag: unknown statically
          type = payload;
        }
      } else {
        const code = view.kind === "record" || view.kind === "variant" ? "EXPR_UNKNOWN_FIELD" : "EXPR_TYPE";
        this.issue(
          code,
          `Cannot read ${JSON.stringify(ref.text)}: no field "${segment}" in ${describeType(type)}`,
          path,
        );
        return undefined;
      }
    }
    return type;
  }

  against(expr: Expr, path: Path, expected: TypeExpr): TypeExpr | undefined {
    const target = this.view(expected);
    if (target === undefined) return this.infer(expr, path);
    if (target.kind === "option" && expr.kind === "const" && expr.value.kind === "none") return expected;
    if (target.kind === "option" && expr.kind !== "ref" && expr.kind !== "op") {
      this.against(expr, path, target.item); // a literal is always *some*
      return expected;
    }
    if (this.againstLiteral(expr, path, target)) return expected;
    const actual = this.infer(expr, path);
    if (actual !== undefined && !isAssignable(actual, expected, this.schemas)) {
      this.issue("EXPR_TYPE", `Expected ${describeType(expected)}, got ${describeType(actual)}`, path);
    }
    return expected;
  }

  /** Checks a literal collection member by member; false when the literal and target do not pair up. */
  againstLiteral(expr: Expr, path: Path, target: TypeView): boolean {
    if (expr.kind === "record" && target.kind === "record") {
      const at = [...path, "record"];
      for (const [name, field] of expr.fields) {
        if (hasOwn(target.fields, name)) this.against(field, [...at, name], target.fields[name]!);
        else {
          this.issue("EXPR_TYPE", `Unexpected field "${name}"`, [...at, name]);
          this.infer(field, [...at, name]);
        }
      }
      const present = new Set(expr.fields.map(([name]) => name));
      for (const [name, type] of Object.entries(target.fields)) {
        if (!present.has(name) && this.view(type)?.kind !== "option") {
          this.issue("EXPR_TYPE", `Missing field "${name}" of type ${describeType(type)}`, at);
        }
      }
      return true;
    }
    if (expr.kind === "record" && target.kind === "map" && this.view(target.key)?.kind === "text") {
      for (const [name, field] of expr.fields) this.against(field, [...path, "record", name], target.value);
      return true;
    }
    if (
      (expr.kind === "list" && (target.kind === "list" || target.kind === "set")) ||
      (expr.kind === "set" && target.kind === "set")
    ) {
      expr.items.forEach((item, i) => this.against(item, [...path, expr.kind, i], target.item));
      return true;
    }
    if (expr.kind === "map" && target.kind === "map") {
      expr.entries.forEach((entry, i) => {
        this.against(entry.key, [...path, "map", i, "key"], target.key);
        this.against(entry.value, [...path, "map", i, "value"], target.value);
      });
      return true;
    }
    if (expr.kind === "variant" && target.kind === "variant") {
      if (!hasOwn(target.tags, expr.tag)) {
        this.issue(
          "EXPR_TYPE",
          `Unknown tag "${expr.tag}"; expected one of ${Object.keys(target.tags).join(", ")}`,
          [...path, "variant", "tag"],
        );
        if (expr.value !== undefined) this.infer(expr.value, [...path, "variant", "value"]);
      } else if (expr.value !== undefined) {
        this.against(expr.value, [...path, "variant", "value"], target.tags[expr.tag]!);
      } else if (this.view(target.tags[expr.tag]!)?.kind !== "unit") {
        this.issue(
          "EXPR_TYPE",
          `Tag "${expr.tag}" needs a value of type ${describeType(target.tags[expr.tag]!)}`,
          [...path, "variant"],
        );
      }
      return true;
    }
    return false;
  }
}

/**
 * Type-checks an Expr (AIR §12.3): well-formedness ({@linkcode parseExpr}), references against `env`,
 * operator arities and argument kinds, and — when `expected` is given — conformance to that type.
 * Issue paths start with `path`, the location of the expression in its document.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * const env = { input: { record: { url: { text: {} } } }, vars: new Map(), steps: new Map(), schemas: { resolve: () => undefined } };
 * const ok = checkExpr({ op: "concat", args: [{ ref: "@plan.input.url" }, { text: "/x" }] }, env);
 * deepStrictEqual([ok.type, ok.issues], [{ text: {} }, []]);
 * const bad = checkExpr({ op: "add", args: [{ ref: "@plan.input.url" }, { nat: 1n }] }, env, ["when"]);
 * deepStrictEqual(bad.issues.map((i) => [i.code, i.path]), [["EXPR_TYPE", ["when", "args", 0]]]);
 * ```
 */
export function checkExpr(
  expr: ExprJson,
  env: ExprTypeEnv,
  path: ReadonlyArray<string | number> = [],
  expected?: TypeExpr,
): CheckExprResult {
  const parsed = parseExpr(expr, path);
  if (!parsed.ok) return { issues: parsed.issues };
  const checker = new Checker(env);
  const type = checker.check(parsed.expr, [...path], expected);
  return type === undefined
    ? { issues: checker.issues, expr: parsed.expr }
    : { type, issues: checker.issues, expr: parsed.expr };
}
