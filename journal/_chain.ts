/**
 * The hash chain shared by every journal implementation (private to `journal/`).
 *
 * @module
 */
import { assert as invariant, bytesEqual, toHex } from "../air/mod.ts";
import { encodeEntry, type EntryRecord, type JournalEntry } from "./entry.ts";

/**
 * Encodes `records` as the entries that follow a journal of `height` entries whose last hash is `lastHash`.
 * Encodes all of them before returning, so a bad record rejects the whole batch before anything is written.
 */
export function chainRecords(
  height: number,
  lastHash: Uint8Array,
  records: readonly EntryRecord[],
): JournalEntry[] {
  const entries: JournalEntry[] = [];
  let prev = lastHash;
  for (let index = 0; index < records.length; index++) {
    const entry = encodeEntry(height + index, records[index]!, prev);
    entries.push(entry);
    prev = entry.hash;
  }
  return entries;
}

/**
 * Why `entry` cannot follow a journal of `height` entries ending in `lastHash`, or `undefined` when it can.
 * A seq gap is reported before a broken chain: a gap explains the chain mismatch too.
 */
export function linkProblem(height: number, lastHash: Uint8Array, entry: JournalEntry): string | undefined {
  if (entry.seq !== height) return `seq gap: expected seq ${height}, found ${entry.seq}`;
  if (!bytesEqual(entry.prev, lastHash)) {
    const what = height === 0 ? "32 zero bytes" : `the hash of seq ${height - 1} (${toHex(lastHash)})`;
    return `hash chain broken: prev of seq ${entry.seq} is ${toHex(entry.prev)}, expected ${what}`;
  }
  return undefined;
}

/** Checks the chain of freshly appended entries (cheap; guards every write). */
export function assertChained(height: number, lastHash: Uint8Array, entries: readonly JournalEntry[]): void {
  let prev = lastHash;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    invariant(
      linkProblem(height + index, prev, entry) === undefined,
      `appended entry ${height + index} is chained`,
    );
    prev = entry.hash;
  }
}

/**
 * The entries of `entries` from `fromSeq` up to the current length, lazily. Throws `RangeError` for a
 * `fromSeq` outside `0..length`.
 */
export function entriesFrom(entries: readonly JournalEntry[], fromSeq: number): Iterable<JournalEntry> {
  const height = entries.length;
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0 || fromSeq > height) {
    throw new RangeError(`Invalid fromSeq "${fromSeq}": expected an integer in 0..${height}`);
  }
  return (function* () {
    for (let seq = fromSeq; seq < height; seq++) yield entries[seq]!;
  })();
}
