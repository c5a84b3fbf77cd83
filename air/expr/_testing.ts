/**
 * Private to `air/expr/` tests: a small environment and value builders.
 *
 * @module
 */
import { type JsonValue, toJsonValue } from "../base/mod.ts";
import { type TypeExpr, type Value, valueFromTaggedJson } from "../value/mod.ts";
import type { ExprTypeEnv } from "./check_expr.ts";
import type { ExprEnv } from "./eval_expr.ts";

/** Largest u64. */
export const U64_MAX = (1n << 64n) - 1n;
/** Largest i64. */
export const I64_MAX = (1n << 63n) - 1n;
/** Smallest i64. */
export const I64_MIN = -(1n << 63n);

/** JSON from a JS literal (numbers become bigints). */
export function json(value: unknown): JsonValue {
  return toJsonValue(value);
}

/** A value from its tagged JSON form written as a JS literal. */
export function tv(value: unknown): Value {
  return valueFromTaggedJson(toJsonValue(value));
}

/** A record value. */
export function rec(fields: Record<string, Value>): Value {
  return { kind: "record", value: new Map(Object.entries(fields)) };
}

/** The evaluation environment of the tests. */
export const testEnv: ExprEnv = {
  input: rec({
    url: tv({ text: "https://example.com/a" }),
    request_id: tv({ text: "r1" }),
    headers: tv({ map: [{ key: { text: "accept" }, value: { text: "json" } }] }),
  }),
  vars: new Map<string, Value>([
    ["resp", rec({ status: tv({ int: 404 }), body_ref: { kind: "none" }, adapter_id: tv({ text: "a1" }) })],
    ["ok", tv({ bool: true })],
    ["n", tv({ nat: 3 })],
    ["items", tv({ list: [{ nat: 1 }, { nat: 2 }, { nat: 3 }] })],
    ["tags", tv({ set: [{ text: "a" }, { text: "b" }] })],
    ["choice", tv({ variant: { tag: "Some", value: { nat: 7 } } })],
    ["big", { kind: "nat", value: U64_MAX }],
    ["small", { kind: "int", value: I64_MIN }],
    ["empty", { kind: "unit" }],
  ]),
  steps: new Map<string, Value>([
    ["wait", rec({ status: tv({ text: "error" }), adapter_id: tv({ text: "http" }) })],
  ]),
};

const text: TypeExpr = { text: {} };

/** The static types of {@linkcode testEnv}. */
export const testTypeEnv: ExprTypeEnv = {
  input: {
    record: { url: text, request_id: text, headers: { map: { key: text, value: text } } },
  },
  vars: new Map<string, TypeExpr>([
    ["resp", { record: { status: { int: {} }, body_ref: { option: { hash: {} } }, adapter_id: text } }],
    ["ok", { bool: {} }],
    ["n", { nat: {} }],
    ["items", { list: { nat: {} } }],
    ["tags", { set: text }],
    ["choice", { variant: { Some: { nat: {} }, None: { unit: {} } } }],
    ["big", { nat: {} }],
    ["small", { int: {} }],
  ]),
  steps: new Map<string, TypeExpr>([["wait", { record: { status: text, adapter_id: text } }]]),
  schemas: { resolve: () => undefined },
};
