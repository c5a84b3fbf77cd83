import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { assertAosError } from "../_testing/mod.ts";
import type { AosErrorCode } from "../base/mod.ts";
import {
  type CanonicalSink,
  type CborValue,
  Dec128Item,
  decodeCanonical,
  encodeCanonical,
  encodeCanonicalLent,
  encodeCanonicalWith,
  fromHex,
  toHex,
} from "./cbor.ts";
import { decodeCanonicalReference } from "./cbor_reference.ts";

// RFC 8949 Appendix A, restricted to the data model AIR uses.
const appendixA: Array<[string, CborValue]> = [
  ["00", 0],
  ["01", 1],
  ["0a", 10],
  ["17", 23],
  ["1818", 24],
  ["1819", 25],
  ["1864", 100],
  ["1903e8", 1000],
  ["1a000f4240", 1000000],
  ["1b000000e8d4a51000", 1000000000000],
  ["1bffffffffffffffff", 18446744073709551615n],
  ["20", -1],
  ["29", -10],
  ["3863", -100],
  ["3903e7", -1000],
  ["3bffffffffffffffff", -18446744073709551616n],
  ["40", new Uint8Array()],
  ["4401020304", new Uint8Array([1, 2, 3, 4])],
  ["60", ""],
  ["6161", "a"],
  ["6449455446", "IETF"],
  ["62225c", '"\\'],
  ["62c3bc", "\u00fc"],
  ["63e6b0b4", "\u6c34"],
  ["64f0908591", "\u{10151}"],
  ["80", []],
  ["83010203", [1, 2, 3]],
  ["8301820203820405", [1, [2, 3], [4, 5]]],
  [
    "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    Array.from({ length: 25 }, (_, i) => i + 1),
  ],
  ["a0", {}],
  ["a26161016162820203", { a: 1, b: [2, 3] }],
  ["826161a161626163", ["a", { b: "c" }]],
  ["a56161614161626142616361436164614461656145", { a: "A", b: "B", c: "C", d: "D", e: "E" }],
  ["f4", false],
  ["f5", true],
  ["f6", null],
];

for (const [hex, value] of appendixA) {
  Deno.test(`encodeCanonical() writes the RFC 8949 vector ${hex}`, () => {
    strictEqual(toHex(encodeCanonical(value)), hex);
  });
  Deno.test(`decodeCanonical() reads the RFC 8949 vector ${hex}`, () => {
    deepStrictEqual(decodeCanonical(fromHex(hex)), value);
  });
}

Deno.test("decodeCanonical() reads integer map keys as a Map with useMaps", () => {
  deepStrictEqual(decodeCanonical(fromHex("a201020304"), { useMaps: true }), new Map([[1, 2], [3, 4]]));
});

Deno.test("encodeCanonical() sorts map keys by their encoded bytes, shorter first", () => {
  strictEqual(toHex(encodeCanonical({ aa: 1, b: 2 })), "a261620262616101");
  strictEqual(
    toHex(encodeCanonical(new Map<CborValue, CborValue>([["a", 1], [10, 2], [-1, 3]]))),
    "a30a0220036161" + "01",
  );
});

Deno.test("encodeCanonical() writes tag 2000 around 16 dec128 bytes", () => {
  const bits = fromHex("303e0000000000000000000000000002");
  strictEqual(toHex(encodeCanonical(new Dec128Item(bits))), "d907d050303e0000000000000000000000000002");
  const decoded = decodeCanonical(fromHex("d907d050303e0000000000000000000000000002"));
  deepStrictEqual(decoded, new Dec128Item(bits));
});

const rejected: Array<[string, string, AosErrorCode]> = [
  ["map keys in text order instead of length-first order", "a2626161016162" + "02", "AOS_CBOR_NON_CANONICAL"],
  ["unsorted map keys", "a2616201616101", "AOS_CBOR_NON_CANONICAL"],
  ["duplicate map keys", "a2616101616102", "AOS_CBOR_INVALID"],
  ["a long-form 23 (0x1817)", "1817", "AOS_CBOR_INVALID"],
  ["a long-form 1 (0x190001)", "190001", "AOS_CBOR_INVALID"],
  ["a long-form 1 in four bytes", "1a00000001", "AOS_CBOR_INVALID"],
  ["a long-form 1 in eight bytes", "1b0000000000000001", "AOS_CBOR_INVALID"],
  ["a long-form -24", "3817", "AOS_CBOR_INVALID"],
  ["a non-shortest byte string length", "5801ff", "AOS_CBOR_INVALID"],
  ["a non-shortest text length", "780161", "AOS_CBOR_INVALID"],
  ["a non-shortest array length", "980101", "AOS_CBOR_INVALID"],
  ["a non-shortest map length", "b801616101", "AOS_CBOR_INVALID"],
  ["a non-shortest tag 2000", "da000007d050303e0000000000000000000000000002", "AOS_CBOR_INVALID"],
  ["an indefinite-length empty array", "9fff", "AOS_CBOR_INVALID"],
  ["an indefinite-length array", "9f01ff", "AOS_CBOR_INVALID"],
  ["an indefinite-length map", "bf616101ff", "AOS_CBOR_INVALID"],
  ["an indefinite-length byte string", "5f4101ff", "AOS_CBOR_INVALID"],
  ["an indefinite-length text string", "7f6161ff", "AOS_CBOR_INVALID"],
  ["a lone break", "ff", "AOS_CBOR_INVALID"],
  ["a half-precision float with an integral value", "f93c00", "AOS_CBOR_INVALID"],
  ["a half-precision float", "f93e00", "AOS_CBOR_INVALID"],
  ["a negative zero float", "f98000", "AOS_CBOR_INVALID"],
  ["a single-precision float", "fa3f800000", "AOS_CBOR_INVALID"],
  ["a double-precision float", "fb3ff0000000000000", "AOS_CBOR_INVALID"],
  ["a float inside an array", "8201f93c00", "AOS_CBOR_INVALID"],
  ["NaN", "f97e00", "AOS_CBOR_INVALID"],
  ["infinity", "f97c00", "AOS_CBOR_INVALID"],
  ["undefined", "f7", "AOS_CBOR_INVALID"],
  ["simple value 16", "f0", "AOS_CBOR_INVALID"],
  ["simple value 32", "f820", "AOS_CBOR_INVALID"],
  ["tag 1 (epoch time)", "c11a514b67b0", "AOS_CBOR_INVALID"],
  ["tag 2 (bignum)", "c249010000000000000000", "AOS_CBOR_INVALID"],
  ["the self-describe tag 55799", "d9d9f700", "AOS_CBOR_INVALID"],
  ["tag 2000 around a 1-byte string", "d907d04101", "AOS_CBOR_INVALID"],
  ["tag 2000 around text", "d907d06161", "AOS_CBOR_INVALID"],
  ["a truncated UTF-8 sequence", "62c328", "AOS_CBOR_INVALID"],
  ["a lone continuation byte", "6180", "AOS_CBOR_INVALID"],
  ["an encoded surrogate", "63eda080", "AOS_CBOR_INVALID"],
  ["trailing bytes", "0000", "AOS_CBOR_INVALID"],
  ["trailing null", "f6f6", "AOS_CBOR_INVALID"],
  ["a truncated text string", "6261", "AOS_CBOR_INVALID"],
  ["empty input", "", "AOS_CBOR_INVALID"],
];

for (const [what, hex, code] of rejected) {
  Deno.test(`decodeCanonical() rejects ${what} with ${code}`, () => {
    assertAosError(() => decodeCanonical(fromHex(hex)), code);
    assertAosError(() => decodeCanonical(fromHex(hex), { useMaps: true }), code);
  });
}

Deno.test("decodeCanonical() rejects duplicate byte-string keys in a Map", () => {
  assertAosError(() => decodeCanonical(fromHex("a2410101410102"), { useMaps: true }), "AOS_CBOR_INVALID");
});

Deno.test("decodeCanonical() rejects non-text map keys without useMaps", () => {
  assertAosError(() => decodeCanonical(fromHex("a10101")), "AOS_CBOR_INVALID");
});

Deno.test("encodeCanonical() rejects floats, integers beyond 64 bits, lone surrogates and short dec128", () => {
  assertAosError(() => encodeCanonical(1.5), "AOS_CBOR_INVALID");
  assertAosError(() => encodeCanonical(1n << 64n), "AOS_CBOR_INVALID");
  assertAosError(() => encodeCanonical(-(1n << 64n) - 1n), "AOS_CBOR_INVALID");
  assertAosError(() => encodeCanonical("\ud800"), "AOS_CBOR_INVALID");
  assertAosError(() => encodeCanonical({ "\udc00": 1 }), "AOS_CBOR_INVALID");
  assertAosError(() => encodeCanonical(new Dec128Item(new Uint8Array(15))), "AOS_CBOR_INVALID");
});

Deno.test("encodeCanonical() rejects two byte-string keys with equal contents", () => {
  const map = new Map<CborValue, CborValue>([[new Uint8Array([1]), 1], [new Uint8Array([1]), 2]]);
  assertAosError(() => encodeCanonical(map), "AOS_CBOR_INVALID");
});

const genericValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.bigInt(-(1n << 64n), (1n << 64n) - 1n),
    fc.integer(),
    fc.string({ unit: "binary" }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bits) => new Dec128Item(bits)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "binary" }), tie("value"), { maxKeys: 5 }),
  ),
})).value;

Deno.test("decodeCanonical() then encodeCanonical() reproduces canonical bytes (property)", () => {
  fc.assert(
    fc.property(genericValue, (value) => {
      const bytes = encodeCanonical(value);
      strictEqual(toHex(encodeCanonical(decodeCanonical(bytes))), toHex(bytes));
      strictEqual(toHex(encodeCanonical(decodeCanonical(bytes, { useMaps: true }))), toHex(bytes));
    }),
    { numRuns: 500 },
  );
});

Deno.test("decodeCanonical({byteViews}) gives byte strings as views of the input, by default as copies", () => {
  const input = encodeCanonical({ a: new Uint8Array([1, 2, 3]), b: [new Uint8Array([4])] });
  const copied = decodeCanonical(input) as { a: Uint8Array; b: Uint8Array[] };
  const viewed = decodeCanonical(input, { byteViews: true }) as { a: Uint8Array; b: Uint8Array[] };
  deepStrictEqual(viewed, copied);
  notStrictEqual(copied.a.buffer, input.buffer);
  strictEqual(viewed.a.buffer, input.buffer);
  strictEqual(viewed.b[0]!.buffer, input.buffer);
  input[input.indexOf(4)] = 9; // a view sees a later change of the input; a copy does not
  deepStrictEqual([...viewed.b[0]!], [9]);
  deepStrictEqual([...copied.b[0]!], [4]);
});

Deno.test("encodeCanonicalLent() lends the bytes encodeCanonicalWith() would give; encoding inside use leaves them intact", () => {
  const fill = (w: CanonicalSink) => {
    w.map(1);
    w.text("a");
    w.bytes(new Uint8Array([1, 2, 3]));
  };
  const expected = toHex(encodeCanonicalWith(fill));
  const seen = encodeCanonicalLent(fill, (bytes) => {
    const before = toHex(bytes);
    // Encoding again while the buffer is lent, plainly and lent, must not touch the lent bytes.
    strictEqual(
      toHex(encodeCanonical({ b: "x".repeat(100) })),
      toHex(encodeCanonical({ b: "x".repeat(100) })),
    );
    strictEqual(encodeCanonicalLent((w) => w.text("zz"), (inner) => toHex(inner)), "627a7a");
    strictEqual(toHex(bytes), before);
    return before;
  });
  strictEqual(seen, expected);
  // And the encoder works as before afterwards.
  strictEqual(toHex(encodeCanonicalWith(fill)), expected);
});

Deno.test("an encoding started inside another's fill gets a writer of its own: neither overwrites the other", () => {
  const inner: string[] = [];
  const outer = encodeCanonicalWith((w) => {
    w.map(2);
    w.text("a");
    // Encodings in the middle of the outer one (as a writer computing a key's bytes on first use does).
    inner.push(toHex(encodeCanonical("key")));
    inner.push(toHex(encodeCanonicalWith((v) => {
      v.array(1);
      inner.push(toHex(encodeCanonical(7)));
      v.uint(1);
    })));
    w.uint(1);
    w.text("b");
    inner.push(encodeCanonicalLent((v) => v.text("zz"), (bytes) => toHex(bytes)));
    w.text("c");
  });
  strictEqual(toHex(outer), toHex(encodeCanonical({ a: 1, b: "c" })));
  deepStrictEqual(inner, ["636b6579", "07", "8101", "627a7a"]);
  strictEqual(toHex(encodeCanonical({ a: 1 })), "a1616101");
});

Deno.test("toHex() writes two lowercase digits per byte and fromHex() reads them back, either case", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  strictEqual(hex, Array.from(all, (b) => b.toString(16).padStart(2, "0")).join(""));
  deepStrictEqual(fromHex(hex), all);
  deepStrictEqual(fromHex(hex.toUpperCase()), all);
  assertAosError(() => fromHex("0g"), "AOS_CBOR_INVALID");
  assertAosError(() => fromHex("abc"), "AOS_CBOR_INVALID");
});

Deno.test("a text string that starts with U+FEFF keeps it: the BOM is content, not an encoding mark", () => {
  for (const text of ["\uFEFF", "\uFEFFa", "\uFEFF" + "é".repeat(40), "\uFEFF\uFEFFx", "a\uFEFF"]) {
    const value = { [text]: [text, { inner: text }] };
    const bytes = encodeCanonical(value);
    deepStrictEqual(decodeCanonical(bytes), value, JSON.stringify(text));
    deepStrictEqual(decodeCanonicalReference(bytes), value, JSON.stringify(text));
    deepStrictEqual(encodeCanonical(decodeCanonical(bytes)), bytes);
  }
});
