import assert from "node:assert/strict";
import { AosError, type CborValue, encodeCanonical, fromHex, toHex } from "../air/mod.ts";
import { hasCode } from "./_test_fixtures.ts";
import { decodeOutputEnvelope, decodeOutputEnvelopeReference, encodeInputEnvelope } from "./envelope.ts";

Deno.test("encodeInputEnvelope() gives the canonical KERNEL §3.3 map, without now_ns when not given", () => {
  const bytes = encodeInputEnvelope({
    state: null,
    event: { schema: "a/B@1", value: fromHex("a0") },
    ctx: { key: null, cellMode: false },
  });
  // {ctx: {key: null, cell_mode: false}, event: {value: h'a0', schema: "a/B@1"}, state: null, version: 1}
  assert.equal(
    toHex(bytes),
    "a4" + "63637478" + "a2" + "636b6579f6" + "6963656c6c5f6d6f6465f4" +
      "656576656e74" + "a2" + "6576616c756541a0" + "66736368656d6165612f424031" +
      "657374617465f6" + "6776657273696f6e01",
  );
});

Deno.test("encodeInputEnvelope() carries state, event key, cell key, cell_mode and now_ns", () => {
  const key = encodeCanonical("k");
  const bytes = encodeInputEnvelope({
    state: fromHex("01"),
    event: { schema: "a/B@1", value: fromHex("a0"), key },
    ctx: { key, cellMode: true, nowNs: 5n },
  });
  assert.equal(
    toHex(bytes),
    toHex(encodeCanonical({
      version: 1,
      state: fromHex("01"),
      event: { schema: "a/B@1", value: fromHex("a0"), key },
      ctx: { key, cell_mode: true, now_ns: 5 },
    })),
  );
});

Deno.test("decodeOutputEnvelope() fills absent domain_events, effects and ann with defaults", () => {
  const output = decodeOutputEnvelope(encodeCanonical({ state: fromHex("a0") }));
  assert.deepEqual(output, { state: fromHex("a0"), domainEvents: [], effects: [], ann: null });
});

Deno.test("decodeOutputEnvelope() reads a null state, events, one effect and ann", () => {
  const output = decodeOutputEnvelope(encodeCanonical({
    state: null,
    domain_events: [{ schema: "a/E@1", value: fromHex("01") }, {
      schema: "a/F@1",
      value: fromHex("02"),
      key: fromHex("03"),
    }],
    effects: [{ kind: "timer.set", params_cbor: fromHex("04"), cap_slot: "timer" }],
    ann: fromHex("05"),
  }));
  assert.deepEqual(output, {
    state: null,
    domainEvents: [{ schema: "a/E@1", value: fromHex("01") }, {
      schema: "a/F@1",
      value: fromHex("02"),
      key: fromHex("03"),
    }],
    effects: [{ kind: "timer.set", paramsCbor: fromHex("04"), capSlot: "timer" }],
    ann: fromHex("05"),
  });
});

const badShapes: Array<[string, CborValue]> = [
  ["a non-map envelope", [1]],
  ["a missing state", { domain_events: [] }],
  ["a text state", { state: "x" }],
  ["an unknown top-level field", { state: null, extra: 1 }],
  ["domain_events that is not an array", { state: null, domain_events: {} }],
  ["an event without a schema", { state: null, domain_events: [{ value: fromHex("01") }] }],
  ["an event value that is not bytes", { state: null, domain_events: [{ schema: "a/E@1", value: 1 }] }],
  ["an event with an unknown field", {
    state: null,
    domain_events: [{ schema: "a/E@1", value: fromHex("01"), x: 1 }],
  }],
  ["an event key that is not bytes", {
    state: null,
    domain_events: [{ schema: "a/E@1", value: fromHex("01"), key: "k" }],
  }],
  ["an effect named params instead of params_cbor", {
    state: null,
    effects: [{ kind: "timer.set", params: fromHex("01") }],
  }],
  ["an effect cap_slot that is not text", {
    state: null,
    effects: [{ kind: "timer.set", params_cbor: fromHex("01"), cap_slot: 1 }],
  }],
  ["an ann that is not bytes", { state: null, ann: 1 }],
];

for (const [what, value] of badShapes) {
  Deno.test(`decodeOutputEnvelope() rejects ${what} with AOS_CBOR_INVALID`, () => {
    assert.throws(() => decodeOutputEnvelope(encodeCanonical(value)), hasCode("AOS_CBOR_INVALID"));
  });
}

Deno.test("decodeOutputEnvelope() rejects an envelope with unsorted keys with AOS_CBOR_NON_CANONICAL", () => {
  // {state: null, ann: null} in written order; canonical order puts "ann" (shorter) first.
  assert.equal(toHex(encodeCanonical({ state: null, ann: null })), "a263616e6ef6657374617465f6");
  assert.throws(
    () => decodeOutputEnvelope(fromHex("a2657374617465f663616e6ef6")),
    hasCode("AOS_CBOR_NON_CANONICAL"),
  );
});

Deno.test("encodeInputEnvelope() writes what encodeCanonical writes for the same map, for random envelopes", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  const bytes = fc.uint8Array({ maxLength: 40 });
  fc.assert(
    fc.property(
      fc.option(bytes),
      fc.string({ unit: "grapheme", maxLength: 30 }),
      bytes,
      fc.option(bytes, { nil: undefined }),
      fc.option(bytes),
      fc.boolean(),
      fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }),
      (state, schema, value, eventKey, ctxKey, cellMode, nowNs) => {
        const event: Record<string, CborValue> = { schema, value };
        if (eventKey !== undefined) event.key = eventKey;
        const ctx: Record<string, CborValue> = { key: ctxKey, cell_mode: cellMode };
        if (nowNs !== undefined) ctx.now_ns = nowNs;
        assert.equal(
          toHex(encodeInputEnvelope({
            state,
            event: eventKey === undefined ? { schema, value } : { schema, value, key: eventKey },
            ctx: nowNs === undefined ? { key: ctxKey, cellMode } : { key: ctxKey, cellMode, nowNs },
          })),
          toHex(encodeCanonical({ version: 1, state, event, ctx })),
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeOutputEnvelope() gives what the general decoder gives, for random and damaged {state} envelopes", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  const outcome = (decode: () => unknown) => {
    try {
      return decode();
    } catch (error) {
      return error instanceof AosError ? `${error.code}: ${error.message}` : (() => {
        throw error;
      })();
    }
  };
  const state = fc.oneof(
    fc.constant<CborValue>(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom<CborValue>(1, "x", [], { a: 1 }, true),
  );
  fc.assert(
    fc.property(state, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
      const bytes = encodeCanonical({ state: value });
      const i = at % bytes.length;
      const flipped = bytes.slice();
      flipped[i] = byte;
      for (const input of [bytes, flipped, bytes.slice(0, i), Uint8Array.from([...bytes, byte])]) {
        assert.deepEqual(
          outcome(() => decodeOutputEnvelope(input)),
          outcome(() => decodeOutputEnvelopeReference(input)),
        );
      }
    }),
    { numRuns: 500 },
  );
});
