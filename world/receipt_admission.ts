/**
 * The driver's checks of a receipt before the kernel's (KERNEL §6.4): well-formed, from a registered adapter,
 * signed by its key, for an intent of a kind that key was registered for; then the kernel's outbox checks
 * (pending, fence, payload).
 *
 * @module
 */
import type { AdapterDirectory, Kernel, Receipt, ReceiptRejection } from "../kernel/mod.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";

/** Why `receipt` is to be ignored, or undefined when it is admitted. */
export function receiptRejection(
  receipt: Receipt,
  directory: Pick<AdapterDirectory, "publicKeyOf" | "kindsOf">,
  kernel: Pick<Kernel, "checkReceipt" | "pendingKind">,
): ReceiptRejection | undefined {
  if (
    !(receipt.intentHash instanceof Uint8Array) || receipt.intentHash.length !== 32 ||
    typeof receipt.adapterId !== "string" || !(receipt.payload instanceof Uint8Array) ||
    !(receipt.signature instanceof Uint8Array) || typeof receipt.fence?.height !== "bigint" ||
    typeof receipt.fence?.generation !== "bigint" ||
    (receipt.costCents !== undefined && receipt.costCents < 0n)
  ) {
    return "malformed";
  }
  const key = directory.publicKeyOf(receipt.adapterId);
  if (!key) return "unknown_adapter";
  if (!verifyReceiptSignature(receipt, key)) return "bad_signature";
  // One adapter's key must not settle another's effects (a timer key answering an http.request).
  const kind = kernel.pendingKind(receipt.intentHash);
  if (kind !== undefined && !(directory.kindsOf(receipt.adapterId) ?? []).includes(kind)) {
    return "kind_not_allowed";
  }
  return kernel.checkReceipt(receipt);
}
