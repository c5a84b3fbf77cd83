/**
 * The shadow report (KERNEL §10.3): what a candidate manifest would do to this world, as one canonical
 * CBOR node in the CAS (`shadow_run_completed.report_hash` names it). Its fields are snake_case and plain
 * JSON-compatible (integers, text, booleans, lists, maps), so the same object is the `--json` output.
 *
 * @module
 */
import {
  AosError,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  type HashRef,
  isHashRef,
  type JsonValue,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import { cborToJson } from "../kernel/mod.ts";

/** A definition or manifest section that differs between the base and the candidate manifest. */
export interface ManifestChange {
  /** A definition kind (`defschema`, …), or `manifest` for a section (`routing.events`, `triggers`, …). */
  kind: string;
  name: string;
  change: "added" | "removed" | "changed";
}

/** A change to a capability grant (by grant name) or to the policy in force. */
export interface LedgerDelta {
  ledger: "capability" | "policy";
  name: string;
  change: "added" | "removed" | "changed";
  /** The grant (or policy name) before and after, in its stored form; absent when there is none. */
  before?: JsonValue;
  after?: JsonValue;
}

/** What an effect would cost (absent dimensions are unknown). */
export interface CostEstimate {
  /** Tokens (`llm.generate`: its `max_tokens`). */
  tokens?: bigint;
  /** Bytes (a blob or request body the store holds). */
  bytes?: bigint;
  /** Cents (a canned receipt's `cost_cents`, else the world's price table). */
  cents?: bigint;
}

/** An effect the candidate would queue (it passed every gate in the fork). */
export interface PredictedEffect {
  origin_kind: string;
  origin_name: string;
  kind: string;
  cap: string;
  intent_hash: HashRef;
  estimated: CostEstimate;
}

/** An effect the candidate's gate refused. */
export interface Denial {
  origin_kind?: string;
  origin_name?: string;
  kind?: string;
  cap?: string;
  intent_hash?: HashRef;
  stage: string;
  reason: string;
}

/** An intent left waiting for a receipt (the harness had no canned receipt for its kind). */
export interface PendingReceipt {
  origin_kind: string;
  origin_name: string;
  instance_id?: bigint;
  kind: string;
  intent_hash: HashRef;
}

/** A plan instance started or ended during the shadow run. */
export interface PlanResult {
  instance_id: bigint;
  plan: string;
  status: string;
  /** The result in plain JSON (when the plan declares an output and ended ok). */
  result?: JsonValue;
  error?: { code: string; message: string };
}

/** A reducer state (or cell) that the shadow run changed; `key` is the cell key in hex. */
export interface StateDiff {
  reducer: string;
  key?: string;
  before_hash?: HashRef;
  after_hash?: HashRef;
}

/** What the predicted effects would draw from one grant, against its budget limits when it has any. */
export interface BudgetDraw {
  grant: string;
  effects: bigint;
  tokens: bigint;
  bytes: bigint;
  cents: bigint;
  limits?: CostEstimate;
  /** Dimensions whose draw is above the grant's limit. */
  over?: string[];
}

/** The report of one shadow run. */
export interface ShadowReport {
  version: bigint;
  proposal_id: bigint;
  base_manifest_hash: HashRef;
  candidate_manifest_hash: HashRef;
  ok: boolean;
  errors: string[];
  manifest_diff: ManifestChange[];
  ledger_deltas: LedgerDelta[];
  predicted_effects: PredictedEffect[];
  required_caps: string[];
  denials: Denial[];
  pending_receipts: PendingReceipt[];
  plan_results: PlanResult[];
  state_diffs: StateDiff[];
  budget_draws: BudgetDraw[];
  /** How much the harness seeded: events admitted and canned receipts given. */
  harness: { events: bigint; receipts: bigint };
}

/** The canonical CBOR of a report (what is stored and hashed). */
export function reportBytes(report: ShadowReport): Uint8Array {
  return encodeCanonical(report as unknown as CborValue);
}

/** Stores a report in the CAS (a node); returns its hash. */
export async function storeReport(cas: Cas, report: ShadowReport): Promise<HashRef> {
  return await cas.put("nodes", reportBytes(report));
}

/** Reads a stored report; `AOS_CAS_CORRUPT` when the node is not one. */
export async function readReport(cas: Cas, hash: HashRef): Promise<ShadowReport> {
  const json = cborToJson(decodeCanonical(await cas.get("nodes", hash)), hash);
  const r = json as { [key: string]: JsonValue };
  const lists = [
    "errors",
    "manifest_diff",
    "ledger_deltas",
    "predicted_effects",
    "required_caps",
    "denials",
    "pending_receipts",
    "plan_results",
    "state_diffs",
    "budget_draws",
  ];
  if (
    r === null || typeof r !== "object" || Array.isArray(r) || r.version !== 1n ||
    typeof r.ok !== "boolean" || typeof r.proposal_id !== "bigint" ||
    typeof r.base_manifest_hash !== "string" || !isHashRef(r.base_manifest_hash) ||
    lists.some((field) => !Array.isArray(r[field]))
  ) {
    throw new AosError("AOS_CAS_CORRUPT", `Node ${hash} is not a shadow report`);
  }
  return json as unknown as ShadowReport;
}
