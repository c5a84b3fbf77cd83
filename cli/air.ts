/**
 * `aos air check|hash|fmt` and the AIR folder reading shared with `aos init --from`.
 *
 * @module
 */
import {
  type AirFile,
  AosError,
  type Diagnostic,
  formatDiagnostic,
  hashRefOf,
  type JsonValue,
  loadAirBundle,
  type Manifest,
  nodeHash,
  parseAirNode,
  parseJson,
  stringifyJson,
} from "../air/mod.ts";
import { relative } from "node:path";
import { readWasmFolders, validateAirSource, type WasmFile } from "../world/mod.ts";
import { type CliIo, locateWorld, printJson, resolvePath } from "./context.ts";
import { fillWasmHashes, wasmFillError, wasmFillWarnings } from "./wasm_fill.ts";

async function stat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Where the `.wasm` of AIR files in `dir` may be: `dir` and `dir/modules`, and — for a world's own `air/`
 * folder, or a version of it beside it such as `air.v2/` (the original AgentOS's layout) — the world
 * folder and its `modules/`.
 */
function wasmDirsFor(dir: string): string[] {
  const dirs = [dir, `${dir}/modules`];
  if (/(^|\/)air(\.[^/]+)?\/?$/.test(dir)) {
    const parent = dir.replace(/\/?air(\.[^/]+)?\/?$/, "") || ".";
    dirs.push(parent, `${parent}/modules`);
  }
  return dirs;
}

/** AIR files of PATH (a `*.air.json` file, or a folder: its `*.air.json`, else its `air/`). */
export async function readAirPath(path: string): Promise<{ files: AirFile[]; wasmDirs: string[] }> {
  const info = await stat(path);
  if (!info) throw new AosError("AOS_USAGE", `No such file or folder: "${path}"`);
  if (info.isFile) {
    const dir = path.replace(/\/[^/]*$/, "") || ".";
    return { files: [{ path, text: await Deno.readTextFile(path) }], wasmDirs: wasmDirsFor(dir) };
  }
  let dir = path;
  const list = async (d: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(d)) if (e.isFile && e.name.endsWith(".air.json")) names.push(e.name);
    return names.sort();
  };
  let names = await list(dir);
  if (names.length === 0 && (await stat(`${path}/air`))?.isDirectory) {
    dir = `${path}/air`;
    names = await list(dir);
  }
  if (names.length === 0) throw new AosError("AOS_USAGE", `No *.air.json files in "${path}"`);
  const files = await Promise.all(
    names.map(async (n) => ({ path: `${dir}/${n}`, text: await Deno.readTextFile(`${dir}/${n}`) })),
  );
  return { files, wasmDirs: [...new Set([...wasmDirsFor(path), ...wasmDirsFor(dir)])] };
}

/**
 * Reads PATH's AIR and WASM and validates them together (as `aos init --from` would). Modules without
 * `wasm_hash` get it from their `.wasm` (`wasm_fill.ts`; the returned files carry it) with a warning; one
 * whose `.wasm` is not found is a warning too, unless `requireWasmHashes`: then `AOS_AIR_INVALID` names
 * the module, the folders searched and the `.wasm` files found.
 */
export async function checkAirPath(
  path: string,
  options: { requireWasmHashes?: boolean } = {},
): Promise<{ diagnostics: Diagnostic[]; files: AirFile[]; wasm: WasmFile[] }> {
  const read = await readAirPath(path);
  const wasm = await readWasmFolders(read.wasmDirs);
  const fill = fillWasmHashes(read.files, wasm, { placeholder: !options.requireWasmHashes });
  if (fill.unfilled.length > 0 && options.requireWasmHashes) {
    throw new AosError("AOS_AIR_INVALID", wasmFillError(fill, read.wasmDirs, wasm));
  }
  const unfilled = new Set(fill.unfilled.map((u) => u.module));
  const { diagnostics } = validateAirSource(fill.files, wasm);
  // A placeholder hash has no .wasm, which the warning already says.
  const kept = diagnostics.filter((d) => !(d.code === "AIR_WASM_MISSING" && unfilled.has(d.def ?? "")));
  return { diagnostics: [...wasmFillWarnings(fill, read.wasmDirs), ...kept], files: fill.files, wasm };
}

/** The `--json` form of a diagnostic (null for absent fields). */
export function diagnosticJson(d: Diagnostic): JsonValue {
  return {
    code: d.code,
    message: d.message,
    severity: d.severity ?? "error",
    file: d.file ?? null,
    path: d.path ?? null,
    def: d.def ?? null,
    step: d.step ?? null,
  };
}

/** `aos air check [PATH] [--json]`: exit 0 valid (warnings allowed), 2 invalid. */
export async function runAirCheck(
  io: CliIo,
  world: string | undefined,
  pathArg: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const path = pathArg !== undefined ? resolvePath(io, pathArg) : await locateWorld(io, world); // air/ + modules/
  const { diagnostics, files } = await checkAirPath(path);
  const ok = !diagnostics.some((d) => d.severity !== "warning");
  if (options.json) {
    printJson(io, { ok, diagnostics: diagnostics.map(diagnosticJson) });
  } else {
    for (const d of diagnostics) (d.severity === "warning" ? io.out : io.err)(formatDiagnostic(d));
    const errors = diagnostics.filter((d) => d.severity !== "warning").length;
    if (ok) io.out(`AIR OK: ${files.length} file${files.length === 1 ? "" : "s"} in ${path}`);
    else io.err(`AIR invalid: ${errors} problem${errors === 1 ? "" : "s"} in ${path}`);
  }
  return ok ? 0 : 2;
}

/**
 * `aos air hash PATH`: each node's kind, name and node hash (a manifest's refs filled from its folder), or
 * a `.wasm` file's `wasm_hash`. For a folder: every node of its AIR files (as `air check` reads the folder),
 * then every `.wasm` file where `air check` looks for modules.
 */
export async function runAirHash(io: CliIo, pathArg: string, options: { json?: boolean }): Promise<number> {
  const path = resolvePath(io, pathArg);
  const info = await stat(path);
  if (!info) throw new AosError("AOS_USAGE", `No such file or folder: "${pathArg}"`);
  const rows: HashRow[] = [];
  if (info.isDirectory) {
    const { files, wasmDirs } = await readAirPath(path);
    for (const file of files) rows.push(...await airFileRows(file.path, file.path));
    const seen = new Set<string>();
    for (const dir of wasmDirs) {
      for (const name of await wasmNames(dir)) {
        const wasmPath = await Deno.realPath(`${dir}/${name}`);
        if (seen.has(wasmPath)) continue;
        seen.add(wasmPath);
        rows.push(await wasmRow(wasmPath, relative(io.cwd, wasmPath) || name));
      }
    }
  } else if (path.endsWith(".wasm")) {
    rows.push(await wasmRow(path, pathArg));
  } else {
    rows.push(...await airFileRows(path, pathArg));
  }
  if (options.json) printJson(io, rows);
  else for (const r of rows) io.out(`${r.hash}  ${r.kind.padEnd(9)} ${r.name}`);
  return 0;
}

/** One row of `aos air hash`. */
type HashRow = { kind: string; name: string; hash: string };

/** A reducer module: its `wasm_hash` is the SHA-256 of the file's bytes, as the defmodule names it. */
async function wasmRow(path: string, label: string): Promise<HashRow> {
  const bytes = await Deno.readFile(path);
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new AosError("AOS_WASM_INVALID", `${label} is not a WASM module (no \\0asm header)`);
  }
  return { kind: "wasm", name: label, hash: hashRefOf(bytes) };
}

/** The `.wasm` file names in `dir` (none when it is absent), sorted. */
async function wasmNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".wasm")) names.push(e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) throw error;
  }
  return names.sort();
}

async function airFileRows(path: string, label: string): Promise<HashRow[]> {
  const json = parseJson(await Deno.readTextFile(path), label);
  const nodes = Array.isArray(json) ? json : [json];
  const rows: HashRow[] = [];
  for (const [i, raw] of nodes.entries()) {
    const parsed = parseAirNode(raw);
    if (!parsed.ok) {
      const issue = parsed.issues[0]!;
      throw new AosError("AOS_AIR_INVALID", `${label}: node ${i}: [${issue.code}] ${issue.message}`);
    }
    const node = parsed.node;
    if (node.$kind === "manifest") {
      rows.push({ kind: "manifest", name: "manifest", hash: await manifestHashOf(node, path) });
      continue;
    }
    rows.push({ kind: node.$kind, name: node.name, hash: nodeHash(node) });
  }
  return rows;
}

/**
 * A manifest's hash: as written when every ref carries a hash (a stored manifest); otherwise filled from
 * its folder the way the loader does, and an error when the folder does not load.
 */
async function manifestHashOf(manifest: Manifest, path: string): Promise<string> {
  const lists = [manifest.schemas, manifest.modules, manifest.plans, manifest.caps, manifest.policies];
  const zero = `sha256:${"0".repeat(64)}`;
  if (lists.every((refs) => refs.every((r) => r.hash !== undefined && r.hash !== zero))) {
    return nodeHash(manifest);
  }
  const { files } = await readAirPath(path.replace(/\/[^/]*$/, ""));
  const { bundle, diagnostics } = loadAirBundle(files);
  if (!bundle) {
    throw new AosError(
      "AOS_AIR_INVALID",
      `Cannot fill the manifest's hashes from its folder:\n${
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n")
      }`,
    );
  }
  return bundle.manifestHash;
}

/** Formats a JSON value: objects and arrays on one line when short, else one entry per line. */
export function formatAirJson(value: JsonValue, indent = 0, prefixWidth = 0): string {
  const flat = flatJson(orderKeys(value));
  if (flat.length + indent + prefixWidth <= 100 || (typeof value !== "object" || value === null)) return flat;
  const pad = " ".repeat(indent + 2);
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => pad + formatAirJson(v, indent + 2)).join(",\n")}\n${" ".repeat(indent)}]`;
  }
  const ordered = orderKeys(value) as { [key: string]: JsonValue };
  const entries = Object.keys(ordered).map((k) =>
    `${pad}${JSON.stringify(k)}: ${formatAirJson(ordered[k]!, indent + 2, JSON.stringify(k).length + 2)}`
  );
  return `{\n${entries.join(",\n")}\n${" ".repeat(indent)}}`;
}

/** One-line JSON with a space after `:` and `,` (`{"nat": {}}`). */
function flatJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(flatJson).join(", ")}]`;
  if (value === null || typeof value !== "object") return stringifyJson(value);
  return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}: ${flatJson(value[k]!)}`).join(", ")}}`;
}

/** `$kind`, `name` first, then the other keys in code-point order, at every level. */
function orderKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(orderKeys);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: { [key: string]: JsonValue } = {};
  for (const k of keys) out[k] = orderKeys(value[k]!);
  return out;
}

function rank(key: string): number {
  return key === "$kind" ? 0 : key === "name" ? 1 : 2;
}

/** `aos air fmt [--check] [PATH]`: rewrites AIR JSON files in one stable layout. */
export async function runAirFmt(
  io: CliIo,
  world: string | undefined,
  pathArg: string | undefined,
  options: { check?: boolean; json?: boolean },
): Promise<number> {
  const path = pathArg !== undefined ? resolvePath(io, pathArg) : `${await locateWorld(io, world)}/air`;
  const { files } = await readAirPath(path);
  const changed: string[] = [];
  for (const f of files) {
    const formatted = formatAirJson(parseJson(f.text, f.path)) + "\n";
    if (formatted === f.text) continue;
    changed.push(f.path);
    if (!options.check) await Deno.writeTextFile(f.path, formatted);
  }
  if (options.json) {
    printJson(io, { check: options.check === true, files: BigInt(files.length), changed });
    return options.check && changed.length > 0 ? 1 : 0;
  }
  if (options.check) {
    for (const f of changed) io.err(`not formatted: ${f}`);
    if (changed.length === 0) io.out(`AIR formatted: ${files.length} file${files.length === 1 ? "" : "s"}`);
    return changed.length === 0 ? 0 : 1;
  }
  io.out(`Formatted ${changed.length} of ${files.length} file${files.length === 1 ? "" : "s"}`);
  return 0;
}
