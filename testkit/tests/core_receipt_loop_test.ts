import assert from "node:assert/strict";
import { exampleWorld } from "../_examples.ts";
import { TestWorld } from "../test_world.ts";

Deno.test("run() does not re-dispatch an intent whose receipt was ignored until the next run", async () => {
  // Given an http adapter that always answers with a wrong fence
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"), {
    respond: { "http.request": () => ({ status: "ok", fence: { generation: 0n, height: 99n } }) },
  });
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  // When the driver runs (with a deadline as a backstop)
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
  const run = await world.world.run(world.directory, { deadline });
  clearTimeout(timer);
  // Then it returned on its own, not idle, with one ignored receipt and the intent still pending
  assert.equal(run.idle, false);
  assert.equal(run.dispatched, 1);
  assert.equal(run.ignored, 1);
  assert.equal(world.kinds().filter((k) => k === "receipt_ignored").length, 1);
  assert.equal(world.world.kernel.outbox().length, 1);
  // And the next run dispatches it again (at least once), still without looping
  const again = await world.world.run(world.directory);
  assert.equal(again.dispatched, 1);
  assert.equal(world.kinds().filter((k) => k === "receipt_ignored").length, 2);
  await world.assertReplay();
});
