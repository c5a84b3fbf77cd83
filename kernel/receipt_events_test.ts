import assert from "node:assert/strict";
import {
  decodeTyped,
  encodeCanonical,
  encodeTyped,
  fromHex,
  SchemaIndex,
  toHex,
  type Value,
} from "../air/mod.ts";
import { hasCode } from "./_test_fixtures.ts";
import { type EffectOrigin, idempotencyKey, type OutboxEntry } from "./effect_manager.ts";
import { type AcceptedReceipt, receiptEvent, receiptPayloadValue } from "./receipt_events.ts";
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

const SCHEMAS = new SchemaIndex([]);
const REF = fromHex("ab".repeat(32));
const CELL: EffectOrigin = {
  kind: "reducer",
  name: "test/R@1",
  key: encodeCanonical("order-1"),
  eventSeq: 9,
};

const nat = (value: bigint | number): Value => ({ kind: "nat", value: BigInt(value) });
const text = (value: string): Value => ({ kind: "text", value });
const hash = (value: Uint8Array): Value => ({ kind: "hash", value });
const NONE: Value = { kind: "none" };
const rec = (fields: Record<string, Value>): Value => ({
  kind: "record",
  value: new Map(Object.entries(fields)),
});

function entry(kind: OutboxEntry["kind"], params: Uint8Array, origin: EffectOrigin = CELL): OutboxEntry {
  const key = idempotencyKey(origin);
  return {
    intentHash: intentHash(kind, "cap", params, key),
    kind,
    capName: "cap",
    params,
    idempotencyKey: key,
    origin,
    fence: { generation: 0n, height: 12n },
  };
}

function receipt(
  queued: OutboxEntry,
  status: string,
  payload: Uint8Array,
  costCents?: bigint,
): AcceptedReceipt {
  const out: AcceptedReceipt = {
    intentHash: queued.intentHash,
    adapterId: "aos-test",
    status,
    payload,
    signature: fromHex("5a".repeat(64)),
  };
  if (costCents !== undefined) out.costCents = costCents;
  return out;
}

/** The `sys/*Result@1` value AIR §9.5 describes for `queued` and `accepted`. */
function expectedEvent(
  queued: OutboxEntry,
  accepted: AcceptedReceipt,
  requested: Value,
  receiptValue: Value,
) {
  return rec({
    intent_hash: hash(queued.intentHash),
    reducer: text("test/R@1"),
    effect_kind: text(queued.kind),
    adapter_id: text("aos-test"),
    status: text(accepted.status),
    requested,
    receipt: receiptValue,
    cost_cents: accepted.costCents === undefined ? NONE : nat(accepted.costCents),
    signature: { kind: "bytes", value: accepted.signature },
  });
}

/** Asserts the schema, the decoded value and the exact bytes (canonical encoding of the expected value). */
function assertEvent(actual: { schema: string; value: Uint8Array }, schema: string, expected: Value): void {
  assert.equal(actual.schema, schema);
  assert.deepEqual(decodeTyped({ ref: schema }, actual.value, SCHEMAS), expected);
  assert.equal(toHex(actual.value), toHex(encodeTyped({ ref: schema }, expected, SCHEMAS)));
}

const TIMER_PARAMS = encodeCanonical({ deliver_at_ns: 1000, key: "retry" });
const TIMER_REQUESTED = rec({ deliver_at_ns: nat(1000), key: text("retry") });
const PUT_PARAMS = encodeCanonical({ namespace: "out", blob_ref: REF });
const PUT_REQUESTED = rec({ namespace: text("out"), blob_ref: hash(REF) });
const GET_PARAMS = encodeCanonical({ namespace: "in", key: `sha256:${"ab".repeat(32)}` });
const GET_REQUESTED = rec({ namespace: text("in"), key: text(`sha256:${"ab".repeat(32)}`) });
const ZERO_HASH = hash(new Uint8Array(32));

Deno.test("receiptEvent() of an ok timer.set is sys/TimerFired@1 with the decoded receipt and cost", () => {
  const queued = entry("timer.set", TIMER_PARAMS);
  const accepted = receipt(queued, "ok", encodeCanonical({ delivered_at_ns: 1500, key: "retry" }), 3n);
  assertEvent(
    receiptEvent(queued, accepted, SCHEMAS),
    "sys/TimerFired@1",
    expectedEvent(queued, accepted, TIMER_REQUESTED, rec({ delivered_at_ns: nat(1500), key: text("retry") })),
  );
});

Deno.test("receiptEvent() of an ok timer.set without key or cost has none for both", () => {
  const params = encodeCanonical({ deliver_at_ns: 5 });
  const queued = entry("timer.set", params);
  const accepted = receipt(queued, "ok", encodeCanonical({ delivered_at_ns: 7 }));
  const event = receiptEvent(queued, accepted, SCHEMAS);
  assertEvent(
    event,
    "sys/TimerFired@1",
    expectedEvent(
      queued,
      accepted,
      rec({ deliver_at_ns: nat(5), key: NONE }),
      rec({ delivered_at_ns: nat(7), key: NONE }),
    ),
  );
});

Deno.test("receiptEvent() of a timer.set error with an empty payload carries the zero receipt", () => {
  const queued = entry("timer.set", TIMER_PARAMS);
  for (const status of ["error", "timeout"]) {
    const accepted = receipt(queued, status, new Uint8Array());
    assertEvent(
      receiptEvent(queued, accepted, SCHEMAS),
      "sys/TimerFired@1",
      expectedEvent(queued, accepted, TIMER_REQUESTED, rec({ delivered_at_ns: nat(0), key: NONE })),
    );
  }
});

Deno.test("receiptEvent() of blob.put is sys/BlobPutResult@1: ok decoded, error zero (32 zero bytes, size 0)", () => {
  const queued = entry("blob.put", PUT_PARAMS);
  const ok = receipt(queued, "ok", encodeCanonical({ blob_ref: REF, size: 42 }), 0n);
  assertEvent(
    receiptEvent(queued, ok, SCHEMAS),
    "sys/BlobPutResult@1",
    expectedEvent(queued, ok, PUT_REQUESTED, rec({ blob_ref: hash(REF), size: nat(42) })),
  );
  const failed = receipt(queued, "error", new Uint8Array(), 1n);
  assertEvent(
    receiptEvent(queued, failed, SCHEMAS),
    "sys/BlobPutResult@1",
    expectedEvent(queued, failed, PUT_REQUESTED, rec({ blob_ref: ZERO_HASH, size: nat(0) })),
  );
});

Deno.test("receiptEvent() of blob.get is sys/BlobGetResult@1: ok decoded, timeout zero", () => {
  const queued = entry("blob.get", GET_PARAMS);
  const ok = receipt(queued, "ok", encodeCanonical({ blob_ref: REF, size: 7 }));
  assertEvent(
    receiptEvent(queued, ok, SCHEMAS),
    "sys/BlobGetResult@1",
    expectedEvent(queued, ok, GET_REQUESTED, rec({ blob_ref: hash(REF), size: nat(7) })),
  );
  const late = receipt(queued, "timeout", new Uint8Array());
  assertEvent(
    receiptEvent(queued, late, SCHEMAS),
    "sys/BlobGetResult@1",
    expectedEvent(queued, late, GET_REQUESTED, rec({ blob_ref: ZERO_HASH, size: nat(0) })),
  );
});

Deno.test("receiptEvent() requested re-encodes to exactly the params recorded at enqueue", () => {
  for (
    const [kind, params, schema, paramsSchema] of [
      ["timer.set", TIMER_PARAMS, "sys/TimerFired@1", "sys/TimerSetParams@1"],
      ["blob.put", PUT_PARAMS, "sys/BlobPutResult@1", "sys/BlobPutParams@1"],
      ["blob.get", GET_PARAMS, "sys/BlobGetResult@1", "sys/BlobGetParams@1"],
    ] as const
  ) {
    const queued = entry(kind, params);
    const event = receiptEvent(queued, receipt(queued, "error", new Uint8Array()), SCHEMAS);
    const value = decodeTyped({ ref: schema }, event.value, SCHEMAS);
    assert.equal(value.kind, "record");
    const requested = (value as Extract<Value, { kind: "record" }>).value.get("requested")!;
    assert.equal(toHex(encodeTyped({ ref: paramsSchema }, requested, SCHEMAS)), toHex(params), kind);
  }
});

Deno.test("receiptEvent() names the reducer of a non-keyed origin too", () => {
  const origin: EffectOrigin = { kind: "reducer", name: "test/Other@1", key: null, eventSeq: 1 };
  const queued = entry("timer.set", TIMER_PARAMS, origin);
  const event = receiptEvent(queued, receipt(queued, "error", new Uint8Array()), SCHEMAS);
  const value = decodeTyped({ ref: "sys/TimerFired@1" }, event.value, SCHEMAS);
  assert.deepEqual((value as Extract<Value, { kind: "record" }>).value.get("reducer"), text("test/Other@1"));
});

Deno.test("receiptEvent() throws AOS_INVARIANT for a plan origin or a kind without a receipt event", () => {
  const plan: EffectOrigin = { kind: "plan", name: "test/p@1", instanceId: 1n, step: "a" };
  const fromPlan = entry("timer.set", TIMER_PARAMS, plan);
  assert.throws(
    () => receiptEvent(fromPlan, receipt(fromPlan, "ok", new Uint8Array()), SCHEMAS),
    hasCode("AOS_INVARIANT"),
  );
  const httpParams = encodeCanonical({
    method: "GET",
    url: "https://a.example/",
    headers: new Map(),
    body_ref: null,
  });
  const http = entry("http.request", httpParams);
  assert.throws(
    () => receiptEvent(http, receipt(http, "error", new Uint8Array()), SCHEMAS),
    hasCode("AOS_INVARIANT"),
  );
});

Deno.test("receiptPayloadValue() decodes strictly with the receipt schema and gives the zero value when empty", () => {
  assert.deepEqual(
    receiptPayloadValue("blob.put", encodeCanonical({ blob_ref: REF, size: 1 }), SCHEMAS),
    rec({ blob_ref: hash(REF), size: nat(1) }),
  );
  assert.deepEqual(
    receiptPayloadValue("timer.set", new Uint8Array(), SCHEMAS),
    rec({ delivered_at_ns: nat(0), key: NONE }),
  );
  assert.deepEqual(
    receiptPayloadValue("http.request", new Uint8Array(), SCHEMAS),
    rec({
      status: { kind: "int", value: 0n },
      headers: { kind: "map", value: [] },
      body_ref: NONE,
      timings: rec({ start_ns: nat(0), end_ns: nat(0) }),
      adapter_id: text(""),
    }),
  );
  assert.deepEqual(
    receiptPayloadValue("llm.generate", new Uint8Array(), SCHEMAS),
    rec({
      output_ref: ZERO_HASH,
      token_usage: rec({ prompt: nat(0), completion: nat(0) }),
      cost_cents: nat(0),
      provider_id: text(""),
    }),
  );
  assert.throws(
    () => receiptPayloadValue("blob.put", encodeCanonical({ blob_ref: REF }), SCHEMAS),
    hasCode("AOS_TYPE_MISMATCH"),
  );
  assert.throws(
    () => receiptPayloadValue("payment.charge", new Uint8Array(), SCHEMAS),
    hasCode("AOS_INVARIANT"),
  );
});
