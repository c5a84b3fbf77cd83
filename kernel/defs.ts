/**
 * The kernel's view of a validated AIR bundle ({@linkcode defsFromBundle}) and the JSON form of stored
 * nodes ({@linkcode cborToJson}). Pure: loading from a store is the driver's job (`world/load_defs.ts`).
 *
 * @module
 */
import {
  type AirBundle,
  type AirNode,
  AosError,
  type CborValue,
  type DefCap,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type DefSecret,
  type HashRef,
  type JsonValue,
  SchemaIndex,
} from "../air/mod.ts";
import type { WorldDefs } from "./kernel.ts";
import type { ReducerHost } from "./reducer_host.ts";

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
  // Every node the manifest lists, by node hash (built-ins are known to the validator without it).
  const nodes = new Map<HashRef, AirNode>();
  const lists = [
    ["defschema", bundle.manifest.schemas],
    ["defmodule", bundle.manifest.modules],
    ["defplan", bundle.manifest.plans],
    ["defcap", bundle.manifest.caps],
    ["defpolicy", bundle.manifest.policies],
    ["defeffect", bundle.manifest.effects ?? []],
    ["defsecret", bundle.manifest.secrets ?? []],
  ] as const;
  for (const [kind, refs] of lists) {
    for (const ref of refs) {
      const entry = bundle.nodes.get(`${kind}:${ref.name}`);
      if (entry?.kind === kind && ref.hash !== undefined) nodes.set(ref.hash, entry.node);
    }
  }
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
    secrets: listed<DefSecret>("defsecret", bundle.manifest.secrets ?? []),
    nodes,
  };
}
