/**
 * Core scenario (WP1/WP4, KERNEL §6.3, §8.5): a crash after `effect_queued` was fsynced and dispatched,
 * before its receipt was journaled. The reopened world has the same intent in its outbox, dispatches the
 * same intent hash again (delivery is at least once), and admits its receipt exactly once: the receipt of
 * the first dispatch, arriving late, is a duplicate.
 */
import assert from "node:assert/strict";
import { bytesEqual } from "../../air/mod.ts";
import { verifyWorld } from "../../world/mod.ts";
import { World } from "../../world/mod.ts";
import {
  chain,
  e,
  grants,
  orderOf,
  plan,
  schema,
  step,
  t,
  TestWorld,
  trigger,
  typedEntries,
  world as defineWorld,
} from "../mod.ts";

function fetchWorld() {
  return defineWorld({
    schemas: [schema("demo/Go@1", t.record({ url: t.text }))],
    grants: [grants.http("http_cap", ["example.com"])],
    plans: [plan("demo/fetch@1", {
      input: "demo/Go@1",
      allowedEffects: ["http.request"],
      requiredCaps: ["http_cap"],
      steps: [
        step.emit(
          "a_fetch",
          "http.request",
          "http_cap",
          e.record({ method: e.text("GET"), url: e.ref("@plan.input.url"), headers: e.map() }),
          "req",
        ),
        step.awaitReceipt("b_wait", "req", "resp"),
        step.end("c_end"),
      ],
      edges: chain("a_fetch", "b_wait", "c_end"),
    })],
    triggers: [trigger("demo/Go@1", "demo/fetch@1")],
  });
}

Deno.test("after a crash between a dispatched effect_queued and its receipt, the reopened world re-dispatches the same intent and admits one receipt", async () => {
  // Given a plan whose intent was queued, fsynced and dispatched; the adapter's answer is still in flight
  await using test = await TestWorld.create(fetchWorld());
  await test.send("demo/Go@1", { url: "https://example.com/c" });
  const [intent] = test.world.kernel.outbox();
  const fake = test.fakes.get("http.request")!;
  fake.script(intent!.intentHash, { status: "ok", hold: true });
  const inFlight = fake.execute(intent!); // the first dispatch, as the crashed driver made it
  assert.equal(fake.held().length, 1);
  const heightAtCrash = test.world.height;
  // When the process dies (the in-memory world is dropped) and the world is reopened from disk
  test.world.close();
  const reopened = await World.open(test.dir, { clock: test.clock });
  try {
    // Then the reopened world has the same intent, with the same fence, in its outbox
    const outbox = reopened.kernel.outbox();
    assert.equal(reopened.height, heightAtCrash);
    assert.equal(outbox.length, 1);
    assert.ok(bytesEqual(outbox[0]!.intentHash, intent!.intentHash));
    assert.deepEqual(outbox[0]!.fence, intent!.fence);
    assert.deepEqual(reopened.kernel.plans().map((p) => p.status), ["waiting"]);
    // When the driver runs again: it dispatches the same intent hash, and the adapter answers at once
    const run = await reopened.run(test.directory);
    // Then the adapter saw the intent twice, and its receipt is journaled once
    assert.equal(run.idle, true);
    assert.equal(run.dispatched, 1);
    assert.equal(fake.calls.length, 2);
    assert.ok(fake.calls.every((call) => bytesEqual(call.intentHash, intent!.intentHash)));
    // When the first dispatch's answer finally arrives
    assert.equal(fake.releaseAll(), 1);
    const report = await reopened.admitReceipts([await inFlight], test.directory);
    // Then it is a duplicate
    assert.deepEqual(report.outcomes.map((o) => o.ignored), ["duplicate"]);
    const journal = typedEntries([...reopened.journal.entries()], reopened.defs);
    assert.deepEqual(orderOf(journal), [
      "genesis",
      "domain_event:demo/Go@1",
      "plan_started",
      "policy_decision",
      "effect_queued",
      "receipt_appended",
      "plan_ended",
      "receipt_ignored",
    ]);
    assert.equal(journal.filter((entry) => entry.kind === "receipt_appended").length, 1);
    assert.deepEqual(reopened.kernel.outbox(), []);
    assert.deepEqual(reopened.kernel.plans().map((p) => p.status), ["ok"]);
    // And the journal replays from genesis, and reopens, to the same state
    const live = reopened.kernel.snapshot();
    reopened.close();
    assert.equal((await verifyWorld(test.dir)).ok, true);
    const again = await World.open(test.dir, { clock: test.clock });
    try {
      assert.ok(bytesEqual(again.kernel.snapshot(), live));
    } finally {
      again.close();
    }
  } finally {
    reopened.close();
  }
});
