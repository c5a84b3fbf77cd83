/**
 * The deterministic testkit (WP1): fixture builders for schemas, reducers, plans, caps, policies and
 * manifests; scripted reducers compiled to real WASM with no compiler; and `TestWorld`, a real world on
 * virtual time with fake adapters that sign like real ones, plus replay assertions. See `testkit/README.md`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { e, plan, route, schema, step, t, TestWorld, trigger, world } from "./mod.ts";
 *
 * const def = world({
 *   schemas: [schema("demo/Go@1", t.record({ n: t.nat }))],
 *   plans: [plan("demo/noop@1", { input: "demo/Go@1", steps: [step.end("done")] })],
 *   triggers: [trigger("demo/Go@1", "demo/noop@1")],
 * });
 * await using w = await TestWorld.create(def);
 * await w.send("demo/Go@1", { n: 1 });
 * assert.deepEqual(w.kinds(), ["genesis", "domain_event", "plan_started", "plan_ended"]);
 * await w.assertReplay();
 * ```
 *
 * @module
 */
export {
  cap,
  chain,
  e,
  edge,
  grant,
  grants,
  plan,
  policy,
  reducer,
  type ReducerFixture,
  route,
  rule,
  schema,
  step,
  t,
  trigger,
  world,
  type WorldDefinition,
  type WorldFixture,
} from "./fixtures.ts";
export { TEST_EPOCH_NS, TestWorld, type TestWorldOptions } from "./test_world.ts";
export { orderOf, typedEntries, type TypedEntry } from "./journal_view.ts";
export { exampleWorld, worldFromFolder } from "./_examples.ts";
export {
  encodeScriptedOutput,
  type ReducerScript,
  scriptedReducer,
  type ScriptRule,
  whenPatterns,
} from "./scripted_reducer.ts";
export { Code, I32, WasmModuleBuilder } from "../kernel/mod.ts";
export type { FakeOutcome } from "../adapters/mod.ts";
