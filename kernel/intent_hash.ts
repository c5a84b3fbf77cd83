/**
 * The intent hash of AIR §9.4: computed by the effect gate when it queues an intent, and recomputed by
 * adapters to check an intent before acting on it.
 *
 * @module
 */
import { encodeCanonicalLent, sha256 } from "../air/mod.ts";
import type { EffectIntent } from "./effects.ts";

/**
 * `sha256(cbor({"cap": capName, "kind": kind, "params": bstr(params), "idempotency_key": bstr(32)}))`.
 *
 * @example The AIR §9.4 vector
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromHex, toHex } from "../air/cbor.ts";
 * import { intentHash } from "./intent_hash.ts";
 *
 * const hash = intentHash({
 *   kind: "timer.set",
 *   capName: "timer_cap",
 *   params: fromHex("a2636b65796572657472796d64656c697665725f61745f6e731903e8"),
 *   idempotencyKey: new Uint8Array(32),
 * });
 * assert.equal(toHex(hash), "8630fa99c34ebb35edcfcf503aee8819f0ffdb1c2f763f2882c7ae22cd78e547");
 * ```
 */
export function intentHash(
  intent: Pick<EffectIntent, "kind" | "capName" | "params" | "idempotencyKey">,
): Uint8Array {
  if (intent.idempotencyKey.length !== 32) {
    throw new RangeError(`Invalid idempotency key: expected 32 bytes, got ${intent.idempotencyKey.length}`);
  }
  // The encoding is only hashed: a view of the encoder's buffer, not a copy.
  const body = {
    cap: intent.capName,
    kind: intent.kind,
    params: intent.params,
    idempotency_key: intent.idempotencyKey,
  };
  return encodeCanonicalLent((w) => w.value(body), sha256);
}
