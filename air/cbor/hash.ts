/**
 * SHA-256 and `sha256:<hex>` hash references (AIR §1).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AosError } from "../base/mod.ts";
import { fromHex, toHex } from "./cbor.ts";
import { slabBytes, slabCopy } from "./slab.ts";
import { SHA256_WASM_INPUT_MAX, sha256Wasm } from "./_sha256_wasm.ts";

/** A `sha256:` + 64 lowercase hex digits reference. */
export type HashRef = `sha256:${string}`;

const HASH_REF = /^sha256:[0-9a-f]{64}$/;

/** Inputs up to this size are hashed by our WebAssembly module; larger ones by the runtime's native SHA-256. */
const SMALL_INPUT_SIZE_BYTES_MAX = SHA256_WASM_INPUT_MAX;

/**
 * SHA-256 of bytes. Small inputs (journal entries, keys, intents) are hashed by a WebAssembly module of ours
 * (`_sha256_wasm.ts`): it is faster than a native hash object per call, and leaves no native object for the
 * garbage collector to find, which kept a streaming read of a million entries from holding a hundred
 * megabytes of them.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL_INPUT_SIZE_BYTES_MAX) return sha256Wasm(bytes, new Uint8Array(32));
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/**
 * {@linkcode sha256}, the 32 bytes a view of a shared slab (see `slab.ts`): for the hash of every journal
 * entry, made on each append and each read. Not for a hash kept on its own among many that die.
 */
export function sha256Slab(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL_INPUT_SIZE_BYTES_MAX) return sha256Wasm(bytes, slabBytes(32));
  return slabCopy(createHash("sha256").update(bytes).digest());
}

/** `sha256:<hex>` of bytes. */
export function hashRefOf(bytes: Uint8Array): HashRef {
  return `sha256:${toHex(sha256(bytes))}`;
}

/** True when `text` is a well-formed hash reference. */
export function isHashRef(text: string): text is HashRef {
  return HASH_REF.test(text);
}

/** The 32 bytes of a hash reference. */
export function hashRefToBytes(ref: string): Uint8Array {
  if (!isHashRef(ref)) {
    throw new AosError("AOS_AIR_INVALID", `Invalid hash reference "${ref}": expected sha256:<64 hex>`);
  }
  return fromHex(ref.slice(7));
}

/** The reference of 32 hash bytes. */
export function bytesToHashRef(bytes: Uint8Array): HashRef {
  if (bytes.length !== 32) {
    throw new AosError("AOS_AIR_INVALID", `Invalid hash: expected 32 bytes, got ${bytes.length}`);
  }
  return `sha256:${toHex(bytes)}`;
}
