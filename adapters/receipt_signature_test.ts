import assert from "node:assert/strict";
import { encodeCanonical, fromHex, toHex } from "../air/mod.ts";
import { AdapterKey, signReceipt } from "./keys.ts";
import { type Receipt, receiptSigningBytes, type UnsignedReceipt } from "../kernel/mod.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";

const KEY = AdapterKey.fromSeed(new Uint8Array(32).fill(7));
const OTHER_KEY = AdapterKey.fromSeed(new Uint8Array(32).fill(8));

const UNSIGNED: UnsignedReceipt = {
  intentHash: fromHex("11".repeat(32)),
  adapterId: "aos-timer",
  status: "ok",
  payload: encodeCanonical({ delivered_at_ns: 1500, key: "retry" }),
  costCents: 3n,
  fence: { generation: 1n, height: 41n },
};

const SIGNED: Receipt = signReceipt(UNSIGNED, KEY);

function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1 << bit;
  return out;
}

Deno.test("verifyReceiptSignature() accepts a receipt signed by the adapter's key", () => {
  assert.equal(SIGNED.signature.length, 64);
  assert.equal(verifyReceiptSignature(SIGNED, KEY.publicKey), true);
  const { costCents: _, ...withoutCost } = UNSIGNED;
  assert.equal(verifyReceiptSignature(signReceipt(withoutCost, KEY), KEY.publicKey), true);
  const empty = signReceipt({ ...withoutCost, status: "timeout", payload: new Uint8Array() }, KEY);
  assert.equal(verifyReceiptSignature(empty, KEY.publicKey), true);
});

Deno.test("verifyReceiptSignature() covers the canonical receipt map without the signature (AIR §9.3)", () => {
  const expected = encodeCanonical({
    intent_hash: UNSIGNED.intentHash,
    adapter_id: "aos-timer",
    status: "ok",
    payload: UNSIGNED.payload,
    cost_cents: 3,
    fence: { generation: 1, height: 41 },
  });
  assert.equal(toHex(receiptSigningBytes(SIGNED)), toHex(expected));
  // A signature over those bytes by any Ed25519 signer with the key verifies.
  assert.equal(verifyReceiptSignature({ ...SIGNED, signature: KEY.sign(expected) }, KEY.publicKey), true);
});

Deno.test("verifyReceiptSignature() rejects a flipped bit in the signature", () => {
  for (const index of [0, 31, 32, 63]) {
    const signature = flipBit(SIGNED.signature, index, index % 8);
    assert.equal(verifyReceiptSignature({ ...SIGNED, signature }, KEY.publicKey), false, `byte ${index}`);
  }
});

Deno.test("verifyReceiptSignature() rejects any change to the signed fields", () => {
  const tampered: Array<[string, Receipt]> = [
    ["payload bit", { ...SIGNED, payload: flipBit(SIGNED.payload, SIGNED.payload.length - 1) }],
    ["payload emptied", { ...SIGNED, payload: new Uint8Array() }],
    ["intent hash bit", { ...SIGNED, intentHash: flipBit(SIGNED.intentHash, 5) }],
    ["fence height", { ...SIGNED, fence: { generation: 1n, height: 42n } }],
    ["fence generation", { ...SIGNED, fence: { generation: 0n, height: 41n } }],
    ["status", { ...SIGNED, status: "error" }],
    ["adapter id", { ...SIGNED, adapterId: "aos-timer2" }],
    ["cost changed", { ...SIGNED, costCents: 4n }],
    ["cost zero", { ...SIGNED, costCents: 0n }],
  ];
  const { costCents: _, ...noCost } = SIGNED;
  tampered.push(["cost removed", noCost]);
  for (const [label, receipt] of tampered) {
    assert.equal(verifyReceiptSignature(receipt, KEY.publicKey), false, label);
  }
});

Deno.test("verifyReceiptSignature() rejects a signature by another key", () => {
  assert.equal(verifyReceiptSignature(SIGNED, OTHER_KEY.publicKey), false);
  assert.equal(verifyReceiptSignature(signReceipt(UNSIGNED, OTHER_KEY), KEY.publicKey), false);
  assert.equal(verifyReceiptSignature(signReceipt(UNSIGNED, OTHER_KEY), OTHER_KEY.publicKey), true);
});

Deno.test("verifyReceiptSignature() returns false without throwing for malformed keys and signatures", () => {
  const cases: Array<[string, Receipt, Uint8Array]> = [
    ["empty key", SIGNED, new Uint8Array()],
    ["31-byte key", SIGNED, KEY.publicKey.slice(0, 31)],
    ["33-byte key", SIGNED, Uint8Array.of(...KEY.publicKey, 0)],
    [
      "44-byte SPKI instead of raw",
      SIGNED,
      Uint8Array.of(...fromHex("302a300506032b6570032100"), ...KEY.publicKey),
    ],
    ["empty signature", { ...SIGNED, signature: new Uint8Array() }, KEY.publicKey],
    ["63-byte signature", { ...SIGNED, signature: SIGNED.signature.slice(0, 63) }, KEY.publicKey],
    ["65-byte signature", { ...SIGNED, signature: Uint8Array.of(...SIGNED.signature, 0) }, KEY.publicKey],
    ["zero signature", { ...SIGNED, signature: new Uint8Array(64) }, KEY.publicKey],
    ["zero key", SIGNED, new Uint8Array(32)],
    ["all-ones key", SIGNED, new Uint8Array(32).fill(0xff)],
    ["fence beyond 64 bits", { ...SIGNED, fence: { generation: 1n, height: 2n ** 64n } }, KEY.publicKey],
  ];
  for (const [label, receipt, publicKey] of cases) {
    assert.equal(verifyReceiptSignature(receipt, publicKey), false, label);
  }
});
