/**
 * Ed25519 receipt signatures (AIR §9.3): an adapter signs the canonical CBOR of the receipt without its
 * `signature`; the world verifies it with the adapter's registered public key (32 raw bytes).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPublicKey, verify } from "node:crypto";
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

/** True when `receipt.signature` is a valid Ed25519 signature by `publicKey` over the receipt. */
export function verifyReceiptSignature(receipt: Receipt, publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32 || receipt.signature.length !== 64) return false;
  try {
    const key = createPublicKey({
      key: Buffer.from([...ED25519_SPKI_PREFIX, ...publicKey]),
      format: "der",
      type: "spki",
    });
    return verify(null, receiptSigningBytes(receipt), key, receipt.signature);
  } catch {
    return false;
  }
}
