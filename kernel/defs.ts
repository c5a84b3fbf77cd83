/**
 * Loads a world's control plane from its CAS: the manifest node, the schema and module nodes it names,
 * and the reducer WASM blobs (compiled once into the host). Everything read is re-hashed by the CAS.
 *
 * @module
 */
import { type CborValue, decodeCanonical } from "../air/cbor.ts";
import { AosError } from "../air/errors.ts";
import type { HashRef } from "../air/hash.ts";
import type { JsonValue } from "../air/json.ts";
import type { Cas } from "../journal/cas.ts";
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

/** Reads and decodes one node from the CAS. */
export async function readNode(cas: Cas, hash: HashRef): Promise<JsonValue> {
  return cborToJson(decodeCanonical(await cas.get("nodes", hash)), hash);
}

/** Loads the manifest `manifestHash` and everything it names; compiles its reducer modules into `host`. */
export async function loadDefs(cas: Cas, manifestHash: HashRef, host: ReducerHost): Promise<WorldDefs> {
  void cas;
  void manifestHash;
  void host;
  throw new AosError("AOS_INVARIANT", "not yet wired");
}
