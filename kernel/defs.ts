/**
 * Loads a world's control plane from its CAS: the manifest node, the schema and module nodes it names,
 * and the reducer WASM blobs (compiled once into the host). Everything read is re-hashed by the CAS.
 *
 * @module
 */
import {
  type AirBundle,
  type AirFile,
  AosError,
  type CborValue,
  decodeCanonical,
  type DefCap,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  type HashRef,
  isHashRef,
  type JsonValue,
  loadAirBundle,
  SchemaIndex,
  stringifyJson,
} from "../air/mod.ts";
import type { Cas } from "../journal/cas.ts";
import type { WorldDefs } from "./kernel.ts";
import type { ReducerHost } from "./reducer_host.ts";

/** An AIR validation failure carrying every diagnostic (errors and warnings). */
export class AirInvalidError extends AosError {
  constructor(readonly diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity !== "warning").length;
    super(
      "AOS_AIR_INVALID",
      `Invalid AIR (${errors} problem${errors === 1 ? "" : "s"}):\n` +
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n"),
    );
  }
}

/** Converts a generic-CBOR node back to JSON (integers as bigints). */
export function cborToJson(value: CborValue, where: string): JsonValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "bigint") return value;
  if (Array.isArray(value)) return value.map((v) => cborToJson(v, where));
  if (value instanceof Uint8Array || value instanceof Map || !(typeof value === "object")) {
    throw new AosError("AOS_AIR_INVALID", `Stored node ${where} holds a non-JSON item`);
  }
  if (!(Object.getPrototypeOf(value) === Object.prototype)) {
    throw new AosError("AOS_AIR_INVALID", `Stored node ${where} holds a non-JSON item`);
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) out[k] = cborToJson(v as CborValue, where);
  return out;
}

/** Reads and decodes one node from the CAS. */
export async function readNode(cas: Cas, hash: HashRef): Promise<JsonValue> {
  return cborToJson(decodeCanonical(await cas.get("nodes", hash)), hash);
}

/**
 * Loads the manifest `manifestHash` and everything it names; compiles its reducer modules into `host`.
 * The stored nodes go through the same bundle validation as authoring files, so a world never runs a
 * control plane that would not validate today.
 */
export async function loadDefs(cas: Cas, manifestHash: HashRef, host: ReducerHost): Promise<WorldDefs> {
  const manifestJson = await readNode(cas, manifestHash);
  const files: AirFile[] = [{ path: `cas:${manifestHash}`, text: stringifyJson(manifestJson) }];
  const manifest = manifestJson as { [list: string]: JsonValue };
  for (const list of ["schemas", "modules", "plans", "caps", "policies"]) {
    const refs = manifest[list];
    if (!Array.isArray(refs)) continue;
    for (const ref of refs) {
      const { name, hash } = ref as { name?: JsonValue; hash?: JsonValue };
      if (typeof hash !== "string" || !isHashRef(hash)) continue;
      if (typeof name === "string" && name.startsWith("sys/")) continue;
      files.push({ path: `cas:${hash}`, text: stringifyJson(await readNode(cas, hash)) });
    }
  }
  const { bundle, diagnostics } = loadAirBundle(files);
  if (!bundle || hasErrors(diagnostics)) throw new AirInvalidError(diagnostics);
  if (bundle.manifestHash !== manifestHash) {
    throw new AosError(
      "AOS_CAS_CORRUPT",
      `Stored manifest re-hashes to ${bundle.manifestHash}, not ${manifestHash}`,
    );
  }
  const wasm = new Map<string, Uint8Array>();
  for (const ref of bundle.manifest.modules) {
    const entry = bundle.nodes.get(`defmodule:${ref.name}`);
    if (entry?.kind === "defmodule") {
      wasm.set(entry.node.wasm_hash, await cas.get("blobs", entry.node.wasm_hash));
    }
  }
  return defsFromBundle(bundle, host, (hash) => wasm.get(hash));
}

/**
 * The kernel's view of a validated bundle: the definitions its manifest lists, with every reducer module
 * compiled into `host` (`wasmFor` returns a module's bytes by hash).
 */
export function defsFromBundle(
  bundle: AirBundle,
  host: ReducerHost,
  wasmFor: (hash: HashRef) => Uint8Array | undefined,
): WorldDefs {
  const listed = <T>(kind: string, refs: Array<{ name: string }>): Map<string, T> => {
    const out = new Map<string, T>();
    for (const ref of refs) {
      const entry = bundle.nodes.get(`${kind}:${ref.name}`);
      if (entry?.kind === kind) out.set(ref.name, entry.node as unknown as T);
    }
    return out;
  };
  const modules = listed<DefModule>("defmodule", bundle.manifest.modules);
  for (const module of modules.values()) {
    const bytes = wasmFor(module.wasm_hash);
    if (!bytes) {
      throw new AosError("AOS_CAS_MISSING", `WASM ${module.wasm_hash} of "${module.name}" is missing`);
    }
    host.load(module.wasm_hash, bytes);
  }
  return {
    manifestHash: bundle.manifestHash,
    manifest: bundle.manifest,
    schemas: SchemaIndex.fromBundle(bundle),
    modules,
    plans: listed<DefPlan>("defplan", bundle.manifest.plans),
    caps: listed<DefCap>("defcap", bundle.manifest.caps),
    policies: listed<DefPolicy>("defpolicy", bundle.manifest.policies),
  };
}
