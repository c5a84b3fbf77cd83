import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { type Value, valueEquals } from "../value/mod.ts";
import { I64_MAX, I64_MIN, json, testEnv, tv, U64_MAX } from "./_testing.ts";
import { conformValue } from "./conform_value.ts";
import { evalExpr } from "./eval_expr.ts";
import { ExprError, type ExprErrorCode } from "./expr_error.ts";

type Case = [name: string, expr: unknown, expected: unknown | { error: ExprErrorCode }];

const op = (name: string, ...args: unknown[]) => ({ op: name, args });
const nat = (n: number | bigint) => ({ nat: n });
const int = (n: number | bigint) => ({ int: n });
const text = (t: string) => ({ text: t });
const ref = (r: string) => ({ ref: r });
const T = { bool: true };
const F = { bool: false };
const err = (code: ExprErrorCode) => ({ error: code });

function expectCase([name, expr, expected]: Case): void {
  const run = () => evalExpr(json(expr), testEnv);
  if (typeof expected === "object" && expected !== null && "error" in expected) {
    throws(run, (e: unknown) => {
      strictEqual(e instanceof ExprError, true, `${name}: not an ExprError: ${e}`);
      strictEqual((e as ExprError).exprCode, expected.error, `${name}: ${(e as Error).message}`);
      strictEqual((e as ExprError).code, "AOS_EXPR_ERROR");
      return true;
    });
    return;
  }
  const got = run();
  const want = tv(expected);
  strictEqual(got.kind, want.kind, `${name}: kind`);
  strictEqual(
    valueEquals(got, want),
    true,
    `${name}: got ${
      JSON.stringify(got, (_, v) => typeof v === "bigint" ? `${v}` : v instanceof Map ? [...v] : v)
    }`,
  );
}

const CASES: Record<string, Case[]> = {
  len: [
    ["list", op("len", ref("@var:items")), nat(3)],
    ["set literal deduplicates", op("len", { set: [nat(1), int(1), nat(2)] }), nat(2)],
    ["map", op("len", ref("@plan.input.headers")), nat(1)],
    ["record ignores none fields", op("len", ref("@var:resp")), nat(2)],
    ["text counts code points", op("len", text("a😀é")), nat(3)],
    ["bytes", op("len", { bytes_b64: "AAEC" }), nat(3)],
    ["wrong kind", op("len", nat(3)), err("wrong_kind")],
    ["wrong arity", op("len", text("a"), text("b")), err("bad_arity")],
  ],
  get: [
    ["record field", op("get", ref("@var:resp"), text("status")), int(404)],
    ["record missing field", op("get", ref("@var:resp"), text("nope")), err("missing_ref")],
    ["map key", op("get", ref("@plan.input.headers"), text("accept")), text("json")],
    ["map missing key", op("get", ref("@plan.input.headers"), text("x")), err("missing_ref")],
    ["list nat index", op("get", ref("@var:items"), nat(2)), nat(3)],
    ["list int index", op("get", ref("@var:items"), int(0)), nat(1)],
    ["list index out of range", op("get", ref("@var:items"), nat(3)), err("missing_ref")],
    ["list negative index", op("get", ref("@var:items"), int(-1)), err("missing_ref")],
    ["variant tag", op("get", ref("@var:choice"), text("$tag")), text("Some")],
    ["record with a nat key", op("get", ref("@var:resp"), nat(1)), err("wrong_kind")],
    ["list with a text index", op("get", ref("@var:items"), text("0")), err("wrong_kind")],
    ["text container", op("get", text("abc"), nat(0)), err("wrong_kind")],
    ["none container", op("get", ref("@var:resp.body_ref"), text("x")), err("missing_ref")],
    ["wrong arity", op("get", ref("@var:items")), err("bad_arity")],
  ],
  has: [
    ["record field", op("has", ref("@var:resp"), text("status")), T],
    ["record none field is absent", op("has", ref("@var:resp"), text("body_ref")), F],
    ["map key", op("has", ref("@plan.input.headers"), text("accept")), T],
    ["set element", op("has", ref("@var:tags"), text("b")), T],
    ["list element compares int and nat", op("has", ref("@var:items"), int(2)), T],
    ["list missing element", op("has", ref("@var:items"), nat(9)), F],
    ["text container", op("has", text("abc"), text("a")), err("wrong_kind")],
    ["record with a nat key", op("has", ref("@var:resp"), nat(0)), err("wrong_kind")],
    ["wrong arity", op("has", ref("@var:tags")), err("bad_arity")],
  ],
  eq: [
    ["int equals nat", op("eq", int(5), nat(5)), T],
    ["time equals duration", op("eq", { time_ns: 5 }, { duration_ns: 5 }), T],
    ["texts", op("eq", text("a"), text("b")), F],
    ["kinds differ", op("eq", text("5"), nat(5)), F],
    ["dec128 numerically", op("eq", { dec128: "0.2" }, { dec128: "0.20" }), T],
    ["records ignore order", op("eq", { record: { a: nat(1), b: T } }, { record: { b: T, a: int(1) } }), T],
    ["sets ignore order", op("eq", { set: [text("b"), text("a")] }, ref("@var:tags")), T],
    ["lists keep order", op("eq", { list: [nat(2), nat(1)] }, { list: [nat(1), nat(2)] }), F],
    ["variants", op("eq", { variant: { tag: "Some", value: nat(7) } }, ref("@var:choice")), T],
    ["wrong arity", op("eq", nat(1)), err("bad_arity")],
  ],
  ne: [
    ["different", op("ne", nat(1), nat(2)), T],
    ["numeric across kinds", op("ne", int(2), nat(2)), F],
    ["wrong arity", op("ne", nat(1), nat(1), nat(1)), err("bad_arity")],
  ],
  lt: [
    ["mixed int and nat", op("lt", int(-1), nat(0)), T],
    ["time and duration", op("lt", { time_ns: 5 }, { duration_ns: 6 }), T],
    ["ref against literal", op("lt", ref("@var:resp.status"), int(400)), F],
    ["text by code point, not UTF-16", op("lt", text("\uFFFF"), text("😀")), T],
    ["text prefix first", op("lt", text("ab"), text("abc")), T],
    ["dec128 pair", op("lt", { dec128: "0.2" }, { dec128: "1E-1" }), F],
    ["dec128 negative", op("lt", { dec128: "-3" }, { dec128: "0.001" }), T],
    ["text and nat", op("lt", text("a"), nat(1)), err("wrong_kind")],
    ["bools", op("lt", F, T), err("wrong_kind")],
    ["dec128 and int", op("lt", { dec128: "1" }, int(2)), err("wrong_kind")],
    ["wrong arity", op("lt", nat(1)), err("bad_arity")],
  ],
  le: [
    ["equal", op("le", nat(3), int(3)), T],
    ["text by code point", op("le", text("😀"), text("\uFFFF")), F],
    ["wrong kind", op("le", { bytes_b64: "AA==" }, { bytes_b64: "AA==" }), err("wrong_kind")],
  ],
  gt: [
    ["nat max above int max", op("gt", ref("@var:big"), int(I64_MAX)), T],
    ["text by code point", op("gt", text("😀"), text("\uFFFF")), T],
    ["dec128", op("gt", { dec128: "10" }, { dec128: "9.99" }), T],
    ["wrong kind", op("gt", text("a"), { dec128: "1" }), err("wrong_kind")],
  ],
  ge: [
    ["equal", op("ge", { duration_ns: -2 }, int(-2)), T],
    ["less", op("ge", text("a"), text("b")), F],
    ["wrong kind", op("ge", T, nat(1)), err("wrong_kind")],
  ],
  and: [
    ["all true", op("and", T, T, T), T],
    ["one false", op("and", T, F, T), F],
    ["short-circuit skips a missing ref", op("and", F, ref("@var:nope")), F],
    ["short-circuit skips a wrong kind", op("and", F, nat(1)), F],
    ["reaches the missing ref", op("and", T, ref("@var:nope")), err("missing_ref")],
    ["non-bool argument", op("and", T, nat(1)), err("wrong_kind")],
    ["one argument", op("and", T), err("bad_arity")],
  ],
  or: [
    ["one true", op("or", F, T), T],
    ["all false", op("or", F, F, F), F],
    ["short-circuit skips a missing ref", op("or", T, ref("@step:nope.status")), T],
    ["reaches the missing ref", op("or", F, ref("@var:nope")), err("missing_ref")],
    ["non-bool argument", op("or", text("x"), T), err("wrong_kind")],
    ["one argument", op("or", F), err("bad_arity")],
  ],
  not: [
    ["negates", op("not", ref("@var:ok")), F],
    ["wrong kind", op("not", nat(0)), err("wrong_kind")],
    ["wrong arity", op("not", T, F), err("bad_arity")],
  ],
  concat: [
    ["texts", op("concat", ref("@plan.input.url"), text("/b")), text("https://example.com/a/b")],
    ["wrong kind", op("concat", text("a"), nat(1)), err("wrong_kind")],
    ["three arguments", op("concat", text("a"), text("b"), text("c")), err("bad_arity")],
  ],
  add: [
    ["nat + nat is nat", op("add", nat(2), nat(3)), nat(5)],
    ["nat + int is int", op("add", nat(2), int(3)), int(5)],
    ["u64 max", op("add", nat(U64_MAX - 1n), nat(1)), nat(U64_MAX)],
    ["u64 overflow", op("add", ref("@var:big"), nat(1)), err("overflow")],
    ["i64 overflow", op("add", int(I64_MAX), int(1)), err("overflow")],
    ["nat beyond i64 with an int", op("add", ref("@var:big"), int(0)), err("overflow")],
    ["time is not arithmetic", op("add", { time_ns: 1 }, nat(1)), err("wrong_kind")],
    ["text", op("add", text("1"), nat(1)), err("wrong_kind")],
    ["wrong arity", op("add", nat(1)), err("bad_arity")],
  ],
  sub: [
    ["nat - nat stays nat", op("sub", nat(5), nat(3)), nat(2)],
    ["nat - nat below zero is int", op("sub", nat(3), nat(5)), int(-2)],
    ["i64 min", op("sub", int(I64_MIN + 1n), int(1)), int(I64_MIN)],
    ["i64 underflow", op("sub", ref("@var:small"), int(1)), err("overflow")],
    ["nat far below zero", op("sub", nat(0), ref("@var:big")), err("overflow")],
    ["wrong kind", op("sub", { duration_ns: 1 }, int(1)), err("wrong_kind")],
  ],
  mul: [
    ["nat * nat", op("mul", nat(6), nat(7)), nat(42)],
    ["int * nat", op("mul", int(-6), nat(7)), int(-42)],
    ["u64 overflow", op("mul", nat(1n << 32n), nat(1n << 32n)), err("overflow")],
    ["i64 overflow", op("mul", int(I64_MIN), int(-1)), err("overflow")],
    ["wrong kind", op("mul", T, nat(1)), err("wrong_kind")],
  ],
  div: [
    ["truncates", op("div", int(7), int(2)), int(3)],
    ["toward zero (negative dividend)", op("div", int(-7), int(2)), int(-3)],
    ["toward zero (negative divisor)", op("div", int(7), int(-2)), int(-3)],
    ["both negative", op("div", int(-7), int(-2)), int(3)],
    ["nat / nat is nat", op("div", nat(9), nat(3)), nat(3)],
    ["division by zero", op("div", nat(1), nat(0)), err("division_by_zero")],
    ["i64 min / -1 overflows", op("div", ref("@var:small"), int(-1)), err("overflow")],
    ["wrong kind", op("div", text("a"), nat(1)), err("wrong_kind")],
  ],
  mod: [
    ["positive", op("mod", int(7), int(2)), int(1)],
    ["dividend's sign (negative dividend)", op("mod", int(-7), int(2)), int(-1)],
    ["dividend's sign (negative divisor)", op("mod", int(7), int(-2)), int(1)],
    ["both negative", op("mod", int(-7), int(-2)), int(-1)],
    ["nat % nat", op("mod", nat(7), nat(4)), nat(3)],
    ["division by zero", op("mod", int(5), int(0)), err("division_by_zero")],
    ["wrong kind", op("mod", nat(5), { dec128: "2" }), err("wrong_kind")],
  ],
  starts_with: [
    ["yes", op("starts_with", ref("@plan.input.url"), text("https://")), T],
    ["no", op("starts_with", text("abc"), text("b")), F],
    ["wrong kind", op("starts_with", { bytes_b64: "AA==" }, text("a")), err("wrong_kind")],
  ],
  ends_with: [
    ["yes", op("ends_with", text("report.pdf"), text(".pdf")), T],
    ["no", op("ends_with", text("abc"), text("b")), F],
    ["wrong arity", op("ends_with", text("abc")), err("bad_arity")],
  ],
  contains: [
    ["substring", op("contains", text("hello world"), text("o w")), T],
    ["no substring", op("contains", text("hello"), text("z")), F],
    ["bytes", op("contains", { bytes_b64: "AAECAw==" }, { bytes_b64: "AQI=" }), T],
    ["bytes missing", op("contains", { bytes_b64: "AAECAw==" }, { bytes_b64: "AgE=" }), F],
    ["list element", op("contains", ref("@var:items"), int(3)), T],
    ["set element", op("contains", ref("@var:tags"), text("c")), F],
    ["map key", op("contains", ref("@plan.input.headers"), text("accept")), T],
    ["wrong kind", op("contains", nat(12), nat(1)), err("wrong_kind")],
    ["text in bytes", op("contains", { bytes_b64: "AA==" }, text("a")), err("wrong_kind")],
  ],
};

for (const [name, cases] of Object.entries(CASES)) {
  Deno.test(`evalExpr() "${name}" follows the operator table`, () => cases.forEach(expectCase));
}

Deno.test("evalExpr() covers every operator of AIR §12.3", async () => {
  const { OP_NAMES } = await import("./expr_ast.ts");
  deepStrictEqual(Object.keys(CASES).sort(), [...OP_NAMES].sort());
});

const LITERALS: Case[] = [
  ["bool", T, T],
  ["int", int(-5), int(-5)],
  ["int as a decimal string", { int: "-9223372036854775808" }, int(I64_MIN)],
  ["nat", nat(U64_MAX), nat(U64_MAX)],
  ["dec128 is normalized", { dec128: "0.20" }, { dec128: "0.2" }],
  ["text", text("x😀"), text("x😀")],
  ["bytes_b64", { bytes_b64: "AAE=" }, { bytes_b64: "AAE=" }],
  ["time_ns", { time_ns: 17000 }, { time_ns: 17000 }],
  ["duration_ns", { duration_ns: -5000 }, { duration_ns: -5000 }],
  ["hash", { hash: `sha256:${"ab".repeat(32)}` }, { hash: `sha256:${"ab".repeat(32)}` }],
  ["uuid", { uuid: "123e4567-e89b-12d3-a456-426614174000" }, {
    uuid: "123e4567-e89b-12d3-a456-426614174000",
  }],
  ["record", { record: { b: nat(1), a: text("x") } }, { record: { a: text("x"), b: nat(1) } }],
  ["list", { list: [nat(2), nat(1), nat(2)] }, { list: [nat(2), nat(1), nat(2)] }],
  ["set", { set: [nat(2), nat(1), nat(2)] }, { set: [nat(1), nat(2)] }],
  ["map", { map: [{ key: text("k"), value: nat(1) }] }, { map: [{ key: text("k"), value: nat(1) }] }],
  ["variant with a value", { variant: { tag: "Ok", value: nat(1) } }, {
    variant: { tag: "Ok", value: nat(1) },
  }],
  ["variant without a value is unit", { variant: { tag: "Reset" } }, { variant: { tag: "Reset" } }],
  ["nat below zero", nat(-1), err("bad_literal")],
  ["int beyond i64", int(I64_MAX + 1n), err("bad_literal")],
  ["bad hash", { hash: "sha256:xyz" }, err("bad_literal")],
  ["bad base64", { bytes_b64: "A" }, err("bad_literal")],
  ["bad dec128", { dec128: "NaN" }, err("bad_literal")],
  ["uppercase uuid", { uuid: "123E4567-E89B-12D3-A456-426614174000" }, err("bad_literal")],
  ["text of a number", { text: 5 }, err("bad_literal")],
  ["null is not an Expr", { null: {} }, err("bad_literal")],
  ["unknown form", { float: 1 }, err("bad_literal")],
  ["two keys", { nat: 1, int: 1 }, err("bad_literal")],
  ["plain JSON", "GET", err("bad_literal")],
  ["unknown operator", op("pow", nat(2), nat(3)), err("unknown_op")],
  ["operation without arguments", op("not"), err("bad_arity")],
  ["set of lists", { set: [{ list: [] }] }, err("wrong_kind")],
  [
    "map with duplicate keys",
    { map: [{ key: nat(1), value: T }, { key: int(1), value: F }] },
    err("bad_literal"),
  ],
  ["map with a bool key", { map: [{ key: T, value: T }] }, err("wrong_kind")],
];

Deno.test("evalExpr() reads every tagged literal form and rejects bad ones", () =>
  LITERALS.forEach(expectCase));

const REFS: Case[] = [
  ["plan input field", ref("@plan.input.request_id"), text("r1")],
  ["text map key", ref("@plan.input.headers.accept"), text("json")],
  ["var path", ref("@var:resp.status"), int(404)],
  ["whole var", ref("@var:n"), nat(3)],
  ["step path", ref("@step:wait.status"), text("error")],
  ["variant $tag and $value", { list: [ref("@var:choice.$tag"), ref("@var:choice.$value")] }, {
    list: [text("Some"), nat(7)],
  }],
  ["none field reads as none", ref("@var:resp.body_ref"), { null: {} }],
  ["missing var", ref("@var:nope"), err("missing_ref")],
  ["missing step", ref("@step:nope"), err("missing_ref")],
  ["missing field", ref("@var:resp.nope"), err("missing_ref")],
  ["missing map key", ref("@plan.input.headers.nope"), err("missing_ref")],
  ["into none", ref("@var:resp.body_ref.x"), err("missing_ref")],
  ["into an empty receipt payload (unit)", ref("@var:empty.status"), err("missing_ref")],
  ["into a text", ref("@var:resp.adapter_id.x"), err("wrong_kind")],
  ["malformed", ref("@var:"), err("bad_literal")],
  ["dotted name is a path", ref("@var:resp.status.x"), err("wrong_kind")],
];

Deno.test("evalExpr() resolves references and fails on missing ones", () => REFS.forEach(expectCase));

Deno.test("evalExpr() fails on @plan.input without an input", () => {
  throws(() => evalExpr(json(ref("@plan.input")), { vars: new Map(), steps: new Map() }), (e: unknown) => {
    strictEqual((e as ExprError).exprCode, "missing_ref");
    return true;
  });
});

Deno.test("evalExpr() errors carry the JSON path of the failing node", () => {
  throws(
    () => evalExpr(json(op("and", T, { record: { x: op("div", nat(1), nat(0)) } })), testEnv),
    (e: unknown) => {
      strictEqual((e as ExprError).context.path, "$.args[1].record.x");
      return true;
    },
  );
});

Deno.test("evalExpr() bounds depth and node count", () => {
  let deep: unknown = T;
  for (let i = 1; i < 64; i++) deep = op("not", deep);
  deepStrictEqual(evalExpr(json(deep), testEnv), { kind: "bool", value: false } satisfies Value);
  const code = (expr: unknown) => {
    try {
      evalExpr(json(expr), testEnv);
      return "ok";
    } catch (e) {
      return (e as ExprError).exprCode;
    }
  };
  strictEqual(code(op("not", deep)), "limit");
  strictEqual(code({ list: Array.from({ length: 10_000 }, () => T) }), "limit");
  strictEqual(code({ list: Array.from({ length: 9_999 }, () => T) }), "ok");
});

Deno.test("evalExpr() reads a JSON null as none, which conforms to an option as none", () => {
  const value = evalExpr(json({ record: { url: { text: "u" }, body_ref: null } }), testEnv);
  const type = { record: { url: { text: {} }, body_ref: { option: { hash: {} } } } } as const;
  const conformed = conformValue(value, type, { resolve: () => undefined });
  ok(valueEquals(conformed, tv({ record: { url: { text: "u" } } })));
  deepStrictEqual(evalExpr(json(null), testEnv), { kind: "none" });
  throws(() => conformValue(evalExpr(json(null), testEnv), { text: {} }, { resolve: () => undefined }));
});
