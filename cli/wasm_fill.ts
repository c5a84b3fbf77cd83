/**
 * Authored modules without `wasm_hash` (the original AgentOS fills it at build time): the hash is taken
 * from the module's `.wasm`, found in the folders `aos init --from` searches (the AIR folder, its
 * `modules/`, and for an `air/` folder its parent and `modules/`). A file matches a module `ns/Name@v` when
 * its name (without `.wasm` and a `-<hex>` suffix) is `ns.Name@v`, `ns.Name` or `Name` — compared without
 * case, `_` or `-` — or, failing that, when it is the only `.wasm` found and only one module lacks a hash.
 * `wasm_hash` may also be 64 zeros, the original's placeholder.
 *
 * @example Fill the counter's hash from `counter.wasm`
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashRefOf } from "../air/mod.ts";
 * import { fillWasmHashes } from "./wasm_fill.ts";
 *
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
 * const text = JSON.stringify({ $kind: "defmodule", name: "demo/Counter@1", module_kind: "reducer",
 *   abi: { reducer: { state: "demo/S@1", event: "demo/E@1" } } });
 * const fill = fillWasmHashes([{ path: "air/m.air.json", text }], [{ path: "modules/counter.wasm", bytes }]);
 * assert.equal(fill.filled[0]?.hash, hashRefOf(bytes));
 * assert.match(fill.files[0]!.text, /"wasm_hash": "sha256:/);
 * ```
 *
 * @module
 */
import {
  type AirFile,
  type Diagnostic,
  type HashRef,
  hashRefOf,
  jsonPath,
  type JsonValue,
  parseJson,
} from "../air/mod.ts";
import type { WasmFile } from "../world/mod.ts";
import { formatAirJson } from "./air.ts";

const ZERO_HASH = `sha256:${"0".repeat(64)}`;

/** A module whose hash was filled. */
export interface FilledModule {
  module: string;
  file: string;
  hash: HashRef;
  /** The `.wasm` the hash was taken from. */
  wasm: string;
}

/** A module without `wasm_hash` and no `.wasm` to fill it from (or several that differ). */
export interface UnfilledModule {
  module: string;
  file: string;
  /** The JSON path of the module node in its file. */
  path: string;
  /** Why: no file matched, or the matching files differ. */
  reason: string;
}

/** What {@linkcode fillWasmHashes} did. */
export interface WasmFill {
  /** The files, those with filled modules re-serialized. */
  files: AirFile[];
  filled: FilledModule[];
  unfilled: UnfilledModule[];
}

/** The comparable form of a name: lowercase, without `_`, `-` and `.`. */
function squash(text: string): string {
  return text.toLowerCase().replace(/[-_.]/g, "");
}

/** The stems a module `ns/Name@v` may have as a `.wasm` file name. */
function stemsOf(module: string): Set<string> {
  const [ns = "", rest = ""] = module.split("/", 2);
  const name = rest.replace(/@\d+$/, "");
  return new Set([squash(`${ns}.${rest}`), squash(`${ns}.${name}`), squash(name)]);
}

/** A `.wasm` file's stem: its base name without `.wasm` and a `-<hex>` suffix (what `aos init` writes). */
function stemOfFile(path: string): string {
  const base = path.split("/").pop()!.replace(/\.wasm$/, "");
  return squash(base.replace(/-[0-9a-f]{6,64}$/, ""));
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** A module node that needs its hash: a `defmodule` with a name and no (or an all-zero) `wasm_hash`. */
function needsHash(node: JsonValue): node is { [key: string]: JsonValue } & { name: string } {
  return isObject(node) && node["$kind"] === "defmodule" && typeof node["name"] === "string" &&
    (node["wasm_hash"] === undefined || node["wasm_hash"] === ZERO_HASH);
}

/**
 * Fills `wasm_hash` of the modules that lack it from `wasm` (the `.wasm` files found in the folders the
 * reader searched). Files that do not parse are left as they are (the validator reports them). With
 * `placeholder`, a module left unfilled gets 64 zeros, so the rest of its node can be checked.
 */
export function fillWasmHashes(
  files: ReadonlyArray<AirFile>,
  wasm: ReadonlyArray<WasmFile>,
  options: { placeholder?: boolean } = {},
): WasmFill {
  const parsed = files.map((file) => {
    try {
      return parseJson(file.text, file.path);
    } catch {
      return undefined;
    }
  });
  const pending: Array<
    { file: number; node: { [key: string]: JsonValue } & { name: string }; at: number[] }
  > = [];
  parsed.forEach((value, file) => {
    if (value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((node, i) => {
        if (needsHash(node)) pending.push({ file, node, at: [i] });
      });
    } else if (needsHash(value)) pending.push({ file, node: value, at: [] });
  });
  const out: WasmFill = { files: [...files], filled: [], unfilled: [] };
  if (pending.length === 0) return out;
  const hashed = wasm.map((f) => ({ path: f.path, hash: hashRefOf(f.bytes), stem: stemOfFile(f.path) }));
  const touched = new Set<number>();
  for (const { file, node, at } of pending) {
    const stems = stemsOf(node.name);
    let matches = hashed.filter((f) => stems.has(f.stem));
    if (matches.length === 0 && pending.length === 1 && new Set(hashed.map((f) => f.hash)).size === 1) {
      matches = hashed;
    }
    const hashes = [...new Set(matches.map((f) => f.hash))];
    const where = { module: node.name, file: files[file]!.path, path: jsonPath(at) };
    if (hashes.length !== 1) {
      const reason = hashes.length === 0
        ? "no .wasm file matches its name"
        : `the matching .wasm files differ (${matches.map((f) => `${f.path} ${f.hash}`).join(", ")})`;
      out.unfilled.push({ ...where, reason });
      if (options.placeholder) {
        node["wasm_hash"] = ZERO_HASH;
        touched.add(file);
      }
      continue;
    }
    node["wasm_hash"] = hashes[0]!;
    touched.add(file);
    out.filled.push({ module: node.name, file: where.file, hash: hashes[0]!, wasm: matches[0]!.path });
  }
  for (const file of touched) {
    out.files[file] = { path: files[file]!.path, text: formatAirJson(parsed[file]!) + "\n" };
  }
  return out;
}

/** Warnings for `aos air check`: each filled module, and each module left without a hash. */
export function wasmFillWarnings(fill: WasmFill, wasmDirs: ReadonlyArray<string>): Diagnostic[] {
  const filled = fill.filled.map((f): Diagnostic => ({
    code: "AIR_WASM_HASH_FILLED",
    severity: "warning",
    message: `Module "${f.module}" has no wasm_hash: it is filled with ${f.hash} from ${f.wasm}`,
    file: f.file,
    def: f.module,
  }));
  const unfilled = fill.unfilled.map((u): Diagnostic => ({
    code: "AIR_WASM_HASH_MISSING",
    severity: "warning",
    message: `Module "${u.module}" has no wasm_hash and ${u.reason} (searched ${
      wasmDirs.join(", ")
    }): aos init --from and aos proposal submit --air will refuse it`,
    file: u.file,
    path: u.path,
    def: u.module,
  }));
  return [...filled, ...unfilled];
}

/** The message of a refused fill: each module, the folders searched and the `.wasm` files found. */
export function wasmFillError(
  fill: WasmFill,
  wasmDirs: ReadonlyArray<string>,
  wasm: ReadonlyArray<WasmFile>,
): string {
  const found = wasm.length === 0
    ? "no .wasm files"
    : wasm.map((f) => `${f.path} (${hashRefOf(f.bytes)})`).join(", ");
  const modules = fill.unfilled.map((u) => `"${u.module}" (${u.file} ${u.path}): ${u.reason}`).join("; ");
  return `Module${fill.unfilled.length === 1 ? "" : "s"} without wasm_hash: ${modules}. Searched ${
    wasmDirs.join(", ")
  }; found ${found}. Add the module's .wasm (named like the module, e.g. "counter.wasm" for ` +
    `"demo/Counter@1") to one of those folders, or write its wasm_hash`;
}
