/**
 * Builds the AssemblyScript reducers (the example worlds' and the kernel's test modules) into `.wasm`
 * files, byte for byte reproducibly, and stamps each example module's `wasm_hash` into its AIR node.
 *
 * The compiler runs in-process (`assemblyscript/asc`) with pinned flags and a file reader that only
 * sees the reducer sources: no `asconfig.json`, no `node_modules`, no absolute paths (source paths
 * appear in abort messages, so they are kept relative to the repository root). Each output is checked
 * before it is written: it instantiates, imports nothing but `env.abort`, exports `memory`, `alloc` and
 * `step`, and contains no float instructions (KERNEL §3.1).
 *
 * ```sh
 * deno task build:examples           # rebuild and write the .wasm files and the module.air.json files
 * deno task build:examples --check   # rebuild into a temp folder; exit 1 if a committed file differs
 * ```
 *
 * The build also writes `scripts/build_stamp.json` (see {@linkcode BUILD_STAMP_PATH}), which lets the
 * test suite check the committed modules without running the compiler:
 *
 * ```sh
 * ```
 *
 * @module
 */
import asc from "npm:assemblyscript@0.28.20/asc";
import binaryen from "npm:assemblyscript@0.28.20/binaryen";
import { Transform } from "npm:assemblyscript@0.28.20/transform";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkReducerModule, COMPILER_FLAGS } from "../sdk/mod.ts";

/** Compiler flags shared by every target: the SDK build's, so user reducers compile the same way. */
export { COMPILER_FLAGS };

/** One module to build. Paths are relative to the repository root, with forward slashes. */
export interface BuildTarget {
  /** AssemblyScript entry file. */
  readonly source: string;
  /** Where the `.wasm` goes. */
  readonly output: string;
  /** Replace the result-pointer `step` with a multi-value `step(ptr, len) -> (i32, i32)`. */
  readonly multiValue?: boolean;
  /** Imports allowed besides `env.abort` (only a test module that must be rejected has any). */
  readonly extraImports?: readonly string[];
}

/** One reducer of the example ladder (`examples/ladder/NN-name/`): its source, module and AIR folders. */
export interface LadderModule {
  /** The rung folder under `examples/ladder/`. */
  readonly rung: string;
  /** The reducer's file name under `reducer/` (its `.wasm` goes to `modules/` with the same stem). */
  readonly reducer: string;
  /** The defmodule's name. */
  readonly name: string;
  /** Every AIR folder of the rung holding this module's `module.air.json` (`air`, and `air.v2` for 06). */
  readonly airDirs: readonly string[];
}

/** The example ladder's reducers, in rung order. */
export const LADDER_MODULES: readonly LadderModule[] = [
  { rung: "00-counter", reducer: "counter.ts", name: "demo/Counter@1", airDirs: ["air"] },
  { rung: "01-hello-timer", reducer: "timer.ts", name: "demo/TimerSM@1", airDirs: ["air"] },
  { rung: "02-blob-echo", reducer: "blob_echo.ts", name: "demo/BlobEcho@1", airDirs: ["air"] },
  { rung: "03-fetch-notify", reducer: "notifier.ts", name: "demo/Notifier@1", airDirs: ["air"] },
  { rung: "04-aggregator", reducer: "aggregator.ts", name: "demo/Aggregator@1", airDirs: ["air"] },
  { rung: "05-chain-comp", reducer: "chain.ts", name: "demo/ChainComp@1", airDirs: ["air"] },
  { rung: "06-safe-upgrade", reducer: "upgrader.ts", name: "demo/Upgrader@1", airDirs: ["air", "air.v2"] },
  { rung: "07-llm-summarizer", reducer: "summarizer.ts", name: "demo/Summarizer@1", airDirs: ["air"] },
  { rung: "08-retry-backoff", reducer: "retry.ts", name: "demo/RetrySM@1", airDirs: ["air"] },
];

const ladderWasm = (m: LadderModule) =>
  `examples/ladder/${m.rung}/modules/${m.reducer.replace(/\.ts$/, ".wasm")}`;

/** Every module this script builds. */
export const TARGETS: readonly BuildTarget[] = [
  { source: "examples/counter/reducer/counter.ts", output: "examples/counter/modules/counter.wasm" },
  ...LADDER_MODULES.map((m) => ({
    source: `examples/ladder/${m.rung}/reducer/${m.reducer}`,
    output: ladderWasm(m),
  })),
  { source: "examples/timer-retry/reducer/retrier.ts", output: "examples/timer-retry/modules/retrier.wasm" },
  {
    source: "examples/fetch-notify/reducer/notifier.ts",
    output: "examples/fetch-notify/modules/notifier.wasm",
  },
  { source: "examples/cells/reducer/cell_counter.ts", output: "examples/cells/modules/cell_counter.wasm" },
  { source: "kernel/testdata/src/trap.ts", output: "kernel/testdata/trap.wasm" },
  { source: "kernel/testdata/src/garbage.ts", output: "kernel/testdata/garbage.wasm" },
  { source: "kernel/testdata/src/bad_state.ts", output: "kernel/testdata/bad_state.wasm" },
  { source: "kernel/testdata/src/relay.ts", output: "kernel/testdata/relay.wasm" },
  {
    source: "kernel/testdata/src/multi_value.ts",
    output: "kernel/testdata/multi_value.wasm",
    multiValue: true,
  },
  {
    source: "kernel/testdata/src/bad_import.ts",
    output: "kernel/testdata/bad_import.wasm",
    extraImports: ["env.now"],
  },
];

/**
 * A reducer that exercises the whole SDK (AssemblyScript compiles only reachable code, so this is also
 * what type-checks the SDK). Built and committed like the others, so the SDK tests need no compiler.
 */
export const SDK_PROBE_TARGET: BuildTarget = {
  source: "sdk/assemblyscript/test/probe.ts",
  output: "sdk/assemblyscript/test/probe.wasm",
};

/** Every target the build writes: {@linkcode TARGETS} and the SDK probe. */
export const ALL_TARGETS: readonly BuildTarget[] = [...TARGETS, SDK_PROBE_TARGET];

/**
 * The build stamp: for every target, the SHA-256 of each source file the compiler read and of the
 * module it wrote, with the compiler version and flags. The test suite checks the committed files
 * against it in milliseconds (a source edited without a rebuild, or a `.wasm` edited by hand, fails);
 * the full rebuild (`deno task build:examples --check`) proves the stamp itself.
 */
export const BUILD_STAMP_PATH = "scripts/build_stamp.json";

/** The AIR node whose `wasm_hash` names the counter module, and the module it names. */
export const COUNTER_MODULE_AIR = "examples/counter/air/module.air.json";
export const COUNTER_MODULE_NAME = "demo/Counter@1";
export const COUNTER_WASM = "examples/counter/modules/counter.wasm";

/** An AIR file holding one defmodule node whose `wasm_hash` the build keeps in step with a built module. */
export interface ModuleStamp {
  /** The AIR file (relative to the repository root); it holds exactly this one defmodule node. */
  readonly air: string;
  /** The module's name, checked against the node before stamping. */
  readonly name: string;
  /** The `output` of the target whose hash goes into the node. */
  readonly wasm: string;
}

/** Every module AIR file the build stamps, the counter's first. */
export const MODULE_STAMPS: readonly ModuleStamp[] = [
  { air: COUNTER_MODULE_AIR, name: COUNTER_MODULE_NAME, wasm: COUNTER_WASM },
  {
    air: "examples/timer-retry/air/module.air.json",
    name: "demo/Retrier@1",
    wasm: "examples/timer-retry/modules/retrier.wasm",
  },
  {
    air: "examples/fetch-notify/air/module.air.json",
    name: "demo/Notifier@1",
    wasm: "examples/fetch-notify/modules/notifier.wasm",
  },
  {
    air: "examples/cells/air/module.air.json",
    name: "demo/CellCounter@1",
    wasm: "examples/cells/modules/cell_counter.wasm",
  },
  ...LADDER_MODULES.flatMap((m) =>
    m.airDirs.map((dir) => ({
      air: `examples/ladder/${m.rung}/${dir}/module.air.json`,
      name: m.name,
      wasm: ladderWasm(m),
    }))
  ),
];

/** Folders the compiler may read sources from; anything else looks absent to it. */
const SOURCE_ROOTS: readonly string[] = [
  "sdk/assemblyscript/assembly/",
  "sdk/assemblyscript/test/",
  "examples/",
  "kernel/testdata/src/",
];

/** The repository root (this file lives in `scripts/`). */
export const ROOT_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A built module. */
export interface BuiltModule {
  readonly target: BuildTarget;
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Lowercase hex SHA-256 of `bytes`. */
  readonly sha256: string;
  /** Every source file the compiler read (relative path → lowercase hex SHA-256), sorted by path. */
  readonly inputs: Readonly<Record<string, string>>;
}

/** The JSON form of {@linkcode BUILD_STAMP_PATH}. */
export interface BuildStamp {
  readonly compiler: string;
  readonly flags: readonly string[];
  readonly targets: readonly {
    readonly source: string;
    readonly output: string;
    readonly sha256: string;
    readonly inputs: Readonly<Record<string, string>>;
  }[];
}

/** Lowercase hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Compiles one target in memory and checks the result against the reducer ABI.
 * Throws an `Error` carrying the compiler's diagnostics when compilation fails.
 */
export async function compileTarget(rootDir: string, target: BuildTarget): Promise<BuiltModule> {
  const outputs = new Map<string, Uint8Array | string>();
  const read = new Map<string, string>();
  const stderr = asc.createMemoryStream();
  const argv = [target.source, "--baseDir", rootDir, "--outFile", "module.wasm", "--textFile", "module.wat"];
  argv.push(...COMPILER_FLAGS);
  if (target.multiValue === true) argv.push("--enable", "multi-value");
  const result = await asc.main(argv, {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: async (name: string, baseDir: string) => {
      const source = await readSource(rootDir, baseDir, name);
      if (source !== null) read.set(source.path, sha256Hex(new TextEncoder().encode(source.text)));
      return source?.text ?? null;
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      outputs.set(name, contents);
    },
    listFiles: () => [],
    transforms: target.multiValue === true ? [new MultiValueStep()] : [],
  });
  if (result.error !== null) {
    throw new Error(`Cannot compile "${target.source}": ${result.error.message}\n${stderr.toString()}`);
  }
  // Warnings do not fail the build, but they should not go unseen either.
  const warnings = stderr.toString().trim();
  if (warnings !== "") console.warn(`Warnings compiling "${target.source}":\n${warnings}`);
  const bytes = outputs.get("module.wasm");
  const text = outputs.get("module.wat");
  if (!(bytes instanceof Uint8Array) || typeof text !== "string") {
    throw new Error(`Cannot compile "${target.source}": the compiler wrote no binary or text`);
  }
  // A copy: the compiler may hand out a view into a larger buffer.
  const wasm = new Uint8Array(bytes);
  checkModule(target, wasm, text);
  const inputs = Object.fromEntries([...read].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { target, bytes: wasm, sha256: sha256Hex(wasm), inputs };
}

/** The stamp of a build, as written to {@linkcode BUILD_STAMP_PATH}. */
export function buildStamp(built: readonly BuiltModule[]): BuildStamp {
  return {
    compiler: `assemblyscript@${asc.version}`,
    flags: [...COMPILER_FLAGS],
    targets: built.map((module) => ({
      source: module.target.source,
      output: module.target.output,
      sha256: module.sha256,
      inputs: module.inputs,
    })),
  };
}

/**
 * Checks the committed outputs against the committed stamp without compiling: the stamp lists exactly
 * {@linkcode ALL_TARGETS} with this compiler and these flags, every input still has its stamped hash,
 * and every output and stamped module AIR file holds the stamped module. Returns the problems found
 * (empty when the committed files are what a build of the committed sources gave).
 */
export async function checkBuildStamp(rootDir: string = ROOT_DIR): Promise<string[]> {
  const text = await readFileOrNull(join(rootDir, BUILD_STAMP_PATH));
  if (text === null) return [`${BUILD_STAMP_PATH} is missing`];
  const stamp = JSON.parse(new TextDecoder().decode(text)) as BuildStamp;
  const problems: string[] = [];
  if (stamp.compiler !== `assemblyscript@${asc.version}`) {
    problems.push(`${BUILD_STAMP_PATH}: built with ${stamp.compiler}, the project pins ${asc.version}`);
  }
  if (JSON.stringify(stamp.flags) !== JSON.stringify(COMPILER_FLAGS)) {
    problems.push(`${BUILD_STAMP_PATH}: built with other compiler flags`);
  }
  const stamped = stamp.targets.map((target) => `${target.source} -> ${target.output}`);
  const expected = ALL_TARGETS.map((target) => `${target.source} -> ${target.output}`);
  if (JSON.stringify(stamped) !== JSON.stringify(expected)) {
    problems.push(`${BUILD_STAMP_PATH}: lists other targets than the build script`);
  }
  for (const target of stamp.targets) {
    for (const [path, sha256] of Object.entries(target.inputs)) {
      const source = await readFileOrNull(join(rootDir, path));
      // Hashed as the compiler saw it: decoded as UTF-8 (a BOM dropped), then encoded again.
      const text = source === null ? null : new TextEncoder().encode(new TextDecoder().decode(source));
      if (text === null || sha256Hex(text) !== sha256) {
        problems.push(`${path} changed since ${target.output} was built`);
      }
    }
    const output = await readFileOrNull(join(rootDir, target.output));
    if (output === null || sha256Hex(output) !== target.sha256) {
      problems.push(`${target.output} is not the module the build wrote`);
    }
  }
  for (const moduleStamp of MODULE_STAMPS) {
    const target = stamp.targets.find((candidate) => candidate.output === moduleStamp.wasm);
    const air = await readFileOrNull(join(rootDir, moduleStamp.air));
    const node: unknown = air === null ? null : JSON.parse(new TextDecoder().decode(air));
    if (target === undefined || !isRecord(node) || node["wasm_hash"] !== `sha256:${target.sha256}`) {
      problems.push(`${moduleStamp.air} does not name the built ${moduleStamp.wasm}`);
    }
  }
  return [...new Set(problems)];
}

/** The stamp as committed: two-space JSON with a final newline. */
function stampText(stamp: BuildStamp): string {
  return JSON.stringify(stamp, null, 2) + "\n";
}

/** Compiles every target, one after another (the compiler keeps global optimizer state). */
export async function compileAll(rootDir: string = ROOT_DIR): Promise<BuiltModule[]> {
  const built: BuiltModule[] = [];
  for (const target of ALL_TARGETS) built.push(await compileTarget(rootDir, target));
  return built;
}

/**
 * Builds every target into `outDir` (same relative paths as in the repository) and writes there a copy
 * of each module node of {@linkcode MODULE_STAMPS} from `rootDir` with `wasm_hash` set to its new `.wasm`.
 */
export async function buildExamples(rootDir: string, outDir: string): Promise<BuiltModule[]> {
  const built = await compileAll(rootDir);
  for (const module of built) await writeFileMakingDirs(join(outDir, module.target.output), module.bytes);
  for (const stamp of MODULE_STAMPS) {
    const module = built.find((candidate) => candidate.target.output === stamp.wasm);
    if (module === undefined) {
      throw new Error(`Cannot stamp the wasm hash: no target builds "${stamp.wasm}"`);
    }
    const moduleAir = await Deno.readTextFile(join(rootDir, stamp.air));
    const stamped = stampWasmHash(moduleAir, `sha256:${module.sha256}`, stamp);
    await writeFileMakingDirs(join(outDir, stamp.air), new TextEncoder().encode(stamped));
  }
  await writeFileMakingDirs(
    join(outDir, BUILD_STAMP_PATH),
    new TextEncoder().encode(stampText(buildStamp(built))),
  );
  return built;
}

/**
 * Rebuilds into a temporary folder and lists the committed files (relative paths) that differ from the
 * fresh build; empty when everything is up to date.
 */
export async function findStaleOutputs(rootDir: string = ROOT_DIR): Promise<string[]> {
  const outDir = await Deno.makeTempDir({ prefix: "aos_build_examples_" });
  try {
    await buildExamples(rootDir, outDir);
    const stale: string[] = [];
    const outputs = [
      ...ALL_TARGETS.map((target) => target.output),
      ...MODULE_STAMPS.map((stamp) => stamp.air),
      BUILD_STAMP_PATH,
    ];
    for (const path of outputs) {
      const fresh = await Deno.readFile(join(outDir, path));
      const committed = await readFileOrNull(join(rootDir, path));
      if (committed === null || !bytesEqual(fresh, committed)) stale.push(path);
    }
    return stale;
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

/**
 * Returns `moduleAirText` with the `wasm_hash` of its defmodule node (the counter's unless `stamp` names
 * another) replaced, touching nothing else so the file keeps its formatting.
 */
export function stampWasmHash(
  moduleAirText: string,
  wasmHash: string,
  stamp: ModuleStamp = MODULE_STAMPS[0]!,
): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(wasmHash)) throw new RangeError(`Invalid wasm hash: "${wasmHash}"`);
  const node: unknown = JSON.parse(moduleAirText);
  if (!isRecord(node) || node["$kind"] !== "defmodule" || node["name"] !== stamp.name) {
    throw new Error(`Cannot stamp "${stamp.air}": expected the defmodule node "${stamp.name}"`);
  }
  const pattern = /("wasm_hash"\s*:\s*)"[^"]*"/g;
  const matches = moduleAirText.match(pattern) ?? [];
  if (matches.length !== 1) {
    throw new Error(`Cannot stamp "${stamp.air}": expected one "wasm_hash", found ${matches.length}`);
  }
  const stamped = moduleAirText.replace(pattern, `$1"${wasmHash}"`);
  const check: unknown = JSON.parse(stamped);
  if (!isRecord(check) || check["wasm_hash"] !== wasmHash) {
    throw new Error(`Cannot stamp "${stamp.air}": the hash did not land in the node`);
  }
  return stamped;
}

/**
 * Replaces the result-pointer `step(ret, ptr, len)` export with a generated multi-value
 * `step(ptr, len) -> (out_ptr, out_len)` that allocates the result area itself. Runs before Binaryen
 * optimizes, so the wrapper is optimized with the rest.
 */
class MultiValueStep extends Transform {
  override afterCompile(module: binaryen.Module): void {
    if ((module.getFeatures() & binaryen.Features.Multivalue) === 0) {
      throw new Error("Cannot build a multi-value step: the multi-value feature is off");
    }
    const allocName = internalFunctionName(module, "alloc");
    const stepName = internalFunctionName(module, "step");
    const i32 = binaryen.i32;
    // Locals: 0 = ptr, 1 = len (parameters), 2 = ret (the 8-byte result area).
    const body = module.block(null, [
      module.local.set(2, module.call(allocName, [module.i32.const(8)], i32)),
      module.call(
        stepName,
        [module.local.get(2, i32), module.local.get(0, i32), module.local.get(1, i32)],
        binaryen.none,
      ),
      module.tuple.make([
        module.i32.load(0, 4, module.local.get(2, i32)),
        module.i32.load(4, 4, module.local.get(2, i32)),
      ]),
    ], binaryen.createType([i32, i32]));
    module.addFunction("step_multi_value", binaryen.createType([i32, i32]), binaryen.createType([i32, i32]), [
      i32,
    ], body);
    module.removeExport("step");
    module.addFunctionExport("step_multi_value", "step");
  }
}

function internalFunctionName(module: binaryen.Module, exportName: string): string {
  const exportRef = module.getExport(exportName);
  if (exportRef === 0) throw new Error(`Cannot build a multi-value step: no "${exportName}" export`);
  return binaryen.getExportInfo(exportRef).value;
}

/** Checks a compiled module against KERNEL §3.1 (and a target's declared exceptions). */
function checkModule(target: BuildTarget, bytes: Uint8Array<ArrayBuffer>, text: string): void {
  checkReducerModule(target.output, bytes, text, target.extraImports ?? []);
}

/** The compiler's file reader: only `.ts` files under SOURCE_ROOTS, so nothing else can leak in. */
async function readSource(
  rootDir: string,
  baseDir: string,
  name: string,
): Promise<{ path: string; text: string } | null> {
  const path = relative(rootDir, resolve(rootDir, baseDir, name)).replaceAll("\\", "/");
  if (!path.endsWith(".ts") || !SOURCE_ROOTS.some((root) => path.startsWith(root))) return null;
  try {
    return { path, text: await Deno.readTextFile(join(rootDir, path)) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function readFileOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function writeFileMakingDirs(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, bytes);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`Unknown argument "${unknown[0]}": usage: build_examples.ts [--check]`);
    return 2;
  }
  const startMs = performance.now();
  if (args.includes("--check")) {
    const stale = await findStaleOutputs(ROOT_DIR);
    for (const path of stale) console.error(`Stale: ${path} differs from a fresh build`);
    if (stale.length > 0) {
      console.error("Run `deno task build:examples` and commit the result.");
      return 1;
    }
    console.log(
      `All ${ALL_TARGETS.length} modules, ${MODULE_STAMPS.length} module AIR files and the stamp match a fresh build.`,
    );
    return 0;
  }
  const built = await buildExamples(ROOT_DIR, ROOT_DIR);
  for (const module of built) {
    console.log(`${module.target.output}  ${module.bytes.length} bytes  sha256:${module.sha256}`);
  }
  const stamped = MODULE_STAMPS.map((stamp) => stamp.air).join(", ");
  console.log(`Stamped ${stamped} (${Math.round(performance.now() - startMs)} ms).`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
