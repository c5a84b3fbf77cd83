import assert from "node:assert/strict";
import type { CapGrant, Value } from "../air/mod.ts";
import { BudgetLedger, type BudgetLine, carryOverLedger, receiptUsage, reservationOf } from "./budgets.ts";

const grant = (name: string, budget?: CapGrant["budget"]): CapGrant =>
  budget === undefined
    ? { name, cap: "sys/timer@1", params: {} }
    : { name, cap: "sys/timer@1", params: {}, budget };

const nat = (value: bigint): Value => ({ kind: "nat", value });
const record = (fields: Array<[string, Value]>): Value => ({ kind: "record", value: new Map(fields) });
const hash = (fill: number): Value => ({ kind: "hash", value: new Uint8Array(32).fill(fill) });

function line(ledger: BudgetLedger, grantName: string, dimension: string): BudgetLine | undefined {
  return ledger.lines().find((l) => l.grant === grantName && l.dimension === dimension);
}

Deno.test("fromGrants() opens one account per budgeted dimension, none for unbudgeted grants, sorted", () => {
  const ledger = BudgetLedger.fromGrants([
    grant("zeta", { tokens: 10n, bytes: 5n }),
    grant("free"),
    grant("alpha", { cents: 3n }),
    grant("empty", {}),
  ]);
  assert.deepEqual(ledger.lines(), [
    { grant: "alpha", dimension: "cents", limit: 3n, spent: 0n, reserved: 0n, exhausted: false },
    { grant: "zeta", dimension: "bytes", limit: 5n, spent: 0n, reserved: 0n, exhausted: false },
    { grant: "zeta", dimension: "tokens", limit: 10n, spent: 0n, reserved: 0n, exhausted: false },
  ]);
  assert.equal(ledger.budgeted("free"), undefined);
  assert.equal(ledger.budgeted("empty"), undefined);
  assert.deepEqual([...ledger.budgeted("zeta")!.keys()], ["bytes", "tokens"]);
});

Deno.test("reservationOf(): llm max_tokens, blob.put blob size (0 when unknown), nothing else", () => {
  const tokens = new Set(["tokens"] as const);
  const bytes = new Set(["bytes"] as const);
  const sizes = (blob: Uint8Array) => (blob[0] === 7 ? 42n : undefined);
  const llm = record([["max_tokens", nat(300n)]]);
  assert.deepEqual(reservationOf("llm.generate", llm, tokens, sizes), { tokens: 300n });
  assert.equal(reservationOf("llm.generate", llm, bytes, sizes), undefined, "tokens not budgeted");
  const put = (fill: number) => record([["blob_ref", hash(fill)]]);
  assert.deepEqual(reservationOf("blob.put", put(7), bytes, sizes), { bytes: 42n });
  assert.deepEqual(reservationOf("blob.put", put(8), bytes, sizes), { bytes: 0n });
  assert.equal(reservationOf("blob.put", put(7), tokens, sizes), undefined);
  assert.equal(reservationOf("http.request", record([]), bytes, sizes), undefined);
  assert.equal(reservationOf("blob.get", record([]), bytes, sizes), undefined);
});

Deno.test("receiptUsage(): tokens, bytes per kind, cents from the receipt before the LLM payload", () => {
  const llm = record([
    ["token_usage", record([["prompt", nat(12n)], ["completion", nat(30n)]])],
    ["cost_cents", nat(4n)],
  ]);
  assert.deepEqual(receiptUsage("llm.generate", llm, {}), { tokens: 42n, cents: 4n });
  assert.deepEqual(receiptUsage("llm.generate", llm, { costCents: 9n }), { tokens: 42n, cents: 9n });
  const blob = record([["size", nat(16n)]]);
  assert.deepEqual(receiptUsage("blob.put", blob, {}), { bytes: 16n });
  assert.deepEqual(receiptUsage("blob.get", blob, { costCents: 1n }), { bytes: 16n, cents: 1n });
  assert.deepEqual(receiptUsage("http.request", record([]), { bodySize: 5n }), { bytes: 5n });
  assert.deepEqual(receiptUsage("http.request", record([]), {}), { bytes: 0n });
  assert.deepEqual(receiptUsage("timer.set", record([]), {}), {});
});

Deno.test("denial(): a reservation above limit − spent − reserved, then any enqueue once exhausted", () => {
  const ledger = BudgetLedger.fromGrants([grant("g", { tokens: 100n, cents: 10n })]);
  assert.equal(ledger.denial("free", { tokens: 1_000n }), undefined, "an unbudgeted grant never denies");
  assert.equal(ledger.denial("g", { tokens: 100n }), undefined, "exactly the limit fits");
  ledger.reserve("g", { tokens: 60n });
  assert.equal(
    ledger.denial("g", { tokens: 41n }),
    'grant "g" tokens budget: reserving 41 exceeds the 40 left (limit 100, spent 0, reserved 60)',
  );
  assert.equal(ledger.denial("g", { tokens: 40n }), undefined);
  assert.deepEqual(line(ledger, "g", "tokens"), {
    grant: "g",
    dimension: "tokens",
    limit: 100n,
    spent: 0n,
    reserved: 60n,
    exhausted: false,
  });
  // Settled lower than reserved: the rest of the reservation is released.
  assert.deepEqual(ledger.settle("g", { tokens: 60n }, { tokens: 25n }), []);
  assert.equal(line(ledger, "g", "tokens")?.reserved, 0n);
  assert.equal(line(ledger, "g", "tokens")?.spent, 25n);
  // Cents overdrawn: journaled once, and the whole grant is exhausted.
  assert.deepEqual(ledger.settle("g", undefined, { cents: 11n }), [
    { dimension: "cents", delta: 11n, newBalance: -1n },
  ]);
  assert.equal(line(ledger, "g", "cents")?.exhausted, true);
  assert.equal(
    ledger.denial("g", {}),
    'grant "g" is exhausted: cents spent 11 of limit 10',
    "exhausted denies even an enqueue that reserves nothing",
  );
  assert.deepEqual(ledger.settle("g", undefined, {}), [], "no usage, no new overdraft");
});

Deno.test("settle(): spent equal to the limit is not an overdraft; usage in unbudgeted dimensions is ignored", () => {
  const ledger = BudgetLedger.fromGrants([grant("g", { bytes: 16n })]);
  assert.deepEqual(ledger.settle("g", undefined, { bytes: 16n, tokens: 1_000n, cents: 5n }), []);
  assert.deepEqual(ledger.lines(), [
    { grant: "g", dimension: "bytes", limit: 16n, spent: 16n, reserved: 0n, exhausted: false },
  ]);
  assert.deepEqual(ledger.settle("g", undefined, { bytes: 1n }), [
    { dimension: "bytes", delta: 1n, newBalance: -1n },
  ]);
  assert.deepEqual(ledger.settle("other", { bytes: 1n }, { bytes: 1n }), []);
});

Deno.test("toCbor()/restore(): the snapshot form round-trips; [] (a snapshot from before budgets) restores nothing", () => {
  const grants = [grant("b", { bytes: 8n }), grant("a", { tokens: 5n, cents: 2n })];
  const ledger = BudgetLedger.fromGrants(grants);
  ledger.reserve("a", { tokens: 3n });
  ledger.settle("b", undefined, { bytes: 9n });
  assert.deepEqual(ledger.toCbor(), [
    {
      grant: "a",
      cents: { limit: 2n, spent: 0n, reserved: 0n, exhausted: false },
      tokens: { limit: 5n, spent: 0n, reserved: 3n, exhausted: false },
    },
    { grant: "b", bytes: { limit: 8n, spent: 9n, reserved: 0n, exhausted: true } },
  ]);
  const restored = BudgetLedger.fromGrants(grants);
  restored.restore(ledger.toCbor());
  assert.deepEqual(restored.lines(), ledger.lines());
  const old = BudgetLedger.fromGrants(grants);
  old.restore([]);
  assert.deepEqual(old.lines(), BudgetLedger.fromGrants(grants).lines());
  assert.throws(() => old.restore([{ grant: "nope", bytes: {} }]), /AOS_JOURNAL_CORRUPT|no budget/);
  assert.throws(() => old.restore([{ grant: "b", bytes: { spent: -1, reserved: 0, exhausted: false } }]));
});

Deno.test("carryOverLedger(): spent and reserved carry over by grant name; a raised limit clears exhausted", () => {
  const ledger = BudgetLedger.fromGrants([
    grant("raised", { bytes: 10n }),
    grant("same", { bytes: 10n }),
    grant("still_over", { bytes: 10n }),
    grant("dropped", { tokens: 1n }),
    grant("unbudgeted_later", { cents: 5n }),
  ]);
  for (const name of ["raised", "same", "still_over"]) ledger.settle(name, undefined, { bytes: 12n });
  ledger.reserve("raised", { bytes: 0n });
  ledger.settle("unbudgeted_later", undefined, { cents: 1n });
  const before = ledger.lines();
  const next = carryOverLedger(ledger, [
    grant("raised", { bytes: 20n }),
    grant("same", { bytes: 10n }),
    grant("still_over", { bytes: 11n }),
    grant("unbudgeted_later"),
    grant("fresh", { tokens: 50n }),
  ]);
  assert.deepEqual(ledger.lines(), before, "the old ledger is not changed");
  assert.deepEqual(next.lines(), [
    { grant: "fresh", dimension: "tokens", limit: 50n, spent: 0n, reserved: 0n, exhausted: false },
    { grant: "raised", dimension: "bytes", limit: 20n, spent: 12n, reserved: 0n, exhausted: false },
    { grant: "same", dimension: "bytes", limit: 10n, spent: 12n, reserved: 0n, exhausted: true },
    { grant: "still_over", dimension: "bytes", limit: 11n, spent: 12n, reserved: 0n, exhausted: true },
  ]);
  assert.equal(next.denial("raised", { bytes: 8n }), undefined, "replenished: 8 of 20 − 12 left");
  assert.match(next.denial("raised", { bytes: 9n }) ?? "", /reserving 9 exceeds the 8 left/);
  const lowered = carryOverLedger(ledger, [grant("raised", { bytes: 5n })]);
  assert.equal(lowered.lines()[0]?.exhausted, true, "a lowered limit keeps it exhausted");
});
