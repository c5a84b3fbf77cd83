import assert from "node:assert/strict";
import { limits } from "../air/mod.ts";
import { hasCode, tempDir } from "../kernel/_test_fixtures.ts";
import { initCounterWorld } from "./_test_fixtures.ts";

Deno.test("World.step() fails with AOS_INPUT_TOO_LARGE before appending anything when a queued event cannot be journaled", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  try {
    await world.enqueue([{ schema: "demo/Increment@1", value: { by: 1n } }]);
    // Queued behind enqueue's back (as an older aos would have): too large for one journal entry.
    const huge = { schema: "demo/Increment@1", value: new Uint8Array(limits.journalEntrySizeBytesMax) };
    await world.inbox.add([huge], 0, world.defs.manifestHash);
    const height = world.height;
    await assert.rejects(world.step(), hasCode("AOS_INPUT_TOO_LARGE"));
    assert.equal(world.height, height);
    assert.equal(await world.pendingInbox(), 2);
  } finally {
    world.close();
  }
});
