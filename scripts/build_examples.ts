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
 * @module
 */
import asc from "assemblyscript/asc";
import binaryen from "assemblyscript/binaryen";
import { Transform } from "assemblyscript/transform";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Compiler flags shared by every target. `--runtime stub` is a bump allocator without GC: enough since
 * the host instantiates afresh for every call. Asserts stay on (no `--noAssert`): they abort, which the
 * host turns into a trap. Memory stays exported; no source map or debug names, which would embed paths.
 */
export const COMPILER_FLAGS: readonly string[] = [
  "--optimizeLevel",
  "3",
  "--shrinkLevel",
  "0",
  "--runtime",
  "stub",
  "--noColors",
];

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
 * what type-checks the SDK). Built in memory by the tests; never written or committed.
 */
export const SDK_PROBE_TARGET: BuildTarget = {
  source: "sdk/assemblyscript/test/probe.ts",
  output: "sdk/assemblyscript/test/probe.wasm",
};

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
  const stderr = asc.createMemoryStream();
  const argv = [target.source, "--baseDir", rootDir, "--outFile", "module.wasm", "--textFile", "module.wat"];
  argv.push(...COMPILER_FLAGS);
  if (target.multiValue === true) argv.push("--enable", "multi-value");
  const result = await asc.main(argv, {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: (name: string, baseDir: string) => readSource(rootDir, baseDir, name),
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
  return { target, bytes: wasm, sha256: sha256Hex(wasm) };
}

/** Compiles every target, one after another (the compiler keeps global optimizer state). */
export async function compileAll(rootDir: string = ROOT_DIR): Promise<BuiltModule[]> {
  const built: BuiltModule[] = [];
  for (const target of TARGETS) built.push(await compileTarget(rootDir, target));
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
    const outputs = [...TARGETS.map((target) => target.output), ...MODULE_STAMPS.map((stamp) => stamp.air)];
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
  const module = new WebAssembly.Module(bytes);
  const allowed = new Set(["env.abort", ...(target.extraImports ?? [])]);
  for (const entry of WebAssembly.Module.imports(module)) {
    const name = `${entry.module}.${entry.name}`;
    if (entry.kind !== "function" || !allowed.has(name)) {
      throw new Error(`Module "${target.output}" has a forbidden import: "${name}" (${entry.kind})`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((entry) => [entry.name, entry.kind]));
  for (const [name, kind] of [["memory", "memory"], ["alloc", "function"], ["step", "function"]] as const) {
    if (exports.get(name) !== kind) {
      throw new Error(`Module "${target.output}" does not export ${kind} "${name}"`);
    }
  }
  // NaN bit patterns differ between engines (KERNEL §3.1); the text form names every float type/opcode.
  const float = /\b(?:f32|f64)\b/.exec(text);
  if (float !== null) {
    throw new Error(`Module "${target.output}" uses floats: "${float[0]}" in its text form`);
  }
}

/** The compiler's file reader: only `.ts` files under SOURCE_ROOTS, so nothing else can leak in. */
async function readSource(rootDir: string, baseDir: string, name: string): Promise<string | null> {
  const path = relative(rootDir, resolve(rootDir, baseDir, name)).replaceAll("\\", "/");
  if (!path.endsWith(".ts") || !SOURCE_ROOTS.some((root) => path.startsWith(root))) return null;
  try {
    return await Deno.readTextFile(join(rootDir, path));
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
      `All ${TARGETS.length} modules and ${MODULE_STAMPS.length} module AIR files match a fresh build.`,
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
