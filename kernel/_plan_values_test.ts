import assert from "node:assert/strict";
import {
  type CborValue,
  Dec128Item,
  dec128ToBits,
  decodeCanonical,
  encodeCanonical,
  parseDec128,
  type Value,
} from "../air/mod.ts";
import { valueFromTaggedCbor, valueToTaggedCbor } from "./_plan_values.ts";
import { hasCode } from "./_test_fixtures.ts";

const rec = (fields: Record<string, Value>): Value => ({
  kind: "record",
  value: new Map(Object.entries(fields)),
});
const nat = (value: bigint): Value => ({ kind: "nat", value });
const text = (value: string): Value => ({ kind: "text", value });

/** Encodes, decodes the bytes as a snapshot would, and reads the value back. */
function roundTrip(value: Value): { item: CborValue; back: Value } {
  const item = valueToTaggedCbor(value);
  const bytes = encodeCanonical(item);
  const back = valueFromTaggedCbor(decodeCanonical(bytes));
  assert.deepEqual(
    encodeCanonical(valueToTaggedCbor(back)),
    bytes,
    "decode then encode gives the same bytes",
  );
  return { item, back };
}

Deno.test("valueToTaggedCbor() writes the tagged shapes of AIR §3 with bstr payloads and tag-2000 dec128", () => {
  const hash = new Uint8Array(32).fill(7);
  const value = rec({
    b: { kind: "bool", value: true },
    i: { kind: "int", value: -5n },
    t: { kind: "time", value: 17n },
    d: { kind: "duration", value: -3n },
    m: { kind: "dec128", value: "0.2" },
    y: { kind: "bytes", value: new Uint8Array([0, 1]) },
    h: { kind: "hash", value: hash },
    u: { kind: "uuid", value: new Uint8Array(16) },
    l: { kind: "list", value: [nat(2n), nat(1n)] },
    s: { kind: "set", value: [text("a"), text("b")] },
    p: { kind: "map", value: [[text("k"), nat(1n)]] },
  });
  assert.deepEqual(valueToTaggedCbor(value), {
    record: {
      b: { bool: true },
      d: { duration_ns: -3n },
      h: { hash },
      i: { int: -5n },
      l: { list: [{ nat: 2n }, { nat: 1n }] },
      m: { dec128: new Dec128Item(dec128ToBits(parseDec128("0.2"))) },
      p: { map: [{ key: { text: "k" }, value: { nat: 1n } }] },
      s: { set: [{ text: "a" }, { text: "b" }] },
      t: { time_ns: 17n },
      u: { uuid: new Uint8Array(16) },
      y: { bytes_b64: new Uint8Array([0, 1]) },
    },
  });
  assert.deepEqual(roundTrip(value).back, value);
});

Deno.test("valueToTaggedCbor() keeps unit apart from none and keeps none record fields (lossless for Expr)", () => {
  const value = rec({ body_ref: { kind: "none" }, done: { kind: "unit" } });
  const { item, back } = roundTrip(value);
  assert.deepEqual(item, { record: { done: { unit: {} }, body_ref: { null: {} } } });
  assert.deepEqual(back, value);
});

Deno.test("valueToTaggedCbor() writes a {$tag, $value} record as a variant, omitting a unit payload", () => {
  const variant = (tag: string, payload: Value): Value => ({
    kind: "record",
    value: new Map<string, Value>([["$tag", text(tag)], ["$value", payload]]),
  });
  assert.deepEqual(roundTrip(variant("Reset", { kind: "unit" })).item, { variant: { tag: "Reset" } });
  const some = variant("Add", nat(3n));
  const { item, back } = roundTrip(some);
  assert.deepEqual(item, { variant: { tag: "Add", value: { nat: 3n } } });
  assert.deepEqual(back, some);
});

Deno.test("valueFromTaggedCbor() rejects malformed items as AOS_JOURNAL_CORRUPT", () => {
  for (
    const item of [{ nat: "1" }, { hash: new Uint8Array(31) }, { nat: 1, int: 1 }, { float: 1 }, {
      null: null,
    }]
  ) {
    assert.throws(
      () => valueFromTaggedCbor(item as CborValue),
      hasCode("AOS_JOURNAL_CORRUPT"),
      JSON.stringify(item),
    );
  }
});

Deno.test("valueToTaggedCbor() keeps a record field named __proto__ as data", () => {
  const value: Value = { kind: "record", value: new Map([["__proto__", nat(1n)], ["a", text("x")]]) };
  const { item, back } = roundTrip(value);
  const fields = (item as { record: { [key: string]: CborValue } }).record;
  assert.deepEqual(Object.keys(fields), ["a", "__proto__"]);
  assert.equal(Object.getPrototypeOf(fields), Object.prototype);
  assert.deepEqual(back, value);
});
