import assert from "node:assert/strict";
import { loadAirBundle } from "./bundle.ts";
import { moduleByName, moduleRefByName, routesFor } from "./manifest_view.ts";

const WASM = `sha256:${"ab".repeat(32)}`;

function world() {
  const text = JSON.stringify([
    { $kind: "defschema", name: "demo/S@1", type: { record: { n: { nat: {} } } } },
    { $kind: "defschema", name: "demo/E@1", type: { record: { n: { nat: {} } } } },
    {
      $kind: "defmodule",
      name: "demo/A@1",
      module_kind: "reducer",
      wasm_hash: WASM,
      abi: { reducer: { state: "demo/S@1", event: "demo/E@1" } },
    },
    {
      $kind: "defmodule",
      name: "demo/B@1",
      module_kind: "reducer",
      wasm_hash: WASM,
      abi: { reducer: { state: "demo/S@1", event: "demo/E@1" } },
    },
    {
      $kind: "manifest",
      schemas: [{ name: "demo/S@1" }, { name: "demo/E@1" }],
      modules: [{ name: "demo/B@1" }, { name: "demo/A@1" }],
      plans: [],
      caps: [],
      policies: [],
      routing: {
        events: [
          { event: "demo/E@1", reducer: "demo/B@1" },
          { event: "demo/E@1", reducer: "demo/A@1" },
        ],
      },
    },
  ]);
  const { bundle, diagnostics } = loadAirBundle([{ path: "w.air.json", text }]);
  assert.deepEqual(diagnostics, []);
  assert.ok(bundle);
  return bundle;
}

Deno.test("routesFor() returns the matching routes in manifest order", () => {
  const bundle = world();
  assert.deepEqual(routesFor(bundle.manifest, "demo/E@1").map((r) => r.reducer), ["demo/B@1", "demo/A@1"]);
  assert.deepEqual(routesFor(bundle.manifest, "demo/S@1"), []);
  assert.deepEqual(routesFor({ ...bundle.manifest, routing: {} }, "demo/E@1"), []);
});

Deno.test("moduleByName() finds listed modules only", () => {
  const bundle = world();
  assert.equal(moduleByName(bundle, "demo/A@1")?.name, "demo/A@1");
  assert.equal(moduleByName(bundle, "demo/Nope@1"), undefined);
  const unlisted = { ...bundle, manifest: { ...bundle.manifest, modules: [] } };
  assert.equal(moduleByName(unlisted, "demo/A@1"), undefined);
  assert.match(moduleRefByName(bundle.manifest, "demo/B@1")?.hash ?? "", /^sha256:/);
});
