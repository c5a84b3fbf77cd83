/**
 * The budget ledger (AIR §10.5, KERNEL §7): kernel state keyed by grant name, one account per budgeted
 * dimension (`bytes`, `cents`, `tokens`) with its `limit` (from the live grant), `spent`, `reserved` and
 * `exhausted`. The gate reserves at enqueue ({@linkcode reservationOf}, {@linkcode BudgetLedger.denial},
 * {@linkcode BudgetLedger.reserve}); a receipt releases the reservation and adds the actual usage
 * ({@linkcode receiptUsage}, {@linkcode BudgetLedger.settle}). Every change happens inside a block, so
 * replay reproduces it; every iteration is in sorted order. Grants without a budget have no account and
 * cost nothing: every operation is one map lookup per effect.
 *
 * @example Reserve, then settle above the reservation
 * ```ts
 * import assert from "node:assert/strict";
 * import { BudgetLedger } from "./budgets.ts";
 *
 * const ledger = BudgetLedger.fromGrants([{ name: "llm", cap: "sys/llm.basic@1", params: {}, budget: { tokens: 100n } }]);
 * assert.equal(ledger.denial("llm", { tokens: 80n }), undefined);
 * ledger.reserve("llm", { tokens: 80n });
 * assert.match(ledger.denial("llm", { tokens: 30n }) ?? "", /tokens/);
 * const exceeded = ledger.settle("llm", { tokens: 80n }, { tokens: 120n });
 * assert.deepEqual(exceeded, [{ dimension: "tokens", delta: 120n, newBalance: -20n }]);
 * assert.match(ledger.denial("llm", {}) ?? "", /exhausted/);
 * ```
 *
 * @module
 */
import { AosError, type CapGrant, type CborValue, type EffectKind, type Value } from "../air/mod.ts";

/** A budget dimension (AIR §10.3), in sorted order. */
export type BudgetDimension = "bytes" | "cents" | "tokens";

/** The dimensions, sorted: the one iteration order of the ledger. */
export const BUDGET_DIMENSIONS: readonly BudgetDimension[] = ["bytes", "cents", "tokens"];

/** An amount per dimension (a reservation, a usage); an absent dimension is zero. */
export type BudgetAmounts = { [D in BudgetDimension]?: bigint };

/** One account of the ledger as users see it (`aos info`). */
export interface BudgetLine {
  grant: string;
  dimension: BudgetDimension;
  limit: bigint;
  spent: bigint;
  reserved: bigint;
  exhausted: boolean;
}

/** An overdraft found by a settlement: journaled as `budget_exceeded`. */
export interface BudgetOverdraft {
  dimension: BudgetDimension;
  /** The usage this settlement added. */
  delta: bigint;
  /** `limit − spent` after it (negative). */
  newBalance: bigint;
}

/**
 * The size of a blob for a reservation: the live driver asks its store, replay answers with what the
 * block journaled (`reserved` of the intent's `effect_queued` or `effect_rejected`). `undefined` when the
 * blob is not known (the reservation is then 0).
 */
export type BlobSizeLookup = (blob: Uint8Array, intentHash: Uint8Array) => bigint | undefined;

interface Account {
  limit: bigint;
  spent: bigint;
  reserved: bigint;
  exhausted: boolean;
}

type Accounts = Map<BudgetDimension, Account>;

function accountsOf(grant: CapGrant): Accounts | undefined {
  if (grant.budget === undefined) return undefined;
  const accounts: Accounts = new Map();
  for (const dimension of BUDGET_DIMENSIONS) {
    const limit = grant.budget[dimension];
    if (limit !== undefined) accounts.set(dimension, { limit, spent: 0n, reserved: 0n, exhausted: false });
  }
  return accounts.size === 0 ? undefined : accounts;
}

function field(value: Value | undefined, name: string): Value | undefined {
  return value?.kind === "record" ? value.value.get(name) : undefined;
}

function nat(value: Value | undefined): bigint {
  return value?.kind === "nat" || value?.kind === "int" ? value.value : 0n;
}

/**
 * What an effect reserves at enqueue in the dimensions `budgeted` (AIR §10.5): `llm.generate` its
 * `max_tokens` tokens, `blob.put` its blob's size in bytes (0 when `blobSize` does not know it). Other
 * kinds and dimensions reserve nothing; undefined when nothing is reserved in a budgeted dimension.
 */
export function reservationOf(
  kind: EffectKind,
  params: Value,
  budgeted: ReadonlySet<BudgetDimension> | ReadonlyMap<BudgetDimension, unknown>,
  blobSize: (blob: Uint8Array) => bigint | undefined,
): BudgetAmounts | undefined {
  if (kind === "llm.generate" && budgeted.has("tokens")) return { tokens: nat(field(params, "max_tokens")) };
  if (kind === "blob.put" && budgeted.has("bytes")) {
    const blob = field(params, "blob_ref");
    return { bytes: blob?.kind === "hash" ? blobSize(blob.value) ?? 0n : 0n };
  }
  return undefined;
}

/**
 * The usage a receipt reports (AIR §10.5): tokens = prompt + completion (`llm.generate`); bytes = `size`
 * (`blob.put`, `blob.get`) or the response body size the driver measured (`http.request`, `bodySize`);
 * cents = the receipt's `cost_cents`, else the LLM payload's (never both). `payload` is the decoded
 * receipt payload (the zero value when empty).
 */
export function receiptUsage(
  kind: EffectKind,
  payload: Value | undefined,
  receipt: { costCents?: bigint | undefined; bodySize?: bigint | undefined },
): BudgetAmounts {
  const usage: BudgetAmounts = {};
  switch (kind) {
    case "llm.generate": {
      const tokens = field(payload, "token_usage");
      usage.tokens = nat(field(tokens, "prompt")) + nat(field(tokens, "completion"));
      usage.cents = receipt.costCents ?? nat(field(payload, "cost_cents"));
      return usage;
    }
    case "blob.put":
    case "blob.get":
      usage.bytes = nat(field(payload, "size"));
      break;
    case "http.request":
      usage.bytes = receipt.bodySize ?? 0n;
      break;
    case "timer.set":
      break;
  }
  if (receipt.costCents !== undefined) usage.cents = receipt.costCents;
  return usage;
}

/** Amounts as journaled (`reserved` of `effect_queued` and `effect_rejected`). */
export function amountsToCbor(amounts: BudgetAmounts): { [key: string]: CborValue } {
  const out: { [key: string]: CborValue } = {};
  for (const dimension of BUDGET_DIMENSIONS) {
    const amount = amounts[dimension];
    if (amount !== undefined) out[dimension] = amount;
  }
  return out;
}

/** Amounts read back from a journaled `reserved` map (fields checked on read). */
export function amountsFromCbor(map: { [key: string]: CborValue }): BudgetAmounts {
  const out: BudgetAmounts = {};
  for (const dimension of BUDGET_DIMENSIONS) {
    const amount = map[dimension];
    if (typeof amount === "number" || typeof amount === "bigint") out[dimension] = BigInt(amount);
  }
  return out;
}

/** The ledger: accounts of budgeted grants, by grant name. */
export class BudgetLedger {
  readonly #grants: Map<string, Accounts>;

  private constructor(grants: Map<string, Accounts>) {
    this.#grants = grants;
  }

  /** A fresh ledger for the grants of a manifest: every budgeted dimension at zero. */
  static fromGrants(grants: readonly CapGrant[]): BudgetLedger {
    const ledger = new Map<string, Accounts>();
    for (const grant of grants) {
      const accounts = accountsOf(grant);
      if (accounts) ledger.set(grant.name, accounts);
    }
    return new BudgetLedger(ledger);
  }

  /** The budgeted dimensions of a grant (undefined: the grant has no budget). */
  budgeted(grant: string): ReadonlyMap<BudgetDimension, unknown> | undefined {
    return this.#grants.get(grant);
  }

  /**
   * Why an enqueue on `grant` reserving `amounts` is denied, or undefined when it may go ahead: any
   * exhausted dimension denies; a reservation larger than `limit − spent − reserved` denies.
   */
  denial(grant: string, amounts: BudgetAmounts): string | undefined {
    const accounts = this.#grants.get(grant);
    if (!accounts) return undefined;
    for (const [dimension, a] of accounts) {
      if (a.exhausted) {
        return `grant "${grant}" is exhausted: ${dimension} spent ${a.spent} of limit ${a.limit}`;
      }
    }
    for (const [dimension, a] of accounts) {
      const amount = amounts[dimension] ?? 0n;
      const left = a.limit - a.spent - a.reserved;
      if (amount > 0n && amount > left) {
        return `grant "${grant}" ${dimension} budget: reserving ${amount} exceeds the ${
          left < 0n ? 0n : left
        } left (limit ${a.limit}, spent ${a.spent}, reserved ${a.reserved})`;
      }
    }
    return undefined;
  }

  /** Reserves `amounts` on `grant` (an allowed enqueue; {@linkcode denial} said yes). */
  reserve(grant: string, amounts: BudgetAmounts | undefined): void {
    const accounts = this.#grants.get(grant);
    if (!accounts || !amounts) return;
    for (const [dimension, a] of accounts) a.reserved += amounts[dimension] ?? 0n;
  }

  /**
   * Settles a receipt on `grant`: releases what the intent `reserved`, then adds `usage`. Returns the
   * dimensions this settlement overdrew (spent above the limit; now exhausted), in sorted order.
   */
  settle(grant: string, reserved: BudgetAmounts | undefined, usage: BudgetAmounts): BudgetOverdraft[] {
    const accounts = this.#grants.get(grant);
    if (!accounts) return [];
    const overdrafts: BudgetOverdraft[] = [];
    for (const [dimension, a] of accounts) {
      const release = reserved?.[dimension] ?? 0n;
      // A manifest apply may drop and re-add a dimension while its intents are in flight: never below 0.
      a.reserved = a.reserved > release ? a.reserved - release : 0n;
      const delta = usage[dimension] ?? 0n;
      a.spent += delta;
      if (delta > 0n && a.spent > a.limit) {
        a.exhausted = true;
        overdrafts.push({ dimension, delta, newBalance: a.limit - a.spent });
      }
    }
    return overdrafts;
  }

  /** Every account, by grant name then dimension. */
  lines(): BudgetLine[] {
    const lines: BudgetLine[] = [];
    for (const grant of [...this.#grants.keys()].sort()) {
      for (const [dimension, a] of this.#grants.get(grant)!) lines.push({ grant, dimension, ...a });
    }
    return lines;
  }

  /** The snapshot form (KERNEL §8.4): `[{grant, <dimension>: {limit, spent, reserved, exhausted}}]`, by grant. */
  toCbor(): CborValue[] {
    return [...this.#grants.keys()].sort().map((grant) => {
      const item: { [key: string]: CborValue } = { grant };
      for (const [dimension, a] of this.#grants.get(grant)!) {
        item[dimension] = { limit: a.limit, spent: a.spent, reserved: a.reserved, exhausted: a.exhausted };
      }
      return item;
    });
  }

  /**
   * Restores spent, reserved and exhausted from a snapshot's `budgets` taken under the same manifest
   * (limits stay the live grants'). A snapshot from before budgets were kept (`[]`) restores nothing.
   */
  restore(items: CborValue): void {
    const bad = (what: string) =>
      new AosError("AOS_JOURNAL_CORRUPT", `Snapshot budgets are malformed: ${what}`);
    if (!Array.isArray(items)) throw bad("not a list");
    for (const raw of items) {
      const item = raw as { [key: string]: CborValue };
      const accounts = typeof item.grant === "string" ? this.#grants.get(item.grant) : undefined;
      if (!accounts) throw bad(`grant ${JSON.stringify(item.grant)} has no budget in the manifest`);
      for (const [key, value] of Object.entries(item)) {
        if (key === "grant") continue;
        const a = accounts.get(key as BudgetDimension);
        const v = value as { [key: string]: CborValue };
        if (!a || typeof v !== "object" || v === null) throw bad(`${item.grant}.${key}`);
        const spent = uint(v.spent);
        const reserved = uint(v.reserved);
        if (spent === undefined || reserved === undefined || typeof v.exhausted !== "boolean") {
          throw bad(`${item.grant}.${key} fields`);
        }
        a.spent = spent;
        a.reserved = reserved;
        a.exhausted = v.exhausted;
      }
    }
  }
}

function uint(value: CborValue | undefined): bigint | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n) return value;
  return undefined;
}

/**
 * The ledger after a manifest apply (KERNEL §7, §10.4; replenishment is governance's): accounts carry over
 * by grant name and dimension (`spent` and `reserved` kept), limits come from `newGrants`, a raised limit
 * clears `exhausted` unless `spent` is still above it, a new budget starts at zero and a dropped one is
 * gone. Pure: `ledger` is not changed.
 */
export function carryOverLedger(ledger: BudgetLedger, newGrants: readonly CapGrant[]): BudgetLedger {
  const old = new Map<string, BudgetLine>();
  for (const line of ledger.lines()) old.set(`${line.grant}\u0000${line.dimension}`, line);
  const next = BudgetLedger.fromGrants(newGrants);
  const items: CborValue[] = [];
  for (const grant of newGrants) {
    const budgeted = next.budgeted(grant.name);
    if (!budgeted) continue;
    const item: { [key: string]: CborValue } = { grant: grant.name };
    for (const dimension of budgeted.keys()) {
      const before = old.get(`${grant.name}\u0000${dimension}`);
      if (!before) continue;
      const limit = grant.budget![dimension]!;
      const raised = limit > before.limit;
      item[dimension] = {
        limit,
        spent: before.spent,
        reserved: before.reserved,
        exhausted: before.spent > limit || (before.exhausted && !raised),
      };
    }
    if (Object.keys(item).length > 1) items.push(item);
  }
  next.restore(items);
  return next;
}
