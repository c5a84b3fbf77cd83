/**
 * AgentOS for Deno: deterministic, event-sourced worlds. A world is an append-only journal plus
 * snapshots and a content-addressed store under `.aos/`; its control plane is AIR (schemas, WASM reducer
 * modules, a manifest) kept as data; replaying the journal reproduces the world byte for byte.
 *
 * This root module re-exports the folder modules:
 * - `air/` — canonical CBOR, hashes, the type system and values, AIR nodes and bundles;
 * - `journal/` — the content-addressed store and the framed, hash-chained journal;
 * - `kernel/` — the pure kernel, the WASM reducer host, replay and the world driver;
 * - `governance/` — propose → shadow → approve → apply on a live world.
 *
 * @example Open a world, send an event, verify replay
 * ```ts
 * import assert from "node:assert/strict";
 * import { initWorld, readAirFolder, readWasmFolders, verifyWorld, VirtualClock, World } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const example = new URL("./examples/counter", import.meta.url).pathname;
 * const clock = new VirtualClock();
 * (await initWorld(dir, await readAirFolder(`${example}/air`), await readWasmFolders([`${example}/modules`]), { clock }))
 *   .close();
 *
 * const world = await World.open(dir, { clock });
 * const report = await world.send([{ schema: "demo/Increment@1", value: { by: 5n } }]);
 * assert.equal(report.admitted, 1);
 * assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 5n });
 * world.close();
 *
 * assert.equal((await verifyWorld(dir)).ok, true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./air/mod.ts";
export * from "./journal/mod.ts";
export * from "./kernel/mod.ts";
export * from "./world/mod.ts";
export {
  applyProposal,
  type BudgetDraw,
  type CannedReceipt,
  checkCommand,
  type CostEstimate,
  type Denial,
  EMPTY_HARNESS,
  type Harness,
  type LedgerDelta,
  ledgerDeltas,
  type ManifestChange,
  manifestDiff,
  parseHarness,
  patchFromBundle,
  type PendingReceipt,
  type PlanResult,
  type PredictedEffect,
  proposalPatch,
  proposalReport,
  readReport,
  recordApproval,
  reportBytes,
  runShadow,
  SHADOW_ADAPTER_ID,
  type ShadowOptions,
  type ShadowOutcome,
  shadowProposal,
  type ShadowReport,
  type StateDiff,
  storeReport,
  type SubmitOptions,
  type SubmitOutcome,
  submitProposal,
} from "./governance/mod.ts";
