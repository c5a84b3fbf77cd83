/**
 * Loads a world's control plane from its CAS: the manifest node, the schema and module nodes it names,
 * and the reducer WASM blobs (compiled once into the host). Everything read is re-hashed by the CAS.
 *
 * @module
 */
import {
  type AirFile,
  AosError,
  decodeCanonical,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  type HashRef,
  isHashRef,
  type JsonValue,
  loadAirBundle,
  stringifyJson,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import { cborToJson, defsFromBundle, type ReducerHost, type WorldDefs } from "../kernel/mod.ts";

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
  for (const list of ["schemas", "modules", "plans", "caps", "policies", "effects", "secrets"]) {
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
