import assert from "node:assert/strict";
import { isTestFileName, pathArgs, SHARD_DIR, shardSources, testFiles } from "./test_shards.ts";

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

Deno.test("test shards: each file in exactly one shard, the slow ones spread, the PostgreSQL tests together", () => {
  const fast = Array.from({ length: 20 }, (_, i) => `a/f${String(i).padStart(2, "0")}_test.ts`);
  const files = [...fast, "cli/pg_cli_test.ts", "journal/pg_store_test.ts", "cli/kill_test.ts"].sort();
  const sources = shardSources(files, 3, SHARD_DIR);
  assert.equal(sources.length, 3);
  const imported = sources.map((source) =>
    [...source.matchAll(/^import "\.\.\/([^"]+)";$/gm)].map((m) => m[1]!)
  );
  assert.deepEqual(imported.flat().sort(), files, "every file once");
  const pg = imported.findIndex((shard) => shard.includes("cli/pg_cli_test.ts"));
  assert.ok(imported[pg]!.includes("journal/pg_store_test.ts"), "the PostgreSQL tests share a shard");
  assert.ok(!imported[pg]!.includes("cli/kill_test.ts"), "the slowest files are spread");
  for (const shard of imported) assert.deepEqual(shard, [...shard].sort());
  // The same input gives the same shards (their type check stays cached).
  assert.deepEqual(shardSources(files, 3, SHARD_DIR), sources);
  assert.equal(shardSources(files.slice(0, 1), 4, SHARD_DIR).length, 1, "never an empty shard");
});

Deno.test("test shards: the arguments that name files or folders, not flags, their values or the tests' own", async () => {
  assert.deepEqual(await pathArgs(["--lock=tests.lock", "--parallel", "--allow-read"], ROOT), []);
  assert.deepEqual(await pathArgs(["--parallel", "cli/cli_test.ts", "world"], ROOT), [
    "cli/cli_test.ts",
    "world",
  ]);
  assert.deepEqual(
    await pathArgs(["--filter", "cli", "--reporter", "junit", "--junit-path", "x.xml"], ROOT),
    [],
  );
  assert.deepEqual(await pathArgs(["--filter=cli", "--", "cli"], ROOT), []);
  assert.deepEqual(await pathArgs(["no/such_test.ts"], ROOT), []);
});
