/**
 * Property tests across the typed codecs: for arbitrary (type, value) pairs, typed CBOR, plain JSON and
 * tagged JSON all round-trip to an equal value and to the same canonical bytes.
 */
import { strictEqual } from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { damaged, DAMAGES } from "./_test_values.ts";
import { AosError, parseJson, stringifyJson } from "../base/mod.ts";
import { type CborValue, decodeCanonical, encodeCanonical, toHex } from "../cbor/mod.ts";
import { formatDec128, parseDec128 } from "./dec128.ts";
import { valueFromTaggedJson, valueToTaggedJson } from "./tagged_json.ts";
import { viewType } from "./type_view.ts";
import {
  checkTyped,
  decodeTyped,
  encodeTyped,
  validateTypedBytes,
  valueFromCbor,
  valueToCbor,
} from "./typed_codec.ts";
import { valueFromBytes } from "./_byte_walk.ts";
import { typedBytes } from "./_typed_write.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";
import type { Value } from "./value.ts";
import { valueEquals } from "./value_equal.ts";
import { valueFromJson, valueToPlainJson } from "./value_json.ts";

const registry = new Map<string, TypeExpr>([
  ["test/Count@1", { nat: {} }],
  ["test/Event@1", { record: { by: { nat: {} }, note: { option: { text: {} } } } }],
  ["test/Command@1", { variant: { Reset: { unit: {} }, Add: { ref: "test/Count@1" } } }],
]);
const schemas: SchemaResolver = { resolve: (name) => registry.get(name) };

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

const primitives: TypeExpr[] = [
  { bool: {} },
  { int: {} },
  { nat: {} },
  { dec128: {} },
  { bytes: {} },
  { text: {} },
  { time: {} },
  { duration: {} },
  { hash: {} },
  { uuid: {} },
  { unit: {} },
  { ref: "test/Count@1" },
  { ref: "test/Event@1" },
  { ref: "test/Command@1" },
];
const comparable = fc.constantFrom<TypeExpr>({ int: {} }, { nat: {} }, { text: {} }, { uuid: {} }, {
  hash: {},
}, {
  ref: "test/Count@1",
});
// Names include tagged-form keys ("record", "nat", "null", …) to exercise the plain-first reading.
const fieldName = fc.constantFrom("a", "by", "x_1", "__proto__", "\u00fcber", "record", "nat", "null", "map");
const tagName = fc.constantFrom("A", "Reset", "Add", "variant", "text", "null");

const typeArbitrary: fc.Arbitrary<TypeExpr> = fc.letrec<{ type: TypeExpr }>((tie) => ({
  type: fc.oneof(
    { maxDepth: 3, depthIdentifier: "type" },
    fc.constantFrom(...primitives),
    fc.dictionary(fieldName, tie("type"), { maxKeys: 4 }).map((record): TypeExpr => ({ record })),
    fc.dictionary(tagName, tie("type"), { minKeys: 1, maxKeys: 3 }).map((variant): TypeExpr => ({ variant })),
    tie("type").map((list): TypeExpr => ({ list })),
    comparable.map((set): TypeExpr => ({ set })),
    fc.tuple(comparable, tie("type")).map(([key, value]): TypeExpr => ({ map: { key, value } })),
    tie("type")
      .filter((inner) => !["option", "unit"].includes(viewType(inner, schemas).kind))
      .map((option): TypeExpr => ({ option })),
  ),
})).type;

const dec128Text = fc.oneof(
  fc.tuple(fc.bigInt(-100000n, 100000n), fc.integer({ min: -8, max: 8 })),
  fc.tuple(fc.bigInt(-(10n ** 34n - 1n), 10n ** 34n - 1n), fc.integer({ min: -6176, max: 6111 })),
).map(([coefficient, exponent]) => formatDec128(parseDec128(`${coefficient}E${exponent}`)));

function valueArbitrary(type: TypeExpr): fc.Arbitrary<Value> {
  const view = viewType(type, schemas);
  switch (view.kind) {
    case "bool":
      return fc.boolean().map((value): Value => ({ kind: "bool", value }));
    case "int":
    case "duration": {
      const kind = view.kind;
      return fc.oneof(fc.bigInt(-1000n, 1000n), fc.bigInt(I64_MIN, I64_MAX)).map((value): Value => ({
        kind,
        value,
      }));
    }
    case "nat":
    case "time": {
      const kind = view.kind;
      return fc.oneof(fc.bigInt(0n, 1000n), fc.bigInt(0n, U64_MAX)).map((value): Value => ({ kind, value }));
    }
    case "dec128":
      return dec128Text.map((value): Value => ({ kind: "dec128", value }));
    case "bytes":
      return fc.uint8Array({ maxLength: 20 }).map((value): Value => ({ kind: "bytes", value }));
    case "hash":
    case "uuid": {
      const kind = view.kind;
      const size = kind === "hash" ? 32 : 16;
      return fc.uint8Array({ minLength: size, maxLength: size }).map((value): Value => ({ kind, value }));
    }
    case "text":
      return fc.oneof(fc.string(), fc.string({ unit: "binary" })).map((value): Value => ({
        kind: "text",
        value,
      }));
    case "unit":
      return fc.constant<Value>({ kind: "unit" });
    case "option":
      return fc.oneof(fc.constant<Value>({ kind: "none" }), valueArbitrary(view.item));
    case "list":
    case "set": {
      const kind = view.kind;
      return fc.array(valueArbitrary(view.item), { maxLength: 4 }).map((value): Value => ({ kind, value }));
    }
    case "map": {
      const keyType = view.key;
      return fc.uniqueArray(fc.tuple(valueArbitrary(keyType), valueArbitrary(view.value)), {
        maxLength: 3,
        selector: ([k]) => toHex(encodeTyped(keyType, k, schemas)),
      }).map((value): Value => ({ kind: "map", value }));
    }
    case "record": {
      const names = Object.keys(view.fields);
      return fc.tuple(...names.map((name) => valueArbitrary(view.fields[name]!))).map((fields): Value => ({
        kind: "record",
        value: new Map(names.map((name, i) => [name, fields[i]!])),
      }));
    }
    case "variant": {
      const tags = view.tags;
      return fc.constantFrom(...Object.keys(tags)).chain((tag) =>
        valueArbitrary(tags[tag]!).map((payload): Value => ({
          kind: "record",
          value: new Map<string, Value>([["$tag", { kind: "text", value: tag }], ["$value", payload]]),
        }))
      );
    }
  }
}

const typedValue = typeArbitrary.chain((type) => valueArbitrary(type).map((value) => ({ type, value })));
const runs = { numRuns: 400 };

function show(value: unknown): string {
  return Deno.inspect(value, { depth: 10 });
}

Deno.test("decodeTyped(encodeTyped(v)) equals v and re-encodes to the same bytes (property)", () => {
  fc.assert(
    fc.property(typedValue, ({ type, value }) => {
      const bytes = encodeTyped(type, value, schemas);
      const decoded = decodeTyped(type, bytes, schemas);
      strictEqual(valueEquals(decoded, value), true, `${show(decoded)} != ${show(value)}`);
      strictEqual(toHex(encodeTyped(type, decoded, schemas)), toHex(bytes));
      validateTypedBytes(type, bytes, schemas);
    }),
    runs,
  );
});

Deno.test("plain JSON text round-trips to an equal value with the same bytes (property)", () => {
  fc.assert(
    fc.property(typedValue, ({ type, value }) => {
      const text = stringifyJson(valueToPlainJson(type, value, schemas));
      const back = valueFromJson(type, parseJson(text), schemas);
      strictEqual(valueEquals(back, value), true, `${text}: ${show(back)} != ${show(value)}`);
      strictEqual(toHex(encodeTyped(type, back, schemas)), toHex(encodeTyped(type, value, schemas)));
    }),
    runs,
  );
});

Deno.test("tagged JSON text round-trips with and without the type (property)", () => {
  fc.assert(
    fc.property(typedValue, ({ type, value }) => {
      const text = stringifyJson(valueToTaggedJson(value));
      const untyped = valueFromTaggedJson(parseJson(text));
      strictEqual(valueEquals(untyped, value), true, `${text}: ${show(untyped)} != ${show(value)}`);
      const typed = valueFromJson(type, parseJson(text), schemas, [], { form: "tagged" });
      strictEqual(valueEquals(typed, value), true, `${text}: ${show(typed)} != ${show(value)}`);
      strictEqual(toHex(encodeTyped(type, typed, schemas)), toHex(encodeTyped(type, value, schemas)));
      strictEqual(stringifyJson(valueToTaggedJson(typed)), text);
    }),
    runs,
  );
});

/** What a call threw: its class and message, or "ok". */
function outcomeOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    return error instanceof AosError ? `${error.code}: ${error.message}` : `${String(error)}`;
  }
}

Deno.test("checkTyped() throws exactly what decodeTyped() throws, for values of the type and of others (property)", () => {
  fc.assert(
    fc.property(typedValue, typedValue, fc.boolean(), ({ type, value }, other, own) => {
      // Bytes of a value of the type itself (valid), or of an unrelated type (mostly invalid).
      const bytes = own ? encodeTyped(type, value, schemas) : encodeTyped(other.type, other.value, schemas);
      strictEqual(
        outcomeOf(() => checkTyped(type, bytes, schemas)),
        outcomeOf(() => decodeTyped(type, bytes, schemas)),
      );
    }),
    runs,
  );
});

/** Any canonical CBOR item of the shapes typed values take, near the edges of the types' ranges. */
const cborItem: fc.Arbitrary<CborValue> = fc.letrec<{ item: CborValue }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small" },
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom<CborValue>(
      -(2n ** 63n) - 1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
      2n ** 63n,
      2n ** 64n - 1n,
      -(2n ** 64n),
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ),
    fc.constantFrom<CborValue>(null, true, false, "a", "by", "$tag", "$value", "A", "Add"),
    fc.uint8Array({ maxLength: 33 }),
    fc.array(tie("item"), { maxLength: 3 }),
    fc.array(
      fc.tuple(
        fc.oneof(fieldName, tagName, fc.constantFrom<CborValue>("$tag", "$value", 1, -1)),
        tie("item"),
      ),
      {
        maxLength: 3,
      },
    ).map((entries) => new Map<CborValue, CborValue>(entries)),
  ),
})).item;

Deno.test("checkTyped() throws exactly what decodeTyped() throws, for any CBOR item against any type (property)", () => {
  fc.assert(
    fc.property(typeArbitrary, cborItem, (type, item) => {
      const bytes = encodeCanonical(item);
      strictEqual(
        outcomeOf(() => checkTyped(type, bytes, schemas)),
        outcomeOf(() => decodeTyped(type, bytes, schemas)),
      );
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("checkTyped() refuses what decodeTyped() refuses at the edges: a none field written as null, a stray key", () => {
  const type: TypeExpr = { record: { a: { option: { nat: {} } }, b: { text: {} } } };
  for (
    const item of [
      new Map<CborValue, CborValue>([["a", null], ["b", "x"]]),
      new Map<CborValue, CborValue>([["b", "x"], ["c", 1]]),
      new Map<CborValue, CborValue>([[1, 1], ["b", "x"]]),
      new Map<CborValue, CborValue>([["a", -1], ["b", "x"]]),
    ]
  ) {
    const bytes = encodeCanonical(item);
    const expected = outcomeOf(() => decodeTyped(type, bytes, schemas));
    strictEqual(expected === "ok", false);
    strictEqual(outcomeOf(() => checkTyped(type, bytes, schemas)), expected);
  }
  checkTyped(type, encodeCanonical(new Map<CborValue, CborValue>([["a", 2], ["b", "x"]])), schemas);
});

/** What the general decoder makes of `bytes`: the value shown in full (maps in order), or its error. */
function generalOutcome(type: TypeExpr, bytes: Uint8Array): string {
  try {
    return show(valueFromCbor(type, decodeCanonical(bytes, { useMaps: true }), schemas, [], 0, true));
  } catch (error) {
    if (error instanceof AosError) return `error ${error.code}`;
    throw error;
  }
}

Deno.test("valueFromBytes() gives what the general decoder gives, or leaves the bytes to it (property)", () => {
  let read = 0;
  const damage = fc.tuple(
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(...DAMAGES),
  );
  fc.assert(
    fc.property(
      typedValue,
      typedValue,
      fc.boolean(),
      damage,
      ({ type, value }, other, own, [at, byte, how]) => {
        const encoded = own
          ? encodeTyped(type, value, schemas)
          : encodeTyped(other.type, other.value, schemas);
        const bytes = damaged(encoded, at, byte, how);
        const fast = valueFromBytes(type, bytes, schemas);
        if (fast === undefined) return;
        read++;
        strictEqual(show(fast), generalOutcome(type, bytes));
      },
    ),
    { numRuns: 2_000 },
  );
  strictEqual(read > 250, true, `only ${read} of 2,000 read by the walk: the fast path was hardly taken`);
});

Deno.test("valueFromBytes() gives what the general decoder gives for any CBOR item against any type (property)", () => {
  fc.assert(
    fc.property(typeArbitrary, cborItem, (type, item) => {
      const bytes = encodeCanonical(item);
      const fast = valueFromBytes(type, bytes, schemas);
      if (fast !== undefined) strictEqual(show(fast), generalOutcome(type, bytes));
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("valueFromBytes() reads the edges of integers and text, and refuses non-shortest heads", () => {
  const cases: Array<[TypeExpr, CborValue]> = [
    [{ nat: {} }, 2n ** 64n - 1n],
    [{ nat: {} }, 2 ** 32],
    [{ time: {} }, 1_796_676_663_405_000_000n],
    [{ int: {} }, -(2n ** 63n)],
    [{ int: {} }, 2n ** 63n - 1n],
    [{ duration: {} }, -(2 ** 32) - 1],
    [{ text: {} }, "x".repeat(100)],
    [{ text: {} }, "\u00fcber \u{1f600}"],
    [{ text: {} }, "\ufeffkept"],
  ];
  for (const [type, item] of cases) {
    const bytes = encodeCanonical(item);
    const fast = valueFromBytes(type, bytes, schemas);
    strictEqual(fast === undefined ? "undefined" : show(fast), generalOutcome(type, bytes), show(item));
  }
  // Out of range, or longer heads than needed: left to the decoder, which refuses them.
  const refused: Array<[TypeExpr, number[]]> = [
    [{ int: {} }, [0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    [{ int: {} }, [0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    [{ nat: {} }, [0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]],
    [{ nat: {} }, [0x18, 0x05]],
    [{ text: {} }, [0x62, 0xc3, 0x28]],
    [{ map: { key: { text: {} }, value: { nat: {} } } }, [0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]],
    [{ set: { nat: {} } }, [0x82, 0x01, 0x01]],
  ];
  for (const [type, bytes] of refused) {
    const value = Uint8Array.from(bytes);
    strictEqual(valueFromBytes(type, value, schemas), undefined, show(bytes));
    strictEqual(generalOutcome(type, value).startsWith("error"), true, show(bytes));
  }
});

Deno.test("valueFromBytes() copies byte strings: the value outlives changes to the bytes read", () => {
  const type: TypeExpr = { record: { body: { option: { hash: {} } }, data: { bytes: {} } } };
  const bytes = encodeCanonical({ body: new Uint8Array(32).fill(7), data: Uint8Array.of(1, 2, 3) });
  const fast = valueFromBytes(type, bytes, schemas);
  const before = show(fast);
  strictEqual(before, generalOutcome(type, bytes));
  bytes.fill(0);
  strictEqual(show(fast), before);
});

/** What the general encoder makes of `value` as `type`: its bytes in hex, or its error. */
function generalEncoding(type: TypeExpr, value: Value): string {
  try {
    return toHex(encodeCanonical(valueToCbor(type, value, schemas)));
  } catch (error) {
    if (error instanceof AosError) return `error ${error.code}`;
    throw error;
  }
}

Deno.test("typedBytes() writes what the general encoder writes, or leaves the value to it (property)", () => {
  let written = 0;
  fc.assert(
    fc.property(typedValue, typedValue, fc.boolean(), ({ type, value }, other, own) => {
      // A value of the type (encodable), or of another type (mostly refused).
      const subject = own ? value : other.value;
      const fast = typedBytes(type, subject, schemas);
      if (fast === undefined) return;
      written++;
      strictEqual(toHex(fast), generalEncoding(type, subject));
    }),
    { numRuns: 2_000 },
  );
  strictEqual(written > 400, true, `only ${written} of 2,000 written by the fast path`);
});

Deno.test("typedBytes() leaves integers out of their type's range, and text with a lone surrogate, to the general encoder", () => {
  const cases: Array<[TypeExpr, Value]> = [
    [{ int: {} }, { kind: "int", value: 1n << 63n }],
    [{ duration: {} }, { kind: "duration", value: -(1n << 63n) - 1n }],
    [{ nat: {} }, { kind: "nat", value: -1n }],
    [{ time: {} }, { kind: "time", value: 1n << 64n }],
    [{ text: {} }, { kind: "text", value: "a\ud800" }],
  ];
  for (const [type, value] of cases) {
    strictEqual(typedBytes(type, value, schemas), undefined, show(value));
    strictEqual(generalEncoding(type, value).startsWith("error"), true, show(value));
  }
  // At the edges of the ranges, both write the same bytes.
  for (
    const [type, value] of [
      [{ int: {} }, { kind: "int", value: -(1n << 63n) }],
      [{ nat: {} }, { kind: "nat", value: (1n << 64n) - 1n }],
    ] as Array<[TypeExpr, Value]>
  ) {
    strictEqual(toHex(typedBytes(type, value, schemas)!), generalEncoding(type, value));
  }
});
