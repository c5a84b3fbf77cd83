import assert from "node:assert/strict";
import { AosError, bytesEqual, type CborValue, encodeCanonical, sha256 } from "../air/mod.ts";
import {
  classifyEntry,
  decodeEntry,
  decodeEntryReference,
  encodeEntry,
  ENTRY_KINDS,
  isInputKind,
  isMarkerKind,
  ZERO_HASH,
} from "./entry.ts";
import { outcomeOf } from "./testing/mod.ts";

const genesis = { kind: "genesis", body: { manifest_hash: new Uint8Array(32).fill(7), ingress_ns: 5 } };

function assertCorrupt(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeEntry(bytes), (error: unknown) => {
    assert.ok(error instanceof AosError, String(error));
    assert.equal(error.code, "AOS_JOURNAL_CORRUPT");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("encodeEntry() produces canonical {seq, kind, body, prev} and its sha256", () => {
  const entry = encodeEntry(0, genesis, ZERO_HASH);
  assert.ok(
    bytesEqual(
      entry.bytes,
      encodeCanonical({ seq: 0, kind: "genesis", body: genesis.body, prev: ZERO_HASH }),
    ),
  );
  assert.deepEqual(entry.hash, sha256(entry.bytes));
  assert.deepEqual(entry.prev, ZERO_HASH);
  assert.equal(entry.seq, 0);
  assert.equal(entry.kind, "genesis");
  assert.deepEqual(entry.body, genesis.body);
});

Deno.test("encodeEntry() fixes the bytes and hash at encode time; decoding them gives the body back", () => {
  const body: { [key: string]: CborValue } = { proposal_id: 1, ingress_ns: 0 };
  const entry = encodeEntry(3, { kind: "apply_requested", body }, ZERO_HASH);
  const bytes = entry.bytes.slice();
  body["proposal_id"] = 2;
  assert.deepEqual(entry.bytes, bytes);
  assert.equal(decodeEntry(entry.bytes).body["proposal_id"], 1);
  assert.deepEqual(entry.hash, sha256(bytes));
});

Deno.test("decodeEntry() round-trips bodies with nested int-keyed maps, bytes and bigints", () => {
  // A plan result is any CBOR item: the one body field that may nest maps with non-text keys.
  const body: { [key: string]: CborValue } = {
    instance_id: 4,
    status: "ok",
    result: {
      counts: new Map<CborValue, CborValue>([[1, "a"], [-2, "b"]]),
      big: 2n ** 63n,
      raw: new Uint8Array([1]),
    },
  };
  const entry = encodeEntry(9, { kind: "plan_ended", body }, sha256(new Uint8Array([1])));
  const decoded = decodeEntry(entry.bytes);
  assert.deepEqual(decoded, entry);
  assert.ok(
    bytesEqual(
      encodeCanonical({ seq: 9, kind: decoded.kind, body: decoded.body, prev: decoded.prev }),
      entry.bytes,
    ),
  );
});

Deno.test("encodeEntry() rejects unknown kinds, bad seqs and bad prevs with TypeError", () => {
  assert.throws(() => encodeEntry(0, { kind: "made_up", body: {} }, ZERO_HASH), TypeError);
  assert.throws(() => encodeEntry(-1, genesis, ZERO_HASH), TypeError);
  assert.throws(() => encodeEntry(1.5, genesis, ZERO_HASH), TypeError);
  assert.throws(() => encodeEntry(0, genesis, new Uint8Array(31)), TypeError);
});

Deno.test("decodeEntry() rejects anything but exactly {seq, kind, body, prev} with AOS_JOURNAL_CORRUPT", () => {
  const prev = ZERO_HASH;
  assertCorrupt(
    encodeCanonical({ seq: 0, kind: "genesis", body: {} }),
    /expected exactly seq, kind, body, prev/,
  );
  assertCorrupt(encodeCanonical({ seq: 0, kind: "genesis", body: {}, prev, extra: 1 }), /expected exactly/);
  assertCorrupt(encodeCanonical({ seq: -1, kind: "genesis", body: {}, prev }), /seq is not a uint/);
  assertCorrupt(encodeCanonical({ seq: "0", kind: "genesis", body: {}, prev }), /seq is not a uint/);
  assertCorrupt(encodeCanonical({ seq: 0, kind: 1, body: {}, prev }), /kind of entry "0" is not text/);
  assertCorrupt(encodeCanonical({ seq: 0, kind: "made_up", body: {}, prev }), /unknown: "made_up"/);
  assertCorrupt(
    encodeCanonical({ seq: 0, kind: "genesis", body: [], prev }),
    /body of entry "0" is not a map/,
  );
  assertCorrupt(
    encodeCanonical({ seq: 0, kind: "genesis", body: new Map<CborValue, CborValue>([[1, 1]]), prev }),
    /non-text keys/,
  );
  assertCorrupt(encodeCanonical({ seq: 0, kind: "genesis", body: {}, prev: new Uint8Array(31) }), /32-byte/);
  assertCorrupt(encodeCanonical([0, "genesis", {}, prev]), /not a map/);
});

Deno.test("decodeEntry() rejects non-canonical and truncated CBOR with AOS_JOURNAL_CORRUPT", () => {
  const bytes = encodeEntry(0, genesis, ZERO_HASH).bytes;
  assertCorrupt(bytes.subarray(0, bytes.length - 1), /not canonical CBOR/);
  // {"seq": 0, ...} with seq as a two-byte integer (0x18 0x00) instead of the shortest form.
  const long = new Uint8Array([...bytes.subarray(0, 5), 0x18, 0x00, ...bytes.subarray(6)]);
  assertCorrupt(long, /not canonical CBOR/);
});

Deno.test("ENTRY_KINDS lists the 22 kinds of KERNEL §8.2", () => {
  assert.equal(ENTRY_KINDS.length, 22);
  assert.equal(ENTRY_KINDS[0], "genesis");
  assert.equal(ENTRY_KINDS.at(-1), "rollback");
  assert.equal(new Set(ENTRY_KINDS).size, 22);
});

Deno.test("isInputKind() separates inputs from derived entries; a domain_event is an input iff external", () => {
  const inputs = ENTRY_KINDS.filter((kind) => kind !== "domain_event" && isInputKind(kind, {}));
  assert.deepEqual(inputs, [
    "genesis",
    "plan_start_requested",
    "plan_cancel_requested",
    "receipt_appended",
    "receipt_ignored",
    "inbox_quarantined",
    "proposal_submitted",
    "shadow_run_completed",
    "approval_recorded",
    "apply_requested",
    "rollback",
  ]);
  assert.equal(isInputKind("domain_event", { origin: { kind: "external", source: "http" } }), true);
  assert.equal(isInputKind("domain_event", { origin: new Map([["kind", "external"]]) }), true);
  assert.equal(isInputKind("domain_event", { origin: { kind: "reducer", name: "r", event_seq: 1 } }), false);
  assert.equal(isInputKind("domain_event", {}), false);
  assert.equal(isInputKind("snapshot", { height: 3, snapshot_hash: ZERO_HASH }), false);
  assert.equal(classifyEntry("effect_queued", {}), "derived");
  assert.throws(() => isInputKind("made_up", {}), TypeError);
});

Deno.test("isMarkerKind() is true only for snapshot", () => {
  assert.deepEqual(ENTRY_KINDS.filter(isMarkerKind), ["snapshot"]);
  assert.equal(isMarkerKind("made_up"), false);
});

Deno.test('decodeEntry() keeps a "__proto__" key in a nested map as data, not as the prototype', () => {
  const nested = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as { [key: string]: CborValue };
  const entry = encodeEntry(
    3,
    { kind: "plan_ended", body: { instance_id: 1, status: "ok", result: nested } },
    ZERO_HASH,
  );
  const decoded = decodeEntry(entry.bytes);
  const result = decoded.body.result as { [key: string]: CborValue };
  assert.deepEqual(Object.keys(result).sort(), ["__proto__", "a"]);
  assert.equal(Object.getPrototypeOf(result), Object.prototype);
  assert.equal((result as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(result, "__proto__")?.value, { polluted: true });
});

Deno.test("decodeEntry() gives back what re-encodes to the very bytes it read, for random bodies", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  // Any CBOR item of the data model, as a plan result (the body field that may hold one).
  const { item } = fc.letrec((tie) => ({
    item: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.integer(),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("item"), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie("item"), { maxKeys: 4 }),
      fc.uniqueArray(fc.tuple(fc.integer({ min: -40, max: 40 }), tie("item")), {
        maxLength: 3,
        selector: ([key]) => key,
      }).map((pairs) => new Map<CborValue, CborValue>(pairs as Array<[CborValue, CborValue]>)),
    ),
  }));
  fc.assert(
    fc.property(item, fc.nat({ max: 1_000_000 }), (result, seq) => {
      const body = { instance_id: 1, status: "ok", result: result as CborValue };
      const prev = sha256(new Uint8Array([seq & 0xff]));
      const entry = encodeEntry(seq, { kind: "plan_ended", body }, prev);
      // The entry's prev is the one it was chained to (a view of its bytes' last 32).
      assert.deepEqual(entry.prev, prev);
      const decoded = decodeEntry(entry.bytes);
      const again = encodeCanonical({ seq, kind: decoded.kind, body: decoded.body, prev: decoded.prev });
      assert.ok(bytesEqual(again, entry.bytes));
      assert.deepEqual(decoded.hash, entry.hash);
    }),
    { numRuns: Number(Deno.env.get("AOS_FUZZ_RUNS") ?? 300) },
  );
});

Deno.test("encodeEntry() writes a domain_event entry exactly as encodeCanonical does, for random bodies", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  const origin = fc.oneof(
    fc.record({ kind: fc.constant("external"), source: fc.string({ unit: "grapheme", maxLength: 30 }) }, {
      requiredKeys: ["kind"],
    }),
    fc.record({
      kind: fc.constant("reducer"),
      name: fc.string({ maxLength: 12 }),
      key: fc.uint8Array({ maxLength: 8 }),
      event_seq: fc.nat(),
    }, { requiredKeys: ["kind", "name", "event_seq"] }),
    fc.record({
      kind: fc.constant("plan"),
      name: fc.string({ maxLength: 12 }),
      instance_id: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      step: fc.string({ maxLength: 8 }),
    }),
  );
  const body = fc.record({
    schema: fc.string({ unit: "grapheme", maxLength: 40 }),
    value: fc.uint8Array({ maxLength: 300 }),
    key: fc.uint8Array({ maxLength: 40 }),
    origin,
    ingress_ns: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  }, { requiredKeys: ["schema", "value", "origin"] });
  fc.assert(
    fc.property(
      body,
      fc.nat({ max: 2 ** 40 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (b, seq, prev) => {
        const record = { kind: "domain_event", body: b as { [key: string]: CborValue } };
        const entry = encodeEntry(seq, record, prev);
        assert.deepEqual(entry.prev, prev);
        assert.deepEqual(
          entry.bytes,
          encodeCanonical({ seq, kind: "domain_event", body: record.body, prev }),
        );
        assert.deepEqual(decodeEntry(entry.bytes).hash, entry.hash);
        // The domain_event path gives the general decoder's entry, and refuses what it refuses, the same way.
        assert.deepEqual(decodeEntry(entry.bytes), decodeEntryReference(entry.bytes));
        for (const damaged of damagedCopies(entry.bytes, seq)) {
          assert.deepEqual(
            outcomeOf(() => decodeEntry(damaged)),
            outcomeOf(() => decodeEntryReference(damaged)),
          );
        }
      },
    ),
    { numRuns: Number(Deno.env.get("AOS_FUZZ_RUNS") ?? 300) },
  );
});

/** Copies of `bytes` with one byte changed, one cut off or one added, at places picked from `seed`. */
function damagedCopies(bytes: Uint8Array, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < 6; k++) {
    const at = (seed * 31 + k * 97) % bytes.length;
    const flipped = bytes.slice();
    flipped[at] = (flipped[at]! + 1 + k * 37) & 0xff;
    out.push(flipped, bytes.slice(0, at), Uint8Array.from([...bytes.slice(0, at), k, ...bytes.slice(at)]));
  }
  return out;
}

Deno.test("decodeEntry() refuses a domain_event entry with a negative seq, as the general decoder does", () => {
  const body = { schema: "demo/E@1", value: new Uint8Array([0xa0]), origin: { kind: "external" } };
  const entry = encodeEntry(3, { kind: "domain_event", body }, ZERO_HASH);
  assert.equal(entry.bytes[5], 0x03, "seq 3 is the byte after the key");
  const negative = entry.bytes.slice();
  negative[5] = 0x22; // -3
  assertCorrupt(negative, /seq is not a uint/);
  assert.deepEqual(decodeEntry(entry.bytes), decodeEntryReference(entry.bytes));
});
