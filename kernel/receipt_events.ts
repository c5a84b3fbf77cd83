/**
 * Receipt → `sys/*` event conversion for reducer micro-effects (KERNEL §4, AIR §9.5): the pending
 * context recorded at enqueue plus the accepted receipt become one typed domain event delivered only to
 * the originating reducer (and cell).
 *
 * @module
 */
import {
  assert,
  decodeTyped,
  effectSpec,
  encodeTyped,
  InvariantError,
  refType,
  type SchemaResolver,
  type Value,
  zeroValue,
} from "../air/mod.ts";
import type { OutboxEntry } from "./effect_manager.ts";

/** The receipt fields the conversion reads (as journaled in `receipt_appended`). */
export interface AcceptedReceipt {
  intentHash: Uint8Array;
  adapterId: string;
  status: string;
  payload: Uint8Array;
  costCents?: bigint;
  signature: Uint8Array;
}

/**
 * Receipt payloads decoded, by their bytes: admission, budget settlement, a plan's `await_receipt` and a
 * reducer's receipt event each read the payload of the same receipt, and decoding it was the larger part of
 * each. A decoded value is shared, never changed in place (no code changes a `Value`'s contents).
 */
const decodedPayloads = new WeakMap<Uint8Array, { kind: string; schemas: SchemaResolver; value: Value }>();

/** Decodes a receipt payload with the kind's receipt schema; the zero value when empty and not ok. */
export function receiptPayloadValue(kind: string, payload: Uint8Array, schemas: SchemaResolver): Value {
  const spec = effectSpec(kind);
  assert(spec, `effect kind "${kind}" is in the catalog`);
  if (payload.length === 0) return zeroValue(refType(spec.receipt), schemas);
  const known = decodedPayloads.get(payload);
  if (known !== undefined && known.kind === kind && known.schemas === schemas) return known.value;
  const value = decodeTyped(refType(spec.receipt), payload, schemas);
  decodedPayloads.set(payload, { kind, schemas, value });
  return value;
}

/** Builds the `sys/*` event (schema name and canonical value) for a reducer-originated intent's receipt. */
export function receiptEvent(
  entry: OutboxEntry,
  receipt: AcceptedReceipt,
  schemas: SchemaResolver,
): { schema: string; value: Uint8Array } {
  const spec = effectSpec(entry.kind);
  if (!spec?.receiptEvent || entry.origin.kind !== "reducer") {
    throw new InvariantError(`Intent of kind "${entry.kind}" has no receipt event for a reducer`);
  }
  const fields = new Map<string, Value>([
    ["intent_hash", { kind: "hash", value: receipt.intentHash }],
    ["reducer", { kind: "text", value: entry.origin.name }],
    ["effect_kind", { kind: "text", value: entry.kind }],
    ["adapter_id", { kind: "text", value: receipt.adapterId }],
    ["status", { kind: "text", value: receipt.status }],
    ["requested", decodeTyped(refType(spec.params), entry.params, schemas)],
    ["receipt", receiptPayloadValue(entry.kind, receipt.payload, schemas)],
    [
      "cost_cents",
      receipt.costCents === undefined ? { kind: "none" } : { kind: "nat", value: receipt.costCents },
    ],
    ["signature", { kind: "bytes", value: receipt.signature }],
  ]);
  const value = encodeTyped(refType(spec.receiptEvent), { kind: "record", value: fields }, schemas);
  return { schema: spec.receiptEvent, value };
}
