import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import type { JsonValue } from "../base/mod.ts";
import type { Value } from "../value/mod.ts";
import { I64_MAX, I64_MIN, testEnv, testTypeEnv, U64_MAX } from "./_testing.ts";
import { checkExpr } from "./check_expr.ts";
import { evalExpr } from "./eval_expr.ts";
import { OP_NAMES } from "./expr_ast.ts";
import { ExprError } from "./expr_error.ts";

type Outcome = { value: Value } | { error: string };

function outcome(expr: JsonValue): Outcome {
  try {
    return { value: evalExpr(expr, testEnv) };
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    return { error: `${e.exprCode} ${e.context.path} ${e.message}` };
  }
}

/** Plain JSON with integers as bigints (floats become strings: JsonValue has no floats). */
function fromPlain(value: unknown): JsonValue {
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : String(value);
  if (Array.isArray(value)) return value.map(fromPlain);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: fromPlain(v),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    return out;
  }
  return value as JsonValue;
}

const KEYS = [
  "op",
  "args",
  "ref",
  "record",
  "list",
  "set",
  "map",
  "variant",
  "tag",
  "value",
  "key",
  "null",
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
  "__proto__",
];
const SCALARS = [
  "@var:n",
  "@var:resp.status",
  "@var:resp.body_ref",
  "@plan.input.url",
  "@plan.input.headers",
  "@step:wait.status",
  "@var:items",
  "@var:tags",
  "@var:choice.$value",
  "@var:nope",
  "@var:big",
  "@var:small",
  "0.2",
  "-1E+3",
  "AAE=",
  `sha256:${"ab".repeat(32)}`,
  "123e4567-e89b-12d3-a456-426614174000",
  "\uFFFF",
  "😀",
  ...OP_NAMES,
];

/** JSON shaped like expressions: known keys, operator names and references, nested. */
const exprLike: fc.Arbitrary<JsonValue> = fc.letrec<{ node: JsonValue }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    fc.oneof(
      fc.boolean(),
      fc.bigInt({ min: -(1n << 65n), max: 1n << 65n }),
      fc.constantFrom(0n, 1n, -1n, U64_MAX, I64_MIN, I64_MAX),
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.constantFrom(...SCALARS),
      fc.constant(null),
    ),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie("node"), { maxKeys: 2 }),
    fc.record({ op: fc.constantFrom(...OP_NAMES, "pow"), args: fc.array(tie("node"), { maxLength: 4 }) }),
    fc.record({ ref: fc.constantFrom(...SCALARS) }),
  ),
})).node;

const LEAVES: JsonValue[] = [
  { bool: true },
  { int: -3n },
  { int: I64_MIN },
  { nat: 0n },
  { nat: 2n },
  { nat: U64_MAX },
  { dec128: "0.2" },
  { dec128: "-1E+3" },
  { text: "" },
  { text: "a😀" },
  { text: "\uFFFF" },
  { bytes_b64: "AAE=" },
  { time_ns: 5n },
  { duration_ns: -5n },
  { hash: `sha256:${"ab".repeat(32)}` },
  { uuid: "123e4567-e89b-12d3-a456-426614174000" },
  ...SCALARS.filter((s) => s.startsWith("@")).map((ref): JsonValue => ({ ref })),
];

/** Well-formed expressions of any (mostly wrong) typing: every form, every operator, 1–3 arguments. */
const wellFormed: fc.Arbitrary<JsonValue> = fc.letrec<{ node: JsonValue }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    fc.constantFrom(...LEAVES),
    fc.record({
      op: fc.constantFrom(...OP_NAMES),
      args: fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
    }),
    fc.dictionary(fc.constantFrom("a", "b", "$tag", "$value"), tie("node"), { maxKeys: 3 }).map((record) => ({
      record,
    })),
    fc.array(tie("node"), { maxLength: 3 }).map((list) => ({ list })),
    fc.array(tie("node"), { maxLength: 3 }).map((set) => ({ set })),
    fc.array(fc.record({ key: tie("node"), value: tie("node") }), { maxLength: 2 }).map((map) => ({ map })),
    fc.record({ tag: fc.constantFrom("A", "B"), value: tie("node") }).map((variant) => ({ variant })),
  ),
})).node;

const anyInput = fc.oneof(fc.jsonValue().map(fromPlain), exprLike, wellFormed);

Deno.test("evalExpr() throws nothing but ExprError, and checkExpr() nothing at all, for any JSON", () => {
  fc.assert(
    fc.property(anyInput, (expr) => {
      outcome(expr); // rethrows anything that is not an ExprError
      const checked = checkExpr(expr, testTypeEnv, ["x"]);
      ok(Array.isArray(checked.issues));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("evalExpr() is deterministic: the same expression and environment give the same outcome", () => {
  fc.assert(
    fc.property(anyInput, (expr) => {
      deepStrictEqual(outcome(expr), outcome(structuredClone(expr)));
    }),
    { numRuns: 1000 },
  );
});

type Ty = "bool" | "nat" | "int" | "text";
const op = (name: string, ...args: JsonValue[]): JsonValue => ({ op: name, args });
const pair = <T>(a: fc.Arbitrary<T>) => fc.tuple(a, a);

/** Well-typed expressions over `testTypeEnv`, by result type. */
const typed = fc.letrec<Record<Ty, JsonValue>>((tie) => {
  const options = { depthSize: "small", maxDepth: 5 } as const;
  const nat = tie("nat");
  const int = tie("int");
  const text = tie("text");
  const bool = tie("bool");
  const numeric = fc.oneof(nat, int);
  return {
    bool: fc.oneof(
      options,
      fc.boolean().map((b): JsonValue => ({ bool: b })),
      fc.constant<JsonValue>({ ref: "@var:ok" }),
      fc.tuple(fc.constantFrom("eq", "ne", "lt", "le", "gt", "ge"), numeric, numeric).map(([o, a, b]) =>
        op(o, a, b)
      ),
      fc.tuple(fc.constantFrom("eq", "lt", "ge", "starts_with", "ends_with", "contains"), text, text).map((
        [o, a, b],
      ) => op(o, a, b)),
      bool.map((b) => op("not", b)),
      fc.tuple(fc.constantFrom("and", "or"), fc.array(bool, { minLength: 2, maxLength: 3 })).map((
        [o, args],
      ) => op(o, ...args)),
      nat.map((n) => op("has", { ref: "@var:items" }, n)),
      text.map((t) => op("has", { ref: "@var:tags" }, t)),
      text.map((t) => op("contains", { ref: "@plan.input.headers" }, t)),
    ),
    nat: fc.oneof(
      options,
      fc.bigInt({ min: 0n, max: 10n }).map((n): JsonValue => ({ nat: n })),
      fc.bigInt({ min: 0n, max: U64_MAX }).map((n): JsonValue => ({ nat: n })),
      fc.constantFrom<JsonValue>({ ref: "@var:n" }, { ref: "@var:big" }),
      text.map((t) => op("len", t)),
      fc.constant(op("len", { ref: "@var:items" })),
      fc.tuple(fc.constantFrom("add", "mul", "div", "mod"), pair(nat)).map(([o, [a, b]]) => op(o, a, b)),
      nat.map((n) => op("get", { ref: "@var:items" }, n)),
    ),
    int: fc.oneof(
      options,
      fc.bigInt({ min: I64_MIN, max: I64_MAX }).map((n): JsonValue => ({ int: n })),
      fc.constantFrom<JsonValue>({ ref: "@var:resp.status" }, { ref: "@var:small" }),
      pair(nat).map(([a, b]) => op("sub", a, b)),
      fc.tuple(fc.constantFrom("add", "sub", "mul", "div", "mod"), int, numeric).map(([o, a, b]) =>
        op(o, a, b)
      ),
    ),
    text: fc.oneof(
      options,
      fc.string({ unit: "grapheme", maxLength: 5 }).map((t): JsonValue => ({ text: t })),
      fc.constantFrom<JsonValue>(
        { ref: "@plan.input.url" },
        { ref: "@var:resp.adapter_id" },
        { ref: "@step:wait.status" },
        { ref: "@var:choice.$tag" },
        op("get", { ref: "@plan.input.headers" }, { text: "accept" }),
        op("get", { ref: "@var:resp" }, { text: "adapter_id" }),
      ),
      pair(text).map(([a, b]) => op("concat", a, b)),
    ),
  };
});

const RESULT_KINDS: Record<Ty, string[]> = {
  bool: ["bool"],
  nat: ["nat"],
  int: ["int", "nat"],
  text: ["text"],
};
/** The only failures of well-typed expressions: the partial operators (AIR §12.3). */
const PARTIAL = new Set(["overflow", "division_by_zero", "missing_ref"]);

for (const ty of ["bool", "nat", "int", "text"] as const) {
  Deno.test(`evalExpr() is total on well-typed ${ty} expressions, up to the partial operators`, () => {
    fc.assert(
      fc.property(typed[ty], (expr) => {
        const checked = checkExpr(expr, testTypeEnv);
        deepStrictEqual(checked.issues, []);
        deepStrictEqual(Object.keys(checked.type ?? {}), [ty]);
        try {
          const value = evalExpr(expr, testEnv);
          ok(RESULT_KINDS[ty].includes(value.kind), `${ty} expression gave a ${value.kind}`);
        } catch (e) {
          ok(e instanceof ExprError, `not an ExprError: ${e}`);
          strictEqual(PARTIAL.has(e.exprCode), true, `unexpected ${e.exprCode}: ${e.message}`);
        }
      }),
      { numRuns: 500 },
    );
  });
}
