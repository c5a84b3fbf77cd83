import { deepStrictEqual } from "node:assert/strict";
import type { TypeExpr } from "../value/mod.ts";
import { json, testTypeEnv } from "./_testing.ts";
import { checkExpr, type ExprTypeEnv } from "./check_expr.ts";

const op = (name: string, ...args: unknown[]) => ({ op: name, args });
const ref = (r: string) => ({ ref: r });

function check(expr: unknown, expected?: TypeExpr, env: ExprTypeEnv = testTypeEnv) {
  const result = checkExpr(json(expr), env, ["e"], expected);
  return { type: result.type, issues: result.issues.map((i) => [i.code, i.path]) };
}

const typeOf = (expr: unknown) => check(expr).type;
const codes = (expr: unknown, expected?: TypeExpr) => check(expr, expected).issues;

Deno.test("checkExpr() types literals and references", () => {
  deepStrictEqual(typeOf({ time_ns: 1 }), { time: {} });
  deepStrictEqual(typeOf(ref("@plan.input.url")), { text: {} });
  deepStrictEqual(typeOf(ref("@plan.input.headers.accept")), { text: {} });
  deepStrictEqual(typeOf(ref("@var:resp.status")), { int: {} });
  deepStrictEqual(typeOf(ref("@var:resp.body_ref")), { option: { hash: {} } });
  deepStrictEqual(typeOf(ref("@step:wait.status")), { text: {} });
  deepStrictEqual(typeOf(ref("@var:choice.$tag")), { text: {} });
  deepStrictEqual(check(ref("@var:choice.$value")), { type: undefined, issues: [] }); // payload depends on the tag
  deepStrictEqual(typeOf({ record: { a: { nat: 1 }, b: { list: [{ nat: 1 }, { int: 2 }] } } }), {
    record: { a: { nat: {} }, b: { list: { int: {} } } },
  });
  deepStrictEqual(typeOf({ set: [{ text: "a" }] }), { set: { text: {} } });
  deepStrictEqual(typeOf({ map: [{ key: { nat: 1 }, value: { bool: true } }] }), {
    map: { key: { nat: {} }, value: { bool: {} } },
  });
  deepStrictEqual(typeOf({ variant: { tag: "Reset" } }), { variant: { Reset: { unit: {} } } });
});

Deno.test("checkExpr() reads through an option in a reference path (a none fails at run time)", () => {
  const env: ExprTypeEnv = {
    ...testTypeEnv,
    vars: new Map([["maybe", { option: { record: { id: { text: {} } } } }]]),
  };
  deepStrictEqual(check(ref("@var:maybe.id"), undefined, env), { type: { text: {} }, issues: [] });
});

Deno.test("checkExpr() reports unbound references and unknown fields", () => {
  deepStrictEqual(codes(ref("@var:nope")), [["EXPR_UNKNOWN_REF", ["e"]]]);
  deepStrictEqual(codes(ref("@step:nope.status")), [["EXPR_UNKNOWN_REF", ["e"]]]);
  deepStrictEqual(codes(ref("@var:resp.nope")), [["EXPR_UNKNOWN_FIELD", ["e"]]]);
  deepStrictEqual(codes(ref("@var:resp.status.x")), [["EXPR_TYPE", ["e"]]]);
  deepStrictEqual(
    check(ref("@plan.input"), undefined, { vars: new Map(), steps: new Map(), schemas: testTypeEnv.schemas })
      .issues,
    [
      ["EXPR_UNKNOWN_REF", ["e"]],
    ],
  );
  const untyped: ExprTypeEnv = { ...testTypeEnv, untyped: { vars: new Set(["later"]) } };
  deepStrictEqual(check(ref("@var:later.x"), undefined, untyped), { type: undefined, issues: [] });
});

Deno.test("checkExpr() types each operator and checks its arguments", () => {
  const T = { bool: true };
  const n = { nat: 1 };
  const s = { text: "a" };
  const cases: Array<[unknown, TypeExpr | undefined, Array<[string, Array<string | number>]>]> = [
    [op("len", s), { nat: {} }, []],
    [op("len", n), { nat: {} }, [["EXPR_TYPE", ["e", "args", 0]]]],
    [op("get", ref("@var:resp"), { text: "status" }), { int: {} }, []],
    [op("get", ref("@var:resp"), { text: "nope" }), undefined, [["EXPR_UNKNOWN_FIELD", ["e", "args", 1]]]],
    [op("get", ref("@var:resp"), ref("@plan.input.url")), undefined, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("get", ref("@var:items"), n), { nat: {} }, []],
    [op("get", ref("@var:items"), s), { nat: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("get", ref("@plan.input.headers"), s), { text: {} }, []],
    [op("get", s, n), undefined, [["EXPR_TYPE", ["e"]]]],
    [op("has", ref("@var:tags"), s), { bool: {} }, []],
    [op("has", ref("@var:tags"), n), { bool: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("has", s, s), { bool: {} }, [["EXPR_TYPE", ["e"]]]],
    [op("eq", s, n), { bool: {} }, []],
    [op("ne", s, n), { bool: {} }, []],
    [op("lt", ref("@var:resp.status"), n), { bool: {} }, []],
    [op("le", { dec128: "1" }, { dec128: "2" }), { bool: {} }, []],
    [op("gt", s, s), { bool: {} }, []],
    [op("ge", s, n), { bool: {} }, [["EXPR_TYPE", ["e"]]]],
    [op("lt", ref("@var:resp.body_ref"), n), { bool: {} }, [["EXPR_TYPE", ["e"]]]],
    [op("and", T, T, T), { bool: {} }, []],
    [op("or", T, n), { bool: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("and", T), undefined, [["EXPR_ARITY", ["e", "args"]]]],
    [op("not", n), { bool: {} }, [["EXPR_TYPE", ["e", "args", 0]]]],
    [op("concat", s, s), { text: {} }, []],
    [op("concat", s, s, s), { text: {} }, [["EXPR_ARITY", ["e", "args"]]]],
    [op("add", n, n), { nat: {} }, []],
    [op("sub", n, n), { int: {} }, []],
    [op("mul", n, { int: 2 }), { int: {} }, []],
    [op("div", n, { time_ns: 2 }), { int: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("mod", n, n), { nat: {} }, []],
    [op("starts_with", s, n), { bool: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("ends_with", s, s), { bool: {} }, []],
    [op("contains", { bytes_b64: "AA==" }, { bytes_b64: "AA==" }), { bool: {} }, []],
    [op("contains", ref("@plan.input.headers"), n), { bool: {} }, [["EXPR_TYPE", ["e", "args", 1]]]],
    [op("contains", ref("@var:resp"), s), { bool: {} }, [["EXPR_TYPE", ["e"]]]],
  ];
  for (const [expr, type, issues] of cases) {
    deepStrictEqual(check(expr), { type, issues }, JSON.stringify(expr));
  }
});

Deno.test("checkExpr() checks literal collections", () => {
  deepStrictEqual(codes({ list: [{ nat: 1 }, { text: "a" }] }), [["EXPR_TYPE", ["e", "list", 1]]]);
  deepStrictEqual(codes({ set: [{ bool: true }] }), [["EXPR_TYPE", ["e", "set"]]]);
  deepStrictEqual(codes({ map: [{ key: { list: [] }, value: { nat: 1 } }] }), []); // empty list: unknown type
  const boolKey = (value: unknown) => codes({ map: [{ key: { bool: true }, value }] });
  deepStrictEqual(boolKey({ nat: 1 }), [["EXPR_TYPE", ["e", "map"]]]);
  deepStrictEqual(boolKey({ list: [] }), [["EXPR_TYPE", ["e", "map"]]]);
});

Deno.test("checkExpr() checks against an expected type member by member", () => {
  const params: TypeExpr = {
    record: {
      method: { text: {} },
      url: { text: {} },
      headers: { map: { key: { text: {} }, value: { text: {} } } },
      body_ref: { option: { hash: {} } },
    },
  };
  const good = { record: { method: { text: "GET" }, url: ref("@plan.input.url"), headers: { map: [] } } };
  deepStrictEqual(check(good, params), { type: params, issues: [] });
  const bad = { record: { method: { text: "GET" }, url: { nat: 1 }, extra: { bool: true } } };
  deepStrictEqual(codes(bad, params), [
    ["EXPR_TYPE", ["e", "record", "url"]],
    ["EXPR_TYPE", ["e", "record", "extra"]],
    ["EXPR_TYPE", ["e", "record"]],
  ]);
  deepStrictEqual(codes(ref("@var:resp.body_ref"), { option: { hash: {} } }), []);
  deepStrictEqual(codes(ref("@var:resp.body_ref"), { hash: {} }), [["EXPR_TYPE", ["e"]]]);
  deepStrictEqual(codes({ text: "x" }, { option: { text: {} } }), []);
  deepStrictEqual(codes({ list: [{ nat: 1 }, { int: 1 }] }, { set: { nat: {} } }), []);
  deepStrictEqual(
    codes({ record: { a: { text: "x" } } }, { map: { key: { text: {} }, value: { nat: {} } } }),
    [
      ["EXPR_TYPE", ["e", "record", "a"]],
    ],
  );
  const result: TypeExpr = { variant: { Ok: { nat: {} }, Reset: { unit: {} } } };
  deepStrictEqual(codes({ variant: { tag: "Reset" } }, result), []);
  deepStrictEqual(codes({ variant: { tag: "Ok" } }, result), [["EXPR_TYPE", ["e", "variant"]]]);
  deepStrictEqual(codes({ variant: { tag: "Nope" } }, result), [["EXPR_TYPE", ["e", "variant", "tag"]]]);
  deepStrictEqual(codes({ variant: { tag: "Ok", value: { text: "x" } } }, result), [[
    "EXPR_TYPE",
    ["e", "variant", "value"],
  ]]);
  deepStrictEqual(codes(op("sub", { nat: 2 }, { nat: 1 }), { nat: {} }), []); // int conforms to nat when in range
});

Deno.test("checkExpr() returns the parse issues of a malformed expression", () => {
  deepStrictEqual(check({ op: "pow", args: [{ nat: 1 }] }), {
    type: undefined,
    issues: [["EXPR_UNKNOWN_OP", ["e", "op"]]],
  });
});

Deno.test("checkExpr() takes a JSON null as none where an option is expected, and only there", () => {
  const params: TypeExpr = { record: { url: { text: {} }, body_ref: { option: { hash: {} } } } };
  deepStrictEqual(check({ record: { url: { text: "u" }, body_ref: null } }, params), {
    type: params,
    issues: [],
  });
  deepStrictEqual(check(null, { option: { text: {} } }), { type: { option: { text: {} } }, issues: [] });
  deepStrictEqual(codes({ record: { url: null, body_ref: null } }, params), [
    ["EXPR_TYPE", ["e", "record", "url"]],
  ]);
  deepStrictEqual(codes(null), [["EXPR_TYPE", ["e"]]]);
  deepStrictEqual(codes(op("eq", null, { nat: 1 })), [["EXPR_TYPE", ["e", "args", 0]]]);
});
