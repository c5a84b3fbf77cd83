import assert from "node:assert/strict";
import { builtinSchemas, type SchemaResolver, type TypeExpr, type Value } from "../air/mod.ts";
import { secretRefsIn } from "./secrets.ts";

const text = (value: string): Value => ({ kind: "text", value });
const record = (fields: Record<string, Value>): Value => ({
  kind: "record",
  value: new Map(Object.entries(fields)),
});
const secret = (alias: string): Value => record({ alias: text(alias), version: { kind: "nat", value: 1n } });

const local = new Map<string, TypeExpr>([
  // A recursive type: the secret sits at every level of the chain.
  ["test/Chain@1", {
    record: { key: { ref: "sys/SecretRef@1" }, next: { option: { ref: "test/Chain@1" } } },
  }],
  ["test/Plain@1", { record: { name: { text: {} }, next: { option: { ref: "test/Plain@1" } } } }],
]);
const schemas: SchemaResolver = {
  resolve: (name) => local.get(name) ?? builtinSchemas.get(name)?.type,
};

Deno.test("secretRefsIn() finds the secret references of a value, at any depth of a recursive type", () => {
  const chain = record({
    key: secret("a"),
    next: record({ key: secret("b"), next: record({ key: secret("c"), next: { kind: "none" } }) }),
  });
  assert.deepEqual(
    secretRefsIn({ ref: "test/Chain@1" }, chain, schemas).map((ref) => ref.alias),
    ["a", "b", "c"],
  );
  const llm = record({ api_key: record({ $tag: text("secret"), $value: secret("openai") }) });
  assert.deepEqual(
    secretRefsIn({ record: { api_key: { option: { ref: "sys/TextOrSecretRef@1" } } } }, llm, schemas),
    [{ alias: "openai", version: 1n }],
  );
});

Deno.test("secretRefsIn() finds none in types that cannot hold one (http params, a recursive plain type)", () => {
  const http = record({
    method: text("GET"),
    url: text("http://127.0.0.1/"),
    headers: { kind: "map", value: [[text("authorization"), text("x")]] },
    body_ref: { kind: "none" },
  });
  assert.deepEqual(secretRefsIn({ ref: "sys/HttpRequestParams@1" }, http, schemas), []);
  const plain = record({ name: text("a"), next: record({ name: text("b"), next: { kind: "none" } }) });
  assert.deepEqual(secretRefsIn({ ref: "test/Plain@1" }, plain, schemas), []);
});
