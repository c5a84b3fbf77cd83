import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseExpr } from "./parse_expr.ts";
import { parseRef } from "./parse_ref.ts";
import { json } from "./_testing.ts";

function issues(
  expr: unknown,
  path: Array<string | number> = ["e"],
): Array<[string, Array<string | number>]> {
  const result = parseExpr(json(expr), path);
  return result.ok ? [] : result.issues.map((issue) => [issue.code, issue.path]);
}

Deno.test("parseExpr() accepts every form of AIR §12.3", () => {
  const expr = {
    record: {
      a: { list: [{ nat: 1 }, { ref: "@plan.input.x" }] },
      b: { set: [{ text: "x" }] },
      c: { map: [{ key: { text: "k" }, value: { variant: { tag: "T" } } }] },
      d: { variant: { tag: "V", value: { op: "and", args: [{ bool: true }, { ref: "@step:s.status" }] } } },
      e: { op: "not", args: [{ ref: "@var:ok" }] },
    },
  };
  const result = parseExpr(json(expr));
  strictEqual(result.ok, true);
  if (result.ok) strictEqual(result.expr.kind, "record");
});

Deno.test("parseExpr() reports shape problems with their JSON paths", () => {
  deepStrictEqual(issues("GET"), [["EXPR_SHAPE", ["e"]]]);
  deepStrictEqual(issues({ text: "a", nat: 1 }), [["EXPR_SHAPE", ["e"]]]);
  deepStrictEqual(issues({ method: "GET" }), [["EXPR_SHAPE", ["e"]]]);
  deepStrictEqual(issues({ null: {} }), [["EXPR_SHAPE", ["e"]]]);
  deepStrictEqual(issues({ record: { url: "x" } }), [["EXPR_SHAPE", ["e", "record", "url"]]]);
  deepStrictEqual(issues({ list: { a: 1 } }), [["EXPR_SHAPE", ["e", "list"]]]);
  deepStrictEqual(issues({ map: [{ key: { nat: 1 } }] }), [["EXPR_SHAPE", ["e", "map", 0]]]);
  deepStrictEqual(issues({ variant: { value: { nat: 1 } } }), [["EXPR_SHAPE", ["e", "variant"]]]);
  deepStrictEqual(issues({ op: "not", args: [{ bool: true }], extra: 1 }), [["EXPR_SHAPE", ["e"]]]);
  deepStrictEqual(issues({ op: "not" }), [["EXPR_SHAPE", ["e"]]]);
});

Deno.test("parseExpr() reports bad literals, operators, arity and references", () => {
  deepStrictEqual(issues({ nat: -1 }), [["EXPR_LITERAL", ["e", "nat"]]]);
  deepStrictEqual(issues({ hash: "sha256:00" }), [["EXPR_LITERAL", ["e", "hash"]]]);
  deepStrictEqual(issues({ op: "pow", args: [{ nat: 1 }] }), [["EXPR_UNKNOWN_OP", ["e", "op"]]]);
  deepStrictEqual(issues({ op: "not", args: [] }), [["EXPR_ARITY", ["e", "args"]]]);
  deepStrictEqual(issues({ ref: "@input" }), [["EXPR_REF", ["e", "ref"]]]);
  deepStrictEqual(issues({ op: "and", args: [{ ref: 1 }, { nat: "x" }] }), [
    ["EXPR_REF", ["e", "args", 0, "ref"]],
    ["EXPR_LITERAL", ["e", "args", 1, "nat"]],
  ]);
});

Deno.test("parseExpr() bounds depth at limits.exprDepthMax and nodes at limits.exprNodesMax", () => {
  let deep: unknown = { bool: true };
  for (let i = 1; i < 64; i++) deep = { list: [deep] };
  deepStrictEqual(issues(deep), []);
  strictEqual(issues({ list: [deep] })[0]?.[0], "EXPR_LIMIT");
  const wide = { list: Array.from({ length: 10_001 }, () => ({ bool: true })) };
  deepStrictEqual(issues(wide).map(([code]) => code), ["EXPR_LIMIT"]);
});

Deno.test("parseRef() follows the reference grammar", () => {
  const ok = (text: string) => {
    const r = parseRef(text);
    return r.ok ? [r.ref.root, "name" in r.ref ? r.ref.name : "", r.ref.path] : r.ok;
  };
  deepStrictEqual(ok("@plan.input"), ["input", "", []]);
  deepStrictEqual(ok("@plan.input.a.b_2"), ["input", "", ["a", "b_2"]]);
  deepStrictEqual(ok("@var:resp.body_ref"), ["var", "resp", ["body_ref"]]);
  deepStrictEqual(ok("@var:my-var"), ["var", "my-var", []]);
  deepStrictEqual(ok("@step:b_wait.status"), ["step", "b_wait", ["status"]]);
  deepStrictEqual(ok("@var:v.$tag"), ["var", "v", ["$tag"]]);
  for (
    const bad of [
      "@plan.inputs",
      "@plan.input.",
      "@var:",
      "@var:x.",
      "@var:x..y",
      "@var:1x",
      "@step:s.a-b",
      "@event",
      "@var:x.$other",
      "var:x",
    ]
  ) {
    strictEqual(ok(bad), false, bad);
  }
});
