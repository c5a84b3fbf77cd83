/**
 * Loads a folder's worth of AIR text into a validated bundle (AIR §6–§14). Pure: the caller reads the
 * files and passes their text. Every problem is reported in one pass as a {@linkcode Diagnostic} with a
 * stable code, the file, the JSON path within that file, the definition name and, for plans, the step id;
 * a bundle is returned only when no diagnostic is an error (warnings come with it).
 *
 * Scope: a definition is visible to references when the manifest lists it; the built-in `sys/*` schemas
 * and standard defcaps always are. Without a manifest every node of the files is. Manifest ref hashes that
 * are missing or all zeros are filled from the same-named node; a given hash must match. Grant params may
 * be written in the plain or the tagged form; the bundle's manifest holds (and hashes) the tagged form.
 *
 * {@linkcode validateManifestNodes} runs the same validator over an assembled manifest and a node lookup
 * (patches, stored worlds). The plan-internal rules come from `validatePlan` (`validate_plan.ts`).
 *
 * @example Load the counter world of AIR §20
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAirBundle } from "./bundle.ts";
 *
 * const text = JSON.stringify([
 *   { $kind: "defschema", name: "demo/CounterState@1", type: { record: { count: { nat: {} } } } },
 *   { $kind: "defschema", name: "demo/Increment@1", type: { record: { by: { nat: {} } } } },
 *   {
 *     $kind: "defmodule", name: "demo/Counter@1", module_kind: "reducer", wasm_hash: `sha256:${"ab".repeat(32)}`,
 *     abi: { reducer: { state: "demo/CounterState@1", event: "demo/Increment@1" } },
 *   },
 *   {
 *     $kind: "manifest", plans: [], caps: [], policies: [],
 *     schemas: [{ name: "demo/CounterState@1" }, { name: "demo/Increment@1" }],
 *     modules: [{ name: "demo/Counter@1" }],
 *     routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
 *   },
 * ]);
 * const { bundle, diagnostics } = loadAirBundle([{ path: "air/counter.air.json", text }]);
 * assert.deepEqual(diagnostics, []);
 * assert.match(bundle!.manifest.modules[0]!.hash!, /^sha256:/);
 * ```
 *
 * @module
 */
import { jsonPath } from "../base/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import {
  type AirNode,
  builtinCaps,
  builtinEffects,
  builtinSchemas,
  type DefCap,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type DefSchema,
  type Manifest,
  type NamedNodeKind,
  nodeHash,
} from "../nodes/mod.ts";
import { validateWorld } from "./_core.ts";
import {
  AIR_DIAGNOSTIC_CODES,
  type AirDiagnosticCode,
  type Diagnostic,
  DiagnosticSink,
  formatDiagnostic,
  hasErrors,
  isErrorDiagnostic,
} from "./_diagnostics.ts";
import { canonicalGrantParams, type GrantParamsResult } from "./_manifest.ts";
import { type AirFile, parseFiles, registerNodes } from "./_parse.ts";
import type { PlanValidationContext, PlanValidator } from "./_plan.ts";
import { type NodeEntry, nodeKey, OPTIONAL_REF_LISTS, REF_LISTS } from "./_scope.ts";

export { AIR_DIAGNOSTIC_CODES, canonicalGrantParams, formatDiagnostic, hasErrors, isErrorDiagnostic };
export type {
  AirDiagnosticCode,
  AirFile,
  Diagnostic,
  GrantParamsResult,
  PlanValidationContext,
  PlanValidator,
};

interface BundleNodeBase {
  name: string;
  hash: HashRef;
  /** The file that defines the node. */
  file: string;
  /** The JSON path of the node within its file (`$` or `$[i]`). */
  path: string;
}

/** A named node of a bundle. */
export type BundleNode =
  | (BundleNodeBase & { kind: "defschema"; node: DefSchema })
  | (BundleNodeBase & { kind: "defmodule"; node: DefModule })
  | (BundleNodeBase & { kind: "defplan"; node: DefPlan })
  | (BundleNodeBase & { kind: "defcap"; node: DefCap })
  | (BundleNodeBase & { kind: "defpolicy"; node: DefPolicy });

/** A validated world definition. */
export interface AirBundle {
  /** The manifest with every ref hash filled and grant params in the canonical tagged form. */
  manifest: Manifest;
  manifestHash: HashRef;
  manifestFile: string;
  manifestPath: string;
  /** Every named node of the files, keyed by `${kind}:${name}` (including nodes the manifest does not list). */
  nodes: Map<string, BundleNode>;
}

/** The outcome of {@linkcode loadAirBundle}: a bundle exactly when no diagnostic is an error. */
export interface LoadAirBundleResult {
  bundle?: AirBundle;
  diagnostics: Diagnostic[];
}

function toBundleNode(entry: NodeEntry): BundleNode {
  return {
    kind: entry.kind,
    name: entry.name,
    node: entry.node,
    hash: entry.hash,
    file: entry.file ?? "",
    path: jsonPath(entry.at),
  } as BundleNode;
}

function isBuiltin(kind: NamedNodeKind, name: string): boolean {
  return (kind === "defschema" && builtinSchemas.has(name)) || (kind === "defcap" && builtinCaps.has(name)) ||
    (kind === "defeffect" && builtinEffects.has(name));
}

/** A manifest listing every node, so that nodes can be checked against each other without one. */
function manifestOfAll(entries: ReadonlyMap<string, NodeEntry>): Manifest {
  const manifest: Manifest = {
    $kind: "manifest",
    schemas: [],
    modules: [],
    plans: [],
    caps: [],
    policies: [],
  };
  for (const [list, kind] of REF_LISTS) {
    for (const entry of entries.values()) if (entry.kind === kind) manifest[list].push({ name: entry.name });
  }
  return manifest;
}

/**
 * Loads and validates AIR text files: one node or a JSON array of nodes per file, exactly one manifest
 * across them. Files are processed in path order, so diagnostics are deterministic.
 */
export function loadAirBundle(files: ReadonlyArray<AirFile>): LoadAirBundleResult {
  const sink = new DiagnosticSink();
  const parsed = parseFiles(files, sink);
  const entries = registerNodes(parsed, sink);
  if (!parsed.sawManifest) sink.error("AIR_MANIFEST_MISSING", "No manifest found: expected exactly one");
  const manifestNode = parsed.manifest;
  const manifest = validateWorld({
    sink,
    entries,
    check: [...entries.values()],
    quiet: parsed.quiet,
    manifest: manifestNode?.node ?? manifestOfAll(entries),
    manifestKnown: manifestNode !== undefined,
    manifestFile: manifestNode?.file,
    manifestAt: manifestNode?.at ?? [],
  });
  if (hasErrors(sink.diagnostics) || manifestNode === undefined) return { diagnostics: sink.diagnostics };
  const nodes = new Map<string, BundleNode>();
  for (const [key, entry] of entries) nodes.set(key, toBundleNode(entry));
  return {
    bundle: {
      manifest,
      manifestHash: nodeHash(manifest),
      manifestFile: manifestNode.file,
      manifestPath: jsonPath(manifestNode.at),
      nodes,
    },
    diagnostics: sink.diagnostics,
  };
}

/** Options of {@linkcode validateManifestNodes}. */
export interface ValidateManifestOptions {
  /** The `file` of diagnostics about the manifest (default `"manifest"`); their paths start at it. */
  manifestFile?: string;
  /** The `file` of diagnostics about node `key` (default: the key, `kind:name`); paths start at the node. */
  nodeFile?: (key: string) => string;
}

/** The outcome of {@linkcode resolveManifest}: the resolved manifest exactly when no diagnostic is an error. */
export interface ResolveManifestResult {
  manifest?: Manifest;
  diagnostics: Diagnostic[];
}

/**
 * Validates an assembled manifest against a node lookup keyed `${kind}:${name}` (built-ins need not be in
 * it) with the rules of {@linkcode loadAirBundle}, and returns it with missing hashes filled and grant
 * params in the canonical tagged form. Only the nodes the manifest lists are checked; other nodes of the
 * lookup are ignored.
 */
export function resolveManifest(
  manifest: Manifest,
  nodes: ReadonlyMap<string, AirNode>,
  options: ValidateManifestOptions = {},
): ResolveManifestResult {
  const sink = new DiagnosticSink();
  const nodeFile = options.nodeFile ?? ((key: string) => key);
  const entries = new Map<string, NodeEntry>();
  for (const [key, node] of nodes) {
    if (node.$kind === "manifest") continue;
    if (key !== nodeKey(node.$kind, node.name)) {
      throw new TypeError(`Node lookup key "${key}" is not "${nodeKey(node.$kind, node.name)}"`);
    }
    entries.set(key, {
      kind: node.$kind,
      name: node.name,
      node,
      hash: nodeHash(node),
      file: nodeFile(key),
      at: [],
    });
  }
  const check: NodeEntry[] = [];
  const seen = new Set<string>();
  const quiet = new Set<string>();
  for (const [list, kind] of [...REF_LISTS, ...OPTIONAL_REF_LISTS]) {
    for (const ref of manifest[list] ?? []) {
      const key = nodeKey(kind, ref.name);
      const entry = entries.get(key);
      if (entry === undefined || seen.has(key)) continue;
      seen.add(key);
      if (ref.name.startsWith("sys/")) {
        // Built-ins resolve to themselves; a user node under sys/ (from a patch) is an error.
        if (isBuiltin(kind, ref.name)) continue;
        const where = { file: entry.file, at: ["name"], def: entry.name };
        sink.error("AIR_SYS_RESERVED", `Name "${entry.name}" uses the reserved sys/ namespace`, where);
        quiet.add(key);
        continue;
      }
      check.push(entry);
    }
  }
  const resolved = validateWorld({
    sink,
    entries,
    check,
    quiet,
    manifest,
    manifestKnown: true,
    manifestFile: options.manifestFile ?? "manifest",
    manifestAt: [],
  });
  return hasErrors(sink.diagnostics)
    ? { diagnostics: sink.diagnostics }
    : { manifest: resolved, diagnostics: sink.diagnostics };
}

/**
 * Every problem of an assembled manifest given a node lookup keyed `${kind}:${name}`: the diagnostics of
 * {@linkcode resolveManifest}. For patches (AIR §15) and stored worlds.
 *
 * @example A manifest whose route names a module the lookup lacks
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateManifestNodes } from "./bundle.ts";
 * import type { AirNode, Manifest } from "../nodes/mod.ts";
 *
 * const nodes = new Map<string, AirNode>([
 *   ["defschema:demo/Increment@1", { $kind: "defschema", name: "demo/Increment@1", type: { record: {} } }],
 * ]);
 * const manifest: Manifest = {
 *   $kind: "manifest", schemas: [{ name: "demo/Increment@1" }], modules: [], plans: [], caps: [], policies: [],
 *   routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
 * };
 * const found = validateManifestNodes(manifest, nodes);
 * assert.deepEqual(found.map((d) => [d.code, d.file, d.path]), [
 *   ["AIR_MODULE_UNKNOWN", "manifest", "$.routing.events[0].reducer"],
 * ]);
 * ```
 */
export function validateManifestNodes(
  manifest: Manifest,
  nodes: ReadonlyMap<string, AirNode>,
  options: ValidateManifestOptions = {},
): Diagnostic[] {
  return resolveManifest(manifest, nodes, options).diagnostics;
}

/** A module's WASM blob hash and where it is written. */
export interface ModuleWasm {
  module: string;
  wasmHash: HashRef;
  file: string;
  path: string;
}

/** The WASM blob of every module the manifest lists, sorted by module name (the caller checks the CAS). */
export function moduleWasmHashes(bundle: AirBundle): ModuleWasm[] {
  const out: ModuleWasm[] = [];
  for (const ref of bundle.manifest.modules) {
    const entry = bundle.nodes.get(`defmodule:${ref.name}`);
    if (entry?.kind !== "defmodule") continue;
    out.push({
      module: entry.name,
      wasmHash: entry.node.wasm_hash,
      file: entry.file,
      path: `${entry.path}.wasm_hash`,
    });
  }
  return out.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}

/** `AIR_WASM_MISSING` for each listed module whose blob `hasBlob` does not know. */
export function checkModuleBlobs(bundle: AirBundle, hasBlob: (hash: HashRef) => boolean): Diagnostic[] {
  return moduleWasmHashes(bundle)
    .filter((wasm) => !hasBlob(wasm.wasmHash))
    .map((wasm) => ({
      code: "AIR_WASM_MISSING",
      message: `WASM blob "${wasm.wasmHash}" of module "${wasm.module}" is not in the store`,
      file: wasm.file,
      path: wasm.path,
      def: wasm.module,
    }));
}

/** The key of a named node in {@linkcode AirBundle.nodes}: `${kind}:${name}`. */
export function bundleKey(kind: NamedNodeKind, name: string): string {
  return nodeKey(kind, name);
}
