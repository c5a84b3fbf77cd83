import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { assertAosError } from "../_testing/mod.ts";
import type { AosErrorCode } from "../base/mod.ts";
import { encodeCanonical, fromHex, toHex } from "../cbor/mod.ts";
import { int, nat, record, text, variant } from "./_test_values.ts";
import {
  decodeTyped,
  encodeTyped,
  validateTypedBytes,
  valueFromCbor,
  valueToCbor,
  zeroValue,
} from "./typed_codec.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";
import { valueEquals } from "./value_equal.ts";

const registry = new Map<string, TypeExpr>([
  ["test/Count@1", { nat: {} }],
  ["test/Event@1", { record: { by: { nat: {} } } }],
  ["test/Command@1", { variant: { Reset: { unit: {} }, Add: { ref: "test/Count@1" } } }],
  ["test/Loop@1", { list: { ref: "test/Loop@1" } }],
  ["test/A@1", { ref: "test/B@1" }],
  ["test/B@1", { ref: "test/A@1" }],
]);
const schemas: SchemaResolver = { resolve: (name) => registry.get(name) };

const hex = (type: TypeExpr, value: Value) => toHex(encodeTyped(type, value, schemas));

Deno.test("encodeTyped() matches the AIR §4.5 vectors", () => {
  strictEqual(hex({ record: { count: { nat: {} } } }, record({ count: nat(3n) })), "a165636f756e7403");
  strictEqual(
    hex({ ref: "test/Command@1" }, variant("Reset", { kind: "unit" })),
    "a26424746167655265736574662476616c7565f6",
  );
  strictEqual(
    hex({ dec128: {} }, { kind: "dec128", value: "0.2" }),
    "d907d050303e0000000000000000000000000002",
  );
  strictEqual(hex({ ref: "test/Event@1" }, record({ by: nat(2n) })), "a162627902");
});

Deno.test("decodeTyped() reads the AIR §4.5 vectors", () => {
  const decoded = decodeTyped(
    { ref: "test/Command@1" },
    fromHex("a26424746167655265736574662476616c7565f6"),
    schemas,
  );
  strictEqual(valueEquals(decoded, variant("Reset", { kind: "unit" })), true);
  deepStrictEqual(decodeTyped({ dec128: {} }, fromHex("d907d050303e0000000000000000000000000002"), schemas), {
    kind: "dec128",
    value: "0.2",
  });
  deepStrictEqual(
    decodeTyped({ record: { count: { nat: {} } } }, fromHex("a165636f756e7403"), schemas),
    record({ count: nat(3n) }),
  );
});

Deno.test("encodeTyped() omits none option fields and decodeTyped() restores them as none", () => {
  const type: TypeExpr = { record: { a: { option: { nat: {} } }, b: { nat: {} } } };
  strictEqual(hex(type, record({ a: { kind: "none" }, b: nat(1n) })), "a1616201");
  strictEqual(hex(type, record({ b: nat(1n) })), "a1616201");
  deepStrictEqual(
    decodeTyped(type, fromHex("a1616201"), schemas),
    record({ a: { kind: "none" }, b: nat(1n) }),
  );
  strictEqual(hex(type, record({ a: nat(5n), b: nat(1n) })), "a2616105616201");
});

Deno.test("encodeTyped() sorts and deduplicates sets by canonical bytes", () => {
  strictEqual(
    hex({ set: { nat: {} } }, { kind: "set", value: [nat(3n), nat(1n), nat(3n), nat(24n)] }),
    "8301031818",
  );
  strictEqual(
    hex({ set: { text: {} } }, { kind: "set", value: [text("bb"), text("c"), text("a")] }),
    "8361616163626262",
  );
});

Deno.test("encodeTyped() keys maps by the canonical encoding of the key", () => {
  const type: TypeExpr = { map: { key: { int: {} }, value: { text: {} } } };
  const value: Value = {
    kind: "map",
    value: [[int(10n), text("a")], [int(-1n), text("b")], [int(1n), text("c")]],
  };
  strictEqual(hex(type, value), "a30161630a6161206162");
  const decoded = decodeTyped(type, fromHex("a30161630a6161206162"), schemas);
  deepStrictEqual(decoded, {
    kind: "map",
    value: [[int(1n), text("c")], [int(10n), text("a")], [int(-1n), text("b")]],
  });
});

Deno.test("encodeTyped() writes hash, uuid, time, duration and bytes as their CBOR majors", () => {
  strictEqual(
    hex({ hash: {} }, { kind: "hash", value: new Uint8Array(32).fill(1) }),
    `5820${"01".repeat(32)}`,
  );
  strictEqual(hex({ uuid: {} }, { kind: "uuid", value: new Uint8Array(16) }), `50${"00".repeat(16)}`);
  strictEqual(hex({ time: {} }, { kind: "time", value: 17000n }), "194268");
  strictEqual(hex({ duration: {} }, { kind: "duration", value: -5n }), "24");
  strictEqual(hex({ bytes: {} }, { kind: "bytes", value: new Uint8Array([0, 1]) }), "420001");
  strictEqual(hex({ nat: {} }, nat((1n << 64n) - 1n)), "1bffffffffffffffff");
  strictEqual(hex({ int: {} }, int(-(1n << 63n))), "3b7fffffffffffffff");
});

const rejectedBytes: Array<[string, TypeExpr, string, AosErrorCode, string]> = [
  [
    "a none option field written as null",
    { record: { a: { option: { nat: {} } } } },
    "a16161f6",
    "AOS_CBOR_NON_CANONICAL",
    "$.a",
  ],
  [
    "an extra record field",
    { record: { count: { nat: {} } } },
    toHex(encodeCanonical({ count: 3, extra: 1 })),
    "AOS_TYPE_MISMATCH",
    "$.extra",
  ],
  ["a missing record field", { record: { count: { nat: {} } } }, "a0", "AOS_TYPE_MISMATCH", "$.count"],
  [
    "a text where a nat is expected",
    { record: { count: { nat: {} } } },
    "a165636f756e746133",
    "AOS_TYPE_MISMATCH",
    "$.count",
  ],
  ["a 31-byte hash", { hash: {} }, `581f${"00".repeat(31)}`, "AOS_TYPE_MISMATCH", "$"],
  ["a 15-byte uuid", { uuid: {} }, `4f${"00".repeat(15)}`, "AOS_TYPE_MISMATCH", "$"],
  ["an unsorted set", { set: { nat: {} } }, "820201", "AOS_CBOR_NON_CANONICAL", "$[1]"],
  ["a duplicate set element", { set: { nat: {} } }, "820101", "AOS_CBOR_NON_CANONICAL", "$[1]"],
  ["a negative nat", { nat: {} }, "20", "AOS_TYPE_MISMATCH", "$"],
  ["a negative time", { list: { time: {} } }, "8120", "AOS_TYPE_MISMATCH", "$[0]"],
  ["an int above 2^63-1", { int: {} }, "1b8000000000000000", "AOS_TYPE_MISMATCH", "$"],
  ["an int below -2^63", { int: {} }, "3b8000000000000000", "AOS_TYPE_MISMATCH", "$"],
  ["a duration above 2^63-1", { duration: {} }, "1bffffffffffffffff", "AOS_TYPE_MISMATCH", "$"],
  [
    "a non-normalized dec128 (1.50)",
    { dec128: {} },
    "d907d050303c0000000000000000000000000096",
    "AOS_CBOR_NON_CANONICAL",
    "$",
  ],
  ["a dec128 NaN", { dec128: {} }, "d907d0507c000000000000000000000000000000", "AOS_TYPE_MISMATCH", "$"],
  [
    "a bare byte string where a dec128 is expected",
    { dec128: {} },
    `50${"00".repeat(16)}`,
    "AOS_TYPE_MISMATCH",
    "$",
  ],
  [
    "an unknown variant tag",
    { ref: "test/Command@1" },
    toHex(encodeCanonical({ $tag: "Nope", $value: null })),
    "AOS_TYPE_MISMATCH",
    "$.$tag",
  ],
  [
    "a variant without $value",
    { ref: "test/Command@1" },
    toHex(encodeCanonical({ $tag: "Reset" })),
    "AOS_TYPE_MISMATCH",
    "$",
  ],
  [
    "a variant with an extra key",
    { ref: "test/Command@1" },
    toHex(encodeCanonical({ $tag: "Reset", $value: null, x: 1 })),
    "AOS_TYPE_MISMATCH",
    "$",
  ],
  [
    "a wrong variant payload",
    { ref: "test/Command@1" },
    toHex(encodeCanonical({ $tag: "Add", $value: "x" })),
    "AOS_TYPE_MISMATCH",
    "$.$value",
  ],
  ["an array where a record is expected", { record: {} }, "80", "AOS_TYPE_MISMATCH", "$"],
  [
    "a nested wrong kind",
    { list: { ref: "test/Event@1" } },
    toHex(encodeCanonical([{ by: 1 }, { by: 2 }, { by: "x" }])),
    "AOS_TYPE_MISMATCH",
    "$[2].by",
  ],
  [
    "a map key of the wrong kind",
    { map: { key: { nat: {} }, value: { nat: {} } } },
    "a1616101",
    "AOS_TYPE_MISMATCH",
    "$[0]",
  ],
  ["unit that is not null", { unit: {} }, "f5", "AOS_TYPE_MISMATCH", "$"],
  ["a non-canonical item", { nat: {} }, "1817", "AOS_CBOR_INVALID", ""],
];

for (const [what, type, bytes, code, path] of rejectedBytes) {
  Deno.test(`decodeTyped() rejects ${what} with ${code}`, () => {
    assertAosError(() => decodeTyped(type, fromHex(bytes), schemas), code, path === "" ? undefined : path);
  });
}

Deno.test("decodeTyped() explains a mismatch with the value's path and the expected type", () => {
  const error = assertAosError(
    () => decodeTyped({ record: { count: { nat: {} } } }, fromHex("a165636f756e746133"), schemas),
    "AOS_TYPE_MISMATCH",
    "$.count",
  );
  strictEqual(
    error.message,
    "Value at $.count does not match nat: expected an unsigned integer, got a text string",
  );
});

const rejectedValues: Array<[string, TypeExpr, Value, AosErrorCode, string]> = [
  ["a value of the wrong kind", { nat: {} }, int(1n), "AOS_TYPE_MISMATCH", "$"],
  ["a negative nat", { nat: {} }, nat(-1n), "AOS_TYPE_MISMATCH", "$"],
  ["a nat above 2^64-1", { nat: {} }, nat(1n << 64n), "AOS_TYPE_MISMATCH", "$"],
  ["an int overflow", { int: {} }, int(1n << 63n), "AOS_TYPE_MISMATCH", "$"],
  [
    "an extra record field",
    { ref: "test/Event@1" },
    record({ by: nat(1n), x: nat(2n) }),
    "AOS_TYPE_MISMATCH",
    "$.x",
  ],
  ["a missing record field", { ref: "test/Event@1" }, record({}), "AOS_TYPE_MISMATCH", "$.by"],
  ["a 31-byte hash", { hash: {} }, { kind: "hash", value: new Uint8Array(31) }, "AOS_TYPE_MISMATCH", "$"],
  ["an invalid dec128 text", { dec128: {} }, { kind: "dec128", value: "1.2.3" }, "AOS_TYPE_MISMATCH", "$"],
  [
    "a dec128 needing rounding",
    { dec128: {} },
    { kind: "dec128", value: "1".repeat(35) },
    "AOS_TYPE_MISMATCH",
    "$",
  ],
  ["a lone surrogate in text", { text: {} }, text("\ud800"), "AOS_TYPE_MISMATCH", "$"],
  [
    "an unknown variant tag",
    { ref: "test/Command@1" },
    variant("Nope", { kind: "unit" }),
    "AOS_TYPE_MISMATCH",
    "$.$tag",
  ],
  [
    "duplicate map keys",
    { map: { key: { text: {} }, value: { nat: {} } } },
    { kind: "map", value: [[text("a"), nat(1n)], [text("a"), nat(2n)]] },
    "AOS_TYPE_MISMATCH",
    "$.a",
  ],
  ["option of option", { option: { option: { nat: {} } } }, { kind: "none" }, "AOS_AIR_INVALID", "$"],
  ["option of unit", { option: { unit: {} } }, { kind: "none" }, "AOS_AIR_INVALID", "$"],
  [
    "a map keyed by bytes",
    { map: { key: { bytes: {} }, value: { nat: {} } } },
    { kind: "map", value: [] },
    "AOS_AIR_INVALID",
    "$",
  ],
  ["a set of records", { set: { record: {} } }, { kind: "set", value: [] }, "AOS_AIR_INVALID", "$"],
  [
    "an unknown ref",
    { list: { ref: "test/Missing@1" } },
    { kind: "list", value: [nat(1n)] },
    "AOS_SCHEMA_UNKNOWN",
    "$[0]",
  ],
  ["a ref cycle", { ref: "test/A@1" }, nat(1n), "AOS_AIR_INVALID", "$"],
  ["a malformed type", { nat: {}, int: {} } as unknown as TypeExpr, nat(1n), "AOS_AIR_INVALID", "$"],
];

for (const [what, type, value, code, path] of rejectedValues) {
  Deno.test(`encodeTyped() rejects ${what} with ${code}`, () => {
    assertAosError(() => encodeTyped(type, value, schemas), code, path);
  });
}

Deno.test("valueToCbor() bounds recursion through a self-referencing list type", () => {
  let value: Value = { kind: "list", value: [] };
  for (let i = 0; i < 100; i++) value = { kind: "list", value: [value] };
  assertAosError(() => valueToCbor({ ref: "test/Loop@1" }, value, schemas), "AOS_AIR_INVALID");
  let item: unknown[] = [];
  for (let i = 0; i < 100; i++) item = [item];
  assertAosError(() => valueFromCbor({ ref: "test/Loop@1" }, item as never, schemas), "AOS_AIR_INVALID");
  strictEqual(hex({ ref: "test/Loop@1" }, { kind: "list", value: [{ kind: "list", value: [] }] }), "8180");
});

Deno.test("validateTypedBytes() accepts canonical typed bytes and rejects the rest", () => {
  validateTypedBytes({ ref: "test/Event@1" }, fromHex("a162627902"), schemas);
  assertAosError(
    () => validateTypedBytes({ set: { nat: {} } }, fromHex("820201"), schemas),
    "AOS_CBOR_NON_CANONICAL",
  );
  assertAosError(() => validateTypedBytes({ nat: {} }, fromHex("1802"), schemas), "AOS_CBOR_INVALID");
});

Deno.test("zeroValue() follows AIR §9.5 and picks the first variant tag in canonical order", () => {
  const type: TypeExpr = {
    record: {
      n: { nat: {} },
      i: { int: {} },
      t: { text: {} },
      b: { bytes: {} },
      h: { hash: {} },
      u: { uuid: {} },
      o: { option: { nat: {} } },
      l: { list: { nat: {} } },
      s: { set: { text: {} } },
      m: { map: { key: { text: {} }, value: { nat: {} } } },
      d: { dec128: {} },
      f: { bool: {} },
      v: { variant: { Zeta: { nat: {} }, Ab: { text: {} }, B: { unit: {} } } },
      w: { variant: { Zz: { ref: "test/Event@1" }, Yyy: { unit: {} } } },
    },
  };
  const zero = zeroValue(type, schemas);
  const expected = record({
    n: nat(0n),
    i: int(0n),
    t: text(""),
    b: { kind: "bytes", value: new Uint8Array() },
    h: { kind: "hash", value: new Uint8Array(32) },
    u: { kind: "uuid", value: new Uint8Array(16) },
    o: { kind: "none" },
    l: { kind: "list", value: [] },
    s: { kind: "set", value: [] },
    m: { kind: "map", value: [] },
    d: { kind: "dec128", value: "0" },
    f: { kind: "bool", value: false },
    v: variant("B", { kind: "unit" }),
    w: variant("Zz", record({ by: nat(0n) })),
  });
  strictEqual(valueEquals(zero, expected), true);
  deepStrictEqual(decodeTyped(type, encodeTyped(type, zero, schemas), schemas), zero);
});
