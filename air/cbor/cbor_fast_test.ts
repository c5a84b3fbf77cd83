/**
 * The hot-path writer and reader against cborg (the reference): the same bytes for every value, the same
 * values or the same error code for every input, valid or damaged.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError } from "../base/mod.ts";
import { type CborValue, Dec128Item, decodeCanonical, encodeCanonical } from "./cbor.ts";
import { decodeCanonicalReference, encodeCanonicalReference } from "./cbor_reference.ts";

const int = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
);
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "a", "aa", "b", "é", "𝄞"),
);
const bytes = fc.uint8Array({ maxLength: 40 });
const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  int,
  text,
  bytes,
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => new Dec128Item(b)),
);
const { value: cborValue } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(text, tie("value"), { maxKeys: 5 }),
    fc.array(fc.tuple(fc.oneof(int, text, bytes), tie("value")), { maxLength: 4 }).map((entries) => {
      // Keys that encode alike would be duplicates (an error both encoders raise; tested separately).
      const seen = new Set<string>();
      const map = new Map<CborValue, CborValue>();
      for (const [k, v] of entries) {
        const key = Array.from(encodeCanonicalReference(k)).join(",");
        if (!seen.has(key)) map.set(k, v), seen.add(key);
      }
      return map;
    }),
  ),
}));

/** A fixed seed keeps CI reproducible; `AOS_FC_SEED=<n> deno test …` explores others. */
const SEED = Number(Deno.env.get("AOS_FC_SEED") ?? 20261206);
/** `AOS_FUZZ_RUNS=<n>` runs each property at least `n` times. */
const runs = (fallback: number) => Math.max(fallback, Number(Deno.env.get("AOS_FUZZ_RUNS") ?? "0") || 0);

function outcome(fn: () => CborValue): { ok: CborValue } | { code: string } {
  try {
    return { ok: fn() };
  } catch (error) {
    if (error instanceof AosError) return { code: error.code };
    throw error;
  }
}

Deno.test("encodeCanonical() writes the bytes cborg's RFC 8949 encoding writes, for any value", () => {
  fc.assert(
    fc.property(cborValue, (value) => {
      assert.deepEqual(encodeCanonical(value), encodeCanonicalReference(value));
    }),
    { numRuns: runs(1_000), seed: SEED },
  );
});

Deno.test("decodeCanonical() gives cborg's strict result for every valid encoding: maps, objects, or objects for text keys", () => {
  fc.assert(
    fc.property(cborValue, fc.constantFrom(false, true, "non-text" as const), (value, useMaps) => {
      const encoded = encodeCanonical(value);
      assert.deepEqual(
        outcome(() => decodeCanonical(encoded, { useMaps })),
        outcome(() => decodeCanonicalReference(encoded, { useMaps })),
      );
    }),
    { numRuns: runs(1_000), seed: SEED },
  );
});

Deno.test("decodeCanonical() reads integers at every head width and around 2^53 as the reference does", () => {
  const edges = [
    23n,
    24n,
    255n,
    256n,
    65_535n,
    65_536n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 53n - 1n,
    2n ** 53n,
  ];
  for (const n of [...edges, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    for (const value of [n, -n - 1n]) {
      const encoded = encodeCanonical(value);
      const decoded = decodeCanonical(encoded);
      assert.deepEqual(decoded, decodeCanonicalReference(encoded), `${value}`);
      // A safe integer comes back as a number, anything beyond as a bigint.
      assert.equal(
        typeof decoded,
        value >= -(2n ** 53n - 1n) && value <= 2n ** 53n - 1n ? "number" : "bigint",
      );
    }
  }
  // An 8-byte head whose value fits in 4 bytes is not the shortest form.
  assert.throws(
    () => decodeCanonical(Uint8Array.of(0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)),
    (error: unknown) => error instanceof AosError && /more bytes than needed/.test(error.message),
  );
});

/**
 * The fast reader accepts exactly what the reference accepts, with one known exception: cborg orders map keys
 * of different major types by a token comparison that, for an array key, is not the bytewise order of RFC 8949
 * §4.2.1 (`[]` = 0x80 before `"aa"` = 0x62…). There the fast reader refuses as non-canonical, and rightly: the
 * canonical encoding of what the reference decoded is not the input.
 */
function agrees(
  fast: { ok: CborValue } | { code: string },
  reference: { ok: CborValue },
  input: Uint8Array,
): void {
  if ("code" in fast && fast.code === "AOS_CBOR_NON_CANONICAL") {
    assert.notDeepEqual(encodeCanonical(reference.ok), input);
    return;
  }
  assert.deepEqual(fast, reference);
}

Deno.test("decodeCanonical() agrees with the reference on damaged input: flipped, cut and extended bytes", () => {
  const damaged = fc.tuple(
    cborValue,
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom("flip", "cut", "add"),
  )
    .map(([value, at, byte, how]) => {
      const encoded = encodeCanonical(value);
      const i = encoded.length === 0 ? 0 : at % encoded.length;
      if (how === "cut") return encoded.slice(0, i);
      if (how === "add") return Uint8Array.from([...encoded, byte]);
      const out = encoded.slice();
      out[i] = byte;
      return out;
    });
  fc.assert(
    fc.property(damaged, fc.constantFrom(false, true, "non-text" as const), (input, useMaps) => {
      const fast = outcome(() => decodeCanonical(input, { useMaps }));
      const reference = outcome(() => decodeCanonicalReference(input, { useMaps }));
      if ("ok" in reference) agrees(fast, reference, input);
      else assert.ok("code" in fast, `fast decoder accepted what the reference refused (${reference.code})`);
    }),
    { numRuns: runs(1_500), seed: SEED },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 30 }), (input) => {
      const fast = outcome(() => decodeCanonical(input));
      const reference = outcome(() => decodeCanonicalReference(input));
      if ("ok" in reference) agrees(fast, reference, input);
      else assert.ok("code" in fast, `fast decoder accepted ${Array.from(input)} (${reference.code})`);
    }),
    { numRuns: runs(1_500), seed: SEED },
  );
});

Deno.test("both encoders refuse a duplicate byte-string key, a float and undefined alike", () => {
  const cases: CborValue[] = [
    new Map<CborValue, CborValue>([[new Uint8Array([1]), 1], [new Uint8Array([1]), 2]]),
    1.5,
    { a: [undefined as unknown as CborValue] },
  ];
  for (const value of cases) {
    assert.deepEqual(outcome(() => encodeCanonical(value)), outcome(() => encodeCanonicalReference(value)));
  }
});

Deno.test("decodeCanonical() reads short texts exactly, however their bytes collide in the reader's table of recent ones", () => {
  // Thousands of distinct short texts (keys and values) in 1,024 slots: many share a slot and evict each other.
  const texts = Array.from(
    { length: 5_000 },
    (_, i) => `k${(i * 7_919) % 100_003}`.padEnd(1 + (i % 24), "x"),
  );
  const once = texts.map((text) => decodeCanonical(encodeCanonical(text)));
  assert.deepEqual(once, texts);
  // Again, interleaved with map keys of another order: every one comes back as it was written.
  for (let i = texts.length - 1; i >= 0; i--) {
    const map = decodeCanonical(encodeCanonical({ [texts[i]!]: texts[(i * 31) % texts.length]! }), {
      useMaps: false,
    }) as { [key: string]: string };
    assert.deepEqual(Object.entries(map), [[texts[i]!, texts[(i * 31) % texts.length]!]]);
  }
  // The same text read twice is equal, and a longer one is not mistaken for a prefix of it.
  assert.equal(decodeCanonical(encodeCanonical("status")), "status");
  assert.equal(decodeCanonical(encodeCanonical("statu")), "statu");
  assert.equal(decodeCanonical(encodeCanonical("status")), "status");
});
