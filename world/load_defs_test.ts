import assert from "node:assert/strict";
import { FsCas } from "../journal/mod.ts";
import { ReducerHost } from "../kernel/mod.ts";
import { hasCode, tempDir } from "../kernel/_test_fixtures.ts";
import { loadDefs } from "./load_defs.ts";
import { worldPaths } from "./paths.ts";
import { initCounterWorld } from "./_test_fixtures.ts";

Deno.test("loadDefs() validates a manifest once per process, and still reads and re-hashes every node", async () => {
  await using dir = await tempDir();
  const { world } = await initCounterWorld(dir.path);
  const manifestHash = world.defs.manifestHash;
  world.close();
  const cas = new FsCas(worldPaths(dir.path).store);

  const first = await loadDefs(cas, manifestHash, new ReducerHost());
  const second = await loadDefs(cas, manifestHash, new ReducerHost());
  assert.equal(second.manifest, first.manifest, "the validated bundle is reused");
  assert.ok(Object.isFrozen(first.manifest), "and frozen, as the worlds of a process share it");
  const [node] = first.nodes.values();
  assert.ok(Object.isFrozen(node), "down to its nodes");
  assert.throws(() => {
    (first.manifest as { air_version: string }).air_version = "2";
  }, TypeError);

  // A node damaged or gone after it validated: the next open still fails.
  const [hash] = first.nodes.keys();
  const path = cas.pathOf("nodes", hash!);
  const bytes = await Deno.readFile(path);
  const damaged = bytes.slice();
  damaged[damaged.length - 1]! ^= 1;
  await Deno.writeFile(path, damaged);
  await assert.rejects(loadDefs(cas, manifestHash, new ReducerHost()), hasCode("AOS_CAS_CORRUPT"));
  await Deno.remove(path);
  await assert.rejects(loadDefs(cas, manifestHash, new ReducerHost()), hasCode("AOS_CAS_MISSING"));
  await Deno.writeFile(path, bytes);
  assert.equal((await loadDefs(cas, manifestHash, new ReducerHost())).manifest, first.manifest);
});
