/**
 * What every real adapter shares (private to `adapters/`): checking an intent and decoding its params,
 * turning an outcome into a signed receipt, and answering a re-dispatched intent with the same receipt.
 *
 * @module
 */
import {
  assert,
  bytesEqual,
  bytesToHashRef,
  decodeTyped,
  type EffectKind,
  effectSpec,
  encodeTyped,
  type SchemaResolver,
  toHex,
  type Value,
} from "../air/mod.ts";
import type { EffectIntent, Receipt, UnsignedReceipt } from "../kernel/mod.ts";
import type { AdapterFailure } from "./adapter_failure.ts";
import { intentHash } from "../kernel/mod.ts";
import { type AdapterKey, signReceipt } from "./keys.ts";
import { verifyReceiptSignature } from "../kernel/mod.ts";
import { adapterLimits } from "./limits.ts";

/** The final outcome of one execution, before it is encoded and signed. */
export type Outcome =
  | { status: "ok"; payload: Value; costCents?: bigint }
  | { status: "error" | "timeout"; reason: string; cause?: unknown; costCents?: bigint };

/** The identity and tools of one adapter. */
export interface AdapterCore {
  kind: EffectKind;
  adapterId: string;
  key: AdapterKey;
  schemas: SchemaResolver;
  onFailure: ((failure: AdapterFailure) => void) | undefined;
}

/** Decoded params, or the reason the intent cannot be executed. */
type Params = { ok: true; fields: Map<string, Value> } | {
  ok: false;
  reason: string;
  cause?: unknown;
};

/** Checks kind and intent hash (AIR §9.4: adapters recompute it), then strictly decodes the params. */
function decodeParams(core: AdapterCore, intent: EffectIntent): Params {
  if (intent.kind !== core.kind) {
    return { ok: false, reason: `Intent kind "${intent.kind}" is not "${core.kind}"` };
  }
  if (intent.idempotencyKey.length !== 32 || !bytesEqual(intentHash(intent), intent.intentHash)) {
    return { ok: false, reason: "Intent hash does not match kind, cap, params and idempotency key" };
  }
  const spec = effectSpec(core.kind);
  assert(spec !== undefined, `"${core.kind}" is in the effect catalog`);
  try {
    const value = decodeTyped({ ref: spec.params }, intent.params, core.schemas);
    assert(value.kind === "record", "params schemas are records");
    return { ok: true, fields: value.value };
  } catch (cause) {
    return { ok: false, reason: `Params do not decode as "${spec.params}"`, cause };
  }
}

/** Encodes the outcome's payload with the kind's receipt schema and signs the receipt. */
function seal(core: AdapterCore, intent: EffectIntent, outcome: Outcome): Receipt {
  const unsigned: UnsignedReceipt = {
    intentHash: intent.intentHash,
    adapterId: core.adapterId,
    status: outcome.status,
    payload: new Uint8Array(),
    fence: intent.fence,
  };
  if (outcome.costCents !== undefined) unsigned.costCents = outcome.costCents;
  if (outcome.status === "ok") {
    const spec = effectSpec(core.kind);
    assert(spec !== undefined, `"${core.kind}" is in the effect catalog`);
    try {
      unsigned.payload = encodeTyped({ ref: spec.receipt }, outcome.payload, core.schemas);
    } catch (cause) {
      return seal(core, intent, {
        status: "error",
        reason: `Receipt payload does not encode as "${spec.receipt}"`,
        cause,
        ...(outcome.costCents === undefined ? {} : { costCents: outcome.costCents }),
      });
    }
  } else {
    const failure: AdapterFailure = {
      adapterId: core.adapterId,
      kind: core.kind,
      intentHash: bytesToHashRef(intent.intentHash),
      status: outcome.status,
      reason: outcome.reason,
    };
    if (outcome.cause !== undefined) failure.cause = outcome.cause;
    core.onFailure?.(failure);
  }
  const receipt = signReceipt(unsigned, core.key);
  // Postconditions: what leaves the adapter is what the driver's admission will check (KERNEL §6.4).
  assert(
    verifyReceiptSignature(receipt, core.key.publicKey),
    "a fresh receipt verifies under the adapter's key",
  );
  assert(receipt.status !== "ok" || receipt.payload.length > 0, "an ok receipt has a payload");
  return receipt;
}

/**
 * Runs each intent once: a second `execute` of the same intent (hash and fence) while the first runs, or
 * after it finished and while it is among the last {@linkcode adapterLimits.recentReceiptsMax}, gets the
 * same receipt. The fence is part of the key because an intent queued again after a rollback must be
 * answered with its new fence (KERNEL §8.6).
 */
export class Once {
  readonly #running = new Map<string, Promise<Receipt>>();
  readonly #done = new Map<string, Receipt>();

  run(intent: EffectIntent, execute: () => Promise<Receipt>): Promise<Receipt> {
    const id = `${toHex(intent.intentHash)}/${intent.fence.generation}/${intent.fence.height}`;
    const done = this.#done.get(id);
    if (done !== undefined) return Promise.resolve(done);
    const running = this.#running.get(id);
    if (running !== undefined) return running;
    const promise = execute().then((receipt) => {
      this.#running.delete(id);
      this.#done.set(id, receipt);
      // Map iteration is insertion order, so the first key is the oldest receipt.
      if (this.#done.size > adapterLimits.recentReceiptsMax) {
        this.#done.delete(this.#done.keys().next().value!);
      }
      return receipt;
    });
    this.#running.set(id, promise);
    return promise;
  }
}

/** Runs `body` and seals its outcome; an unexpected throw becomes an `error` receipt (execute never rejects). */
async function settle(
  core: AdapterCore,
  intent: EffectIntent,
  body: () => Promise<Outcome>,
): Promise<Receipt> {
  let outcome: Outcome;
  try {
    outcome = await body();
  } catch (cause) {
    outcome = { status: "error", reason: "Adapter failed unexpectedly", cause };
  }
  return seal(core, intent, outcome);
}

/**
 * The common `execute`: once per intent (hash and fence), params checked and decoded, then `run` — called
 * synchronously, so it can register work (a timer) before `execute` returns; whatever it throws or
 * rejects with becomes an `error` receipt.
 */
export function executeOnce(
  core: AdapterCore,
  once: Once,
  intent: EffectIntent,
  run: (fields: Map<string, Value>) => Promise<Outcome>,
): Promise<Receipt> {
  return once.run(intent, () =>
    settle(core, intent, () => {
      const params = decodeParams(core, intent);
      if (params.ok) return run(params.fields);
      const outcome: Outcome = { status: "error", reason: params.reason };
      if (params.cause !== undefined) outcome.cause = params.cause;
      return Promise.resolve(outcome);
    }));
}

/** Small constructors for receipt payload values. */
export const v = {
  nat: (value: bigint | number): Value => ({ kind: "nat", value: BigInt(value) }),
  int: (value: bigint | number): Value => ({ kind: "int", value: BigInt(value) }),
  text: (value: string): Value => ({ kind: "text", value }),
  hash: (value: Uint8Array): Value => ({ kind: "hash", value }),
  none: (): Value => ({ kind: "none" }),
  record: (fields: { [name: string]: Value }): Value => ({
    kind: "record",
    value: new Map(Object.entries(fields)),
  }),
  textMap: (entries: Array<[string, string]>): Value => ({
    kind: "map",
    value: entries.map((
      [k, val],
    ): [Value, Value] => [{ kind: "text", value: k }, { kind: "text", value: val }]),
  }),
};

/** The field `name` of decoded params, which the schema guarantees; an absent option field is none. */
export function field(fields: Map<string, Value>, name: string): Value {
  return fields.get(name) ?? { kind: "none" };
}

/** A field the schema types as `kind`. */
export function fieldOf<K extends Value["kind"]>(
  fields: Map<string, Value>,
  name: string,
  kind: K,
): Extract<Value, { kind: K }> {
  const value = field(fields, name);
  assert(value.kind === kind, `params field "${name}" is a ${kind}, got ${value.kind}`);
  return value as Extract<Value, { kind: K }>;
}
