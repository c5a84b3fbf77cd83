import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { assertAosError } from "../_testing/mod.ts";
import { fromHex, toHex } from "../cbor/mod.ts";
import {
  compareDec128,
  type Dec128,
  dec128FromBits,
  dec128ToBits,
  formatDec128,
  normalizeDec128,
  parseDec128,
} from "./dec128.ts";

const bitsOf = (text: string) => toHex(dec128ToBits(parseDec128(text)));

Deno.test("dec128ToBits() matches the AIR §4.3 vectors", () => {
  strictEqual(bitsOf("1"), "30400000000000000000000000000001");
  strictEqual(bitsOf("-1.5"), "b03e000000000000000000000000000f");
  strictEqual(bitsOf("0.2"), "303e0000000000000000000000000002");
  strictEqual(bitsOf("0"), "30400000000000000000000000000000");
});

Deno.test("parseDec128() strips trailing zeros so 0.20 and 0.2 are one value", () => {
  deepStrictEqual(parseDec128("0.20"), parseDec128("0.2"));
  deepStrictEqual(parseDec128("100"), { negative: false, coefficient: 1n, exponent: 2 });
  deepStrictEqual(parseDec128("-15E-1"), { negative: true, coefficient: 15n, exponent: -1 });
  strictEqual(bitsOf("0.20"), bitsOf("0.2"));
});

Deno.test("parseDec128() makes every zero +0E0", () => {
  for (const zero of ["0", "-0", "+0.000", "0E99", "-0e-50", "000.0"]) {
    deepStrictEqual(parseDec128(zero), { negative: false, coefficient: 0n, exponent: 0 }, zero);
  }
});

Deno.test("parseDec128() lowers a too-large exponent by padding the coefficient", () => {
  deepStrictEqual(parseDec128("1E6112"), { negative: false, coefficient: 10n, exponent: 6111 });
  deepStrictEqual(parseDec128("1E6144"), { negative: false, coefficient: 10n ** 33n, exponent: 6111 });
  assertAosError(() => parseDec128("1E6145"), "AOS_TYPE_MISMATCH");
  assertAosError(() => parseDec128("11E6144"), "AOS_TYPE_MISMATCH");
});

Deno.test("parseDec128() rejects malformed text, 35 significant digits and tiny exponents", () => {
  for (
    const bad of ["", ".5", "5.", "1e", "0x10", "1_000", " 1", "1.2.3", "NaN", "Infinity", "--1", "1E+-2"]
  ) {
    assertAosError(() => parseDec128(bad), "AOS_TYPE_MISMATCH");
  }
  assertAosError(() => parseDec128("1".repeat(35)), "AOS_TYPE_MISMATCH");
  strictEqual(normalizeDec128(`${"9".repeat(34)}000`), `9.${"9".repeat(33)}E+36`);
  assertAosError(() => parseDec128("1E-6177"), "AOS_TYPE_MISMATCH");
  deepStrictEqual(parseDec128("1E-6176"), { negative: false, coefficient: 1n, exponent: -6176 });
  assertAosError(() => parseDec128("1E99999999999999999999"), "AOS_TYPE_MISMATCH");
  assertAosError(() => parseDec128("1".padEnd(9000, "0")), "AOS_TYPE_MISMATCH");
});

Deno.test("formatDec128() writes plain notation for adjusted exponents -6..33, else scientific", () => {
  const cases: Array<[string, string]> = [
    ["0.2", "0.2"],
    ["-1.50", "-1.5"],
    ["+7", "7"],
    ["1e2", "100"],
    ["12.5E1", "125"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1E-7"],
    ["-0.00000012345", "-1.2345E-7"],
    ["1E33", "1000000000000000000000000000000000"],
    ["1E34", "1E+34"],
    ["1.5E40", "1.5E+40"],
    ["1E6144", "1.000000000000000000000000000000000E+6144"],
    ["1E-6176", "1E-6176"],
  ];
  for (const [input, expected] of cases) strictEqual(normalizeDec128(input), expected, input);
});

Deno.test("dec128FromBits() reads the vectors back", () => {
  strictEqual(formatDec128(dec128FromBits(fromHex("30400000000000000000000000000001"))), "1");
  strictEqual(formatDec128(dec128FromBits(fromHex("b03e000000000000000000000000000f"))), "-1.5");
  strictEqual(formatDec128(dec128FromBits(fromHex("303e0000000000000000000000000002"))), "0.2");
});

Deno.test("dec128FromBits() rejects non-normalized payloads with AOS_CBOR_NON_CANONICAL", () => {
  // 1.50 = 150E-2, negative zero, 0E1
  assertAosError(() => dec128FromBits(fromHex("303c0000000000000000000000000096")), "AOS_CBOR_NON_CANONICAL");
  assertAosError(() => dec128FromBits(fromHex("b0400000000000000000000000000000")), "AOS_CBOR_NON_CANONICAL");
  assertAosError(() => dec128FromBits(fromHex("30420000000000000000000000000000")), "AOS_CBOR_NON_CANONICAL");
});

Deno.test("dec128FromBits() rejects NaN, infinities, the second BID form and oversized coefficients", () => {
  assertAosError(() => dec128FromBits(fromHex("7c000000000000000000000000000000")), "AOS_TYPE_MISMATCH");
  assertAosError(() => dec128FromBits(fromHex("7e000000000000000000000000000000")), "AOS_TYPE_MISMATCH");
  assertAosError(() => dec128FromBits(fromHex("78000000000000000000000000000000")), "AOS_TYPE_MISMATCH");
  assertAosError(() => dec128FromBits(fromHex("f8000000000000000000000000000000")), "AOS_TYPE_MISMATCH");
  assertAosError(() => dec128FromBits(fromHex("60000000000000000000000000000001")), "AOS_TYPE_MISMATCH");
  // 10^34 in the first form: fits in 113 bits but exceeds 34 digits.
  const tooBig = (6176n << 113n) | 10n ** 34n;
  assertAosError(() => dec128FromBits(fromHex(tooBig.toString(16).padStart(32, "0"))), "AOS_TYPE_MISMATCH");
  assertAosError(() => dec128FromBits(new Uint8Array(15)), "AOS_TYPE_MISMATCH");
});

Deno.test("compareDec128() orders numerically", () => {
  const ordered = [
    "-1E+40",
    "-3",
    "-1.5",
    "-0.000001",
    "0",
    "1E-6176",
    "0.2",
    "0.25",
    "1",
    "10",
    "1.000000000000000000000000000000000E+6144",
  ];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const order = compareDec128(parseDec128(ordered[i]!), parseDec128(ordered[j]!));
      strictEqual(Math.sign(order), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
    }
  }
  strictEqual(compareDec128(parseDec128("0.20"), parseDec128("0.2")), 0);
});

const anyDec128: fc.Arbitrary<Dec128> = fc.record({
  negative: fc.boolean(),
  coefficient: fc.oneof(fc.bigInt(0n, 1000n), fc.bigInt(0n, 10n ** 34n - 1n)),
  exponent: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.integer({ min: -6176, max: 6111 })),
}).map(({ negative, coefficient, exponent }) =>
  parseDec128(`${negative ? "-" : ""}${coefficient}E${exponent}`)
);

Deno.test("dec128 text and bits round-trip for every normalized value (property)", () => {
  fc.assert(
    fc.property(anyDec128, (d) => {
      const text = formatDec128(d);
      deepStrictEqual(parseDec128(text), d);
      deepStrictEqual(dec128FromBits(dec128ToBits(d)), d);
      strictEqual(normalizeDec128(text), text);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("compareDec128() agrees with exact rational comparison (property)", () => {
  const small = fc.tuple(fc.bigInt(-100000n, 100000n), fc.integer({ min: -8, max: 8 }))
    .map(([c, e]) => parseDec128(`${c}E${e}`));
  fc.assert(
    fc.property(small, small, (a, b) => {
      const scale = (d: Dec128) => (d.negative ? -1n : 1n) * d.coefficient * 10n ** BigInt(d.exponent + 20);
      const expected = scale(a) === scale(b) ? 0 : scale(a) < scale(b) ? -1 : 1;
      strictEqual(Math.sign(compareDec128(a, b)), expected);
    }),
  );
});
