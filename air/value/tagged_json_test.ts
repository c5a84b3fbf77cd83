import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { assertAosError } from "../_testing/mod.ts";
import { parseJson, stringifyJson } from "../base/mod.ts";
import { nat, record, text } from "./_test_values.ts";
import { valueFromTaggedJson, valueToTaggedJson } from "./tagged_json.ts";
import type { Value } from "./value.ts";
import { valueEquals } from "./value_equal.ts";

const tagged = (value: Value) => stringifyJson(valueToTaggedJson(value));

Deno.test("valueToTaggedJson() writes the self-describing form of each scalar", () => {
  strictEqual(tagged(nat(400n)), '{"nat":400}');
  strictEqual(tagged({ kind: "int", value: -5n }), '{"int":-5}');
  strictEqual(tagged({ kind: "bool", value: true }), '{"bool":true}');
  strictEqual(tagged({ kind: "dec128", value: "0.20" }), '{"dec128":"0.2"}');
  strictEqual(tagged({ kind: "bytes", value: new Uint8Array([0, 1]) }), '{"bytes_b64":"AAE="}');
  strictEqual(tagged(text("x")), '{"text":"x"}');
  strictEqual(tagged({ kind: "time", value: 17000n }), '{"time_ns":17000}');
  strictEqual(tagged({ kind: "duration", value: 5n }), '{"duration_ns":5}');
  strictEqual(
    tagged({ kind: "hash", value: new Uint8Array(32).fill(1) }),
    `{"hash":"sha256:${"01".repeat(32)}"}`,
  );
  strictEqual(
    tagged({ kind: "uuid", value: new Uint8Array(16) }),
    '{"uuid":"00000000-0000-0000-0000-000000000000"}',
  );
  strictEqual(tagged({ kind: "unit" }), '{"null":{}}');
  strictEqual(tagged({ kind: "none" }), '{"null":{}}');
});

Deno.test("valueToTaggedJson() writes composites in canonical order", () => {
  strictEqual(tagged({ kind: "list", value: [nat(2n), nat(1n)] }), '{"list":[{"nat":2},{"nat":1}]}');
  strictEqual(
    tagged({ kind: "set", value: [text("bb"), text("c"), text("c")] }),
    '{"set":[{"text":"c"},{"text":"bb"}]}',
  );
  strictEqual(
    tagged({ kind: "map", value: [[nat(10n), text("a")], [nat(1n), text("b")]] }),
    '{"map":[{"key":{"nat":1},"value":{"text":"b"}},{"key":{"nat":10},"value":{"text":"a"}}]}',
  );
  strictEqual(
    tagged(record({ zz: nat(1n), a: { kind: "none" }, b: nat(2n) })),
    '{"record":{"b":{"nat":2},"zz":{"nat":1}}}',
  );
  strictEqual(
    tagged(record({ $tag: text("Reset"), $value: { kind: "unit" } })),
    '{"variant":{"tag":"Reset"}}',
  );
  strictEqual(
    tagged(record({ $tag: text("Add"), $value: nat(5n) })),
    '{"variant":{"tag":"Add","value":{"nat":5}}}',
  );
});

Deno.test("valueFromTaggedJson() reads every form back", () => {
  const value = record({
    l: { kind: "list", value: [{ kind: "bytes", value: new Uint8Array([0, 1]) }] },
    m: {
      kind: "map",
      value: [[{ kind: "uuid", value: new Uint8Array(16) }, { kind: "time", value: 17000n }]],
    },
    s: { kind: "set", value: [{ kind: "int", value: -1n }, { kind: "int", value: 3n }] },
    v: record({ $tag: text("Reset"), $value: { kind: "unit" } }),
    d: { kind: "dec128", value: "-1.5" },
    o: { kind: "none" },
  });
  const back = valueFromTaggedJson(parseJson(tagged(value)));
  strictEqual(valueEquals(back, value), true);
  deepStrictEqual(
    valueFromTaggedJson(parseJson('{"variant":{"tag":"Reset"}}')),
    record({ $tag: text("Reset"), $value: { kind: "unit" } }),
  );
  deepStrictEqual(valueFromTaggedJson(parseJson('{"null":{}}')), { kind: "none" });
  deepStrictEqual(valueFromTaggedJson(parseJson('{"nat":"400"}')), nat(400n));
});

Deno.test("valueFromTaggedJson() sorts and deduplicates sets", () => {
  deepStrictEqual(valueFromTaggedJson(parseJson('{"set":[{"nat":3},{"nat":1},{"nat":3}]}')), {
    kind: "set",
    value: [nat(1n), nat(3n)],
  });
});

const rejected: Array<[string, string, string]> = [
  ["a bare value", "5", "$"],
  ["an object with two keys", '{"nat":1,"int":2}', "$"],
  ["an unknown key", '{"float":1}', "$"],
  ["a nat out of range", '{"nat":-1}', "$.nat"],
  ["a nested bad payload", '{"record":{"by":{"nat":"x"}}}', "$.record.by.nat"],
  ["a null with content", '{"null":{"x":1}}', "$.null"],
  ["a map entry without value", '{"map":[{"key":{"nat":1}}]}', "$.map[0]"],
  [
    "duplicate map keys",
    '{"map":[{"key":{"nat":1},"value":{"nat":1}},{"key":{"nat":1},"value":{"nat":2}}]}',
    "$.map",
  ],
  ["a variant without a tag", '{"variant":{"value":{"nat":1}}}', "$.variant"],
  ["a variant with an extra key", '{"variant":{"tag":"A","x":1}}', "$.variant"],
  ["a list that is not an array", '{"list":{}}', "$.list"],
  ["plain JSON inside a list", '{"list":[1]}', "$.list[0]"],
];

for (const [what, jsonText, path] of rejected) {
  Deno.test(`valueFromTaggedJson() rejects ${what} at ${path}`, () => {
    assertAosError(() => valueFromTaggedJson(parseJson(jsonText)), "AOS_TYPE_MISMATCH", path);
  });
}
