/**
 * Inputs are refused when their journal entry would exceed `limits.journalEntrySizeBytesMax`: at
 * submission (nothing queued) and again before a batch appends anything, so one oversized input never
 * leaves a batch half journaled nor bricks every later step.
 *
 * @module
 */
import { AosError, type CborValue, encodeCanonical, limits } from "../air/mod.ts";
import { type EntryRecord, ZERO_HASH } from "../journal/mod.ts";

/** The largest `ingress_ns` an entry may carry (a u64): sizes are checked with it. */
export const INGRESS_NS_WORST = (1n << 64n) - 1n;

/** An upper bound on the canonical CBOR size of `value` (cheap: no encoding for common values). */
function sizeBound(value: CborValue): number {
  if (value instanceof Uint8Array) return value.length + 9;
  if (typeof value === "string") return value.length * 3 + 9;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return 9;
  if (typeof value === "bigint" && value >= -(1n << 64n) && value < 1n << 64n) return 9;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeBound(v), 9);
  if (value instanceof Map) {
    let n = 9;
    for (const [k, v] of value) n += sizeBound(k) + sizeBound(v);
    return n;
  }
  if (typeof value === "object" && value.constructor === Object) {
    let n = 9;
    const record = value as { [key: string]: CborValue };
    for (const k in record) n += k.length * 3 + 9 + sizeBound(record[k]!);
    return n;
  }
  return encodeCanonical(value).length;
}

/** Headroom for the entry's envelope (seq, kind, prev) around its body. */
const ENVELOPE_BOUND_BYTES = 128;

/**
 * Throws `AOS_INPUT_TOO_LARGE` when `record` (built with worst-case positions and times) cannot be
 * journaled as one entry. `what` names the input in the message.
 */
export function checkJournalable(record: EntryRecord, what: string): void {
  if (sizeBound(record.body) + ENVELOPE_BOUND_BYTES <= limits.journalEntrySizeBytesMax) return;
  const entry = { seq: Number.MAX_SAFE_INTEGER, kind: record.kind, body: record.body, prev: ZERO_HASH };
  if (encodeCanonical(entry).length > limits.journalEntrySizeBytesMax) {
    throw new AosError(
      "AOS_INPUT_TOO_LARGE",
      `${what} is too large: its journal entry would exceed journalEntrySizeBytesMax ` +
        `(${limits.journalEntrySizeBytesMax} bytes)`,
    );
  }
}
