import { deepStrictEqual, throws } from "node:assert/strict";
import { AosError } from "../base/mod.ts";
import type { TypeExpr, Value } from "../value/mod.ts";
import { I64_MAX, rec, tv, U64_MAX } from "./_testing.ts";
import { conformValue } from "./conform_value.ts";

const schemas = {
  resolve: (name: string): TypeExpr | undefined =>
    name === "demo/Result@1" ? { variant: { Ok: { nat: {} }, Reset: { unit: {} } } } : undefined,
};
const conform = (value: Value, type: TypeExpr) => conformValue(value, type, schemas);

function mismatchAt(path: string, run: () => unknown): void {
  throws(run, (e: unknown) => {
    deepStrictEqual([(e as AosError).code, (e as AosError).context.path], ["AOS_TYPE_MISMATCH", path]);
    return e instanceof AosError;
  });
}

Deno.test("conformValue() converts integers between int, nat, time and duration when in range", () => {
  deepStrictEqual(conform(tv({ int: 5 }), { nat: {} }), tv({ nat: 5 }));
  deepStrictEqual(conform(tv({ nat: 5 }), { time: {} }), tv({ time_ns: 5 }));
  deepStrictEqual(conform(tv({ duration_ns: -5 }), { int: {} }), tv({ int: -5 }));
  mismatchAt("$", () => conform(tv({ int: -1 }), { nat: {} }));
  mismatchAt("$", () => conform(tv({ nat: U64_MAX }), { int: {} }));
  deepStrictEqual(conform(tv({ nat: I64_MAX }), { duration: {} }), tv({ duration_ns: I64_MAX }));
  mismatchAt("$", () => conform(tv({ text: "5" }), { nat: {} }));
});

Deno.test("conformValue() makes a record a map<text,V> and a list a sorted, deduplicated set", () => {
  const record = rec({ b: tv({ int: 2 }), a: tv({ nat: 1 }) });
  deepStrictEqual(
    conform(record, { map: { key: { text: {} }, value: { nat: {} } } }),
    tv({ map: [{ key: { text: "a" }, value: { nat: 1 } }, { key: { text: "b" }, value: { nat: 2 } }] }),
  );
  deepStrictEqual(
    conform(tv({ list: [{ nat: 3 }, { int: 1 }, { nat: 3 }] }), { set: { nat: {} } }),
    tv({ set: [{ nat: 1 }, { nat: 3 }] }),
  );
  mismatchAt(
    "$.b",
    () => conform(rec({ b: tv({ text: "x" }) }), { map: { key: { text: {} }, value: { nat: {} } } }),
  );
  mismatchAt("$", () => conform(tv({ set: [{ nat: 1 }] }), { list: { nat: {} } }));
});

Deno.test("conformValue() reads options: unit/none is none, any other value is some", () => {
  deepStrictEqual(conform({ kind: "unit" }, { option: { nat: {} } }), { kind: "none" });
  deepStrictEqual(conform({ kind: "none" }, { option: { nat: {} } }), { kind: "none" });
  deepStrictEqual(conform(tv({ int: 4 }), { option: { nat: {} } }), tv({ nat: 4 }));
  mismatchAt("$", () => conform({ kind: "none" }, { nat: {} }));
});

Deno.test("conformValue() fills absent option fields with none and rejects missing or extra fields", () => {
  const type: TypeExpr = { record: { id: { text: {} }, body_ref: { option: { hash: {} } } } };
  deepStrictEqual(
    conform(rec({ id: tv({ text: "r1" }) }), type),
    rec({ body_ref: { kind: "none" }, id: tv({ text: "r1" }) }),
  );
  mismatchAt("$.id", () => conform(rec({}), type));
  mismatchAt("$.extra", () => conform(rec({ id: tv({ text: "r1" }), extra: tv({ nat: 1 }) }), type));
  mismatchAt("$.id", () => conform(rec({ id: tv({ nat: 1 }) }), type));
});

Deno.test("conformValue() reads a {$tag, $value} record as a variant value", () => {
  const type: TypeExpr = { ref: "demo/Result@1" };
  deepStrictEqual(
    conform(tv({ variant: { tag: "Ok", value: { int: 2 } } }), type),
    tv({ variant: { tag: "Ok", value: { nat: 2 } } }),
  );
  deepStrictEqual(conform(tv({ variant: { tag: "Reset" } }), type), tv({ variant: { tag: "Reset" } }));
  mismatchAt("$.$tag", () => conform(tv({ variant: { tag: "Nope" } }), type));
  mismatchAt("$.$value", () => conform(tv({ variant: { tag: "Ok", value: { text: "x" } } }), type));
  mismatchAt("$", () => conform(tv({ nat: 1 }), type));
});

Deno.test("conformValue() checks scalar kinds and normalizes dec128", () => {
  deepStrictEqual(conform({ kind: "dec128", value: "0.20" }, { dec128: {} }), {
    kind: "dec128",
    value: "0.2",
  });
  mismatchAt("$", () => conform(tv({ bytes_b64: "AAE=" }), { hash: {} }));
  mismatchAt("$", () => conform({ kind: "hash", value: new Uint8Array(3) }, { hash: {} }));
  deepStrictEqual(conform({ kind: "none" }, { unit: {} }), { kind: "unit" });
  mismatchAt("$[1]", () => conform(tv({ list: [{ text: "a" }, { nat: 1 }] }), { list: { text: {} } }));
});
