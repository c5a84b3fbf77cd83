/**
 * Private to `air/expr/`: value helpers shared by the evaluator and conformance — integer ranges, code
 * point order of texts, and the canonical order of set elements and map keys.
 *
 * @module
 */
import { compareBytes } from "../cbor/mod.ts";
import { compareTextKeys, type Value } from "../value/mod.ts";

/** Largest nat/time. */
export const U64_MAX: bigint = (1n << 64n) - 1n;
/** Smallest int/duration. */
export const I64_MIN: bigint = -(1n << 63n);
/** Largest int/duration. */
export const I64_MAX: bigint = (1n << 63n) - 1n;

/** An integer-valued value. */
export type IntegerValue = Extract<Value, { kind: "int" | "nat" | "time" | "duration" }>;

const INTEGER_KINDS: ReadonlySet<string> = new Set(["int", "nat", "time", "duration"]);
const COMPARABLE_KINDS: ReadonlySet<string> = new Set(["int", "nat", "text", "uuid", "hash"]);

/** True for int, nat, time and duration values. */
export function isInteger(value: Value): value is IntegerValue {
  return INTEGER_KINDS.has(value.kind);
}

/** True for the kinds allowed as map keys and set elements (AIR §2): int, nat, text, uuid, hash. */
export function isComparable(value: Value): boolean {
  return COMPARABLE_KINDS.has(value.kind);
}

/** True when an integer fits the range of `kind` (u64 for nat/time, i64 for int/duration). */
export function fitsRange(value: bigint, kind: IntegerValue["kind"]): boolean {
  return kind === "nat" || kind === "time"
    ? value >= 0n && value <= U64_MAX
    : value >= I64_MIN && value <= I64_MAX;
}

function codeUnitRank(unit: number): number {
  // Surrogates (D800–DFFF) encode code points above FFFF: move them past E000–FFFF.
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/**
 * Order of texts by code point (equivalently by UTF-8 bytes), not by JS UTF-16 code units: `"\uFFFF"`
 * sorts before `"😀"` (U+1F600) although its first code unit is larger.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** The number of Unicode code points of a text (a lone surrogate counts as one). */
export function textLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    count++;
  }
  return count;
}

function elementRank(value: Value): number {
  if (isInteger(value)) return value.value >= 0n ? 0 : 1;
  if (value.kind === "hash" || value.kind === "uuid" || value.kind === "bytes") return 2;
  if (value.kind === "text") return 3;
  return 4;
}

/**
 * The canonical CBOR order of comparable values (AIR §4.1) computed without encoding: non-negative
 * integers ascending, then negative integers (-1 first), then byte strings (shorter first), then texts
 * (shorter UTF-8 first, then bytewise). Other kinds sort last, by kind.
 */
export function compareElements(a: Value, b: Value): number {
  const rankA = elementRank(a);
  const rankB = elementRank(b);
  if (rankA !== rankB) return rankA - rankB;
  if (isInteger(a) && isInteger(b)) {
    const [x, y] = rankA === 0 ? [a.value, b.value] : [b.value, a.value];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if ("value" in a && "value" in b && a.value instanceof Uint8Array && b.value instanceof Uint8Array) {
    return a.value.length !== b.value.length
      ? a.value.length - b.value.length
      : compareBytes(a.value, b.value);
  }
  if (a.kind === "text" && b.kind === "text") return compareTextKeys(a.value, b.value);
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}

/** Sorts comparable values canonically and drops later duplicates (`nat 5` and `int 5` are one element). */
export function sortedUnique(items: readonly Value[]): Value[] {
  const sorted = [...items].sort(compareElements);
  return sorted.filter((item, i) => i === 0 || compareElements(sorted[i - 1]!, item) !== 0);
}
