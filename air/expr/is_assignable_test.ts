import { strictEqual } from "node:assert/strict";
import type { TypeExpr } from "../value/mod.ts";
import { isAssignable, sameType } from "./is_assignable.ts";

const named: Record<string, TypeExpr> = {
  "demo/Id@1": { text: {} },
  "demo/Result@1": { variant: { Ok: { nat: {} }, Err: { text: {} } } },
  "demo/Loop@1": { ref: "demo/Loop@1" },
};
const schemas = { resolve: (name: string) => named[name] };
const t = (kind: string): TypeExpr => ({ [kind]: {} }) as TypeExpr;

const CASES: Array<[string, TypeExpr, TypeExpr, boolean]> = [
  ["same primitive", t("text"), t("text"), true],
  ["different primitives", t("text"), t("bytes"), false],
  ["integer kinds convert", t("nat"), t("duration"), true],
  ["int to time", t("int"), t("time"), true],
  ["dec128 is not an integer", t("dec128"), t("int"), false],
  ["refs resolve", { ref: "demo/Id@1" }, t("text"), true],
  ["T to option<T>", t("nat"), { option: t("int") }, true],
  ["unit to option", t("unit"), { option: t("text") }, true],
  ["option to T", { option: t("nat") }, t("nat"), false],
  ["option to option", { option: t("nat") }, { option: t("int") }, true],
  ["record to map<text,V>", { record: { a: t("nat") } }, { map: { key: t("text"), value: t("int") } }, true],
  ["record to map<nat,V>", { record: { a: t("nat") } }, { map: { key: t("nat"), value: t("int") } }, false],
  ["list to set", { list: t("text") }, { set: t("text") }, true],
  ["set to list", { set: t("text") }, { list: t("text") }, false],
  ["record missing an option field", { record: { a: t("nat") } }, {
    record: { a: t("nat"), b: { option: t("hash") } },
  }, true],
  [
    "record missing a required field",
    { record: { a: t("nat") } },
    { record: { a: t("nat"), b: t("hash") } },
    false,
  ],
  [
    "record with an extra field",
    { record: { a: t("nat"), c: t("nat") } },
    { record: { a: t("nat") } },
    false,
  ],
  ["variant subset", { variant: { Ok: t("int") } }, { ref: "demo/Result@1" }, true],
  ["variant unknown tag", { variant: { Nope: t("unit") } }, { ref: "demo/Result@1" }, false],
  ["$tag/$value record to variant", { record: { $tag: t("text"), $value: t("text") } }, {
    ref: "demo/Result@1",
  }, true],
  ["$tag/$value record with no fitting payload", { record: { $tag: t("text"), $value: t("bool") } }, {
    ref: "demo/Result@1",
  }, false],
  ["maps", { map: { key: t("nat"), value: t("text") } }, {
    map: { key: t("int"), value: { option: t("text") } },
  }, true],
  ["unknown schema", { ref: "demo/Nope@1" }, t("text"), false],
  ["ref cycle", { ref: "demo/Loop@1" }, t("text"), false],
];

for (const [name, from, to, expected] of CASES) {
  Deno.test(`isAssignable(): ${name}`, () => strictEqual(isAssignable(from, to, schemas), expected));
}

Deno.test("sameType() compares expanded types, not names", () => {
  strictEqual(sameType({ ref: "demo/Id@1" }, t("text"), schemas), true);
  strictEqual(sameType(t("nat"), t("int"), schemas), false);
  strictEqual(sameType({ ref: "demo/Nope@1" }, { ref: "demo/Nope@1" }, schemas), false);
});
