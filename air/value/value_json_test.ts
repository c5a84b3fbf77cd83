import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { assertAosError } from "../_testing/mod.ts";
import { type JsonValue, parseJson, stringifyJson } from "../base/mod.ts";
import { toHex } from "../cbor/mod.ts";
import { int, nat, record, text, variant } from "./_test_values.ts";
import { encodeTyped } from "./typed_codec.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";
import { valueEquals } from "./value_equal.ts";
import { valueFromJson, valueToPlainJson } from "./value_json.ts";

const registry = new Map<string, TypeExpr>([
  ["test/Event@1", { record: { by: { nat: {} } } }],
  ["test/Command@1", { variant: { Reset: { unit: {} }, Add: { nat: {} } } }],
]);
const schemas: SchemaResolver = { resolve: (name) => registry.get(name) };

const read = (type: TypeExpr, jsonText: string) => valueFromJson(type, parseJson(jsonText), schemas);
const same = (actual: Value, expected: Value) =>
  strictEqual(valueEquals(actual, expected), true, `${Deno.inspect(actual)} != ${Deno.inspect(expected)}`);

Deno.test("valueFromJson() reads the AIR event vector in plain and tagged form to the same bytes", () => {
  const type: TypeExpr = { ref: "test/Event@1" };
  strictEqual(toHex(encodeTyped(type, read(type, '{"by":2}'), schemas)), "a162627902");
  strictEqual(toHex(encodeTyped(type, read(type, '{"record":{"by":{"nat":2}}}'), schemas)), "a162627902");
  strictEqual(toHex(encodeTyped(type, read(type, '{"by":"2"}'), schemas)), "a162627902");
});

Deno.test("valueFromJson() reads plain scalars", () => {
  same(read({ int: {} }, "-5"), int(-5n));
  same(read({ int: {} }, '"-5"'), int(-5n));
  same(read({ nat: {} }, '"18446744073709551615"'), nat((1n << 64n) - 1n));
  same(read({ nat: {} }, "18446744073709551615"), nat((1n << 64n) - 1n));
  deepStrictEqual(read({ dec128: {} }, '"0.20"'), { kind: "dec128", value: "0.2" });
  deepStrictEqual(read({ bytes: {} }, '"AAE="'), { kind: "bytes", value: new Uint8Array([0, 1]) });
  deepStrictEqual(read({ bytes: {} }, '""'), { kind: "bytes", value: new Uint8Array() });
  deepStrictEqual(read({ bool: {} }, "true"), { kind: "bool", value: true });
  deepStrictEqual(read({ unit: {} }, "null"), { kind: "unit" });
  deepStrictEqual(read({ duration: {} }, "-5"), { kind: "duration", value: -5n });
  deepStrictEqual(read({ hash: {} }, `"sha256:${"ab".repeat(32)}"`), {
    kind: "hash",
    value: new Uint8Array(32).fill(0xab),
  });
  deepStrictEqual(read({ uuid: {} }, '"00112233-4455-6677-8899-aabbccddeeff"'), {
    kind: "uuid",
    value: Uint8Array.from([
      0,
      0x11,
      0x22,
      0x33,
      0x44,
      0x55,
      0x66,
      0x77,
      0x88,
      0x99,
      0xaa,
      0xbb,
      0xcc,
      0xdd,
      0xee,
      0xff,
    ]),
  });
});

Deno.test("valueFromJson() reads time as integer ns, a decimal string or RFC 3339", () => {
  const time = (value: bigint): Value => ({ kind: "time", value });
  deepStrictEqual(read({ time: {} }, "17000"), time(17000n));
  deepStrictEqual(read({ time: {} }, '"17000"'), time(17000n));
  deepStrictEqual(read({ time: {} }, '"1970-01-01T00:00:17.000001Z"'), time(17_000_001_000n));
  deepStrictEqual(read({ time: {} }, '"2024-02-29T12:00:00+01:00"'), time(1709204400000000000n));
  deepStrictEqual(read({ time: {} }, '"2024-02-29t11:00:00.000000000z"'), time(1709204400000000000n));
  for (
    const bad of [
      '"2023-02-29T00:00:00Z"',
      '"1969-12-31T23:59:59Z"',
      '"2024-01-01T24:00:00Z"',
      '"2024-01-01"',
      '"2024-01-01T00:00:00.1234567891Z"',
    ]
  ) {
    assertAosError(() => read({ time: {} }, bad), "AOS_TYPE_MISMATCH", "$");
  }
});

const rejected: Array<[string, TypeExpr, string, string]> = [
  ["a negative nat", { nat: {} }, "-1", "$"],
  ["a nat beyond 64 bits", { nat: {} }, "18446744073709551616", "$"],
  ["an int beyond 63 bits", { int: {} }, '"9223372036854775808"', "$"],
  ["a non-decimal integer string", { int: {} }, '"0x10"', "$"],
  ["a number for text", { text: {} }, "5", "$"],
  ["a lone surrogate in text", { text: {} }, '"\\ud800"', "$"],
  ["unpadded base64", { bytes: {} }, '"AAE"', "$"],
  ["base64 with non-zero padding bits", { bytes: {} }, '"AAF="', "$"],
  ["URL-safe base64", { bytes: {} }, '"-_8="', "$"],
  ["an uppercase hash", { hash: {} }, `"sha256:${"AB".repeat(32)}"`, "$"],
  ["a short hash", { hash: {} }, `"sha256:${"ab".repeat(31)}"`, "$"],
  ["an uppercase uuid", { uuid: {} }, '"00112233-4455-6677-8899-AABBCCDDEEFF"', "$"],
  ["a uuid without dashes", { uuid: {} }, '"00112233445566778899aabbccddeeff"', "$"],
  ["an invalid dec128", { dec128: {} }, '"1.2.3"', "$"],
  ["a tagged form of another kind", { nat: {} }, '{"int":5}', "$"],
  ["an unknown record field", { ref: "test/Event@1" }, '{"by":1,"extra":2}', "$.extra"],
  ["a prototype member as a field", { ref: "test/Event@1" }, '{"by":1,"toString":2}', "$.toString"],
  ["a missing record field", { ref: "test/Event@1" }, "{}", "$.by"],
  ["a nested mismatch", { list: { ref: "test/Event@1" } }, '[{"by":1},{"by":2},{"by":"x"}]', "$[2].by"],
  ["a variant with two tags", { ref: "test/Command@1" }, '{"Reset":null,"Add":1}', "$"],
  ["an unknown variant tag", { ref: "test/Command@1" }, '{"Nope":null}', "$.Nope"],
  ["a non-null unit payload", { ref: "test/Command@1" }, '{"Reset":1}', "$.Reset"],
  ["a map pair of three", { map: { key: { int: {} }, value: { bool: {} } } }, "[[1,true,3]]", "$[0]"],
  [
    "duplicate map keys after parsing",
    { map: { key: { nat: {} }, value: { bool: {} } } },
    '{"5":true,"05":false}',
    "$",
  ],
  ["a map key of the wrong type", { map: { key: { uuid: {} }, value: { bool: {} } } }, '{"x":true}', "$.x"],
  ["a bare string where a list is expected", { list: { nat: {} } }, '"1"', "$"],
];

for (const [what, type, jsonText, path] of rejected) {
  Deno.test(`valueFromJson() rejects ${what} at ${path}`, () => {
    assertAosError(() => read(type, jsonText), "AOS_TYPE_MISMATCH", path);
  });
}

Deno.test("valueFromJson() explains a mismatch with the path and the expected type", () => {
  const error = assertAosError(
    () => read({ record: { count: { nat: {} } } }, '{"count":"x"}'),
    "AOS_TYPE_MISMATCH",
    "$.count",
  );
  strictEqual(
    error.message,
    'Value at $.count does not match nat: expected an unsigned integer or a decimal string, got the string "x"',
  );
});

Deno.test("valueFromJson() reads options as null, absent, {null:{}} or the value", () => {
  const type: TypeExpr = { record: { a: { option: { nat: {} } }, b: { nat: {} } } };
  const none: Value = { kind: "none" };
  deepStrictEqual(read(type, '{"b":1}'), record({ a: none, b: nat(1n) }));
  deepStrictEqual(read(type, '{"a":null,"b":1}'), record({ a: none, b: nat(1n) }));
  deepStrictEqual(read(type, '{"a":{"null":{}},"b":1}'), record({ a: none, b: nat(1n) }));
  deepStrictEqual(read(type, '{"a":7,"b":1}'), record({ a: nat(7n), b: nat(1n) }));
  deepStrictEqual(read(type, '{"a":{"nat":7},"b":1}'), record({ a: nat(7n), b: nat(1n) }));
});

Deno.test("valueFromJson() reads variants as {Tag: payload}", () => {
  same(read({ ref: "test/Command@1" }, '{"Reset":null}'), variant("Reset", { kind: "unit" }));
  same(read({ ref: "test/Command@1" }, '{"Add":5}'), variant("Add", nat(5n)));
  same(read({ ref: "test/Command@1" }, '{"variant":{"tag":"Reset"}}'), variant("Reset", { kind: "unit" }));
  same(
    read({ ref: "test/Command@1" }, '{"variant":{"tag":"Add","value":{"nat":5}}}'),
    variant("Add", nat(5n)),
  );
});

Deno.test("valueFromJson() reads maps as objects or [k, v] pairs, sorted by canonical key", () => {
  const byText: TypeExpr = { map: { key: { text: {} }, value: { nat: {} } } };
  deepStrictEqual(read(byText, '{"bb":1,"a":2}'), {
    kind: "map",
    value: [[text("a"), nat(2n)], [text("bb"), nat(1n)]],
  });
  deepStrictEqual(read(byText, '[["bb",1],["a",2]]'), read(byText, '{"a":2,"bb":1}'));
  deepStrictEqual(read(byText, '{"map":[{"key":"a","value":2}]}'), {
    kind: "map",
    value: [[text("a"), nat(2n)]],
  });
  const byInt: TypeExpr = { map: { key: { int: {} }, value: { bool: {} } } };
  const yes: Value = { kind: "bool", value: true };
  deepStrictEqual(read(byInt, "[[-1,true],[10,true],[1,true]]"), {
    kind: "map",
    value: [[int(1n), yes], [int(10n), yes], [int(-1n), yes]],
  });
  deepStrictEqual(
    read(byInt, '{"10":true,"-1":true,"1":true}'),
    read(byInt, "[[-1,true],[10,true],[1,true]]"),
  );
});

Deno.test("valueFromJson() deduplicates and sorts sets", () => {
  deepStrictEqual(read({ set: { nat: {} } }, "[3,1,3,24]"), {
    kind: "set",
    value: [nat(1n), nat(3n), nat(24n)],
  });
  deepStrictEqual(read({ set: { text: {} } }, '["bb","c","a","c"]'), {
    kind: "set",
    value: [text("a"), text("c"), text("bb")],
  });
});

Deno.test("valueFromJson() decides by the expected type before looking for a tagged form", () => {
  // A record whose only field is named like a tagged key reads plain.
  same(read({ record: { text: { text: {} } } }, '{"text":"x"}'), record({ text: text("x") }));
  same(read({ text: {} }, '{"text":"x"}'), text("x"));
  same(read({ record: { record: { nat: {} } } }, '{"record":1}'), record({ record: nat(1n) }));
  // No field named "record": the object can only be the tagged form.
  same(read({ record: { count: { nat: {} } } }, '{"record":{"count":3}}'), record({ count: nat(3n) }));
  // Plain reading fails, tagged reading succeeds.
  same(
    read({ record: { record: { nat: {} } } }, '{"record":{"record":{"nat":1}}}'),
    record({ record: nat(1n) }),
  );
  // A variant with a tag named "variant" reads plain.
  same(read({ variant: { variant: { nat: {} } } }, '{"variant":1}'), variant("variant", nat(1n)));
  // option<record{null: nat}>: {"null":{}} cannot be that record, so it is none.
  deepStrictEqual(read({ option: { record: { null: { nat: {} } } } }, '{"null":{}}'), { kind: "none" });
  // option<record{null: record{}}>: the plain reading is possible and wins.
  same(read({ option: { record: { null: { record: {} } } } }, '{"null":{}}'), record({ null: record({}) }));
});

Deno.test("valueFromJson() lets the plain reading win when both readings succeed, unless form is tagged", () => {
  const type: TypeExpr = { map: { key: { text: {} }, value: { list: { nat: {} } } } };
  const json = parseJson('{"map":[]}');
  deepStrictEqual(valueFromJson(type, json, schemas), {
    kind: "map",
    value: [[text("map"), { kind: "list", value: [] }]],
  });
  deepStrictEqual(valueFromJson(type, json, schemas, [], { form: "tagged" }), { kind: "map", value: [] });
});

Deno.test("valueFromJson() with form plain or tagged accepts only that form", () => {
  assertAosError(
    () => valueFromJson({ nat: {} }, parseJson('{"nat":5}'), schemas, [], { form: "plain" }),
    "AOS_TYPE_MISMATCH",
    "$",
  );
  assertAosError(
    () => valueFromJson({ nat: {} }, 5n, schemas, [], { form: "tagged" }),
    "AOS_TYPE_MISMATCH",
    "$",
  );
  assertAosError(
    () =>
      valueFromJson({ ref: "test/Event@1" }, parseJson('{"record":{"by":2}}'), schemas, ["event"], {
        form: "tagged",
      }),
    "AOS_TYPE_MISMATCH",
    "$.event.record.by",
  );
  same(
    valueFromJson({ ref: "test/Event@1" }, parseJson('{"record":{"by":{"nat":2}}}'), schemas, [], {
      form: "tagged",
    }),
    record({ by: nat(2n) }),
  );
});

Deno.test("valueToPlainJson() writes the plain form", () => {
  const type: TypeExpr = {
    record: {
      a: { option: { nat: {} } },
      b: { bytes: {} },
      c: { ref: "test/Command@1" },
      d: { dec128: {} },
      h: { hash: {} },
      m: { map: { key: { int: {} }, value: { text: {} } } },
      s: { set: { nat: {} } },
      t: { map: { key: { text: {} }, value: { nat: {} } } },
      u: { uuid: {} },
    },
  };
  const value = record({
    a: { kind: "none" },
    b: { kind: "bytes", value: new Uint8Array([0, 1]) },
    c: variant("Reset", { kind: "unit" }),
    d: { kind: "dec128", value: "1.50" },
    h: { kind: "hash", value: new Uint8Array(32) },
    m: { kind: "map", value: [[int(-1n), text("x")], [int(2n), text("y")]] },
    s: { kind: "set", value: [nat(2n), nat(1n), nat(2n)] },
    t: { kind: "map", value: [[text("z"), nat(1n)], [text("a"), nat(2n)]] },
    u: { kind: "uuid", value: new Uint8Array(16).fill(0xab) },
  });
  const json = valueToPlainJson(type, value, schemas);
  strictEqual(
    stringifyJson(json),
    `{"b":"AAE=","c":{"Reset":null},"d":"1.5","h":"sha256:${"00".repeat(32)}","m":[[2,"y"],[-1,"x"]],` +
      `"s":[1,2],"t":{"a":2,"z":1},"u":"abababab-abab-abab-abab-abababababab"}`,
  );
  same(valueFromJson(type, json, schemas), value);
});

Deno.test("valueToPlainJson() validates the value against the type", () => {
  assertAosError(
    () => valueToPlainJson({ ref: "test/Event@1" }, record({ by: int(1n) }), schemas),
    "AOS_TYPE_MISMATCH",
    "$.by",
  );
  const out: JsonValue = valueToPlainJson({ option: { nat: {} } }, { kind: "none" }, schemas);
  strictEqual(out, null);
});
