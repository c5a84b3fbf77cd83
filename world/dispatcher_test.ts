import assert from "node:assert/strict";
import type { EffectAdapter, OutboxEntry, Receipt } from "../kernel/mod.ts";
import { Dispatcher } from "./dispatcher.ts";

const entry = (fill: number): OutboxEntry => ({
  intentHash: new Uint8Array(32).fill(fill),
  kind: "timer.set",
  capName: "timer",
  params: new Uint8Array(),
  idempotencyKey: new Uint8Array(32),
  origin: { kind: "plan", name: "demo/p@1", instanceId: 1n, step: "a" },
  fence: { generation: 0n, height: BigInt(fill) },
});

/** An adapter that answers at once and counts its calls. */
function countingAdapter(calls: string[]): EffectAdapter {
  return {
    kind: "timer.set",
    adapterId: "count",
    publicKey: new Uint8Array(32),
    execute: (intent) => {
      calls.push(String(intent.intentHash[0]));
      return Promise.resolve(
        {
          ...intent,
          adapterId: "count",
          status: "ok",
          payload: new Uint8Array(),
          signature: new Uint8Array(),
        } as Receipt,
      );
    },
  };
}

Deno.test("Dispatcher: an intent whose receipt came back but is not admitted yet is not dispatched again", async () => {
  const calls: string[] = [];
  const adapter = countingAdapter(calls);
  const directory = { adapterFor: () => adapter };
  const dispatcher = new Dispatcher();
  const outbox = [entry(1), entry(2)];
  assert.equal(dispatcher.dispatch(outbox, directory).dispatched, 2);
  assert.equal(await dispatcher.waitForReceipt(), true);
  await Promise.resolve();
  // Both receipts are ready; the driver admits the first only, the second intent stays in the outbox
  assert.equal(dispatcher.readyCount, 2);
  assert.equal(dispatcher.inflight, 0);
  assert.equal(dispatcher.dispatch(outbox, directory).dispatched, 0, "ready receipts are not re-requested");
  assert.equal(dispatcher.takeReady().length, 2);
  // Once taken (and admitted), an intent still in the outbox may be dispatched again (e.g. after a restart)
  assert.equal(dispatcher.dispatch([entry(2)], directory).dispatched, 1);
  assert.deepEqual(calls, ["1", "2", "2"]);
});
