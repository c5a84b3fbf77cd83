/**
 * The effect ports the kernel owns (KERNEL §6, AIR §9): what an adapter receives (an intent) and what it
 * returns (a signed receipt). Adapters live in `adapters/` and depend on these types, never the reverse.
 *
 * @module
 */
import { type CborValue, type EffectKind, encodeCanonical, type SecretRef } from "../air/mod.ts";

/** `{generation, height}`: which world generation and journal position queued the intent. */
export interface Fence {
  generation: bigint;
  height: bigint;
}

/** An authorized effect as dispatched to an adapter. `params` is canonical CBOR of the kind's params schema. */
export interface EffectIntent {
  intentHash: Uint8Array;
  kind: EffectKind;
  capName: string;
  params: Uint8Array;
  idempotencyKey: Uint8Array;
  fence: Fence;
  /**
   * The value of a `sys/SecretRef@1` in `params`, resolved by the driver at dispatch from the defsecret's
   * binding (absent: no secrets on this path). Rejects with an error naming the secret, never its value.
   * The value must not go into the receipt.
   */
  resolveSecret?: (ref: SecretRef) => Promise<string>;
}

/** Receipt status (AIR §9.3). */
export type ReceiptStatus = "ok" | "error" | "timeout";

/** A receipt before signing. `payload` is canonical CBOR of the kind's receipt schema (may be empty unless ok). */
export interface UnsignedReceipt {
  intentHash: Uint8Array;
  adapterId: string;
  status: ReceiptStatus;
  payload: Uint8Array;
  costCents?: bigint;
  fence: Fence;
}

/** A receipt as an adapter returns it: Ed25519 over {@linkcode receiptSigningBytes} by the adapter's key. */
export interface Receipt extends UnsignedReceipt {
  signature: Uint8Array;
}

/**
 * The receipt map (AIR §9.3) in snake_case, without `signature`: what a signature covers. The one mapping
 * of a receipt to CBOR; the signed map ({@linkcode signedReceiptMap}) adds the signature.
 */
export function receiptMap(receipt: UnsignedReceipt): { [key: string]: CborValue } {
  const map: { [key: string]: CborValue } = {
    intent_hash: receipt.intentHash,
    adapter_id: receipt.adapterId,
    status: receipt.status,
    payload: receipt.payload,
    fence: { generation: receipt.fence.generation, height: receipt.fence.height },
  };
  if (receipt.costCents !== undefined) map.cost_cents = receipt.costCents;
  return map;
}

/** The receipt map with its `signature`: the body of `receipt_appended` (less `ingress_ns`) and a drop-box file. */
export function signedReceiptMap(receipt: Receipt): { [key: string]: CborValue } {
  return { ...receiptMap(receipt), signature: receipt.signature };
}

/** The canonical CBOR a receipt signature covers: the receipt map without `signature`. */
export function receiptSigningBytes(receipt: UnsignedReceipt): Uint8Array {
  return encodeCanonical(receiptMap(receipt));
}

/** An effect adapter: one per kind, idempotent on the intent hash (delivery is at least once). */
export interface EffectAdapter {
  readonly kind: EffectKind;
  readonly adapterId: string;
  /** Ed25519 public key (32 raw bytes) the world registers for `adapterId`. */
  readonly publicKey: Uint8Array;
  /** Executes the intent and reports the final outcome as one signed receipt; never rejects. */
  execute(intent: EffectIntent): Promise<Receipt>;
}

/** The adapters a driver dispatches to, and the public keys the world accepts receipts from. */
export interface AdapterDirectory {
  adapterFor(kind: EffectKind): EffectAdapter | undefined;
  publicKeyOf(adapterId: string): Uint8Array | undefined;
  /**
   * The effect kinds the adapter's key may settle (the kinds it was registered for): a receipt it signs for
   * an intent of another kind is ignored as `kind_not_allowed`. Undefined: none.
   */
  kindsOf(adapterId: string): readonly string[] | undefined;
}
