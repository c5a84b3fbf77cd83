import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { assertAosError } from "../_testing/mod.ts";
import { bytesToHashRef, encodeCanonical, sha256, toHex } from "../cbor/mod.ts";
import { expandType, schemaHash, valueHash } from "./schema_hash.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";

const registry = new Map<string, TypeExpr>([
  ["test/Count@1", { nat: {} }],
  ["other/Tally@7", { nat: {} }],
  ["test/Counter@1", { record: { count: { ref: "test/Count@1" } } }],
  ["test/A@1", { list: { ref: "test/B@1" } }],
  ["test/B@1", { option: { ref: "test/A@1" } }],
]);
const schemas: SchemaResolver = { resolve: (name) => registry.get(name) };

Deno.test("schemaHash() matches the AIR §5.2 vector", () => {
  const type: TypeExpr = { record: { count: { nat: {} } } };
  strictEqual(
    toHex(encodeCanonical({ record: { count: { nat: {} } } })),
    "a1667265636f7264a165636f756e74a1636e6174a0",
  );
  strictEqual(
    bytesToHashRef(schemaHash(type, schemas)),
    "sha256:e67190b6424212e6ca9ee676cc9404932a715773c6ec34f329b36e0ac2b5730d",
  );
});

Deno.test("schemaHash() expands refs, so names do not matter", () => {
  const expected = "sha256:e67190b6424212e6ca9ee676cc9404932a715773c6ec34f329b36e0ac2b5730d";
  strictEqual(bytesToHashRef(schemaHash({ ref: "test/Counter@1" }, schemas)), expected);
  strictEqual(bytesToHashRef(schemaHash({ record: { count: { ref: "other/Tally@7" } } }, schemas)), expected);
});

Deno.test("schemaHash() ignores the written order of record fields", () => {
  const a = schemaHash({ record: { b: { text: {} }, a: { nat: {} } } }, schemas);
  const b = schemaHash({ record: { a: { nat: {} }, b: { text: {} } } }, schemas);
  strictEqual(toHex(a), toHex(b));
  const c = schemaHash({ record: { a: { int: {} }, b: { text: {} } } }, schemas);
  strictEqual(toHex(a) === toHex(c), false);
});

Deno.test("expandType() replaces every ref recursively", () => {
  deepStrictEqual(
    expandType(
      { map: { key: { ref: "test/Count@1" }, value: { list: { ref: "test/Counter@1" } } } },
      schemas,
    ),
    { map: { key: { nat: {} }, value: { list: { record: { count: { nat: {} } } } } } },
  );
});

Deno.test("expandType() rejects a ref cycle with AOS_AIR_INVALID", () => {
  const error = assertAosError(
    () => expandType({ ref: "test/A@1" }, schemas),
    "AOS_AIR_INVALID",
    "$.list.option",
  );
  strictEqual(error.message.includes('"test/A@1" -> "test/B@1" -> "test/A@1"'), true, error.message);
});

Deno.test("expandType() rejects unknown refs and malformed types", () => {
  assertAosError(
    () => expandType({ list: { ref: "test/Missing@1" } }, schemas),
    "AOS_SCHEMA_UNKNOWN",
    "$.list",
  );
  assertAosError(() => expandType({ nat: { x: 1 } } as unknown as TypeExpr, schemas), "AOS_AIR_INVALID", "$");
  assertAosError(
    () => expandType({ nat: {}, int: {} } as unknown as TypeExpr, schemas),
    "AOS_AIR_INVALID",
    "$",
  );
  assertAosError(() => expandType({ float: {} } as unknown as TypeExpr, schemas), "AOS_AIR_INVALID", "$");
  assertAosError(
    () => expandType({ map: { key: { nat: {} } } } as unknown as TypeExpr, schemas),
    "AOS_AIR_INVALID",
    "$.map",
  );
});

Deno.test("expandType() bounds nesting depth", () => {
  let type: TypeExpr = { nat: {} };
  for (let i = 0; i < 100; i++) type = { list: type };
  assertAosError(() => expandType(type, schemas), "AOS_AIR_INVALID");
});

Deno.test("valueHash() is SHA-256 of [schema hash, value item] and binds the schema", () => {
  const natHash = valueHash({ nat: {} }, { kind: "nat", value: 3n }, schemas);
  const expected = sha256(encodeCanonical([schemaHash({ nat: {} }, schemas), 3]));
  strictEqual(toHex(natHash), toHex(expected));
  strictEqual(toHex(encodeCanonical([schemaHash({ nat: {} }, schemas), 3])).slice(0, 6), "825820");
  const intHash = valueHash({ int: {} }, { kind: "int", value: 3n }, schemas);
  strictEqual(toHex(natHash) === toHex(intHash), false);
});
