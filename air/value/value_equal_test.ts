import { strictEqual } from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import type { Value } from "./value.ts";
import { valueEquals, valueKey } from "./value_equal.ts";

const nat = (value: bigint): Value => ({ kind: "nat", value });
const text = (value: string): Value => ({ kind: "text", value });
const record = (entries: Array<[string, Value]>): Value => ({ kind: "record", value: new Map(entries) });
const bytes = (kind: "bytes" | "hash" | "uuid", ...values: number[]): Value => ({
  kind,
  value: Uint8Array.from(values),
});

Deno.test("valueEquals() compares int, nat, time and duration by numeric value", () => {
  strictEqual(valueEquals(nat(5n), { kind: "int", value: 5n }), true);
  strictEqual(valueEquals({ kind: "time", value: 5n }, { kind: "duration", value: 5n }), true);
  strictEqual(valueEquals(nat(5n), nat(6n)), false);
  strictEqual(valueEquals(nat(5n), text("5")), false);
});

Deno.test("valueEquals() compares dec128 numerically", () => {
  strictEqual(valueEquals({ kind: "dec128", value: "0.2" }, { kind: "dec128", value: "0.20" }), true);
  strictEqual(valueEquals({ kind: "dec128", value: "1E2" }, { kind: "dec128", value: "100" }), true);
  strictEqual(valueEquals({ kind: "dec128", value: "0.2" }, { kind: "dec128", value: "0.21" }), false);
});

Deno.test("valueEquals() treats unit and none alike and keeps byte kinds apart", () => {
  strictEqual(valueEquals({ kind: "unit" }, { kind: "none" }), true);
  strictEqual(valueEquals({ kind: "none" }, nat(0n)), false);
  strictEqual(valueEquals(bytes("bytes", 1, 2), bytes("bytes", 1, 2)), true);
  strictEqual(valueEquals(bytes("bytes", 1, 2), bytes("bytes", 1, 3)), false);
  strictEqual(valueEquals(bytes("bytes", 1, 2), bytes("hash", 1, 2)), false);
});

Deno.test("valueEquals() ignores record field order and treats a none field as absent", () => {
  const a = record([["x", nat(1n)], ["y", text("t")]]);
  const b = record([["y", text("t")], ["x", nat(1n)]]);
  strictEqual(valueEquals(a, b), true);
  strictEqual(valueEquals(a, record([["x", nat(1n)], ["y", text("t")], ["z", { kind: "none" }]])), true);
  strictEqual(valueEquals(a, record([["x", nat(1n)]])), false);
  strictEqual(valueEquals(a, record([["x", nat(1n)], ["y", text("u")]])), false);
});

Deno.test("valueEquals() compares sets and maps regardless of order, lists in order", () => {
  const set = (...items: Value[]): Value => ({ kind: "set", value: items });
  strictEqual(valueEquals(set(nat(1n), nat(2n)), set(nat(2n), nat(1n), nat(2n))), true);
  strictEqual(valueEquals(set(nat(1n)), set(nat(1n), nat(2n))), false);
  const map = (...entries: Array<[Value, Value]>): Value => ({ kind: "map", value: entries });
  strictEqual(
    valueEquals(
      map([text("a"), nat(1n)], [text("b"), nat(2n)]),
      map([text("b"), nat(2n)], [text("a"), nat(1n)]),
    ),
    true,
  );
  strictEqual(valueEquals(map([text("a"), nat(1n)]), map([text("a"), nat(2n)])), false);
  const list = (...items: Value[]): Value => ({ kind: "list", value: items });
  strictEqual(valueEquals(list(nat(1n), nat(2n)), list(nat(2n), nat(1n))), false);
  strictEqual(valueEquals(list(nat(1n), nat(2n)), set(nat(1n), nat(2n))), false);
});

const anyValue: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.bigInt(-3n, 3n).map((value): Value => ({ kind: "int", value })),
    fc.bigInt(0n, 3n).map((value): Value => ({ kind: "nat", value })),
    fc.constantFrom("a", "b", "").map(text),
    fc.constantFrom<Value>({ kind: "unit" }, { kind: "none" }, { kind: "bool", value: true }),
    fc.constantFrom("0.2", "0.20", "1").map((value): Value => ({ kind: "dec128", value })),
    fc.uint8Array({ maxLength: 2 }).map((value): Value => ({ kind: "bytes", value })),
    fc.array(tie("value"), { maxLength: 3 }).map((value): Value => ({ kind: "list", value })),
    fc.array(tie("value"), { maxLength: 3 }).map((value): Value => ({ kind: "set", value })),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 2 }).map((value): Value => ({
      kind: "map",
      value,
    })),
    fc.array(fc.tuple(fc.constantFrom("p", "q"), tie("value")), { maxLength: 2 })
      .map((entries): Value => ({ kind: "record", value: new Map(entries) })),
  ),
})).value;

Deno.test("valueKey() is equal exactly when valueEquals() holds (property)", () => {
  fc.assert(
    fc.property(anyValue, anyValue, (a, b) => {
      strictEqual(valueKey(a) === valueKey(b), valueEquals(a, b));
      strictEqual(valueEquals(a, a), true);
      strictEqual(valueEquals(a, b), valueEquals(b, a));
    }),
    { numRuns: 2000 },
  );
});
