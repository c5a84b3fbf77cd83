/**
 * `deno task test`: runs `deno test` with the task's flags and the caller's arguments. Given test files or
 * folders it runs exactly those, one test worker per file as usual. Given none it runs the whole suite in
 * a few workers instead of one per file: it writes a few shard modules to `.test_shards/` (git-ignored),
 * each importing its share of the test files, balanced by their measured seconds (see
 * {@linkcode shardSources} and {@linkcode WEIGHTS_FILE}), and runs them with `--parallel`.
 *
 * Why: every test worker costs about 0.3 s of CPU before its first test (a new isolate, the test runner's
 * own setup, which allocates and clears an 80 MB array in Deno 2.9, and its module graph loaded again),
 * which across 144 files was about 40% of the suite's CPU time on a 2-core machine. The tests do not rely on
 * a worker of their own: each cleans up what it creates, and the sanitizers still check every test.
 * The shards import the files statically, and are type-checked as before, but by a `deno check` of their own
 * that runs beside the tests (`deno test --no-check`) instead of before them (see {@linkcode checkArgs}): a
 * type error still fails the task.
 *
 * ```sh
 * deno task test                          # every test file, in shards
 * deno task test cli/cli_test.ts world/   # just these, one worker per file
 * deno task test --filter "aos init"      # every test file, in shards, tests named so
 * deno task test:weights                  # measure each file's seconds again (scripts/test_weights.json)
 * ```
 *
 * @module
 */
import { join, relative } from "node:path";

/** Where the shard modules are written, relative to the repository root. */
export const SHARD_DIR = ".test_shards";

/**
 * Where each test file's measured seconds are kept, relative to the repository root: written by
 * `deno task test:weights` (see {@linkcode writeWeights}), read to balance the shards. A stale or missing
 * figure only makes the shards less even, never skips a test.
 */
export const WEIGHTS_FILE = "scripts/test_weights.json";

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

/** The weight of a test file {@linkcode WEIGHTS_FILE} does not list (a new one): about a typical file's. */
export const DEFAULT_SECONDS = 0.3;

/**
 * Files that go into the same shard: the PostgreSQL tests, so one throwaway server (one per worker, see
 * `sharedPgServer`) serves them all.
 */
export const TOGETHER: readonly (readonly string[])[] = [["cli/pg_cli_test.ts", "journal/pg_store_test.ts"]];

/**
 * The share of each worker's time in its first, large shard; the rest is cut into
 * {@linkcode TAIL_SHARDS_PER_WORKER} rounds of small shards, one shard per worker in each round, each round
 * half the size of the one before. Test workers take the shards in order as they come free, so a worker whose
 * large shard ends early takes more of the small ones and the workers end within about one of the last,
 * smallest shards of each other; with equal shards one worker could run a whole shard alone at the end (3.5 s
 * of one worker idle in a timed run). Each shard costs about 0.7–1 s to load (the test runner's own setup
 * and the shard's module graph), so there are few of them: with three workers on the 2-core machine, five runs
 * alternating 80% and one round against 70% and two rounds (6 shards against 9): faster in four, by 4.1 s on
 * average (46.6 → 42.6 s); four runs against no tail at all (3 shards): the same within noise (43.6 / 43.3 s),
 * and the tail keeps the workers' ends close when a measured weight is off.
 */
export const LARGE_SHARE = 0.8;

/** How many rounds of small shards, one per worker each, follow the large ones (see {@linkcode LARGE_SHARE}). */
export const TAIL_SHARDS_PER_WORKER = 1;

/**
 * The source of each shard module for `files` (paths relative to the repository root), for `workers` test
 * workers, balanced by `weights` (seconds per file; {@linkcode DEFAULT_SECONDS} for a file not listed).
 * First one large shard per worker ({@linkcode LARGE_SHARE} of a worker's share of the total), then
 * {@linkcode TAIL_SHARDS_PER_WORKER} rounds of one small shard per worker, each round half the size of the
 * one before: each group of files ({@linkcode TOGETHER} files as one), heaviest first, goes into the shard
 * with the most room left. Shards that end up empty are
 * dropped. Each shard imports its files in sorted order; `dir` is where the shards live, relative to the
 * root. The same input gives the same shards, so their type check stays cached.
 */
export function shardSources(
  files: readonly string[],
  weights: Readonly<Record<string, number>>,
  workers: number,
  dir: string,
): string[] {
  const groups: string[][] = [];
  const grouped = new Set<string>();
  for (const together of TOGETHER) {
    const present = together.filter((file) => files.includes(file));
    if (present.length > 0) groups.push(present);
    present.forEach((file) => grouped.add(file));
  }
  for (const file of files) if (!grouped.has(file)) groups.push([file]);
  const weight = (group: readonly string[]) =>
    group.reduce((sum, file) => sum + (weights[file] ?? DEFAULT_SECONDS), 0);
  // Heaviest first; ties by path, so the shards are the same on every run.
  groups.sort((a, b) => weight(b) - weight(a) || (a[0]! < b[0]! ? -1 : 1));
  const perWorker = groups.reduce((sum, group) => sum + weight(group), 0) / Math.max(1, workers);
  // Round r of the tail gets 2^(rounds - 1 - r) parts of the 2^rounds - 1 the tail is cut into.
  const tailPart = (perWorker * (1 - LARGE_SHARE)) / (2 ** TAIL_SHARDS_PER_WORKER - 1);
  const rooms = [perWorker * LARGE_SHARE];
  for (let round = 0; round < TAIL_SHARDS_PER_WORKER; round++) {
    rooms.push(tailPart * 2 ** (TAIL_SHARDS_PER_WORKER - 1 - round));
  }
  const shards = rooms.flatMap((room) =>
    Array.from({ length: Math.max(1, workers) }, () => ({ files: [] as string[], room }))
  );
  for (const group of groups) {
    const roomiest = shards.reduce((best, shard) => (shard.room > best.room ? shard : best));
    roomiest.files.push(...group);
    roomiest.room -= weight(group);
  }
  const used = shards.filter((shard) => shard.files.length > 0);
  return used.map((shard, i) => {
    const seconds = shard.files.reduce((sum, file) => sum + (weights[file] ?? DEFAULT_SECONDS), 0);
    return `// Generated by scripts/test_shards.ts (deno task test): shard ${i + 1} of ${used.length}, ` +
      `about ${seconds.toFixed(1)} s.\n` +
      shard.files.sort().map((file) => `import "${relative(dir, file)}";\n`).join("");
  });
}

/** The shard module paths for `count` shards: numbered with equal width, so they sort in the order run. */
export function shardPaths(count: number): string[] {
  const width = String(count).length;
  return Array.from(
    { length: count },
    (_, i) => `${SHARD_DIR}/shard_${String(i + 1).padStart(width, "0")}.ts`,
  );
}

/**
 * How many test workers run at once: `DENO_JOBS`, else one more than the cores (`deno test --parallel`'s
 * own default is the cores). Many tests wait: on fsync, on the PostgreSQL server, on the `aos` processes
 * they start; a worker more keeps the cores busy meanwhile. On the 2-core build machine, ten runs
 * alternating 2 and 3 workers: 3 was faster in eight, by 2.3 s on average (44.4 → 42.1 s).
 */
export function testWorkers(): number {
  const jobs = Number(Deno.env.get("DENO_JOBS"));
  return Number.isInteger(jobs) && jobs > 0 ? jobs : navigator.hardwareConcurrency + 1;
}

/** The summed test case seconds of a JUnit report of `deno test`. */
export function junitSeconds(xml: string): number {
  let seconds = 0;
  for (const time of xml.matchAll(/<testcase\b[^>]*\btime="([0-9.]+)"/g)) seconds += Number(time[1]);
  return Math.round(seconds * 100) / 100;
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

async function readWeights(): Promise<Record<string, number>> {
  try {
    return JSON.parse(await Deno.readTextFile(join(ROOT, WEIGHTS_FILE)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}

/**
 * `deno task test:weights`: runs each test file in a `deno test` of its own (so the tests a shared suite
 * module defines count for the file that runs them), one at a time and without the type check, with a
 * JUnit report, and writes each file's summed test seconds to {@linkcode WEIGHTS_FILE}.
 */
async function writeWeights(args: string[]): Promise<number> {
  const report = await Deno.makeTempFile({ prefix: "aos-test-weights-", suffix: ".xml" });
  try {
    const testArgs = args.filter((arg) => arg !== "--parallel");
    const weights: Record<string, number> = {};
    for (const file of await testFiles(ROOT)) {
      const status = await new Deno.Command(Deno.execPath(), {
        args: ["test", ...testArgs, "--no-check", `--junit-path=${report}`, file],
        cwd: ROOT,
        stdout: "null",
        stderr: "inherit",
      }).spawn().status;
      if (!status.success) {
        console.error(`${file}: deno test failed (exit ${status.code}); ${WEIGHTS_FILE} is unchanged`);
        return status.code || 1;
      }
      weights[file] = junitSeconds(await Deno.readTextFile(report));
      console.log(`${file}: ${weights[file]} s`);
    }
    await writeIfChanged(join(ROOT, WEIGHTS_FILE), JSON.stringify(weights, null, 2) + "\n");
    console.log(`wrote ${WEIGHTS_FILE}: ${Object.keys(weights).length} files`);
    return 0;
  } finally {
    await Deno.remove(report);
  }
}

/** `deno test` flags that also decide how `deno check` resolves and locks the module graph. */
const GRAPH_FLAGS = new Set([
  "--lock",
  "--no-lock",
  "--frozen",
  "--config",
  "-c",
  "--import-map",
  "--no-remote",
]);

/**
 * The `deno check` arguments that type-check `roots` as `deno test` would with `testArgs`, or `undefined`
 * when `testArgs` decide the type check themselves (`--no-check`, `--check`, `--check=all`).
 *
 * Why beside the tests: `deno test` type-checks its whole graph before the first test starts, in one thread,
 * with the other core idle. Warm, that is a lookup in Deno's check cache (0.2 s); on a clean clone it is about
 * 13 s of CPU (15 s of wall time on the 2-core machine), all of it ahead of the tests. Run as a process of its
 * own while the tests run, the same work shares the cores with them.
 */
export function checkArgs(testArgs: readonly string[], roots: readonly string[]): string[] | undefined {
  const end = testArgs.indexOf("--");
  const own = end === -1 ? testArgs : testArgs.slice(0, end);
  if (own.some((arg) => arg === "--no-check" || arg === "--check" || arg.startsWith("--check="))) {
    return undefined;
  }
  const graph: string[] = [];
  for (const [i, arg] of own.entries()) {
    const name = arg.split("=", 1)[0]!;
    if (GRAPH_FLAGS.has(name)) {
      graph.push(arg);
      const value = own[i + 1];
      if (!arg.includes("=") && FLAGS_WITH_VALUE.has(name) && value !== undefined) graph.push(value);
    }
  }
  return ["check", "--quiet", ...graph, ...roots];
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--write-weights") return await writeWeights(args.slice(1));
  let testArgs = args;
  let workers: number | undefined;
  let check: string[] | undefined;
  if ((await pathArgs(args, ROOT)).length === 0) {
    workers = testWorkers();
    const sources = shardSources(await testFiles(ROOT), await readWeights(), workers, SHARD_DIR);
    await Deno.mkdir(join(ROOT, SHARD_DIR), { recursive: true });
    const paths = shardPaths(sources.length);
    check = checkArgs(args, paths);
    for (const [i, path] of paths.entries()) await writeIfChanged(join(ROOT, path), sources[i]!);
    for await (const entry of Deno.readDir(join(ROOT, SHARD_DIR))) {
      if (!paths.includes(`${SHARD_DIR}/${entry.name}`)) await Deno.remove(join(ROOT, SHARD_DIR, entry.name));
    }
    const end = args.indexOf("--");
    testArgs = end === -1 ? [...args, ...paths] : [...args.slice(0, end), ...paths, ...args.slice(end)];
  }
  const checking = check === undefined
    ? undefined
    : new Deno.Command(Deno.execPath(), { args: check, cwd: ROOT, stdout: "inherit" }).spawn().status;
  if (checking !== undefined) testArgs = ["--no-check", ...testArgs];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", ...testArgs],
    cwd: ROOT,
    // As many workers as there are shards per round (deno test reads DENO_JOBS for --parallel).
    ...(workers === undefined ? {} : { env: { DENO_JOBS: String(workers) } }),
  }).spawn();
  const tested = (await child.status).code;
  const checked = checking === undefined ? 0 : (await checking).code;
  if (checked !== 0) {
    console.error(`deno check of the test shards failed (exit ${checked}): see the errors above`);
  }
  return tested !== 0 ? tested : checked;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
