/**
 * The pure AgentOS kernel: the deterministic stepper (`Kernel`), the WASM reducer host with deterministic
 * fuel, plans, the effect gate, receipts and replay. Nothing here does I/O: the world driver (`world/`)
 * feeds it journal entries and dispatches what it queues.
 *
 * @example Step a kernel by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { Kernel, ReducerHost, VirtualClock } from "./mod.ts";
 *
 * assert.equal(typeof Kernel, "function");
 * assert.equal(new VirtualClock(5n).nowNs(), 5n);
 * assert.equal(new ReducerHost().has("sha256:00"), false);
 * ```
 *
 * @module
 */
export { type Clock, VirtualClock } from "./clock.ts";
export {
  type ApplyContext,
  type DerivedRecord,
  Kernel,
  type KernelEntry,
  type KernelRecord,
  type ReceiptRejection,
  type ReducerErrorCode,
  type WorldDefs,
} from "./kernel.ts";
export { type CallingConvention, type ReducerCallResult, ReducerHost } from "./reducer_host.ts";
export { type Divergence, isFedOnReplay, type ReplayCheckpoint, replayInto } from "./replay.ts";
export { cborToJson, defsFromBundle } from "./defs.ts";
export {
  type CandidateOutcome,
  type ContentNeeds,
  type ControlPlaneContent,
  GOVERNANCE_INPUT_KINDS,
  type GovernanceCommand,
  type GovernanceInputKind,
  isGovernanceInput,
  type Proposal,
  type ProposalState,
  refusal,
  type RejectionStage,
  stateSchemaChanges,
  staticContent,
  validateCandidate,
} from "./proposals.ts";
export {
  type AdapterDirectory,
  type EffectAdapter,
  type EffectIntent,
  type Fence,
  type Receipt,
  receiptMap,
  receiptSigningBytes,
  type ReceiptStatus,
  signedReceiptMap,
  type UnsignedReceipt,
} from "./effects.ts";
export { verifyEd25519, verifyReceiptSignature } from "./receipt_signature.ts";
export { intentHash } from "./intent_hash.ts";
export type { OutboxEntry } from "./effect_manager.ts";
export { SECRET_REF_SCHEMA, secretRefOf, secretRefsIn, secretUseDenial, type SecretUser } from "./secrets.ts";
export {
  amountsFromCbor,
  type BlobSizeLookup,
  BUDGET_DIMENSIONS,
  type BudgetAmounts,
  type BudgetDimension,
  BudgetLedger,
  type BudgetLine,
  type BudgetOverdraft,
  carryOverLedger,
  receiptUsage,
  reservationOf,
} from "./budgets.ts";
export { handledMessage, PLAN_EVAL_ERROR_CODES, VALUE_ERROR_CODES } from "./handled_errors.ts";
export {
  decodeOutputEnvelope,
  type EmittedEffect,
  type EmittedEvent,
  encodeInputEnvelope,
  type InputEnvelope,
  type OutputEnvelope,
} from "./envelope.ts";
export { cellKeyFor, type CellKeyResult, keyTypeOf } from "./cell_keys.ts";
export { Code, type FuncSig, I32, I64, type ValType, WasmModuleBuilder } from "./wasm_builder.ts";
