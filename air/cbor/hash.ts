/**
 * SHA-256 and `sha256:<hex>` hash references (AIR §1).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AosError } from "../base/mod.ts";
import { fromHex, toHex } from "./cbor.ts";

/** A `sha256:` + 64 lowercase hex digits reference. */
export type HashRef = `sha256:${string}`;

const HASH_REF = /^sha256:[0-9a-f]{64}$/;

/** SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
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
