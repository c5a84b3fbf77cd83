/**
 * dec128 (AIR §4.3): exact decimals parsed from text, normalized, written in one canonical text form and
 * encoded as IEEE 754 decimal128 in the BID layout, big-endian.
 *
 * Normal form: trailing zeros of the coefficient are stripped (raising the exponent), zero is `+0E0`,
 * the coefficient is at most 10^34−1 and −6176 ≤ exponent ≤ 6111 (an exponent above 6111 is lowered by
 * multiplying the coefficient by 10 while it fits). Nothing is ever rounded: a value that needs rounding
 * is rejected.
 *
 * Canonical text form (`Value.dec128.value`): with `digits` the coefficient in decimal and
 * `adjusted = exponent + digits.length − 1` (the power of ten of the leading digit),
 * - plain notation when −6 ≤ adjusted ≤ 33: `"0"`, `"100"`, `"-1.5"`, `"0.000001"`;
 * - otherwise scientific with one leading digit and a signed exponent: `"1E+34"`, `"-1.25E-7"`.
 * A minus sign only for negative values; never a plus sign or trailing zeros after the point.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";

/** A normalized dec128: `(-1)^negative × coefficient × 10^exponent`. Zero is never negative. */
export interface Dec128 {
  readonly negative: boolean;
  readonly coefficient: bigint;
  readonly exponent: number;
}

/** The largest coefficient (34 decimal digits). */
export const DEC128_COEFFICIENT_MAX = 10n ** 34n - 1n;
/** The smallest exponent. */
export const DEC128_EXPONENT_MIN = -6176;
/** The largest exponent. */
export const DEC128_EXPONENT_MAX = 6111;

const DIGITS_MAX = 34;
const EXPONENT_BIAS = 6176;
// Bounds the work done on untrusted text; far beyond any representable value's shortest spelling.
const TEXT_LENGTH_MAX = 8192;
const TEXT_FORM = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const ZERO: Dec128 = { negative: false, coefficient: 0n, exponent: 0 };

function invalid(text: string, detail: string): AosError {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return new AosError("AOS_TYPE_MISMATCH", `Invalid dec128 "${shown}": ${detail}`);
}

/**
 * Parses the decimal text form and normalizes it. Throws `AOS_TYPE_MISMATCH` for malformed text and for
 * values outside the decimal128 range or needing more than 34 significant digits.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const d = parseDec128("0.20");
 * strictEqual(d.coefficient, 2n);
 * strictEqual(d.exponent, -1);
 * ```
 */
export function parseDec128(text: string): Dec128 {
  if (text.length > TEXT_LENGTH_MAX) throw invalid(text, `longer than ${TEXT_LENGTH_MAX} characters`);
  const match = TEXT_FORM.exec(text);
  if (match === null) throw invalid(text, "expected digits with an optional fraction and exponent");
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  let digits = (whole + fraction).replace(/^0+/, "");
  if (digits === "") return ZERO;
  // The written exponent can be huge; bigint keeps the arithmetic exact until the range check.
  let exponent = BigInt(exponentText) - BigInt(fraction.length);
  const stripped = digits.replace(/0+$/, "");
  exponent += BigInt(digits.length - stripped.length);
  digits = stripped;
  if (digits.length > DIGITS_MAX) throw invalid(text, `more than ${DIGITS_MAX} significant digits`);
  if (exponent > BigInt(DEC128_EXPONENT_MAX)) {
    const padding = exponent - BigInt(DEC128_EXPONENT_MAX);
    if (padding > BigInt(DIGITS_MAX - digits.length)) throw invalid(text, "exponent too large");
    digits += "0".repeat(Number(padding));
    exponent = BigInt(DEC128_EXPONENT_MAX);
  }
  if (exponent < BigInt(DEC128_EXPONENT_MIN)) throw invalid(text, "exponent too small (would need rounding)");
  return { negative: sign === "-", coefficient: BigInt(digits), exponent: Number(exponent) };
}

/** True when `d` is in normal form (the output of {@linkcode parseDec128}). */
export function isNormalizedDec128(d: Dec128): boolean {
  if (!Number.isSafeInteger(d.exponent) || d.coefficient < 0n || d.coefficient > DEC128_COEFFICIENT_MAX) {
    return false;
  }
  if (d.exponent < DEC128_EXPONENT_MIN || d.exponent > DEC128_EXPONENT_MAX) return false;
  if (d.coefficient === 0n) return !d.negative && d.exponent === 0;
  if (d.coefficient % 10n !== 0n) return true;
  // Trailing zeros are canonical only when stripping them would push the exponent past its maximum.
  return d.exponent === DEC128_EXPONENT_MAX;
}

/**
 * The canonical text form of a normalized dec128 (see the module doc).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatDec128(parseDec128("-15E-1")), "-1.5");
 * strictEqual(formatDec128(parseDec128("1e40")), "1E+40");
 * ```
 */
export function formatDec128(d: Dec128): string {
  if (!isNormalizedDec128(d)) throw new RangeError("formatDec128() needs a normalized dec128");
  const digits = d.coefficient.toString();
  const sign = d.negative ? "-" : "";
  const adjusted = d.exponent + digits.length - 1;
  if (adjusted < -6 || adjusted > 33) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${fraction}E${adjusted < 0 ? "-" : "+"}${Math.abs(adjusted)}`;
  }
  if (d.exponent >= 0) return `${sign}${digits}${"0".repeat(d.exponent)}`;
  const point = digits.length + d.exponent;
  if (point > 0) return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${sign}0.${"0".repeat(-point)}${digits}`;
}

/**
 * Parses and re-formats: the canonical text of a dec128 written in any accepted form.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(normalizeDec128("0.20"), "0.2");
 * strictEqual(normalizeDec128("-0"), "0");
 * ```
 */
export function normalizeDec128(text: string): string {
  return formatDec128(parseDec128(text));
}

/**
 * The 16-byte BID encoding, big-endian: bit 127 the sign, bits 126–113 the biased exponent
 * (exponent + 6176), bits 112–0 the coefficient.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { toHex } from "../cbor/mod.ts";
 * strictEqual(toHex(dec128ToBits(parseDec128("-1.5"))), "b03e000000000000000000000000000f");
 * ```
 */
export function dec128ToBits(d: Dec128): Uint8Array {
  if (!isNormalizedDec128(d)) throw new RangeError("dec128ToBits() needs a normalized dec128");
  let word = (BigInt(d.exponent + EXPONENT_BIAS) << 113n) | d.coefficient;
  if (d.negative) word |= 1n << 127n;
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(word & 0xffn);
    word >>= 8n;
  }
  return out;
}

/**
 * Decodes 16 BID bytes. Rejects NaN, infinities, the second BID form (coefficients ≥ 2^113, all out of
 * range) and coefficients above 10^34−1 with `AOS_TYPE_MISMATCH`, and finite values that are not in
 * normal form (`1.50`, `-0`, `0E3`) with `AOS_CBOR_NON_CANONICAL`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { fromHex } from "../cbor/mod.ts";
 * strictEqual(formatDec128(dec128FromBits(fromHex("303e0000000000000000000000000002"))), "0.2");
 * ```
 */
export function dec128FromBits(bits: Uint8Array): Dec128 {
  if (bits.length !== 16) {
    throw new AosError("AOS_TYPE_MISMATCH", `Invalid dec128: expected 16 bytes, got ${bits.length}`);
  }
  let word = 0n;
  for (const byte of bits) word = (word << 8n) | BigInt(byte);
  const negative = (word >> 127n) === 1n;
  const combination = Number((word >> 122n) & 0x1fn);
  if (combination === 0x1f) throw new AosError("AOS_TYPE_MISMATCH", "Invalid dec128: NaN is not allowed");
  if (combination === 0x1e) {
    throw new AosError("AOS_TYPE_MISMATCH", "Invalid dec128: infinity is not allowed");
  }
  if ((combination & 0x18) === 0x18) {
    throw new AosError("AOS_TYPE_MISMATCH", "Invalid dec128: coefficient out of range (second BID form)");
  }
  const exponent = Number((word >> 113n) & 0x3fffn) - EXPONENT_BIAS;
  const coefficient = word & ((1n << 113n) - 1n);
  if (coefficient > DEC128_COEFFICIENT_MAX) {
    throw new AosError("AOS_TYPE_MISMATCH", "Invalid dec128: coefficient exceeds 10^34-1");
  }
  const d: Dec128 = { negative, coefficient, exponent };
  if (!isNormalizedDec128(d)) {
    throw new AosError(
      "AOS_CBOR_NON_CANONICAL",
      `Non-canonical dec128: coefficient ${coefficient} exponent ${exponent} is not in normal form`,
    );
  }
  return d;
}

/**
 * Numeric comparison: negative, zero or positive as `a` is less than, equal to or greater than `b`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(compareDec128(parseDec128("0.2"), parseDec128("0.20")), 0);
 * strictEqual(compareDec128(parseDec128("-3"), parseDec128("1E-9")) < 0, true);
 * ```
 */
export function compareDec128(a: Dec128, b: Dec128): number {
  const signA = a.coefficient === 0n ? 0 : a.negative ? -1 : 1;
  const signB = b.coefficient === 0n ? 0 : b.negative ? -1 : 1;
  if (signA !== signB) return signA < signB ? -1 : 1;
  if (signA === 0) return 0;
  const magnitude = compareMagnitude(a, b);
  return magnitude === 0 ? 0 : signA * magnitude;
}

function compareMagnitude(a: Dec128, b: Dec128): number {
  const digitsA = a.coefficient.toString().length;
  const digitsB = b.coefficient.toString().length;
  const adjustedA = a.exponent + digitsA - 1;
  const adjustedB = b.exponent + digitsB - 1;
  if (adjustedA !== adjustedB) return adjustedA < adjustedB ? -1 : 1;
  // Same leading power of ten: align exponents (the shift is below 34 digits here).
  const shift = a.exponent - b.exponent;
  const scaledA = shift > 0 ? a.coefficient * 10n ** BigInt(shift) : a.coefficient;
  const scaledB = shift < 0 ? b.coefficient * 10n ** BigInt(-shift) : b.coefficient;
  return scaledA === scaledB ? 0 : scaledA < scaledB ? -1 : 1;
}
