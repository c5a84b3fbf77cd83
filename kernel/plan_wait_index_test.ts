import assert from "node:assert/strict";
import { PlanWaitIndex } from "./_plan_wait_index.ts";
import type { PlanInstance } from "./_plan_instance.ts";

function waiting(id: bigint, schema: string, correlation?: [string, Uint8Array]): PlanInstance {
  const inst = {
    id,
    manifestHash: "sha256:m",
    steps: new Map([["await", { state: "waiting_event", wait: schema }]]),
  } as unknown as PlanInstance;
  if (correlation) {
    inst.correlateBy = correlation[0];
    inst.correlation = correlation[1];
  }
  return inst;
}

Deno.test("PlanWaitIndex: an event wakes the uncorrelated waiters and those correlated on its value, in id order", () => {
  const index = new PlanWaitIndex();
  for (let i = 1n; i <= 1_000n; i++) {
    index.update(waiting(i, "demo/Approval@1", ["id", new Uint8Array([Number(i % 256n)])]), true, "sha256:m");
  }
  index.update(waiting(5_000n, "demo/Approval@1"), true, "sha256:m");
  index.update(waiting(7_000n, "demo/Other@1"), true, "sha256:m");
  assert.equal(index.awaits("demo/Nothing@1"), false);
  const hits = index.candidates("demo/Approval@1", (path) => (path === "id" ? "03" : undefined));
  assert.deepEqual(hits, [3n, 259n, 515n, 771n, 5_000n]);
  // A value the index cannot read makes every correlated waiter a candidate.
  assert.equal(index.candidates("demo/Approval@1", () => undefined).length, 1_001);
});

Deno.test("PlanWaitIndex: an instance leaves the index when it ends or stops waiting", () => {
  const index = new PlanWaitIndex();
  const inst = waiting(1n, "demo/Go@1");
  index.update(inst, true, "sha256:m");
  assert.deepEqual(index.candidates("demo/Go@1", () => undefined), [1n]);
  index.update(inst, false, "sha256:m");
  assert.equal(index.awaits("demo/Go@1"), false);
  index.update(inst, true, "sha256:m");
  inst.steps.set("await", { state: "ready" });
  index.update(inst, true, "sha256:m");
  assert.equal(index.awaits("demo/Go@1"), false);
});

Deno.test("PlanWaitIndex: an instance pinned to another manifest is a candidate whatever its correlation", () => {
  const index = new PlanWaitIndex();
  index.update(waiting(9n, "demo/Go@1", ["id", new Uint8Array([1])]), true, "sha256:new");
  assert.deepEqual(index.candidates("demo/Go@1", () => "02"), [9n]);
});
