/**
 * Builds a user's AssemblyScript reducer into a `.wasm` file and stamps its `wasm_hash` into the module's
 * AIR node: what `deno task build` runs in a world scaffolded by `aos new reducer`.
 *
 * The reducer imports the SDK as the package `"@aos/sdk"`
 * (`import { runReducer } from "@aos/sdk";`): the compiler's file reader serves that package from this
 * project's `sdk/assemblyscript/assembly/`, wherever the world lives, so a world outside the repository
 * needs no copy of the SDK and no `node_modules`. The compiler sees nothing else but the `.ts` files
 * under the world folder; source paths stay relative to it, so the build is reproducible.
 *
 * Builds are cached (see {@linkcode buildCacheDir}): a build whose compiler, flags and every file the
 * compiler asked for (each one's contents, or its absence) are unchanged takes its `.wasm` from the cache
 * instead of compiling again, which took seconds.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hashRefOf } from "../air/mod.ts";
import { writeFileAtomic } from "../journal/mod.ts";

/** The compiler, pinned: part of every build cache key. Loaded only when a build is not in the cache. */
export const COMPILER = "assemblyscript@0.28.20";

/**
 * Compiler flags shared by every reducer build. `--runtime stub` is a bump allocator without GC: enough
 * since the host instantiates afresh for every call. Asserts stay on (no `--noAssert`): they abort, which
 * the host turns into a trap. Memory stays exported; no source map or debug names, which would embed paths.
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

/** The package name a reducer imports the SDK by. */
export const SDK_PACKAGE = "@aos/sdk";

/** This project's AssemblyScript SDK folder (`sdk/assemblyscript/assembly/`). */
export const SDK_ASSEMBLY_DIR: string = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "assemblyscript",
  "assembly",
);

/**
 * Checks a compiled module against the reducer ABI (KERNEL §3.1): it imports nothing but `env.abort`
 * (and `extraImports`), exports memory `memory` and functions `alloc` and `step`, and its text form
 * names no float type or instruction (NaN bit patterns differ between engines). Throws an `Error`
 * naming `label` otherwise.
 */
export function checkReducerModule(
  label: string,
  bytes: Uint8Array<ArrayBuffer>,
  text: string,
  extraImports: readonly string[] = [],
): void {
  const module = new WebAssembly.Module(bytes);
  const allowed = new Set(["env.abort", ...extraImports]);
  for (const entry of WebAssembly.Module.imports(module)) {
    const name = `${entry.module}.${entry.name}`;
    if (entry.kind !== "function" || !allowed.has(name)) {
      throw new Error(`Module "${label}" has a forbidden import: "${name}" (${entry.kind})`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((entry) => [entry.name, entry.kind]));
  for (const [name, kind] of [["memory", "memory"], ["alloc", "function"], ["step", "function"]] as const) {
    if (exports.get(name) !== kind) throw new Error(`Module "${label}" does not export ${kind} "${name}"`);
  }
  const float = /\b(?:f32|f64)\b/.exec(text);
  if (float !== null) throw new Error(`Module "${label}" uses floats: "${float[0]}" in its text form`);
}

/** What {@linkcode buildReducer} builds, paths relative to `dir` (forward slashes). */
export interface ReducerBuild {
  /** The world folder: the compiler reads `.ts` files under it only. */
  readonly dir: string;
  /** The AssemblyScript entry file, e.g. `reducer/hello.ts`. */
  readonly source: string;
  /** Where the `.wasm` goes, e.g. `modules/hello.wasm`. */
  readonly wasm: string;
  /** The AIR file holding the module's defmodule node, whose `wasm_hash` is set to the new module's. */
  readonly moduleAir: string;
  /** The module's name, e.g. `app/Hello@1` (checked against the node before stamping). */
  readonly module: string;
}

/** A built reducer. */
export interface BuiltReducer {
  /** The module's bytes, as written to `wasm`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** `sha256:` + hex of the bytes: the `wasm_hash` AIR names it by (the same as `aos air hash FILE.wasm`). */
  readonly wasmHash: string;
  /** Whether the AIR file changed (false when it already named this hash). */
  readonly stamped: boolean;
}

/**
 * Where built reducers are cached: `AOS_BUILD_CACHE` (`off` turns the cache off), else
 * `$XDG_CACHE_HOME/aos/reducer-builds`, else `~/.cache/aos/reducer-builds`; undefined (no cache) without
 * a home folder or without permission to read the environment.
 */
export function buildCacheDir(): string | undefined {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no permission to read the environment: no cache
    }
  };
  const set = env("AOS_BUILD_CACHE");
  if (set === "off") return undefined;
  if (set !== undefined && set !== "") return set;
  const base = env("XDG_CACHE_HOME") || (env("HOME") ? `${env("HOME")}/.cache` : "");
  return base === "" ? undefined : `${base}/aos/reducer-builds`;
}

/**
 * One question the compiler asked of the file reader (`name` in `baseDir`, relative to the world folder)
 * and the SHA-256 of the answer (null: absent, or refused by the reader).
 */
export interface SourceRead {
  baseDir: string;
  name: string;
  hash: string | null;
}

/** A cache entry: what a build read and the hash of the `.wasm` it wrote (kept beside it). */
interface CachedBuild {
  compiler: string;
  flags: readonly string[];
  source: string;
  reads: SourceRead[];
  wasmHash: string;
}

/**
 * The cache entry's file name (without extension) of a build of `source`, whose text has `entryHash`
 * ({@linkcode textHash}), with this compiler and flags.
 */
function cacheKey(source: string, entryHash: string | null): string {
  const key = JSON.stringify({
    compiler: COMPILER,
    flags: COMPILER_FLAGS,
    source,
    entry: entryHash,
  });
  return hashRefOf(new TextEncoder().encode(key)).slice("sha256:".length);
}

function textHash(text: string | null): string | null {
  return text === null ? null : hashRefOf(new TextEncoder().encode(text));
}

/**
 * The cached `.wasm` of `source` under `root`, when `cacheDir` holds a build of it whose every read gives the
 * same answer now and whose bytes still have the recorded hash; undefined otherwise (a damaged or foreign
 * entry is a miss, never an error).
 */
export async function cachedBuild(
  cacheDir: string,
  root: string,
  source: string,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const key = cacheKey(source, textHash(await readWorldSource(root, "", source)));
  let entry: CachedBuild;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    entry = JSON.parse(await Deno.readTextFile(`${cacheDir}/${key}.json`));
    bytes = await Deno.readFile(`${cacheDir}/${key}.wasm`);
  } catch {
    return undefined;
  }
  if (
    entry.compiler !== COMPILER || JSON.stringify(entry.flags) !== JSON.stringify(COMPILER_FLAGS) ||
    entry.source !== source || !Array.isArray(entry.reads) || hashRefOf(bytes) !== entry.wasmHash
  ) return undefined;
  for (const read of entry.reads) {
    if (textHash(await readWorldSource(root, read.baseDir, read.name)) !== read.hash) return undefined;
  }
  return bytes;
}

/**
 * Records a build of `source` (its reads and bytes) in `cacheDir`, keyed by the entry text the build read
 * (a file edited during the build is not the one it built); a failure to write is not an error.
 */
export async function storeBuild(
  cacheDir: string,
  root: string,
  source: string,
  reads: SourceRead[],
  bytes: Uint8Array,
): Promise<void> {
  const entryRead = reads.find((read) => read.baseDir === "" && read.name === source);
  const key = cacheKey(
    source,
    entryRead !== undefined ? entryRead.hash : textHash(await readWorldSource(root, "", source)),
  );
  const entry: CachedBuild = {
    compiler: COMPILER,
    flags: COMPILER_FLAGS,
    source,
    reads,
    wasmHash: hashRefOf(bytes),
  };
  try {
    await Deno.mkdir(cacheDir, { recursive: true });
    // The bytes first: an entry whose manifest is there but bytes are not (or differ) is a miss.
    await writeFileAtomic(`${cacheDir}/${key}.wasm`, bytes);
    await writeFileAtomic(`${cacheDir}/${key}.json`, new TextEncoder().encode(JSON.stringify(entry)));
  } catch {
    // Not writable (no permission, a read-only or full disk): the build stands, uncached.
  }
}

/**
 * Compiles `source` (relative to `dir`) in memory and checks it against the reducer ABI, or takes the
 * result from the build cache (`cacheDir`, default {@linkcode buildCacheDir}; `null`: no cache). Throws an
 * `Error` carrying the compiler's diagnostics when compilation fails.
 */
export async function compileReducer(
  dir: string,
  source: string,
  cacheDir: string | null = buildCacheDir() ?? null,
): Promise<Uint8Array<ArrayBuffer>> {
  const root = resolve(dir);
  if (cacheDir !== null) {
    const cached = await cachedBuild(cacheDir, root, source);
    if (cached !== undefined) return cached;
  }
  const { default: asc } = await import("npm:assemblyscript@0.28.20/asc");
  // COMPILER keys the cache: it must name the compiler that runs (an import specifier must be a literal).
  if (`assemblyscript@${asc.version}` !== COMPILER) {
    throw new Error(`sdk/build.ts: COMPILER says ${COMPILER}, the imported compiler is ${asc.version}`);
  }
  const outputs = new Map<string, Uint8Array | string>();
  const reads: SourceRead[] = [];
  const stderr = asc.createMemoryStream();
  const argv = [source, "--baseDir", root, "--outFile", "module.wasm", "--textFile", "module.wat"];
  argv.push(...COMPILER_FLAGS);
  const result = await asc.main(argv, {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: async (name: string, baseDir: string) => {
      const text = await readWorldSource(root, baseDir, name);
      // Kept relative to the world folder: the same files elsewhere build the same module.
      reads.push({ baseDir: relative(root, resolve(root, baseDir)), name, hash: textHash(text) });
      return text;
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      outputs.set(name, contents);
    },
    listFiles: () => [],
  });
  if (result.error !== null) {
    throw new Error(`Cannot compile "${source}": ${result.error.message}\n${stderr.toString()}`);
  }
  const warnings = stderr.toString().trim();
  if (warnings !== "") console.warn(`Warnings compiling "${source}":\n${warnings}`);
  const bytes = outputs.get("module.wasm");
  const text = outputs.get("module.wat");
  if (!(bytes instanceof Uint8Array) || typeof text !== "string") {
    throw new Error(`Cannot compile "${source}": the compiler wrote no binary or text`);
  }
  const wasm = new Uint8Array(bytes);
  checkReducerModule(source, wasm, text);
  if (cacheDir !== null) await storeBuild(cacheDir, root, source, reads, wasm);
  return wasm;
}

/**
 * Compiles the reducer, writes its `.wasm`, and sets the `wasm_hash` of the module's node in `moduleAir`
 * (touching nothing else in the file, so it keeps its layout).
 */
export async function buildReducer(build: ReducerBuild): Promise<BuiltReducer> {
  const bytes = await compileReducer(build.dir, build.source);
  const wasmHash = hashRefOf(bytes);
  const wasmPath = join(build.dir, build.wasm);
  await Deno.mkdir(dirname(wasmPath), { recursive: true });
  await Deno.writeFile(wasmPath, bytes);
  const airPath = join(build.dir, build.moduleAir);
  const before = await Deno.readTextFile(airPath);
  const after = stampModuleHash(before, wasmHash, build.module, build.moduleAir);
  if (after !== before) await Deno.writeTextFile(airPath, after);
  return { bytes, wasmHash, stamped: after !== before };
}

/**
 * Returns `text` (an AIR file holding one defmodule node, or an array with exactly one defmodule named
 * `module`) with that node's `wasm_hash` set to `wasmHash`: replaced in place when present, added after
 * its `"name"` otherwise. Throws an `Error` naming `file` when the node is not there or the file is
 * ambiguous.
 */
export function stampModuleHash(text: string, wasmHash: string, module: string, file: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(wasmHash)) throw new RangeError(`Invalid wasm hash: "${wasmHash}"`);
  const parsed: unknown = JSON.parse(text);
  const nodes = Array.isArray(parsed) ? parsed : [parsed];
  const modules = nodes.filter((n) => isRecord(n) && n["$kind"] === "defmodule");
  if (modules.length !== 1 || !isRecord(modules[0]) || modules[0]["name"] !== module) {
    throw new Error(`Cannot stamp "${file}": expected exactly one defmodule node, named "${module}"`);
  }
  const hashes = text.match(/"wasm_hash"\s*:\s*"[^"]*"/g) ?? [];
  let stamped: string;
  if (hashes.length === 1) {
    stamped = text.replace(/("wasm_hash"\s*:\s*)"[^"]*"/, `$1"${wasmHash}"`);
  } else if (hashes.length === 0) {
    const name = new RegExp(
      `("name"\\s*:\\s*${JSON.stringify(module).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})`,
    );
    stamped = text.replace(name, `$1, "wasm_hash": "${wasmHash}"`);
  } else {
    throw new Error(`Cannot stamp "${file}": expected one "wasm_hash", found ${hashes.length}`);
  }
  const check: unknown = JSON.parse(stamped);
  const node = (Array.isArray(check) ? check : [check]).find((n) =>
    isRecord(n) && n["$kind"] === "defmodule"
  );
  if (!isRecord(node) || node["wasm_hash"] !== wasmHash) {
    throw new Error(`Cannot stamp "${file}": the hash did not land in the node`);
  }
  return stamped;
}

/**
 * The compiler's file reader: the SDK package from this project, and `.ts` files under the world folder;
 * anything else looks absent to the compiler.
 */
async function readWorldSource(root: string, baseDir: string, name: string): Promise<string | null> {
  const absolute = resolve(root, baseDir, name).replaceAll("\\", "/");
  if (!absolute.endsWith(".ts")) return null;
  const sdk = absolute.match(/\/node_modules\/@aos\/sdk\/(.+)$/);
  if (sdk !== null) {
    const inner = sdk[1]!;
    if (inner.split("/").includes("..")) return null;
    return await readTextOrNull(join(SDK_ASSEMBLY_DIR, inner));
  }
  const path = relative(root, absolute).replaceAll("\\", "/");
  if (path.startsWith("../") || path === ".." || path.split("/").includes("node_modules")) return null;
  return await readTextOrNull(join(root, path));
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
