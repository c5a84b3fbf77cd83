import assert from "node:assert/strict";
import { type DefModule, type DefSchema, encodeCanonical, SchemaIndex, toHex } from "../air/mod.ts";
import { cellKeyFor, cellKeyForReference, type CellKeyResult, keyTypeOf } from "./cell_keys.ts";

const SCHEMAS = new SchemaIndex(
  ([
    ["test/OrderId@1", { text: {} }],
    ["test/Tags@1", { set: { text: {} } }],
    ["test/Order@1", { record: { order_id: { text: {} }, qty: { nat: {} } } }],
    ["test/Tagged@1", { record: { tags: { list: { text: {} } } } }],
    ["test/MaybeOrder@1", { record: { order_id: { option: { text: {} } }, qty: { nat: {} } } }],
    ["test/Count@1", { nat: {} }],
  ] as const).map(([name, type]): DefSchema => ({ $kind: "defschema", name, type }) as DefSchema),
);

function module(keySchema?: string): DefModule {
  return {
    $kind: "defmodule",
    name: "test/Orders@1",
    module_kind: "reducer",
    wasm_hash: `sha256:${"00".repeat(32)}`,
    ...(keySchema === undefined ? {} : { key_schema: keySchema }),
    abi: { reducer: { state: "test/Count@1", event: "test/Order@1" } },
  };
}

const KEYED = module("test/OrderId@1");
const FIELD_TYPED = module();

const ORDER = encodeCanonical({ order_id: "o-1", qty: 2 });
const O1 = encodeCanonical("o-1"); // 636f2d31
const O2 = encodeCanonical("o-2");

function ok(result: CellKeyResult): string {
  assert.ok(result.ok, `expected a key, got ${JSON.stringify(result)}`);
  return toHex(result.key);
}

function failed(result: CellKeyResult): string {
  assert.ok(!result.ok, "expected no key");
  return result.code;
}

Deno.test("keyTypeOf() is the module's key_schema when it has one, else the event field's type", () => {
  assert.deepEqual(keyTypeOf(KEYED, "test/Order@1", "order_id", SCHEMAS), { ref: "test/OrderId@1" });
  assert.deepEqual(keyTypeOf(FIELD_TYPED, "test/Order@1", "order_id", SCHEMAS), { text: {} });
  assert.deepEqual(keyTypeOf(FIELD_TYPED, "test/Order@1", "qty", SCHEMAS), { nat: {} });
  assert.equal(keyTypeOf(FIELD_TYPED, "test/Order@1", "nope", SCHEMAS), undefined);
  assert.equal(keyTypeOf(FIELD_TYPED, "test/Count@1", "order_id", SCHEMAS), undefined);
});

Deno.test("cellKeyFor() encodes the key field with key_schema or, without one, with the field's type", () => {
  assert.equal(
    ok(cellKeyFor("order_id", KEYED, { schema: "test/Order@1", value: ORDER }, SCHEMAS)),
    "636f2d31",
  );
  assert.equal(
    ok(cellKeyFor("order_id", FIELD_TYPED, { schema: "test/Order@1", value: ORDER }, SCHEMAS)),
    "636f2d31",
  );
  assert.equal(ok(cellKeyFor("qty", FIELD_TYPED, { schema: "test/Order@1", value: ORDER }, SCHEMAS)), "02");
});

Deno.test("cellKeyFor() encodes with key_schema, not the field's own type: a field not of it is bad_key", () => {
  // Validation rejects such a route (AIR_KEY_FIELD); the kernel still never falls back to the field type.
  const event = { schema: "test/Order@1", value: ORDER };
  assert.equal(failed(cellKeyFor("qty", KEYED, event, SCHEMAS)), "bad_key");
  assert.equal(ok(cellKeyFor("qty", FIELD_TYPED, event, SCHEMAS)), "02");
  const tagged = { schema: "test/Tagged@1", value: encodeCanonical({ tags: ["a", "b"] }) };
  assert.equal(failed(cellKeyFor("tags", module("test/Tags@1"), tagged, SCHEMAS)), "bad_key");
  assert.equal(ok(cellKeyFor("tags", FIELD_TYPED, tagged, SCHEMAS)), toHex(encodeCanonical(["a", "b"])));
});

Deno.test("cellKeyFor() accepts an explicit key equal to the field's key", () => {
  const event = { schema: "test/Order@1", value: ORDER, key: O1 };
  assert.equal(ok(cellKeyFor("order_id", KEYED, event, SCHEMAS)), "636f2d31");
  assert.equal(ok(cellKeyFor("order_id", FIELD_TYPED, event, SCHEMAS)), "636f2d31");
});

Deno.test("cellKeyFor() rejects an explicit key that differs from the field's key with bad_key", () => {
  const event = { schema: "test/Order@1", value: ORDER, key: O2 };
  assert.equal(failed(cellKeyFor("order_id", KEYED, event, SCHEMAS)), "bad_key");
  assert.equal(failed(cellKeyFor("order_id", FIELD_TYPED, event, SCHEMAS)), "bad_key");
  // The same value in another encoding (a text key for a nat field) is a different key.
  const qty = { schema: "test/Order@1", value: ORDER, key: encodeCanonical("2") };
  assert.equal(failed(cellKeyFor("qty", FIELD_TYPED, qty, SCHEMAS)), "bad_key");
});

Deno.test("cellKeyFor() uses the explicit key when the event has no key field value", () => {
  const value = encodeCanonical({ qty: 2 }); // order_id absent: none
  const event = { schema: "test/MaybeOrder@1", value, key: O2 };
  assert.equal(ok(cellKeyFor("order_id", KEYED, event, SCHEMAS)), toHex(O2));
  assert.equal(ok(cellKeyFor("order_id", FIELD_TYPED, event, SCHEMAS)), toHex(O2));
  // A non-record event has no field at all: only the explicit key can name the cell.
  const count = { schema: "test/Count@1", value: encodeCanonical(3), key: O1 };
  assert.equal(ok(cellKeyFor("order_id", KEYED, count, SCHEMAS)), toHex(O1));
});

Deno.test("cellKeyFor() rejects an explicit key that is not of the key type with bad_key", () => {
  const value = encodeCanonical({ qty: 2 });
  for (const key of [encodeCanonical(5), Uint8Array.of(0xff), Uint8Array.of(0x63, 0x6f)]) {
    const event = { schema: "test/MaybeOrder@1", value, key };
    assert.equal(failed(cellKeyFor("order_id", KEYED, event, SCHEMAS)), "bad_key", toHex(key));
  }
});

Deno.test("cellKeyFor() without a field value and without an explicit key is missing_key", () => {
  const value = encodeCanonical({ qty: 2 });
  assert.equal(
    failed(cellKeyFor("order_id", KEYED, { schema: "test/MaybeOrder@1", value }, SCHEMAS)),
    "missing_key",
  );
  assert.equal(
    failed(cellKeyFor("order_id", FIELD_TYPED, { schema: "test/MaybeOrder@1", value }, SCHEMAS)),
    "missing_key",
  );
  assert.equal(
    failed(cellKeyFor("order_id", KEYED, { schema: "test/Count@1", value: encodeCanonical(3) }, SCHEMAS)),
    "missing_key",
  );
});

Deno.test("cellKeyFor() with no key type (no key_schema, no such field) is missing_key", () => {
  const event = { schema: "test/Order@1", value: ORDER, key: O1 };
  assert.equal(failed(cellKeyFor("nope", FIELD_TYPED, event, SCHEMAS)), "missing_key");
});

Deno.test("cellKeyFor() of an event value that does not decode with its schema is bad_key", () => {
  const event = { schema: "test/Order@1", value: encodeCanonical({ order_id: 1, qty: 2 }) };
  assert.equal(failed(cellKeyFor("order_id", KEYED, event, SCHEMAS)), "bad_key");
});

Deno.test("cellKeyFor() decides as cellKeyForReference() for scalar keys of every kind, valid values or not", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  const kinds = ["text", "nat", "int", "time", "duration", "bytes", "hash", "uuid", "bool"] as const;
  const schemas = new SchemaIndex([
    ...kinds.map((kind) => ({ $kind: "defschema", name: `test/K${kind}@1`, type: { [kind]: {} } })),
    ...kinds.map((kind) => ({
      $kind: "defschema",
      name: `test/E${kind}@1`,
      type: { record: { k: { [kind]: {} }, n: { nat: {} }, o: { option: { text: {} } } } },
    })),
  ] as unknown as DefSchema[]);
  const item = fc.oneof(
    fc.string({ maxLength: 4 }),
    fc.nat(),
    fc.integer({ min: -1_000, max: -1 }),
    fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
    fc.uint8Array({ maxLength: 33 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.record({ k: item, n: fc.oneof(fc.nat(), item), o: item, x: item }, {
    requiredKeys: ["n"],
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...kinds),
      fc.constantFrom(...kinds),
      fc.boolean(),
      value,
      fc.option(fc.oneof(item.map((i) => encodeCanonical(i)), fc.uint8Array({ maxLength: 3 })), {
        nil: undefined,
      }),
      (eventKind, keyKind, withKeySchema, v, key) => {
        const m = module(withKeySchema ? `test/K${keyKind}@1` : undefined);
        const event = {
          schema: `test/E${eventKind}@1`,
          value: encodeCanonical(v),
          ...(key === undefined ? {} : { key }),
        };
        assert.deepEqual(cellKeyFor("k", m, event, schemas), cellKeyForReference("k", m, event, schemas));
      },
    ),
    { numRuns: 3_000 },
  );
});
