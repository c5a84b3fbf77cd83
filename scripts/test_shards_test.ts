import assert from "node:assert/strict";
import { isTestFileName, SHARD_DIR, shardSources, testFiles } from "./test_shards.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

Deno.test("test shards: the file names deno test picks up, and no others", () => {
  for (const name of ["foo_test.ts", "foo.test.ts", "test.ts", "foo_test.mjs", "a.test.tsx"]) {
    assert.ok(isTestFileName(name), name);
  }
  for (const name of ["_test_helpers.ts", "foo_test.json", "contest.ts", "test_shards.ts", "footest.ts"]) {
    assert.ok(!isTestFileName(name), name);
  }
});

Deno.test("test shards: every test file of the repository, none from excluded or hidden folders", async () => {
  const files = await testFiles(ROOT);
  assert.ok(files.includes("scripts/test_shards_test.ts"));
  assert.ok(files.includes("cli/cli_test.ts"));
  assert.deepEqual(files, [...files].sort());
  for (const file of files) {
    assert.doesNotMatch(file, /^(examples|sdk\/assemblyscript)\/|(^|\/)(\.|node_modules\/)/, file);
  }
});

Deno.test("test shards: each file in exactly one shard, dealt round-robin, imported from the shard folder", () => {
  const files = ["a/x_test.ts", "a/y_test.ts", "b/z_test.ts", "c_test.ts", "d/e/f_test.ts"];
  const sources = shardSources(files, 2, SHARD_DIR);
  assert.equal(sources.length, 2);
  const imported = sources.map((source) => [...source.matchAll(/^import "([^"]+)";$/gm)].map((m) => m[1]));
  assert.deepEqual(imported, [
    ["../a/x_test.ts", "../b/z_test.ts", "../d/e/f_test.ts"],
    ["../a/y_test.ts", "../c_test.ts"],
  ]);
  assert.equal(shardSources(files.slice(0, 1), 4, SHARD_DIR).length, 1, "never an empty shard");
});
