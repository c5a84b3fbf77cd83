/**
 * Ladder rung 05 (`examples/ladder/05-chain-comp`): a saga of four plans driven by a reducer — charge,
 * reserve, notify — where a failed reservation is compensated by the refund plan. The fake
 * `http.request` adapter answers by URL.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakeOutcome } from "../../adapters/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { TestWorld } from "../test_world.ts";
import { httpReceipt, queuedUrls, urlOf } from "./_receipts.ts";

const RUNG = "ladder/05-chain-comp";
const CHARGE = "https://payments.example.com/charge/o-1";
const RESERVE = "https://inventory.example.com/reserve/o-1";
const NOTIFY = "https://notify.example.com/order/o-1";
const REFUND = "https://payments.example.com/refund/o-1";

/** Answers 200 to every URL but those in `answers` (an HTTP status, or a receipt status). */
function api(answers: { [url: string]: number | "error" } = {}) {
  return {
    respond: {
      "http.request": (intent: { params: Uint8Array }): FakeOutcome => {
        const answer = answers[urlOf(intent.params)] ?? 200;
        return answer === "error" ? { status: "error" } : { status: "ok", payload: httpReceipt(answer) };
      },
    },
  };
}

/** The plans that ran, in start order, with their status. */
function plansRun(w: TestWorld): string[] {
  return w.plans().map((p) => `${p.plan}:${p.status}`);
}

Deno.test("ladder 05 chain-comp: charge, reserve and notify succeed; no refund", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), api());
  await w.send("demo/ChainStart@1", { order_id: "o-1", amount_cents: 4200 });
  assert.deepEqual(w.state("demo/ChainComp@1"), { stage: "charging", order_id: "o-1", amount_cents: 4200n });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/ChainComp@1"), { stage: "done", order_id: "o-1", amount_cents: 4200n });
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE, NOTIFY]);
  assert.deepEqual(plansRun(w), [
    "demo/charge_plan@1:ok",
    "demo/reserve_plan@1:ok",
    "demo/notify_plan@1:ok",
  ]);
  await w.assertReplay();
});

Deno.test("ladder 05 chain-comp: a failed reservation is compensated by a refund of the charge", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), api({ [RESERVE]: 409 }));
  await w.send("demo/ChainStart@1", { order_id: "o-1", amount_cents: 4200 });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/ChainComp@1"), { stage: "refunded", order_id: "o-1", amount_cents: 4200n });
  assert.deepEqual(queuedUrls(w), [CHARGE, RESERVE, REFUND]);
  const results = w.journal().filter((x) => x.origin === "plan").map((x) => [x.schema, x.value]);
  assert.deepEqual(results, [
    ["demo/ChargeResult@1", { order_id: "o-1", ok: true }],
    ["demo/ReserveResult@1", { order_id: "o-1", ok: false }],
    ["demo/RefundResult@1", { order_id: "o-1", ok: true }],
  ]);
  const refund = w.journal().find((x) => x.schema === "demo/RefundRequested@1")!;
  assert.equal(refund.origin, "reducer");
  assert.deepEqual(refund.value, { order_id: "o-1", amount_cents: 4200n });
  // The next order may start once the saga ended.
  await w.send("demo/ChainStart@1", { order_id: "o-2", amount_cents: 1 });
  assert.equal((w.state("demo/ChainComp@1") as { stage: string }).stage, "charging");
  await w.assertReplay();
});

Deno.test("ladder 05 chain-comp: a failed charge stops the saga with nothing to compensate", async () => {
  await using w = await TestWorld.create(await exampleWorld(RUNG), api({ [CHARGE]: "error" }));
  await w.send("demo/ChainStart@1", { order_id: "o-1", amount_cents: 4200 });
  const second = await w.send("demo/ChainStart@1", { order_id: "o-9", amount_cents: 1 });
  assert.equal(second.reducerErrors.length, 1, "a Start while a saga runs traps");
  await w.runToIdle();
  assert.deepEqual(w.state("demo/ChainComp@1"), {
    stage: "charge_failed",
    order_id: "o-1",
    amount_cents: 4200n,
  });
  assert.deepEqual(queuedUrls(w), [CHARGE]);
  await w.assertReplay();
});
