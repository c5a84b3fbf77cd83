/**
 * Snapshot encodings of kernel parts (KERNEL §8.4) that more than one module reads.
 *
 * @module
 */
import { AosError, type CborValue, type EffectKind, effectSpec } from "../air/mod.ts";
import { amountsFromCbor } from "./budgets.ts";
import { EffectManager, type EffectOrigin, type OutboxEntry } from "./effect_manager.ts";

/** Outbox entries as `{effect_queued body, context}`, by fence height. */
export function outboxToCbor(entries: OutboxEntry[]): CborValue[] {
  return entries.map((e) => EffectManager.queuedBody(e));
}

function bad(what: string): AosError {
  return new AosError("AOS_JOURNAL_CORRUPT", `Snapshot outbox is malformed: ${what}`);
}

function big(v: CborValue | undefined, what: string): bigint {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  throw bad(what);
}

/** Parses outbox entries written by {@linkcode outboxToCbor} (also the body of `effect_queued`). */
export function outboxEntryFromCbor(item: CborValue): OutboxEntry {
  const e = item as { [key: string]: CborValue };
  const origin = e.origin as { [key: string]: CborValue } | undefined;
  const fence = e.fence as { [key: string]: CborValue } | undefined;
  if (
    !(e.intent_hash instanceof Uint8Array) || typeof e.kind !== "string" || typeof e.cap_name !== "string" ||
    !(e.params instanceof Uint8Array) || !(e.idempotency_key instanceof Uint8Array) || !origin || !fence
  ) {
    throw bad("entry fields");
  }
  let parsed: EffectOrigin;
  if (origin.kind === "plan" && typeof origin.name === "string" && typeof origin.step === "string") {
    parsed = {
      kind: "plan",
      name: origin.name,
      instanceId: big(origin.instance_id, "instance_id"),
      step: origin.step,
    };
  } else if (origin.kind === "reducer" && typeof origin.name === "string") {
    if (origin.key !== undefined && !(origin.key instanceof Uint8Array)) throw bad("origin.key");
    // The journaled origin carries no event_seq (AIR §9.2): it only fed the idempotency key at enqueue.
    parsed = {
      kind: "reducer",
      name: origin.name,
      key: origin.key instanceof Uint8Array ? origin.key : null,
      eventSeq: 0,
    };
  } else {
    throw bad("origin");
  }
  if (!effectSpec(e.kind)) throw bad(`kind "${e.kind}"`);
  const generation = big(fence.generation, "fence.generation");
  const height = big(fence.height, "fence.height");
  if (generation < 0n || height < 0n) throw bad("fence");
  const entry: OutboxEntry = {
    intentHash: e.intent_hash,
    kind: e.kind as EffectKind,
    capName: e.cap_name,
    params: e.params,
    idempotencyKey: e.idempotency_key,
    origin: parsed,
    fence: {
      generation: big(fence.generation, "fence.generation"),
      height: big(fence.height, "fence.height"),
    },
  };
  if (e.reserved !== undefined) {
    const reserved = e.reserved as { [key: string]: CborValue };
    if (typeof reserved !== "object" || reserved === null || Array.isArray(reserved)) throw bad("reserved");
    for (const [k, v] of Object.entries(reserved)) {
      if (!["bytes", "cents", "tokens"].includes(k) || big(v, `reserved.${k}`) < 0n) throw bad("reserved");
    }
    entry.reserved = amountsFromCbor(reserved);
  }
  return entry;
}

/** Parses a snapshot's outbox list. */
export function outboxFromCbor(items: CborValue[]): OutboxEntry[] {
  return items.map(outboxEntryFromCbor);
}
