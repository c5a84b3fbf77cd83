/**
 * `deno task test`: runs `deno test` with the task's flags and the caller's arguments. Given test files or
 * folders it runs exactly those, one test worker per file as usual. Given none it runs the whole suite in
 * a few workers instead of one per file: it writes {@linkcode SHARD_COUNT} shard modules to
 * `.test_shards/` (git-ignored), each importing its share of the test files (see
 * {@linkcode shardSources}), and runs them with `--parallel`.
 *
 * Why: every test worker costs about 0.3 s of CPU before its first test (a new isolate, the test runner's
 * own setup, which allocates and clears an 80 MB array in Deno 2.9, and its module graph loaded again),
 * which across 144 files was about 40% of the suite's CPU time on a 2-core machine. The tests do not rely on
 * a worker of their own: each cleans up what it creates, and the sanitizers still check every test.
 * The shards import the files statically, so `deno test` type-checks them as before.
 *
 * ```sh
 * deno task test                          # every test file, in shards
 * deno task test cli/cli_test.ts world/   # just these, one worker per file
 * deno task test --filter "aos init"      # every test file, in shards, tests named so
 * ```
 *
 * @module
 */
import { join, relative } from "node:path";

/**
 * How many shard modules the whole suite is split into (`AOS_TEST_SHARDS` overrides it): more than the
 * workers that run at once (one per core), so a worker that finishes early takes the next shard and the
 * rough weights need not be exact; each shard costs about 0.6 s of CPU to start.
 */
export const SHARD_COUNT = 6;

/** Where the shard modules are written, relative to the repository root. */
export const SHARD_DIR = ".test_shards";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** Whether `deno test` would pick up a file of this name in a folder: `{*_,*.,}test.{ts,tsx,js,mjs,jsx,mts}`. */
export function isTestFileName(name: string): boolean {
  return /(^|[_.])test\.(ts|tsx|mts|js|mjs|jsx)$/.test(name);
}

/**
 * The test files `deno test` finds under `root`, as sorted paths relative to it: test file names in any
 * folder but hidden ones, `node_modules` and the folders deno.json's `test.exclude` names.
 */
export async function testFiles(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  const excluded: string[] = (config.test?.exclude ?? []).map((p: string) => p.replace(/\/$/, ""));
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(join(root, dir))) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.name.startsWith(".") || entry.name === "node_modules" || excluded.includes(path)) continue;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && isTestFileName(entry.name)) out.push(path);
    }
  }
  await walk("");
  return out.sort();
}

/**
 * Rough seconds of wall time of the slowest test files in a full run on a busy 2-core machine, for balancing
 * the shards; any other file counts {@linkcode DEFAULT_SECONDS}. A stale figure only makes the shards less
 * even, never skips a test.
 */
export const SLOW_FILES: Readonly<Record<string, number>> = {
  "cli/pg_cli_test.ts": 13,
  "journal/pg_store_test.ts": 7,
  "cli/kill_test.ts": 4.5,
  "cli/cli_test.ts": 4,
  "cli/new_test.ts": 3.5,
  "cli/concurrency_test.ts": 3.5,
  "cli/recovery_test.ts": 3,
  "cli/input_limits_test.ts": 2,
  "testkit/tests/crash_sim_test.ts": 2,
  "testkit/tests/core_budgets_test.ts": 2,
  "cli/hostile_inputs_test.ts": 2,
  "journal/fs_journal_test.ts": 2,
  "air/cbor/cbor_fast_test.ts": 2,
  "kernel/reducer_reuse_test.ts": 2,
  "cli/run_inflight_test.ts": 1.5,
  "cli/proposal_test.ts": 1.5,
  "scripts/tasks_test.ts": 1.5,
};

/** The weight of a test file not in {@linkcode SLOW_FILES}. */
export const DEFAULT_SECONDS = 0.3;

/**
 * Files that go into the same shard: the PostgreSQL tests, so one throwaway server (one per worker, see
 * `sharedPgServer`) serves them all.
 */
export const TOGETHER: readonly (readonly string[])[] = [["cli/pg_cli_test.ts", "journal/pg_store_test.ts"]];

/**
 * The source of each of `count` shard modules for `files` (paths relative to the repository root),
 * balanced by {@linkcode SLOW_FILES}: the heaviest group first, each into the lightest shard so far
 * ({@linkcode TOGETHER} files as one group). Each shard imports its files in sorted order. `dir` is where
 * the shards live, relative to the root.
 */
export function shardSources(files: readonly string[], count: number, dir: string): string[] {
  const groups: string[][] = [];
  const grouped = new Set<string>();
  for (const together of TOGETHER) {
    const present = together.filter((file) => files.includes(file));
    if (present.length > 0) groups.push(present);
    present.forEach((file) => grouped.add(file));
  }
  for (const file of files) if (!grouped.has(file)) groups.push([file]);
  const weight = (group: readonly string[]) =>
    group.reduce((sum, file) => sum + (SLOW_FILES[file] ?? DEFAULT_SECONDS), 0);
  // Heaviest first; ties by path, so the shards are the same on every run.
  groups.sort((a, b) => weight(b) - weight(a) || (a[0]! < b[0]! ? -1 : 1));
  const shards = Array.from({ length: Math.max(1, Math.min(count, groups.length)) }, () => ({
    files: [] as string[],
    seconds: 0,
  }));
  for (const group of groups) {
    const lightest = shards.reduce((min, shard) => (shard.seconds < min.seconds ? shard : min));
    lightest.files.push(...group);
    lightest.seconds += weight(group);
  }
  return shards.map((shard, i) =>
    `// Generated by scripts/test_shards.ts (deno task test): shard ${i + 1} of ${shards.length}, ` +
    `about ${Math.round(shard.seconds)} s.\n` +
    shard.files.sort().map((file) => `import "${relative(dir, file)}";\n`).join("")
  );
}

/** `deno test` flags whose value may follow as the next argument. */
const FLAGS_WITH_VALUE = new Set([
  "--filter",
  "--junit-path",
  "--reporter",
  "--seed",
  "--coverage",
  "--ignore",
  "--config",
  "-c",
  "--lock",
  "--import-map",
  "--v8-flags",
  "--env-file",
  "--location",
]);

/**
 * The arguments that name test files or folders: those before a `--` (after it come the tests' own
 * arguments) that are neither flags nor a flag's value, and exist under `root`.
 */
export async function pathArgs(args: readonly string[], root: string): Promise<string[]> {
  const paths: string[] = [];
  const end = args.indexOf("--");
  for (const [i, arg] of (end === -1 ? args : args.slice(0, end)).entries()) {
    if (arg.startsWith("-") || FLAGS_WITH_VALUE.has(args[i - 1] ?? "")) continue;
    try {
      await Deno.stat(join(root, arg));
      paths.push(arg);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return paths;
}

/** Writes `text` to `path` unless it already holds it (so concurrent runs never see a half-written file). */
async function writeIfChanged(path: string, text: string): Promise<void> {
  try {
    if (await Deno.readTextFile(path) === text) return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const temp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temp, text);
  await Deno.rename(temp, path);
}

async function main(args: string[]): Promise<number> {
  let testArgs = args;
  if ((await pathArgs(args, ROOT)).length === 0) {
    const count = Number(Deno.env.get("AOS_TEST_SHARDS") ?? SHARD_COUNT);
    const sources = shardSources(await testFiles(ROOT), count, SHARD_DIR);
    await Deno.mkdir(join(ROOT, SHARD_DIR), { recursive: true });
    const paths = sources.map((_, i) => `${SHARD_DIR}/shard_${i + 1}.ts`);
    for (const [i, path] of paths.entries()) await writeIfChanged(join(ROOT, path), sources[i]!);
    for await (const entry of Deno.readDir(join(ROOT, SHARD_DIR))) {
      if (!paths.includes(`${SHARD_DIR}/${entry.name}`)) await Deno.remove(join(ROOT, SHARD_DIR, entry.name));
    }
    const end = args.indexOf("--");
    testArgs = end === -1 ? [...args, ...paths] : [...args.slice(0, end), ...paths, ...args.slice(end)];
  }
  const child = new Deno.Command(Deno.execPath(), { args: ["test", ...testArgs], cwd: ROOT }).spawn();
  return (await child.status).code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
