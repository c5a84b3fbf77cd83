/**
 * Creating a world from a folder of AIR files and WASM modules: validate everything, store the nodes
 * and blobs in the CAS, write the manifest copies, journal genesis (AIR §19, KERNEL §8).
 *
 * @module
 */
import {
  type AirBundle,
  type AirFile,
  AosError,
  type Diagnostic,
  hasErrors,
  type HashRef,
  hashRefOf,
  InvariantError,
  loadAirBundle,
  nodeBytes,
  normalizeNode,
  stringifyJson,
} from "../air/mod.ts";
import { type Cas, FsCas } from "../journal/mod.ts";
import { exists, writeFileAtomic } from "../journal/mod.ts";
import { ReducerHost } from "../kernel/mod.ts";
import { AirInvalidError } from "./load_defs.ts";
import { worldPaths } from "./paths.ts";
import { type FileWorld, World, type WorldOptions } from "./world.ts";

/** A WASM file offered to the world, found by its content hash. */
export interface WasmFile {
  path: string;
  bytes: Uint8Array;
}

/** A validated source of a world: the bundle and the WASM blobs its modules name. */
export interface AirSource {
  bundle: AirBundle;
  wasmByHash: Map<HashRef, WasmFile>;
  /** Warnings only (errors make validation fail). */
  diagnostics: Diagnostic[];
}

/**
 * Validates AIR files plus the WASM their modules name (present, compiling, importing nothing but
 * `env.abort`). Returns every diagnostic; `source` only when there is no error.
 */
export function validateAirSource(
  airFiles: AirFile[],
  wasmFiles: WasmFile[],
): { source?: AirSource; diagnostics: Diagnostic[] } {
  const { bundle, diagnostics } = loadAirBundle(airFiles);
  if (!bundle || hasErrors(diagnostics)) return { diagnostics };
  const wasmByHash = new Map(wasmFiles.map((f) => [hashRefOf(f.bytes), f]));
  const host = new ReducerHost();
  const problems: Diagnostic[] = [];
  const needed = new Map<HashRef, WasmFile>();
  for (
    const entry of [...bundle.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  ) {
    if (entry.kind !== "defmodule") continue;
    const hash = entry.node.wasm_hash;
    const wasm = wasmByHash.get(hash);
    if (!wasm) {
      problems.push({
        code: "AIR_WASM_MISSING",
        message: `no .wasm file with hash ${hash} was found; ${
          wasmFiles.length === 0
            ? "no .wasm files were found"
            : `found ${wasmFiles.map((f) => `${f.path.split("/").pop()} (${hashRefOf(f.bytes)})`).join(", ")}`
        } ("aos air hash FILE.wasm" prints a file's wasm_hash)`,
        file: entry.file,
        path: `${entry.path}.wasm_hash`,
        def: entry.name,
      });
      continue;
    }
    try {
      host.load(hash, wasm.bytes);
      needed.set(hash, wasm);
    } catch (error) {
      if (!(error instanceof AosError)) throw error;
      problems.push({ code: "AIR_WASM_INVALID", message: error.message, file: wasm.path, def: entry.name });
    }
  }
  const all = [...diagnostics, ...problems];
  if (problems.length > 0) return { diagnostics: all };
  return { source: { bundle, wasmByHash: needed, diagnostics: all }, diagnostics: all };
}

/** Stores a validated source's nodes, WASM blobs and manifest in `cas`; returns the manifest hash. */
export async function storeAirSource(cas: Cas, source: AirSource): Promise<HashRef> {
  const { bundle, wasmByHash } = source;
  for (const entry of bundle.nodes.values()) {
    const stored = await cas.put("nodes", nodeBytes(entry.node));
    if (stored !== entry.hash) throw new InvariantError(`Node "${entry.name}" hash changed on store`);
  }
  for (const f of wasmByHash.values()) await cas.put("blobs", f.bytes);
  const manifestHash = await cas.put("nodes", nodeBytes(bundle.manifest));
  if (manifestHash !== bundle.manifestHash) throw new InvariantError("Manifest hash changed on store");
  return manifestHash;
}

/**
 * Validates the AIR files and modules and creates `.aos/` in `dir`. Nothing is written until every
 * check passed.
 */
export async function initWorld(
  dir: string,
  airFiles: AirFile[],
  wasmFiles: WasmFile[],
  options: WorldOptions,
): Promise<FileWorld> {
  const paths = worldPaths(dir);
  if (await exists(paths.aos)) {
    throw new AosError("AOS_WORLD_EXISTS", `A world already exists at "${dir}" (.aos/ is present)`);
  }
  const { source, diagnostics } = validateAirSource(airFiles, wasmFiles);
  if (!source) throw new AirInvalidError(diagnostics);
  // On the file store the AIR goes to .aos/store now; on a database store, into the new world's CAS.
  const manifestHash = options.store === undefined
    ? await storeAirSource(new FsCas(paths.store), source)
    : (cas: Cas) => storeAirSource(cas, source);
  await Deno.mkdir(paths.aos, { recursive: true });
  const manifestBytes = nodeBytes(source.bundle.manifest);
  await writeFileAtomic(paths.manifestCbor, manifestBytes);
  await writeFileAtomic(
    paths.manifestJson,
    new TextEncoder().encode(stringifyJson(normalizeNode(source.bundle.manifest), 2) + "\n"),
  );
  if (options.store === undefined) return await World.create(dir, manifestHash, options);
  try {
    return await World.create(dir, manifestHash, options);
  } catch (error) {
    // Nothing of a world on a database store is in .aos/ yet but these files: a failed init (the database
    // unreachable, the world id taken) leaves the folder as it was, so the same init can be run again.
    await Deno.remove(paths.aos, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Reads `*.air.json` files of a folder (sorted by name) as `AirFile`s. */
export async function readAirFolder(dir: string): Promise<AirFile[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".air.json")) names.push(e.name);
  names.sort();
  return await Promise.all(names.map(async (name) => ({
    path: `${dir}/${name}`,
    text: await Deno.readTextFile(`${dir}/${name}`),
  })));
}

/** Reads the `.wasm` files of the given folders (missing folders are skipped). */
export async function readWasmFolders(dirs: string[]): Promise<WasmFile[]> {
  const out: WasmFile[] = [];
  for (const dir of dirs) {
    try {
      const names: string[] = [];
      for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".wasm")) names.push(e.name);
      names.sort();
      for (const name of names) {
        out.push({ path: `${dir}/${name}`, bytes: await Deno.readFile(`${dir}/${name}`) });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return out;
}
