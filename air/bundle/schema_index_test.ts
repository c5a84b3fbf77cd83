import assert from "node:assert/strict";
import type { DefSchema } from "../nodes/mod.ts";
import type { TypeExpr } from "../value/mod.ts";
import { loadAirBundle } from "./bundle.ts";
import { SchemaIndex } from "./schema_index.ts";

function schema(name: string, type: TypeExpr): DefSchema {
  return { $kind: "defschema", name, type };
}

Deno.test("SchemaIndex resolves user schemas and built-ins and lists names sorted", () => {
  const index = new SchemaIndex([schema("demo/B@1", { nat: {} }), schema("demo/A@1", { text: {} })]);
  assert.deepEqual(index.resolve("demo/A@1"), { text: {} });
  assert.equal(index.resolve("demo/C@1"), undefined);
  assert.ok(index.has("sys/BlobPutResult@1"));
  assert.ok(index.isBuiltin("sys/BlobPutResult@1"));
  assert.equal(index.isBuiltin("demo/A@1"), false);
  const names = index.names();
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(names.slice(0, 2), ["demo/A@1", "demo/B@1"]);
  assert.ok(names.includes("sys/TimerFired@1"));
});

Deno.test("SchemaIndex rejects duplicates and sys/ names with a TypeError", () => {
  assert.throws(
    () => new SchemaIndex([schema("demo/A@1", { nat: {} }), schema("demo/A@1", { nat: {} })]),
    TypeError,
  );
  assert.throws(() => new SchemaIndex([schema("sys/TimerFired@1", { nat: {} })]), TypeError);
});

Deno.test("SchemaIndex.resolveTop() follows refs and stops on unknown names and loops", () => {
  const index = new SchemaIndex([
    schema("demo/A@1", { ref: "demo/B@1" }),
    schema("demo/B@1", { text: {} }),
    schema("demo/X@1", { ref: "demo/Y@1" }),
    schema("demo/Y@1", { ref: "demo/X@1" }),
  ]);
  assert.deepEqual(index.resolveTop({ ref: "demo/A@1" }), { text: {} });
  assert.deepEqual(index.resolveTop({ list: { ref: "demo/A@1" } }), { list: { ref: "demo/A@1" } });
  assert.equal(index.resolveTop({ ref: "demo/Nope@1" }), undefined);
  assert.equal(index.resolveTop({ ref: "demo/X@1" }), undefined);
});

Deno.test("SchemaIndex.expand() replaces every ref and gives undefined on cycles", () => {
  const index = new SchemaIndex([
    schema("demo/Id@1", { text: {} }),
    schema("demo/E@1", {
      record: {
        id: { ref: "demo/Id@1" },
        tags: { set: { ref: "demo/Id@1" } },
        by: { map: { key: { ref: "demo/Id@1" }, value: { option: { ref: "demo/Id@1" } } } },
        at: { variant: { Now: { unit: {} }, Later: { ref: "sys/TimerSetParams@1" } } },
      },
    }),
    schema("demo/L@1", { list: { ref: "demo/L@1" } }),
  ]);
  assert.deepEqual(index.expand({ ref: "demo/E@1" }), {
    record: {
      id: { text: {} },
      tags: { set: { text: {} } },
      by: { map: { key: { text: {} }, value: { option: { text: {} } } } },
      at: {
        variant: {
          Now: { unit: {} },
          Later: { record: { deliver_at_ns: { nat: {} }, key: { option: { text: {} } } } },
        },
      },
    },
  });
  assert.equal(index.expand({ ref: "demo/L@1" }), undefined);
  assert.equal(index.expand({ list: { ref: "demo/Nope@1" } }), undefined);
});

Deno.test("SchemaIndex.fromBundle() takes the schemas the manifest lists", () => {
  const text = JSON.stringify([
    { $kind: "defschema", name: "demo/S@1", type: { record: { n: { nat: {} } } } },
    {
      $kind: "defmodule",
      name: "demo/M@1",
      module_kind: "reducer",
      wasm_hash: `sha256:${"ab".repeat(32)}`,
      abi: { reducer: { state: "demo/S@1", event: "sys/TimerFired@1", effects_emitted: ["timer.set"] } },
    },
    {
      $kind: "manifest",
      schemas: [{ name: "demo/S@1" }, { name: "sys/TimerFired@1" }],
      modules: [{ name: "demo/M@1" }],
      plans: [],
      caps: [],
      policies: [],
    },
  ]);
  const { bundle, diagnostics } = loadAirBundle([{ path: "w.air.json", text }]);
  assert.deepEqual(diagnostics, []);
  assert.ok(bundle);
  const index = SchemaIndex.fromBundle(bundle);
  assert.ok(index.has("demo/S@1"));
  assert.ok(index.has("sys/TimerFired@1"));
  assert.deepEqual(index.names().filter((n) => !n.startsWith("sys/")), ["demo/S@1"]);
});
