import assert from "node:assert/strict";
import type { Value } from "../air/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { AdapterKey } from "./keys.ts";
import { SystemClock } from "./system_clock.ts";
import { TimerAdapter } from "./timer.ts";
import { SystemTimerScheduler, VirtualTimerScheduler } from "./timer_scheduler.ts";
import { checkReceipt, integer, makeIntent, text } from "./_test_support.ts";

const nat = (value: bigint): Value => ({ kind: "nat", value });
const key = AdapterKey.generate();

/** True when `promise` settled once pending microtasks and one macrotask ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("timer.set fires exactly at deliver_at_ns and not a nanosecond before", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(1_000n));
  const timer = new TimerAdapter({ key, scheduler });
  const intent = makeIntent("timer.set", {
    deliver_at_ns: nat(5_000n),
    key: { kind: "text", value: "retry" },
  }, {
    height: 9n,
    generation: 2n,
  });
  const pending = timer.execute(intent);
  assert.equal(scheduler.nextDueNs(), 5_000n, "registered before execute returned");

  assert.equal(scheduler.advanceTo(4_999n), 0);
  assert.equal(await settled(pending), false);
  assert.equal(scheduler.advance(1n), 1);
  const receipt = await pending;

  assert.equal(receipt.status, "ok");
  assert.equal(receipt.adapterId, "aos-timer");
  assert.equal(receipt.costCents, undefined);
  const payload = checkReceipt(intent, receipt, key.publicKey)!;
  assert.equal(integer(payload.get("delivered_at_ns")), 5_000n);
  assert.equal(text(payload.get("key")), "retry");
  assert.equal(scheduler.nextDueNs(), undefined);
});

Deno.test("timer.set without a key echoes none; a past due time fires at the current time", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(1_000n));
  const timer = new TimerAdapter({ key, scheduler });
  const intent = makeIntent("timer.set", { deliver_at_ns: nat(10n) });
  const pending = timer.execute(intent);
  assert.equal(scheduler.runDue(), 1);
  const payload = checkReceipt(intent, await pending, key.publicKey)!;
  assert.equal(integer(payload.get("delivered_at_ns")), 1_000n);
  assert.deepEqual(payload.get("key") ?? { kind: "none" }, { kind: "none" });
});

Deno.test("timer.set executed twice with one intent hash sets one timer and answers one receipt", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
  const timer = new TimerAdapter({ key, scheduler });
  const intent = makeIntent("timer.set", { deliver_at_ns: nat(100n) });
  const first = timer.execute(intent);
  const second = timer.execute({ ...intent });
  assert.equal(scheduler.pendingCount, 1);
  assert.equal(scheduler.runNext(), 1);
  assert.equal(await first, await second);
  assert.equal(await timer.execute(intent), await first, "a finished intent is answered from memory");
  assert.equal(scheduler.pendingCount, 0);

  const requeued = { ...intent, fence: { generation: 1n, height: intent.fence.height } };
  const again = timer.execute(requeued);
  assert.equal(scheduler.pendingCount, 1, "a new fence (after a rollback) is a new execution");
  scheduler.runDue();
  checkReceipt(requeued, await again, key.publicKey);
});

Deno.test("timer.set answers error for an intent whose hash does not match its params", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
  const failures: string[] = [];
  const timer = new TimerAdapter({ key, scheduler, onFailure: (f) => failures.push(f.reason) });
  const intent = makeIntent("timer.set", { deliver_at_ns: nat(100n) });
  const forged = { ...intent, intentHash: intent.intentHash.map((b, i) => i === 0 ? b ^ 1 : b) };
  const receipt = await timer.execute(forged);
  assert.equal(receipt.status, "error");
  checkReceipt(forged, receipt, key.publicKey);
  assert.equal(scheduler.pendingCount, 0);
  assert.match(failures[0]!, /Intent hash does not match/);

  const wrongKindIntent = { ...intent, kind: "blob.put" as const };
  const wrongKind = await timer.execute(wrongKindIntent);
  assert.equal(wrongKind.status, "error");
  checkReceipt(wrongKindIntent, wrongKind, key.publicKey);
});

Deno.test("VirtualTimerScheduler fires in due order, equal due times in registration order", async () => {
  const scheduler = new VirtualTimerScheduler(new VirtualClock(0n));
  const order: string[] = [];
  const waits = [
    scheduler.waitUntil(30n).then(() => order.push("c")),
    scheduler.waitUntil(10n).then(() => order.push("a")),
    scheduler.waitUntil(10n).then(() => order.push("b")),
  ];
  assert.equal(scheduler.nextDueNs(), 10n);
  assert.equal(scheduler.runNext(), 2);
  assert.equal(scheduler.clock.nowNs(), 10n);
  assert.equal(scheduler.runNext(), 1);
  assert.equal(scheduler.runNext(), 0);
  await Promise.all(waits);
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.throws(() => scheduler.advance(-1n), RangeError);
});

Deno.test("SystemTimerScheduler fires a real timer at or after its due time and close() stops the rest", async () => {
  const clock = new SystemClock();
  const scheduler = new SystemTimerScheduler(clock);
  const timer = new TimerAdapter({ key, scheduler });
  const dueNs = clock.nowNs() + 20_000_000n;
  const intent = makeIntent("timer.set", { deliver_at_ns: nat(dueNs) });
  const far = scheduler.waitUntil(clock.nowNs() + 3_600_000_000_000n);
  const payload = checkReceipt(intent, await timer.execute(intent), key.publicKey)!;
  assert.ok(integer(payload.get("delivered_at_ns")) >= dueNs);
  assert.equal(scheduler.pendingCount, 1);
  timer.close();
  assert.equal(scheduler.pendingCount, 0);
  assert.equal(await settled(far), false);
});
