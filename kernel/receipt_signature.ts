/**
 * Ed25519 receipt signatures (AIR §9.3): an adapter signs the canonical CBOR of the receipt without its
 * `signature`; the world verifies it with the adapter's registered public key (32 raw bytes). The one
 * Ed25519 verification of the project: adapters check their own receipts with it too.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { type Receipt, receiptSigningBytes } from "./effects.ts";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = new Uint8Array([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
]);

/** Parsed public keys by their raw hex: a world checks thousands of receipts from a handful of adapters. */
const keyObjects = new Map<string, KeyObject>();
const KEY_OBJECTS_KEPT = 64;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString("hex");
  let key = keyObjects.get(hex);
  if (key === undefined) {
    const der = new Uint8Array(ED25519_SPKI_PREFIX.length + 32);
    der.set(ED25519_SPKI_PREFIX);
    der.set(publicKey, ED25519_SPKI_PREFIX.length);
    key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    if (keyObjects.size >= KEY_OBJECTS_KEPT) keyObjects.delete(keyObjects.keys().next().value!);
    keyObjects.set(hex, key);
  }
  return key;
}

/** True when `signature` is a valid Ed25519 signature of `bytes` by the raw 32-byte `publicKey`. */
export function verifyEd25519(bytes: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, bytes, publicKeyObject(publicKey), signature);
  } catch {
    return false; // not a point on the curve, or otherwise unusable: not a valid signature either way
  }
}

/** True when `receipt.signature` is a valid Ed25519 signature by `publicKey` over the receipt. */
export function verifyReceiptSignature(receipt: Receipt, publicKey: Uint8Array): boolean {
  let bytes: Uint8Array;
  try {
    bytes = receiptSigningBytes(receipt);
  } catch {
    return false; // e.g. a negative cost or a non-64-bit fence cannot be encoded, so it was never signed
  }
  return verifyEd25519(bytes, receipt.signature, publicKey);
}
