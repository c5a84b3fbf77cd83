/**
 * The effect manager (KERNEL §6): identity of an effect (idempotency key and intent hash, AIR §9.4), the
 * gate in its fixed order (params, grant, cap type, secrets, constraints, budget, policy), the outbox of queued
 * intents awaiting receipts, the budget ledger they reserve on, and the bounded set of recently settled
 * intent hashes. Pure: the kernel
 * passes in its defs, logical time and an `emit` that appends derived journal records.
 *
 * @module
 */
import {
  builtinCaps,
  type CapGrant,
  type CborValue,
  decodeTyped,
  type DefCap,
  type EffectKind,
  effectSpec,
  encodeCanonicalLent,
  InvariantError,
  isAosError,
  limits,
  refType,
  sha256,
  toHex,
  type Value,
  valueFromJson,
} from "../air/mod.ts";
import {
  amountsToCbor,
  type BlobSizeLookup,
  type BudgetAmounts,
  BudgetLedger,
  reservationOf,
} from "./budgets.ts";
import { checkConstraints, evaluatePolicy, httpTarget } from "./constraints.ts";
import type { KernelRecord, WorldDefs } from "./kernel.ts";
import { handledMessage, VALUE_ERROR_CODES } from "./handled_errors.ts";
import { intentHash } from "./intent_hash.ts";
import { secretRefsIn, secretUseDenial } from "./secrets.ts";

/** Who asked for an effect. */
export type EffectOrigin =
  | { kind: "plan"; name: string; instanceId: bigint; step: string }
  | { kind: "reducer"; name: string; key: Uint8Array | null; eventSeq: number };

/** Gate stages that reject before policy (KERNEL §6.2). */
export type GateStage =
  | "bad_params"
  | "grant_missing"
  | "grant_expired"
  | "cap_mismatch"
  | "secret"
  | "constraint"
  | "budget";

/** An intent waiting for its receipt, with the context its receipt is routed by. */
export interface OutboxEntry {
  intentHash: Uint8Array;
  kind: EffectKind;
  capName: string;
  params: Uint8Array;
  idempotencyKey: Uint8Array;
  origin: EffectOrigin;
  fence: { generation: bigint; height: bigint };
  /** What the intent reserved on its grant's budget (journaled as `reserved`; absent: nothing budgeted). */
  reserved?: BudgetAmounts;
}

/**
 * The outcome of the gate, computed without side effects so a reducer step can still be discarded
 * whole: `records` are what the kernel journals (in order) when it commits the outcome.
 */
export type GateResult =
  | { ok: true; intentHash: Uint8Array; entry: OutboxEntry; decision: KernelRecord }
  | {
    ok: false;
    stage: GateStage | "policy";
    reason: string;
    intentHash?: Uint8Array;
    records: KernelRecord[];
  };

/** `origin` as journaled (`effect_queued.origin`, `effect_rejected.origin`). */
export function originCbor(origin: EffectOrigin): { [key: string]: CborValue } {
  if (origin.kind === "plan") {
    return { kind: "plan", name: origin.name, instance_id: origin.instanceId, step: origin.step };
  }
  return origin.key === null
    ? { kind: "reducer", name: origin.name }
    : { kind: "reducer", name: origin.name, key: origin.key };
}

/**
 * The idempotency key of AIR §9.4 (our Choice: derived from where the effect was emitted), and from the
 * world's id when it has one (genesis `world_id`): two worlds made from one template then never derive the
 * same keys, so an adapter or a remote service deduplicating on them cannot confuse their effects.
 */
export function idempotencyKey(origin: EffectOrigin, worldId?: Uint8Array): Uint8Array {
  const body: { [key: string]: CborValue } = origin.kind === "plan"
    ? { origin: "plan", plan: origin.name, instance: origin.instanceId, step: origin.step }
    : { origin: "reducer", reducer: origin.name, event_seq: origin.eventSeq };
  if (origin.kind === "reducer" && origin.key !== null) body.key = origin.key;
  if (worldId !== undefined) body.world = worldId;
  // The encoding is only hashed: a view of the encoder's buffer, not a copy.
  return encodeCanonicalLent((w) => w.value(body), sha256);
}

/** The defcap a grant names: a built-in or one of the manifest's. */
export function defcapOf(defs: WorldDefs, name: string): DefCap | undefined {
  return builtinCaps.get(name) ?? defs.caps.get(name);
}

/** Decoded grant params by grant, for the defcap and schemas they were decoded with. */
const decodedGrants = new WeakMap<
  CapGrant,
  { cap: DefCap; schemas: WorldDefs["schemas"]; params: Map<string, Value> | undefined }
>();

/**
 * The grant's params decoded with its defcap's schema (stored in the tagged form, AIR §3); decoded once per
 * grant and control plane, not for every effect.
 */
function grantParams(defs: WorldDefs, grant: CapGrant, cap: DefCap): Map<string, Value> | undefined {
  const cached = decodedGrants.get(grant);
  if (cached !== undefined && cached.cap === cap && cached.schemas === defs.schemas) return cached.params;
  const params = decodeGrantParams(defs, grant, cap);
  decodedGrants.set(grant, { cap, schemas: defs.schemas, params });
  return params;
}

function decodeGrantParams(defs: WorldDefs, grant: CapGrant, cap: DefCap): Map<string, Value> | undefined {
  try {
    const value = valueFromJson(cap.schema, grant.params, defs.schemas, [], { form: "auto" });
    return value.kind === "record" ? value.value : undefined;
  } catch (error) {
    // A grant whose params do not fit its cap was refused by validation; at run time it grants nothing.
    if (isAosError(error, VALUE_ERROR_CODES)) return undefined;
    throw error;
  }
}

/** Outbox and settled set; the gate. */
export class EffectManager {
  /** Keyed by intent hash hex; iteration sorted by fence height when it matters. */
  readonly #outbox = new Map<string, OutboxEntry>();
  readonly #settled: string[] = [];
  readonly #settledSet = new Set<string>();
  /** The budget ledger the gate reserves on and receipts settle (KERNEL §7). */
  /** The per-grant ledger; replaced (carried over) when governance applies a new manifest. */
  budgets: BudgetLedger;

  constructor(budgets: BudgetLedger = BudgetLedger.fromGrants([])) {
    this.budgets = budgets;
  }

  /** Intents awaiting receipts, by fence height (the order they were queued). */
  outbox(): OutboxEntry[] {
    return [...this.#outbox.values()].sort((a, b) => Number(a.fence.height - b.fence.height));
  }

  /** The outbox entry of an intent, if it is pending. */
  pending(intentHash: Uint8Array): OutboxEntry | undefined {
    return this.#outbox.get(toHex(intentHash));
  }

  /** True when the intent's receipt was accepted recently. */
  isSettled(intentHash: Uint8Array): boolean {
    return this.#settledSet.has(toHex(intentHash));
  }

  /** Recently settled hashes, oldest first. */
  settled(): string[] {
    return [...this.#settled];
  }

  /** Restores outbox and settled set (snapshots). */
  restore(outbox: OutboxEntry[], settled: string[]): void {
    for (const e of outbox) this.#outbox.set(toHex(e.intentHash), e);
    for (const h of settled) this.#markSettled(h);
  }

  #markSettled(hex: string): void {
    if (this.#settledSet.has(hex)) return;
    this.#settled.push(hex);
    this.#settledSet.add(hex);
    while (this.#settled.length > limits.settledHashesMax) this.#settledSet.delete(this.#settled.shift()!);
  }

  /** Removes a settled intent from the outbox and remembers its hash. */
  settle(intentHash: Uint8Array): OutboxEntry | undefined {
    const hex = toHex(intentHash);
    const entry = this.#outbox.get(hex);
    this.#outbox.delete(hex);
    this.#markSettled(hex);
    return entry;
  }

  /**
   * Runs the gate for one effect (KERNEL §6.2) without touching any state: stages 1–5 failing give an
   * `effect_rejected` record; reaching the policy always gives a `policy_decision` record.
   */
  evaluate(
    request: { kind: string; capName: string; params: Uint8Array; origin: EffectOrigin },
    ctx: {
      defs: WorldDefs;
      nowNs: bigint;
      generation: bigint;
      blobSize?: BlobSizeLookup | undefined;
      /** The world's id (genesis `world_id`), mixed into idempotency keys; undefined for older worlds. */
      worldId?: Uint8Array | undefined;
    },
  ): GateResult {
    const { defs } = ctx;
    const origin = originCbor(request.origin);
    const reject = (
      stage: GateStage,
      reason: string,
      hash?: Uint8Array,
      reserved?: BudgetAmounts,
    ): GateResult => {
      const body: { [key: string]: CborValue } = {
        kind: request.kind,
        cap_name: request.capName,
        origin,
        stage,
        reason,
      };
      if (hash) body.intent_hash = hash;
      if (reserved) body.reserved = amountsToCbor(reserved);
      const records = [{ kind: "effect_rejected", body }];
      return hash
        ? { ok: false, stage, reason, intentHash: hash, records }
        : { ok: false, stage, reason, records };
    };
    const spec = effectSpec(request.kind);
    if (!spec) return reject("bad_params", `unknown effect kind "${request.kind}"`);
    let params: Value;
    try {
      params = decodeTyped(refType(spec.params), request.params, defs.schemas);
    } catch (error) {
      return reject("bad_params", handledMessage(error, VALUE_ERROR_CODES));
    }
    const key = idempotencyKey(request.origin, ctx.worldId);
    const hash = intentHash({
      kind: spec.kind,
      capName: request.capName,
      params: request.params,
      idempotencyKey: key,
    });
    const grant = defs.manifest.defaults?.cap_grants?.find((g) => g.name === request.capName);
    if (!grant) return reject("grant_missing", `no grant named "${request.capName}"`, hash);
    if (grant.expiry_ns !== undefined && grant.expiry_ns <= ctx.nowNs) {
      return reject("grant_expired", `grant "${grant.name}" expired at ${grant.expiry_ns}`, hash);
    }
    const cap = defcapOf(defs, grant.cap);
    if (!cap || cap.cap_type !== spec.capType) {
      return reject("cap_mismatch", `grant "${grant.name}" is not a ${spec.capType} capability`, hash);
    }
    // Secrets (the original AgentOS's defsecret): declared, and this grant and origin plan allowed.
    for (const ref of secretRefsIn(refType(spec.params), params, defs.schemas)) {
      const denial = secretUseDenial(defs.secrets, ref, grant.name, request.origin);
      if (denial !== undefined) return reject("secret", denial, hash);
    }
    const granted = grantParams(defs, grant, cap);
    if (!granted || params.kind !== "record") {
      return reject("constraint", `grant "${grant.name}" params are unreadable`, hash);
    }
    const violation = checkConstraints(spec.capType, params.value, granted);
    if (violation) return reject("constraint", violation, hash);
    const entry: OutboxEntry = {
      intentHash: hash,
      kind: spec.kind,
      capName: request.capName,
      params: request.params,
      idempotencyKey: key,
      origin: request.origin,
      fence: { generation: ctx.generation, height: 0n },
    };
    // Budget (AIR §10.5): computed here, reserved only when the intent is committed.
    const budgeted = this.budgets.budgeted(grant.name);
    if (budgeted) {
      const reserved = reservationOf(spec.kind, params, budgeted, (blob) => ctx.blobSize?.(blob, hash));
      const denial = this.budgets.denial(grant.name, reserved ?? {});
      if (denial) return reject("budget", denial, hash, reserved);
      if (reserved) entry.reserved = reserved;
    }
    const policyName = defs.manifest.defaults?.policy;
    const policy = policyName === undefined ? undefined : defs.policies.get(policyName);
    const http = spec.kind === "http.request" ? httpTarget(params.value) : undefined;
    const decision = evaluatePolicy(policy, {
      effectKind: spec.kind,
      capName: request.capName,
      originKind: request.origin.kind,
      originName: request.origin.name,
      ...(http ? { http } : {}),
    });
    const decisionBody: { [key: string]: CborValue } = { intent_hash: hash, decision: decision.decision };
    if (decision.policyName !== undefined) decisionBody.policy_name = decision.policyName;
    if (decision.ruleIndex !== undefined) decisionBody.rule_index = decision.ruleIndex;
    const decisionRecord = { kind: "policy_decision", body: decisionBody };
    if (decision.decision === "deny") {
      const reason = decision.policyName ? `denied by policy ${decision.policyName}` : "denied by policy";
      return { ok: false, stage: "policy", reason, intentHash: hash, records: [decisionRecord] };
    }
    if (this.#outbox.has(toHex(hash)) || this.#settledSet.has(toHex(hash))) {
      throw new InvariantError(`Intent ${toHex(hash)} was queued twice: idempotency keys must not repeat`);
    }
    return { ok: true, intentHash: hash, entry, decision: decisionRecord };
  }

  /**
   * Commits an allowed intent: journals `policy_decision` then `effect_queued` (its seq is the fence
   * height), reserves its budget and adds it to the outbox.
   */
  commit(
    result: Extract<GateResult, { ok: true }>,
    emit: (record: KernelRecord) => number,
    nextSeq: () => number,
  ): void {
    emit(result.decision);
    result.entry.fence = { generation: result.entry.fence.generation, height: BigInt(nextSeq()) };
    emit({ kind: "effect_queued", body: EffectManager.queuedBody(result.entry) });
    this.budgets.reserve(result.entry.capName, result.entry.reserved);
    this.#outbox.set(toHex(result.intentHash), result.entry);
  }

  /** The body of an `effect_queued` entry (filled after its seq is known, for the fence). */
  static queuedBody(entry: OutboxEntry): { [key: string]: CborValue } {
    const body: { [key: string]: CborValue } = {
      intent_hash: entry.intentHash,
      kind: entry.kind,
      cap_name: entry.capName,
      params: entry.params,
      idempotency_key: entry.idempotencyKey,
      origin: originCbor(entry.origin),
      fence: { generation: entry.fence.generation, height: entry.fence.height },
    };
    if (entry.reserved) body.reserved = amountsToCbor(entry.reserved);
    return body;
  }
}
