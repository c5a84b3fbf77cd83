/**
 * Governance (KERNEL §10, AIR §15): how AI agents and people change a running world's control plane —
 * only through a journaled, reviewable, replayable path: propose a patch, shadow it in a fork, approve
 * it, apply it. The kernel applies the governance inputs and keeps the proposal state machine
 * (`kernel/proposals.ts`, re-exported here); this folder is the driver side: the commands that store the
 * content an input names and journal it, the shadow runner and its report, and manifest diffs (including
 * the patch from an edited folder of AIR files).
 *
 * @example Propose adding a schema, shadow, approve and apply it
 * ```ts
 * import assert from "node:assert/strict";
 * import { VirtualClock } from "../kernel/mod.ts";
 * import { initWorld, readAirFolder, readWasmFolders } from "../world/mod.ts";
 * import { applyProposal, EMPTY_HARNESS, recordApproval, shadowProposal, submitProposal } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const example = new URL("../examples/counter", import.meta.url).pathname;
 * const world = await initWorld(dir, await readAirFolder(`${example}/air`), await readWasmFolders([`${example}/modules`]), {
 *   clock: new VirtualClock(1n),
 * });
 * const { proposal } = await submitProposal(world, {
 *   base_manifest_hash: world.defs.manifestHash,
 *   patches: [{ add_def: { kind: "defschema", node: { $kind: "defschema", name: "demo/Note@1", type: { text: {} } } } }],
 * });
 * assert.equal((await shadowProposal(world, proposal.id, EMPTY_HARNESS)).report.ok, true);
 * await recordApproval(world, proposal.id, "approve", "alice");
 * assert.equal((await applyProposal(world, proposal.id)).state, "applied");
 * assert.ok(world.defs.schemas.has("demo/Note@1"));
 * world.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  type ControlPlaneContent,
  type GovernanceCommand,
  type Proposal,
  type ProposalState,
  refusal,
  type RejectionStage,
  stateSchemaChanges,
  validateCandidate,
} from "../kernel/mod.ts";
export { ledgerDeltas, manifestDiff, patchFromBundle } from "./diff.ts";
export { type CannedReceipt, EMPTY_HARNESS, type Harness, parseHarness } from "./harness.ts";
export {
  applyProposal,
  checkCommand,
  proposalPatch,
  proposalReport,
  recordApproval,
  type ShadowOutcome,
  shadowProposal,
  type SubmitOptions,
  type SubmitOutcome,
  submitProposal,
} from "./proposals.ts";
export {
  type BudgetDraw,
  type CostEstimate,
  type Denial,
  type LedgerDelta,
  type ManifestChange,
  type PendingReceipt,
  type PlanResult,
  type PredictedEffect,
  readReport,
  reportBytes,
  type ShadowReport,
  type StateDiff,
  storeReport,
} from "./report.ts";
export { runShadow, SHADOW_ADAPTER_ID, type ShadowOptions } from "./shadow.ts";
