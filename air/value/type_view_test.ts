import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { assertAosError } from "../_testing/mod.ts";
import fc from "npm:fast-check@4.11.0";
import { type AosError, limits } from "../base/mod.ts";
import { compareBytes } from "../cbor/mod.ts";
import {
  checkIntegerRange,
  compareTextKeys,
  pathAt,
  typeMismatch,
  UNTRACKED_PATH,
  type ValuePath,
  viewType,
  withPathOnError,
} from "./type_view.ts";
import type { SchemaResolver, TypeExpr } from "./types.ts";

const registry = new Map<string, TypeExpr>([
  ["test/Id@1", { uuid: {} }],
  ["test/Alias@1", { ref: "test/Id@1" }],
  ["test/Self@1", { ref: "test/Self@1" }],
]);
const schemas: SchemaResolver = { resolve: (name) => registry.get(name) };

Deno.test("viewType() follows ref chains to the target type", () => {
  deepStrictEqual(viewType({ ref: "test/Alias@1" }, schemas), { kind: "uuid" });
  deepStrictEqual(viewType({ set: { ref: "test/Alias@1" } }, schemas), {
    kind: "set",
    item: { ref: "test/Alias@1" },
  });
});

Deno.test("viewType() rejects invalid option, set and map element types", () => {
  assertAosError(
    () => viewType({ option: { option: { nat: {} } } }, schemas, ["x"]),
    "AOS_AIR_INVALID",
    "$.x",
  );
  assertAosError(() => viewType({ option: { unit: {} } }, schemas), "AOS_AIR_INVALID", "$");
  assertAosError(() => viewType({ set: { dec128: {} } }, schemas), "AOS_AIR_INVALID", "$");
  assertAosError(
    () => viewType({ map: { key: { bool: {} }, value: { nat: {} } } }, schemas),
    "AOS_AIR_INVALID",
    "$",
  );
  deepStrictEqual(viewType({ map: { key: { ref: "test/Id@1" }, value: { nat: {} } } }, schemas).kind, "map");
});

Deno.test("viewType() reports unknown refs and ref loops", () => {
  assertAosError(
    () => viewType({ ref: "test/Missing@1" }, schemas, ["a", 1]),
    "AOS_SCHEMA_UNKNOWN",
    "$.a[1]",
  );
  assertAosError(() => viewType({ ref: "test/Self@1" }, schemas), "AOS_AIR_INVALID", "$");
  assertAosError(() => viewType({ nat: {} }, schemas, [], 65), "AOS_AIR_INVALID", "$");
});

Deno.test("compareTextKeys() orders like canonical CBOR: shorter UTF-8 first, then bytewise", () => {
  deepStrictEqual(["b", "aa", "a", "\u00e9", "B", "ab"].sort(compareTextKeys), [
    "B",
    "a",
    "b",
    "aa",
    "ab",
    "\u00e9",
  ]);
});

Deno.test("compareTextKeys() gives the sign of comparing the encoded keys, for any strings (surrogates too)", () => {
  const utf8 = new TextEncoder();
  const sign = (n: number) => Math.sign(n);
  const encoded = (a: string, b: string) => {
    const x = utf8.encode(a);
    const y = utf8.encode(b);
    return x.length !== y.length ? x.length - y.length : compareBytes(x, y);
  };
  // Units that pick every UTF-8 length and both sides of the surrogate block, lone and paired.
  const unit = fc.constantFrom(
    "a",
    "Z",
    "\u007f",
    "\u0080",
    "\u00e9",
    "\u07ff",
    "\u0800",
    "\ud7ff",
    "\ud83d",
    "\ude00",
    "\ue000",
    "\uffff",
  );
  const text = fc.array(unit, { maxLength: 6 }).map((units) => units.join(""));
  fc.assert(fc.property(text, text, (a, b) => sign(compareTextKeys(a, b)) === sign(encoded(a, b))), {
    numRuns: 5_000,
  });
});

Deno.test("checkIntegerRange() enforces u64 for nat/time and i64 for int/duration", () => {
  strictEqual(checkIntegerRange((1n << 64n) - 1n, "nat", []), (1n << 64n) - 1n);
  assertAosError(() => checkIntegerRange(1n << 64n, "time", []), "AOS_TYPE_MISMATCH", "$");
  assertAosError(() => checkIntegerRange(-1n, "nat", []), "AOS_TYPE_MISMATCH", "$");
  strictEqual(checkIntegerRange(-(1n << 63n), "duration", []), -(1n << 63n));
  assertAosError(() => checkIntegerRange(1n << 63n, "int", []), "AOS_TYPE_MISMATCH", "$");
});

Deno.test("viewType() answers by the resolver it is given and the nesting left, also for a type it has seen", () => {
  const type: TypeExpr = { ref: "x/T@1" };
  const asNat: SchemaResolver = { resolve: (name) => (name === "x/T@1" ? { nat: {} } : undefined) };
  const asRecord: SchemaResolver = {
    resolve: (name) => (name === "x/T@1" ? { record: { a: { text: {} } } } : undefined),
  };
  for (let round = 0; round < 2; round++) {
    strictEqual(viewType(type, asNat).kind, "nat");
    strictEqual(viewType(type, asRecord).kind, "record");
  }
  // Seen at depth 0, the ref still counts against the nesting limit deeper down.
  strictEqual(viewType(type, asNat).kind, "nat");
  throws(() => viewType(type, asNat, [], limits.nestingDepthMax), /nesting exceeds/);
  strictEqual(viewType({ nat: {} }, asNat, [], limits.nestingDepthMax).kind, "nat");
});

Deno.test("withPathOnError() walks untracked first, and again from the path only when it fails with an AosError", () => {
  const seen: ValuePath[] = [];
  const ok = withPathOnError(["root"], (path) => {
    seen.push(pathAt(path, "a", 1));
    return 7;
  });
  strictEqual(ok, 7);
  deepStrictEqual(seen, [UNTRACKED_PATH]);
  strictEqual(seen[0], UNTRACKED_PATH);
  const failing = (path: ValuePath): never => {
    throw typeMismatch(pathAt(path, "x", 2, "y"), "nat", "no");
  };
  throws(() => withPathOnError(["root"], failing), (error: AosError) => {
    strictEqual(error.context.path, "$.root.x[2].y");
    return true;
  });
  let runs = 0;
  throws(() =>
    withPathOnError([], () => {
      runs++;
      throw new TypeError("a bug");
    }), TypeError);
  strictEqual(runs, 1, "a bug is not run again");
});
