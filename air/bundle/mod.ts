/**
 * AIR bundles (AIR §6–§14): {@linkcode loadAirBundle} turns a folder's worth of AIR text into a validated
 * bundle, reporting every problem in one pass as a {@linkcode Diagnostic} with a stable code, the file,
 * the JSON path and the definition; {@linkcode resolveManifest} re-validates an assembled manifest (patches,
 * stored worlds). Also the views over a loaded bundle: {@linkcode SchemaIndex} (the world's schemas plus
 * the built-ins) and the manifest helpers ({@linkcode routesFor}, {@linkcode moduleByName}).
 *
 * @example Load a world and resolve its schemas
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAirBundle, routesFor, SchemaIndex } from "./mod.ts";
 *
 * const text = JSON.stringify([
 *   { $kind: "defschema", name: "demo/CounterState@1", type: { record: { count: { nat: {} } } } },
 *   { $kind: "defschema", name: "demo/Increment@1", type: { record: { by: { nat: {} } } } },
 *   {
 *     $kind: "defmodule", name: "demo/Counter@1", module_kind: "reducer", wasm_hash: `sha256:${"ab".repeat(32)}`,
 *     abi: { reducer: { state: "demo/CounterState@1", event: "demo/Increment@1" } },
 *   },
 *   {
 *     $kind: "manifest", plans: [], caps: [], policies: [],
 *     schemas: [{ name: "demo/CounterState@1" }, { name: "demo/Increment@1" }],
 *     modules: [{ name: "demo/Counter@1" }],
 *     routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
 *   },
 * ]);
 * const { bundle, diagnostics } = loadAirBundle([{ path: "air/counter.air.json", text }]);
 * assert.deepEqual(diagnostics, []);
 * assert.deepEqual(routesFor(bundle!.manifest, "demo/Increment@1").map((route) => route.reducer), [
 *   "demo/Counter@1",
 * ]);
 * assert.deepEqual(SchemaIndex.fromBundle(bundle!).resolve("demo/Increment@1"), {
 *   record: { by: { nat: {} } },
 * });
 * ```
 *
 * @module
 */
export {
  AIR_DIAGNOSTIC_CODES,
  type AirBundle,
  type AirDiagnosticCode,
  type AirFile,
  bundleKey,
  type BundleNode,
  checkModuleBlobs,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  isErrorDiagnostic,
  loadAirBundle,
  type ModuleWasm,
  moduleWasmHashes,
  resolveManifest,
} from "./bundle.ts";
export { moduleByName, moduleRefByName, routesFor } from "./manifest_view.ts";
export { SchemaIndex } from "./schema_index.ts";
