import assert from "node:assert/strict";
import { type CborValue, decodeCanonical, encodeCanonical, hashRefToBytes } from "../../air/mod.ts";
import { FsJournal, readJournalDir } from "../../journal/mod.ts";
import { FileHeadStore } from "../../world/mod.ts";
import { verifyWorld } from "../../world/mod.ts";
import { worldPaths } from "../../world/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { TestWorld } from "../test_world.ts";

/** Replaces the world's last snapshot blob with `edit(snapshot)` and re-points (and re-chains) the journal. */
async function forgeLastSnapshot(world: TestWorld, edit: (snapshot: { [key: string]: CborValue }) => void) {
  const paths = worldPaths(world.dir);
  const { entries } = await readJournalDir(paths.journal);
  const index = entries.findLastIndex((e) => e.kind === "snapshot");
  const snapshot = decodeCanonical(await world.world.cas.get("blobs", world.world.lastSnapshot!.hash)) as {
    [key: string]: CborValue;
  };
  edit(snapshot);
  const forged = await world.world.cas.put("blobs", encodeCanonical(snapshot));
  const records = entries.map(({ kind, body }) => ({ kind, body }));
  records[index] = {
    kind: "snapshot",
    body: { ...records[index]!.body, snapshot_hash: hashRefToBytes(forged) },
  };
  await Deno.remove(paths.journal, { recursive: true });
  const journal = await FsJournal.open(paths.journal, { create: true });
  journal.append(records);
  await journal.sync();
  await new FileHeadStore(paths.head).write({ height: journal.height, hash: journal.lastHash });
  journal.close();
}

Deno.test("replay --verify compares plan instances and the outbox, not only reducer state", async () => {
  // Given a fetch-notify world whose plan waits on an http receipt, snapshotted at that point
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"));
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  await world.world.snapshot();
  assert.equal(world.world.kernel.outbox().length, 1);
  const ok = await verifyWorld(world.dir);
  assert.equal(ok.ok, true);
  assert.equal(ok.plans, 1);
  assert.equal(ok.outbox, 1);
  // When the snapshot's outbox is forged empty (cells untouched)
  await forgeLastSnapshot(world, (s) => (s.outbox = []));
  // Then verify reports the outbox divergence
  const report = await verifyWorld(world.dir);
  assert.equal(report.ok, false);
  assert.match(report.divergence?.message ?? "", /outbox/);
});

Deno.test("replay --verify reports forged plan instances in a snapshot", async () => {
  await using world = await TestWorld.create(await exampleWorld("fetch-notify"));
  await world.send("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:9/x" });
  await world.world.snapshot();
  await forgeLastSnapshot(world, (s) => (s.plans = []));
  const report = await verifyWorld(world.dir);
  assert.equal(report.ok, false);
  assert.match(report.divergence?.message ?? "", /plans/);
});
