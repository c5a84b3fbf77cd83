/**
 * Helpers for the adapter tests (private to `adapters/`): intents built the way the kernel builds them,
 * receipt payload decoding, and a real `Deno.serve` on 127.0.0.1 that is always shut down.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  decodeTyped,
  type EffectKind,
  effectSpec,
  encodeTyped,
  SchemaIndex,
  type Value,
} from "../air/mod.ts";
import type { EffectIntent, Receipt } from "../kernel/mod.ts";
import { intentHash } from "../kernel/mod.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";

/** The built-in schemas (timer key, http and llm schemas as amended by AIR §9.1). */
export const schemas: SchemaIndex = new SchemaIndex([]);

/** A record value from plain fields. */
export function record(fields: { [name: string]: Value }): Value {
  return { kind: "record", value: new Map(Object.entries(fields)) };
}

/** An intent of `kind` whose params are `fields` encoded with the kind's params schema. */
export function makeIntent(
  kind: EffectKind,
  fields: { [name: string]: Value },
  options: { height?: bigint; generation?: bigint; idempotencySeed?: number } = {},
): EffectIntent {
  const spec = effectSpec(kind);
  assert.ok(spec);
  const params = encodeTyped({ ref: spec.params }, record(fields), schemas);
  const idempotencyKey = new Uint8Array(32).fill(options.idempotencySeed ?? 0);
  const base = { kind, capName: `${kind}_cap`, params, idempotencyKey };
  return {
    ...base,
    intentHash: intentHash(base),
    fence: { generation: options.generation ?? 0n, height: options.height ?? 1n },
  };
}

/** Checks the receipt against its intent and key, and returns the decoded payload fields (ok only). */
export function checkReceipt(
  intent: EffectIntent,
  receipt: Receipt,
  publicKey: Uint8Array,
): Map<string, Value> | undefined {
  assert.equal(verifyReceiptSignature(receipt, publicKey), true, "receipt signature verifies");
  assert.deepEqual(receipt.intentHash, intent.intentHash);
  assert.deepEqual(receipt.fence, intent.fence);
  if (receipt.status !== "ok") {
    assert.equal(receipt.payload.length, 0, "a failed receipt has an empty payload");
    return undefined;
  }
  const spec = effectSpec(intent.kind);
  assert.ok(spec);
  const value = decodeTyped({ ref: spec.receipt }, receipt.payload, schemas);
  assert.equal(value.kind, "record");
  return value.kind === "record" ? value.value : undefined;
}

/** Runs `body` against a real server on 127.0.0.1 (random port), shut down in `finally`. */
export async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  body: (baseUrl: string) => Promise<void>,
  onShutdown: () => void = () => {},
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    onShutdown();
    await server.shutdown();
  }
}

/** The text of a value the schema types as text. */
export function text(value: Value | undefined): string {
  assert.equal(value?.kind, "text");
  return value?.kind === "text" ? value.value : "";
}

/** The integer of a nat/int value. */
export function integer(value: Value | undefined): bigint {
  assert.ok(value?.kind === "nat" || value?.kind === "int");
  return value.kind === "nat" || value.kind === "int" ? value.value : 0n;
}
