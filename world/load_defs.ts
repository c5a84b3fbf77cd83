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
  const bundle = await validatedBundle(cas, manifestHash);
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
 * Bundles validated in this process, by manifest hash (the most recent {@linkcode VALIDATED_MAX}). A manifest
 * hash fixes the bytes of every node the manifest names (each is stored under its own hash, and the CAS
 * re-hashes what it reads), so once those bytes validated they validate again: a world opened again reads and
 * re-hashes every node as before, but skips parsing and validating them (about 1.6 ms of a 10 ms in-process
 * `aos event send`). The cached bundles are deeply frozen: the worlds of a process share them.
 */
const validated = new Map<HashRef, AirBundle>();

/** How many validated bundles a process keeps. */
const VALIDATED_MAX = 32;

/** The node refs a manifest names that are stored in the CAS (built-in `sys/` nodes are not). */
function storedRefs(manifest: { [list: string]: JsonValue }): HashRef[] {
  const out: HashRef[] = [];
  for (const list of ["schemas", "modules", "plans", "caps", "policies", "effects", "secrets"]) {
    const refs = manifest[list];
    if (!Array.isArray(refs)) continue;
    for (const ref of refs) {
      const { name, hash } = ref as { name?: JsonValue; hash?: JsonValue };
      if (typeof hash !== "string" || !isHashRef(hash)) continue;
      if (typeof name === "string" && name.startsWith("sys/")) continue;
      out.push(hash);
    }
  }
  return out;
}

async function validatedBundle(cas: Cas, manifestHash: HashRef): Promise<AirBundle> {
  const manifestJson = await readNode(cas, manifestHash);
  const refs = storedRefs(manifestJson as { [list: string]: JsonValue });
  const known = validated.get(manifestHash);
  if (known !== undefined) {
    // The same bytes as when they validated, or an error: every node is read and re-hashed by the CAS.
    for (const hash of refs) await cas.get("nodes", hash);
    return known;
  }
  const files: AirFile[] = [{ path: `cas:${manifestHash}`, text: stringifyJson(manifestJson) }];
  for (const hash of refs) {
    files.push({ path: `cas:${hash}`, text: stringifyJson(await readNode(cas, hash)) });
  }
  const { bundle, diagnostics } = loadAirBundle(files);
  if (!bundle || hasErrors(diagnostics)) throw new AirInvalidError(diagnostics);
  if (bundle.manifestHash !== manifestHash) {
    throw new AosError(
      "AOS_CAS_CORRUPT",
      `Stored manifest re-hashes to ${bundle.manifestHash}, not ${manifestHash}`,
    );
  }
  deepFreeze(bundle.manifest);
  for (const entry of bundle.nodes.values()) deepFreeze(entry);
  if (validated.size >= VALIDATED_MAX) validated.delete(validated.keys().next().value!);
  validated.set(manifestHash, bundle);
  return bundle;
}

/** Freezes `value` and every object and array inside it. */
function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  if (ArrayBuffer.isView(value)) return; // typed arrays cannot be frozen; nodes hold none
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}
