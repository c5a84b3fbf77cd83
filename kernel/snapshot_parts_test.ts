import assert from "node:assert/strict";
import { type CborValue, decodeCanonical, encodeCanonical } from "../air/mod.ts";
import { hasCode } from "./_test_fixtures.ts";
import { EffectManager, type EffectOrigin, idempotencyKey, type OutboxEntry } from "./effect_manager.ts";
import { outboxEntryFromCbor, outboxFromCbor, outboxToCbor } from "./snapshot_parts.ts";
import { intentHash as intentHashOf } from "./intent_hash.ts";

/** The intent hash of positional parts (the tests' shorthand). */
function intentHash(
  kind: string,
  capName: string,
  params: Uint8Array,
  idempotencyKey: Uint8Array,
): Uint8Array {
  return intentHashOf({ kind: kind as never, capName, params, idempotencyKey });
}

function entry(
  origin: EffectOrigin,
  height: bigint,
  kind: OutboxEntry["kind"] = "timer.set",
  params: CborValue = { deliver_at_ns: 1000 },
): OutboxEntry {
  const bytes = encodeCanonical(params);
  const key = idempotencyKey(origin);
  return {
    intentHash: intentHash(kind, "cap", bytes, key),
    kind,
    capName: "cap",
    params: bytes,
    idempotencyKey: key,
    origin,
    fence: { generation: 2n, height },
  };
}

const PLAN = entry({ kind: "plan", name: "test/p@1", instanceId: 3n, step: "a_emit" }, 10n);
// eventSeq is 0 here: the journaled origin of an intent has no event_seq (AIR §9.2), so it cannot come back.
const CELL = entry({ kind: "reducer", name: "test/R@1", key: encodeCanonical("order-1"), eventSeq: 0 }, 11n);
const PLAIN = entry({ kind: "reducer", name: "test/S@1", key: null, eventSeq: 0 }, 12n, "blob.get", {
  namespace: "in",
  key: "k",
});
const EMPTY_KEY = entry({ kind: "reducer", name: "test/R@1", key: new Uint8Array(), eventSeq: 0 }, 13n);

/** Through the snapshot's bytes and back. */
function roundTrip(entries: OutboxEntry[]): OutboxEntry[] {
  const bytes = encodeCanonical(outboxToCbor(entries));
  return outboxFromCbor(decodeCanonical(bytes) as CborValue[]);
}

Deno.test("outbox entries round trip through CBOR: plan and reducer origins, with and without a cell key", () => {
  const entries = [PLAN, CELL, PLAIN, EMPTY_KEY];
  assert.deepEqual(roundTrip(entries), entries);
});

Deno.test("outbox round trip keeps large instance ids, generations and heights exact", () => {
  const big = entry(
    { kind: "plan", name: "test/p@1", instanceId: 2n ** 63n + 1n, step: "s" },
    2n ** 60n + 7n,
  );
  big.fence.generation = 2n ** 64n - 1n;
  assert.deepEqual(roundTrip([big]), [big]);
});

Deno.test("outbox round trip keeps what a reducer origin journals; event_seq is not part of it", () => {
  const withSeq = entry(
    { kind: "reducer", name: "test/R@1", key: encodeCanonical("order-1"), eventSeq: 42 },
    11n,
  );
  const [back] = roundTrip([withSeq]);
  assert.ok(back);
  assert.equal(back.origin.kind, "reducer");
  const { eventSeq: _seq, ...origin } = withSeq.origin as Extract<EffectOrigin, { kind: "reducer" }>;
  const { eventSeq: _back, ...backOrigin } = back.origin as Extract<EffectOrigin, { kind: "reducer" }>;
  assert.deepEqual(backOrigin, origin);
  assert.deepEqual({ ...back, origin: null }, { ...withSeq, origin: null });
});

Deno.test("outboxToCbor() writes each entry as its effect_queued body, in the given order", () => {
  assert.deepEqual(outboxToCbor([CELL, PLAN]), [
    EffectManager.queuedBody(CELL),
    EffectManager.queuedBody(PLAN),
  ]);
  assert.deepEqual(outboxToCbor([PLAN])[0], {
    intent_hash: PLAN.intentHash,
    kind: "timer.set",
    cap_name: "cap",
    params: PLAN.params,
    idempotency_key: PLAN.idempotencyKey,
    origin: { kind: "plan", name: "test/p@1", instance_id: 3n, step: "a_emit" },
    fence: { generation: 2n, height: 10n },
  });
  assert.deepEqual(outboxToCbor([]), []);
});

Deno.test("outboxEntryFromCbor() reads an effect_queued body as journaled", () => {
  const body = decodeCanonical(encodeCanonical(EffectManager.queuedBody(PLAIN)));
  assert.deepEqual(outboxEntryFromCbor(body), PLAIN);
});

Deno.test("outboxEntryFromCbor() rejects malformed entries with AOS_JOURNAL_CORRUPT", () => {
  const good = EffectManager.queuedBody(CELL);
  const cases: Array<[string, { [key: string]: CborValue }]> = [
    ["no intent_hash", { ...good, intent_hash: null }],
    ["text intent_hash", { ...good, intent_hash: "sha256:00" }],
    ["no kind", { ...good, kind: 1 }],
    ["no cap_name", { ...good, cap_name: null }],
    ["text params", { ...good, params: "a0" }],
    ["no idempotency_key", { ...good, idempotency_key: null }],
    ["no origin", { ...good, origin: null }],
    ["external origin", { ...good, origin: { kind: "external" } }],
    ["reducer origin without name", { ...good, origin: { kind: "reducer" } }],
    ["plan origin without step", { ...good, origin: { kind: "plan", name: "p", instance_id: 1 } }],
    ["plan origin with text instance", {
      ...good,
      origin: { kind: "plan", name: "p", instance_id: "1", step: "s" },
    }],
    ["no fence", { ...good, fence: null }],
    ["fence height text", { ...good, fence: { generation: 0, height: "1" } }],
    ["fence without generation", { ...good, fence: { height: 1 } }],
  ];
  for (const [label, body] of cases) {
    assert.throws(() => outboxEntryFromCbor(body), hasCode("AOS_JOURNAL_CORRUPT"), label);
  }
  assert.deepEqual(outboxEntryFromCbor(good), CELL); // the unchanged base case parses
  assert.deepEqual(outboxFromCbor([]), []);
});
