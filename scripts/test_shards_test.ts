import assert from "node:assert/strict";
import {
  checkArgs,
  isTestFileName,
  junitSeconds,
  LARGE_SHARE,
  pathArgs,
  SHARD_DIR,
  shardPaths,
  shardSources,
  TAIL_SHARDS_PER_WORKER,
  testFiles,
} from "./test_shards.ts";

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

const importsOf = (source: string) => [...source.matchAll(/^import "\.\.\/([^"]+)";$/gm)].map((m) => m[1]!);
const secondsOf = (source: string, weights: Record<string, number>) =>
  importsOf(source).reduce((sum, file) => sum + (weights[file] ?? 0.3), 0);

Deno.test("test shards: each file in exactly one shard, the PostgreSQL tests together, large shards first", () => {
  const fast = Array.from({ length: 40 }, (_, i) => `a/f${String(i).padStart(2, "0")}_test.ts`);
  const files = [...fast, "cli/pg_cli_test.ts", "journal/pg_store_test.ts", "cli/kill_test.ts"].sort();
  const weights: Record<string, number> = {
    "cli/pg_cli_test.ts": 6,
    "journal/pg_store_test.ts": 6,
    "cli/kill_test.ts": 4,
  };
  fast.forEach((file, i) => (weights[file] = 0.1 + (i % 7) * 0.2));
  const sources = shardSources(files, weights, 2, SHARD_DIR);
  assert.equal(sources.length, 2 * (1 + TAIL_SHARDS_PER_WORKER), "a large and the small shards per worker");
  const imported = sources.map(importsOf);
  assert.deepEqual(imported.flat().sort(), files, "every file once");
  const pg = imported.findIndex((shard) => shard.includes("cli/pg_cli_test.ts"));
  assert.ok(imported[pg]!.includes("journal/pg_store_test.ts"), "the PostgreSQL tests share a shard");
  for (const shard of imported) assert.deepEqual(shard, [...shard].sort());
  // Two large shards of LARGE_SHARE of a worker's half each, then rounds of two, each half the one before.
  const seconds = sources.map((source) => secondsOf(source, weights));
  const total = seconds.reduce((a, b) => a + b, 0);
  for (const s of seconds.slice(0, 2)) assert.ok(Math.abs(s - total / 2 * LARGE_SHARE) < 1, `${seconds}`);
  const tailParts = 2 ** TAIL_SHARDS_PER_WORKER - 1;
  for (let round = 0; round < TAIL_SHARDS_PER_WORKER; round++) {
    const expected = (total / 2) * (1 - LARGE_SHARE) * 2 ** (TAIL_SHARDS_PER_WORKER - 1 - round) / tailParts;
    for (const s of seconds.slice(2 + 2 * round, 4 + 2 * round)) {
      assert.ok(Math.abs(s - expected) < 0.5, `round ${round}: ${seconds}`);
    }
  }
  // The same input gives the same shards (their type check stays cached).
  assert.deepEqual(shardSources(files, weights, 2, SHARD_DIR), sources);
  assert.equal(shardSources(files.slice(0, 1), weights, 4, SHARD_DIR).length, 1, "never an empty shard");
  assert.equal(
    shardSources(files, {}, 1, SHARD_DIR).length,
    1 + TAIL_SHARDS_PER_WORKER,
    "unmeasured files count the default",
  );
});

Deno.test("test shards: shard paths sort in the order they run", () => {
  assert.deepEqual(shardPaths(3), [
    ".test_shards/shard_1.ts",
    ".test_shards/shard_2.ts",
    ".test_shards/shard_3.ts",
  ]);
  const twelve = shardPaths(12);
  assert.equal(twelve[0], ".test_shards/shard_01.ts");
  assert.deepEqual([...twelve].sort(), twelve);
});

Deno.test("test shards: a file's weight is its summed test seconds from a JUnit report", () => {
  const xml = `<testsuites><testsuite name="./a/x_test.ts">
    <testcase name="one" classname="./a/x_test.ts" time="0.125" line="1" col="6"></testcase>
    <testcase name="two &quot;q&quot;" classname="./a/x_test.ts" time="1.500" line="9" col="6"></testcase>
    </testsuite><testsuite name="./lib/contract.ts">
    <testcase name="shared" classname="./lib/contract.ts" time="0.004" line="1" col="6"></testcase>
    </testsuite></testsuites>`;
  assert.equal(junitSeconds(xml), 1.63);
  assert.equal(junitSeconds(`<testsuites name="deno test" tests="0"></testsuites>`), 0);
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

Deno.test("test shards: the type check beside the tests resolves the graph as deno test would", () => {
  const roots = [".test_shards/shard_1.ts", ".test_shards/shard_2.ts"];
  assert.deepEqual(
    checkArgs(["--lock=tests.lock", "--parallel", "--v8-flags=--single-threaded-gc", "--allow-read"], roots),
    ["check", "--quiet", "--lock=tests.lock", ...roots],
  );
  assert.deepEqual(
    checkArgs(["--config", "other.json", "--no-lock", "--filter", "init", "--", "--config", "x"], roots),
    ["check", "--quiet", "--config", "other.json", "--no-lock", ...roots],
    "a flag's separate value comes along; the tests' own arguments after -- do not count",
  );
  for (const own of ["--no-check", "--check", "--check=all"]) {
    assert.equal(checkArgs(["--parallel", own], roots), undefined, `${own}: the caller decides`);
  }
  assert.deepEqual(checkArgs(["--", "--no-check"], roots), ["check", "--quiet", ...roots]);
});
