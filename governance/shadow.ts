/**
 * The shadow runner (KERNEL §10.3): forks the world in memory at its current state, switches the fork to
 * the candidate manifest with the very inputs apply uses (so the fork's kernel runs the same checks and the
 * same atomic switch), admits the harness's seed events and runs to idle with effects never dispatched — an
 * intent is answered only by a canned receipt of its kind, else it stays pending and its plan waits. The
 * fork runs on a virtual clock frozen at the world's logical time, so the same world, proposal and harness
 * give the same report byte for byte. Nothing of the fork persists and no adapter is called.
 *
 * @module
 */
import {
  bytesToHashRef,
  type CapGrant,
  decodeTyped,
  EFFECT_KINDS,
  effectSpec,
  type HashRef,
  isHashRef,
  type JsonValue,
  refType,
  toHex,
  type Value,
  valueToPlainJson,
} from "../air/mod.ts";
import { AdapterKey, signReceipt } from "../adapters/mod.ts";
import { type CborMap, isRecord, type JournalEntry, u64 } from "../journal/mod.ts";
import { type Proposal, type Receipt, VirtualClock, type WorldDefs } from "../kernel/mod.ts";
import type { EffectPrice, World, WorldConfig } from "../world/mod.ts";
import { ledgerDeltas, manifestDiff } from "./diff.ts";
import type { CannedReceipt, Harness } from "./harness.ts";
import type {
  BudgetDraw,
  CostEstimate,
  Denial,
  PendingReceipt,
  PlanResult,
  PredictedEffect,
  ShadowReport,
  StateDiff,
} from "./report.ts";

/** The adapter id the shadow run's canned receipts are signed as (a fixed key: signatures are stable). */
export const SHADOW_ADAPTER_ID = "shadow";
const SHADOW_KEY = AdapterKey.fromSeed(new Uint8Array(32).fill(0x5a));
/** Rounds of canned receipts before the runner stops (each round answers every new intent). */
const ROUNDS_MAX = 64;
const ZERO_HASH = new Uint8Array(32);

/** Options of a shadow run. */
export interface ShadowOptions {
  /** The world's configuration: its price table (`governance.prices`) and LLM model prices. */
  config?: Pick<WorldConfig, "prices" | "llm">;
}

/**
 * Runs proposal `proposal` (which validated: it has a candidate manifest) in a fork of `world` and returns
 * its report. The world itself is not touched.
 */
export async function runShadow(
  world: World,
  proposal: Proposal,
  harness: Harness,
  options: ShadowOptions = {},
): Promise<ShadowReport> {
  const candidateHash = proposal.candidateManifestHash!;
  const base = world.defs;
  const candidate = await world.library.loadDefs(candidateHash);
  const report: ShadowReport = {
    version: 1n,
    proposal_id: proposal.id,
    base_manifest_hash: proposal.baseManifestHash,
    candidate_manifest_hash: candidateHash,
    ok: false,
    errors: [],
    manifest_diff: manifestDiff(base.manifest, candidate.manifest),
    ledger_deltas: ledgerDeltas(base.manifest, candidate.manifest),
    predicted_effects: [],
    required_caps: [],
    denials: [],
    pending_receipts: [],
    plan_results: [],
    state_diffs: [],
    budget_draws: [],
    harness: { events: 0n, receipts: 0n },
  };
  const fork = await world.fork({ clock: new VirtualClock(world.kernel.nowNs) });
  try {
    const id = proposal.id;
    // The same inputs apply uses: the fork's kernel re-checks the base and state schemas, then switches.
    await fork.admitGovernance((ingressNs) => ({
      kind: "shadow_run_completed",
      body: { proposal_id: id, report_hash: ZERO_HASH, ok: true, ingress_ns: ingressNs },
    }));
    await fork.admitGovernance((ingressNs) => ({
      kind: "approval_recorded",
      body: { proposal_id: id, approver: "shadow", decision: "approve", ingress_ns: ingressNs },
    }));
    await fork.admitGovernance((ingressNs) => ({
      kind: "apply_requested",
      body: { proposal_id: id, ingress_ns: ingressNs },
    }));
    const switched = fork.kernel.proposal(id);
    if (switched?.state !== "applied") {
      const reasons = switched?.rejection?.reasons ?? ["the candidate was not applied"];
      report.errors.push(...reasons.map((r) => `apply would be rejected: ${r}`));
      return report;
    }
    const startHeight = fork.height;
    const firstInstance = fork.kernel.plansNextId();
    const stateBefore = stateHashes(fork);
    const earlier = new Set(fork.kernel.outbox().map((e) => toHex(e.intentHash)));

    for (const [i, event] of harness.events.entries()) {
      try {
        fork.encodeEvent(event);
      } catch (error) {
        if (!(error instanceof Error) || !("code" in error)) throw error;
        report.errors.push(`harness event #${i} (${event.schema}): ${error.message}`);
        continue;
      }
      await fork.send([event]);
      report.harness.events++;
    }

    const answered = new Map<string, CannedReceipt>();
    const directory = {
      publicKeyOf: (adapterId: string) => adapterId === SHADOW_ADAPTER_ID ? SHADOW_KEY.publicKey : undefined,
      // The shadow harness answers intents of every kind with its canned receipts.
      kindsOf: (adapterId: string) => adapterId === SHADOW_ADAPTER_ID ? EFFECT_KINDS : undefined,
    };
    for (let round = 0; round < ROUNDS_MAX; round++) {
      const receipts: Receipt[] = [];
      for (const intent of fork.kernel.outbox()) {
        const hex = toHex(intent.intentHash);
        if (earlier.has(hex) || answered.has(hex)) continue;
        const canned = harness.receipts.find((r) => r.kind === intent.kind);
        if (canned === undefined) continue;
        answered.set(hex, canned);
        receipts.push(signReceipt({
          intentHash: intent.intentHash,
          adapterId: SHADOW_ADAPTER_ID,
          status: canned.status,
          payload: canned.payload,
          ...(canned.costCents === undefined ? {} : { costCents: canned.costCents }),
          fence: intent.fence,
        }, SHADOW_KEY));
      }
      if (receipts.length === 0) break;
      await fork.admitReceipts(receipts, directory);
      report.harness.receipts += BigInt(receipts.length);
    }

    const entries = [...fork.journal.entries(startHeight)];
    await collectEffects(fork, entries, harness, options, report);
    collectFailures(fork, entries, firstInstance, report);
    for (const intent of fork.kernel.outbox()) {
      const hex = toHex(intent.intentHash);
      if (earlier.has(hex)) continue;
      const pending: PendingReceipt = {
        origin_kind: intent.origin.kind,
        origin_name: intent.origin.name,
        kind: intent.kind,
        intent_hash: bytesToHashRef(intent.intentHash),
      };
      if (intent.origin.kind === "plan") pending.instance_id = intent.origin.instanceId;
      report.pending_receipts.push(pending);
    }
    report.state_diffs = stateDiffs(stateBefore, stateHashes(fork));
    report.budget_draws = budgetDraws(report.predicted_effects, candidate);
    report.ok = report.errors.length === 0;
    return report;
  } finally {
    fork.close();
  }
}

/** Predicted effects (queued in the fork) with their estimated costs, and denials by the gate. */
async function collectEffects(
  fork: World,
  entries: JournalEntry[],
  harness: Harness,
  options: ShadowOptions,
  report: ShadowReport,
): Promise<void> {
  const caps = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (isRecord(entry, "effect_queued")) {
      const origin = entry.body.origin;
      caps.add(entry.body.cap_name);
      report.predicted_effects.push({
        origin_kind: String(origin.kind),
        origin_name: String(origin.name),
        kind: entry.body.kind,
        cap: entry.body.cap_name,
        intent_hash: bytesToHashRef(entry.body.intent_hash),
        estimated: await estimate(fork, entry.body.kind, entry.body.params, harness, options),
      });
    } else if (isRecord(entry, "effect_rejected")) {
      const denial: Denial = {
        origin_kind: String(entry.body.origin.kind),
        origin_name: String(entry.body.origin.name),
        kind: entry.body.kind,
        cap: entry.body.cap_name,
        stage: entry.body.stage,
        reason: entry.body.reason,
      };
      if (entry.body.intent_hash !== undefined) denial.intent_hash = bytesToHashRef(entry.body.intent_hash);
      report.denials.push(denial);
    } else if (isRecord(entry, "policy_decision") && entry.body.decision !== "allow") {
      const denial: Denial = {
        intent_hash: bytesToHashRef(entry.body.intent_hash),
        stage: "policy",
        reason: entry.body.rule_index === undefined
          ? `no rule of ${entry.body.policy_name ?? "the policy"} allows it`
          : `denied by ${entry.body.policy_name} rule ${entry.body.rule_index}`,
      };
      // The denied step follows at once: a reducer_error of the reducer, or the plan's end.
      const next = entries[i + 1];
      if (next && isRecord(next, "reducer_error")) {
        denial.origin_kind = "reducer";
        denial.origin_name = next.body.reducer;
      } else if (next && isRecord(next, "plan_ended")) {
        const instance = fork.kernel.plans().find((p) => p.id === u64(next.body.instance_id));
        denial.origin_kind = "plan";
        if (instance) denial.origin_name = instance.plan;
      }
      report.denials.push(denial);
    }
  }
  report.required_caps = [...caps].sort();
}

/** Reducer errors and failed plans are errors; plans started or ended in the fork are plan results. */
function collectFailures(
  fork: World,
  entries: JournalEntry[],
  firstInstance: bigint,
  report: ShadowReport,
): void {
  const ended = new Map<bigint, JournalEntry & { body: CborMap }>();
  for (const entry of entries) {
    if (isRecord(entry, "reducer_error")) {
      report.errors.push(
        `reducer ${entry.body.reducer || "(block)"} failed on event ${entry.body.event_seq}: ` +
          `${entry.body.code}: ${entry.body.message}`,
      );
    } else if (isRecord(entry, "plan_ended")) {
      ended.set(u64(entry.body.instance_id), entry);
    }
  }
  for (const instance of fork.kernel.plans()) {
    const end = ended.get(instance.id);
    if (instance.id < firstInstance && end === undefined) continue;
    const result: PlanResult = { instance_id: instance.id, plan: instance.plan, status: instance.status };
    if (end !== undefined && isRecord(end, "plan_ended")) {
      const error = end.body.error as { code?: unknown; message?: unknown } | undefined;
      if (error !== undefined) {
        result.error = { code: String(error.code), message: String(error.message ?? "") };
        report.errors.push(
          `plan ${instance.plan} #${instance.id} failed: ${result.error.code}: ${result.error.message}`,
        );
      }
      const json = resultJson(fork.defs, end.body.result, end.body.output_schema);
      if (json !== undefined) result.result = json;
    }
    report.plan_results.push(result);
  }
}

function resultJson(defs: WorldDefs, result: unknown, schema: string | undefined): JsonValue | undefined {
  if (!(result instanceof Uint8Array) || schema === undefined || !defs.schemas.has(schema)) return undefined;
  try {
    const type = refType(schema);
    return valueToPlainJson(type, decodeTyped(type, result, defs.schemas), defs.schemas);
  } catch {
    return undefined;
  }
}

/** What an effect would cost: tokens from `max_tokens`, bytes of a stored blob or body, cents. */
async function estimate(
  fork: World,
  kind: string,
  params: Uint8Array,
  harness: Harness,
  options: ShadowOptions,
): Promise<CostEstimate> {
  const out: CostEstimate = {};
  const spec = effectSpec(kind);
  let fields: Map<string, Value> | undefined;
  if (spec !== undefined) {
    try {
      const value = decodeTyped(refType(spec.params), params, fork.defs.schemas);
      if (value.kind === "record") fields = value.value;
    } catch {
      // The gate decoded these params; a failure here only leaves the estimate empty.
    }
  }
  const tokens = fields?.get("max_tokens");
  if (kind === "llm.generate" && tokens?.kind === "nat") out.tokens = tokens.value;
  const ref = fields?.get(kind === "blob.put" ? "blob_ref" : "body_ref");
  if (ref?.kind === "hash") {
    const hash = bytesToHashRef(ref.value);
    if (isHashRef(hash) && await fork.cas.has("blobs", hash)) {
      out.bytes = BigInt((await fork.cas.get("blobs", hash)).length);
    }
  }
  const canned = harness.receipts.find((r) => r.kind === kind);
  if (canned?.costCents !== undefined) {
    out.cents = canned.costCents;
    return out;
  }
  const price: EffectPrice | undefined = options.config?.prices?.[kind];
  if (price !== undefined) {
    let cents = BigInt(price.perEffectCents ?? 0);
    if (price.per1kTokensCents !== undefined && out.tokens !== undefined) {
      cents += ceilDiv(out.tokens * BigInt(price.per1kTokensCents), 1000n);
    }
    if (price.perKbCents !== undefined && out.bytes !== undefined) {
      cents += ceilDiv(out.bytes * BigInt(price.perKbCents), 1024n);
    }
    out.cents = cents;
  } else if (kind === "llm.generate" && out.tokens !== undefined) {
    // The LLM adapter's own model prices: completion tokens at most max_tokens.
    const provider = fields?.get("provider");
    const model = fields?.get("model");
    if (provider?.kind === "text" && model?.kind === "text") {
      const perK = options.config?.llm?.providers[provider.value]?.prices?.[model.value]
        ?.completionPer1kCents;
      if (perK !== undefined) out.cents = BigInt(Math.ceil((Number(out.tokens) * perK) / 1000));
    }
  }
  return out;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function stateHashes(world: World): Map<string, { reducer: string; key?: string; hash: HashRef }> {
  const out = new Map<string, { reducer: string; key?: string; hash: HashRef }>();
  for (const s of world.kernel.stateHashes()) {
    const key = s.key === undefined ? undefined : toHex(s.key);
    out.set(key === undefined ? s.reducer : `${s.reducer}#${key}`, {
      reducer: s.reducer,
      ...(key === undefined ? {} : { key }),
      hash: s.hash,
    });
  }
  return out;
}

function stateDiffs(
  before: ReturnType<typeof stateHashes>,
  after: ReturnType<typeof stateHashes>,
): StateDiff[] {
  const out: StateDiff[] = [];
  for (const label of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(label);
    const b = after.get(label);
    if (a?.hash === b?.hash) continue;
    const cell = (a ?? b)!;
    const diff: StateDiff = { reducer: cell.reducer };
    if (cell.key !== undefined) diff.key = cell.key;
    if (a !== undefined) diff.before_hash = a.hash;
    if (b !== undefined) diff.after_hash = b.hash;
    out.push(diff);
  }
  return out;
}

/** Sums of the estimates per grant, against the candidate grant's budget limits. */
function budgetDraws(effects: PredictedEffect[], candidate: WorldDefs): BudgetDraw[] {
  const byGrant = new Map<string, BudgetDraw>();
  for (const effect of effects) {
    const draw = byGrant.get(effect.cap) ??
      { grant: effect.cap, effects: 0n, tokens: 0n, bytes: 0n, cents: 0n };
    draw.effects++;
    draw.tokens += effect.estimated.tokens ?? 0n;
    draw.bytes += effect.estimated.bytes ?? 0n;
    draw.cents += effect.estimated.cents ?? 0n;
    byGrant.set(effect.cap, draw);
  }
  const grants = new Map<string, CapGrant>(
    (candidate.manifest.defaults?.cap_grants ?? []).map((g) => [g.name, g]),
  );
  return [...byGrant.keys()].sort().map((name) => {
    const draw = byGrant.get(name)!;
    const budget = grants.get(name)?.budget;
    if (budget !== undefined) {
      const limits: CostEstimate = {};
      const over: string[] = [];
      for (const dim of ["tokens", "bytes", "cents"] as const) {
        const limit = budget[dim];
        if (limit === undefined) continue;
        limits[dim] = BigInt(limit);
        if (draw[dim] > BigInt(limit)) over.push(dim);
      }
      draw.limits = limits;
      if (over.length > 0) draw.over = over;
    }
    return draw;
  });
}
