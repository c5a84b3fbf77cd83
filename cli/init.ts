/**
 * `aos init [DIR] [--template NAME]`: creates a world from a template (or from DIR's own `air/`).
 *
 * @module
 */
import { AosError, hashRefOf, loadAirBundle } from "../air/mod.ts";
import {
  AirInvalidError,
  initWorld,
  readAirFolder,
  readWasmFolders,
  transferWorld,
  validateAirSource,
} from "../world/mod.ts";
import type { World } from "../world/mod.ts";
import { checkAirPath } from "./air.ts";
import { type StoreConfig, worldPaths } from "../world/mod.ts";
import { checkPgUrl } from "../journal/mod.ts";
import { type CliIo, locateWorld, printJson, resolvePath } from "./context.ts";
import { fillWasmHashes, wasmFillError } from "./wasm_fill.ts";

/** Templates shipped in `examples/` (each has `air/` and `modules/`). */
export const TEMPLATES = ["counter", "timer-retry", "fetch-notify", "cells"] as const;

function templateDir(name: string): string {
  return new URL(`../examples/${name}`, import.meta.url).pathname;
}

async function hasAirFiles(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".air.json")) return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return false;
}

/** Copies a template's AIR files and modules into `dir` (after validating it). */
async function copyTemplate(name: string, dir: string): Promise<void> {
  if (!(TEMPLATES as readonly string[]).includes(name)) {
    throw new AosError("AOS_USAGE", `Unknown template "${name}": choose one of ${TEMPLATES.join(", ")}`);
  }
  const source = templateDir(name);
  const airFiles = await readAirFolder(`${source}/air`);
  const wasmFiles = await readWasmFolders([`${source}/modules`]);
  const { bundle, diagnostics } = loadAirBundle(airFiles);
  if (!bundle) throw new AirInvalidError(diagnostics);
  const paths = worldPaths(dir);
  await Deno.mkdir(paths.air, { recursive: true });
  await Deno.mkdir(paths.modules, { recursive: true });
  for (const f of airFiles) await Deno.writeTextFile(`${paths.air}/${f.path.split("/").pop()}`, f.text);
  const byHash = new Map(wasmFiles.map((f) => [hashRefOf(f.bytes), f.bytes]));
  for (const entry of bundle.nodes.values()) {
    if (entry.kind !== "defmodule") continue;
    const hash = (entry.node as { wasm_hash: string }).wasm_hash;
    const bytes = byHash.get(hash as `sha256:${string}`);
    if (!bytes) continue; // reported by initWorld
    await Deno.writeFile(`${paths.modules}/${entry.name.replace("/", ".")}-${hash.slice(7, 19)}.wasm`, bytes);
  }
}

/**
 * `aos init DIR --from PATH`: validates PATH's AIR (and the `.wasm` its modules name, looked up in PATH
 * and PATH/modules/) first; only then copies them into DIR/air and DIR/modules and creates the world.
 */
async function initFrom(
  io: CliIo,
  dir: string,
  from: string,
  json: boolean,
  store: StoreConfig | undefined,
): Promise<number> {
  const { diagnostics, files, wasm } = await checkAirPath(from, { requireWasmHashes: true });
  const { source } = validateAirSource(files, wasm);
  if (!source) throw new AirInvalidError(diagnostics);
  const paths = worldPaths(dir);
  await Deno.mkdir(paths.air, { recursive: true });
  await Deno.mkdir(paths.modules, { recursive: true });
  for (const f of files) await Deno.writeTextFile(`${paths.air}/${f.path.split("/").pop()}`, f.text);
  for (const entry of source.bundle.nodes.values()) {
    if (entry.kind !== "defmodule") continue;
    const hash = entry.node.wasm_hash;
    const bytes = source.wasmByHash.get(hash)?.bytes;
    if (bytes) {
      await Deno.writeFile(
        `${paths.modules}/${entry.name.replace("/", ".")}-${hash.slice(7, 19)}.wasm`,
        bytes,
      );
    }
  }
  const world = await initWorld(dir, await readAirFolder(paths.air), await readWasmFolders([paths.modules]), {
    clock: io.clock,
    ...(store === undefined ? {} : { store }),
  });
  try {
    report(io, world, dir, undefined, json, store);
  } finally {
    world.close();
    await world.closed;
  }
  return 0;
}

function report(
  io: CliIo,
  world: World,
  dir: string,
  template: string | undefined,
  json: boolean,
  store?: StoreConfig,
): void {
  if (json) {
    printJson(io, {
      ...(store === undefined
        ? {}
        : { store: { kind: store.kind, url: store.url, world_id: store.worldId } }),
      world: dir,
      template: template ?? null,
      manifest_hash: world.defs.manifestHash,
      height: BigInt(world.height),
      reducers: [...world.defs.modules.keys()].sort(),
      plans: [...world.defs.plans.keys()].sort(),
    });
    return;
  }
  io.out(`Initialized world in ${dir}${template ? ` from template "${template}"` : ""}`);
  io.out(`  manifest ${world.defs.manifestHash}`);
  io.out(`  reducers ${[...world.defs.modules.keys()].sort().join(", ") || "(none)"}`);
  if (world.defs.plans.size > 0) io.out(`  plans    ${[...world.defs.plans.keys()].sort().join(", ")}`);
  io.out(`  journal  height ${world.height} (genesis)`);
  if (store !== undefined) io.out(`  store    ${store.url} (world id ${store.worldId})`);
}

/** Names a folder may hold and still be initialized without `--force`: its own AIR and modules. */
const INIT_SOURCES = new Set(["air", "modules"]);

/**
 * Refuses (unless `force`) a `dir` that holds anything but `air/`, `modules/` and hidden files, or that
 * lies inside another world; always refuses a `dir` that is a world already.
 */
async function checkInitTarget(dir: string, force: boolean): Promise<void> {
  try {
    await Deno.lstat(worldPaths(dir).aos);
    throw new AosError("AOS_WORLD_EXISTS", `A world already exists at "${dir}" (.aos/ is present)`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (force) return;
  const others: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!INIT_SOURCES.has(e.name) && !e.name.startsWith(".")) others.push(e.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (others.length > 0) {
    others.sort();
    const shown = others.slice(0, 5).join(", ") + (others.length > 5 ? `, … (${others.length} entries)` : "");
    throw new AosError(
      "AOS_DIR_NOT_EMPTY",
      `"${dir}" is not empty (${shown}): init a new folder, or pass --force to create the world here anyway`,
    );
  }
  let parent = dir.replace(/\/[^/]*$/, "") || "/";
  for (let i = 0; i < 256 && parent !== dir; i++) {
    try {
      if ((await Deno.stat(`${parent}/.aos`)).isDirectory) {
        throw new AosError(
          "AOS_WORLD_EXISTS",
          `"${dir}" is inside the world at "${parent}": init elsewhere, or pass --force to nest a world here`,
        );
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) throw error;
    }
    if (parent === "/") break;
    const next = parent.replace(/\/[^/]*$/, "") || "/";
    parent = next;
  }
}

/** Copies the world `source` into the new world folder `target` and reports what moved. */
export async function runTransfer(
  io: CliIo,
  source: string,
  target: string,
  store: StoreConfig | undefined,
  json: boolean,
): Promise<number> {
  await checkInitTarget(target, false);
  const report = await transferWorld(source, target, {
    clock: io.clock,
    ...(store === undefined ? {} : { store }),
    onLockWait: (holder) => io.err(`Waiting for ${holder} to release the world…`),
  });
  if (json) {
    printJson(io, {
      world: target,
      source,
      height: BigInt(report.height),
      nodes: BigInt(report.nodes),
      blobs: BigInt(report.blobs),
      store: store === undefined ? null : { kind: store.kind, url: store.url, world_id: store.worldId },
    });
  } else {
    io.out(`Copied world ${source} to ${target}`);
    io.out(`  journal  ${report.height} entries`);
    io.out(`  store    ${report.nodes} nodes, ${report.blobs} blobs`);
    io.out(
      `  into     ${
        store === undefined ? "the file store (.aos/)" : `${store.url} (world id ${store.worldId})`
      }`,
    );
  }
  return 0;
}

/** Options of `aos init`. */
export interface InitOptions {
  template?: string;
  from?: string;
  json?: boolean;
  force?: boolean;
  /** `postgres://USER@HOST:PORT/DB`: journal, CAS and head in that database. */
  store?: string;
  /** The world's id in the database (default: a new random id). */
  worldId?: string;
  /** Copy this world (journal, store, head, files) instead of starting from AIR. */
  import?: string;
}

/** The store `--store`/`--world-id` name, checked (no password in the URL), or undefined for files. */
export function storeOption(options: { store?: string; worldId?: string }): StoreConfig | undefined {
  if (options.store === undefined) {
    if (options.worldId !== undefined) throw new AosError("AOS_USAGE", "--world-id needs --store");
    return undefined;
  }
  const worldId = options.worldId ?? crypto.randomUUID();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(worldId)) {
    throw new AosError(
      "AOS_USAGE",
      `Invalid --world-id "${worldId}": expected 1 to 128 letters, digits, ".", "_", ":" or "-"`,
    );
  }
  return { kind: "postgres", url: checkPgUrl(options.store), worldId };
}

/** Runs `aos init`. */
export async function runInit(
  io: CliIo,
  dirArg: string | undefined,
  options: InitOptions,
): Promise<number> {
  const dir = resolvePath(io, dirArg ?? ".");
  const paths = worldPaths(dir);
  const store = storeOption(options);
  await checkInitTarget(dir, options.force === true);
  if (options.import !== undefined) {
    if (options.template !== undefined || options.from !== undefined) {
      throw new AosError("AOS_USAGE", "Give --import alone, without --template or --from");
    }
    return await runTransfer(io, await locateWorld(io, options.import), dir, store, options.json === true);
  }
  if (options.from !== undefined) {
    if (options.template !== undefined) {
      throw new AosError("AOS_USAGE", "Give either --template or --from, not both");
    }
    return await initFrom(io, dir, resolvePath(io, options.from), options.json === true, store);
  }
  if (options.template !== undefined && !(TEMPLATES as readonly string[]).includes(options.template)) {
    throw new AosError(
      "AOS_USAGE",
      `Unknown template "${options.template}": choose one of ${TEMPLATES.join(", ")}`,
    );
  }
  const ownAir = await hasAirFiles(paths.air);
  if (options.template !== undefined && ownAir) {
    throw new AosError("AOS_USAGE", `"${paths.air}" already holds AIR files; drop --template to use them`);
  }
  const template = ownAir ? undefined : options.template ?? "counter";
  if (template !== undefined) {
    await Deno.mkdir(dir, { recursive: true });
    await copyTemplate(template, dir);
  }
  const wasmDirs = [paths.modules, dir];
  const wasm = await readWasmFolders(wasmDirs);
  // Modules authored without wasm_hash take it from their .wasm, as with --from.
  const fill = fillWasmHashes(await readAirFolder(paths.air), wasm);
  if (fill.unfilled.length > 0) throw new AosError("AOS_AIR_INVALID", wasmFillError(fill, wasmDirs, wasm));
  const world = await initWorld(dir, fill.files, wasm, {
    clock: io.clock,
    ...(store === undefined ? {} : { store }),
  });
  try {
    report(io, world, dir, template, options.json === true, store);
  } finally {
    world.close();
    await world.closed;
  }
  return 0;
}
