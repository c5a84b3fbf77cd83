/**
 * Replay-or-die (KERNEL §8.5): feeds journaled inputs to a kernel and demands that it regenerates every
 * derived entry byte for byte.
 *
 * @module
 */
import {
  type AosErrorCode,
  bytesEqual,
  type CanonicalSink,
  canonicalTexts,
  type CborValue,
  encodeCanonicalLent,
  encodeCanonicalWith,
  isAosError,
} from "../air/mod.ts";
import { isRecord, u64 } from "../journal/mod.ts";
import type { BlobSizeLookup } from "./budgets.ts";
import { VALUE_ERROR_CODES } from "./handled_errors.ts";
import type { DerivedRecord, Kernel, KernelEntry } from "./kernel.ts";

/** What a journaled input may be refused with on replay: damage in the journal or the store. */
const REPLAY_ERROR_CODES: readonly AosErrorCode[] = [
  "AOS_JOURNAL_CORRUPT",
  "AOS_CAS_MISSING",
  "AOS_CAS_CORRUPT",
  ...VALUE_ERROR_CODES,
];

/** The first point where replay and journal disagree. */
export interface Divergence {
  seq: number;
  reducer?: string;
  /** The budgeted grant whose ledger differs (`replay --verify`). */
  grant?: string;
  message: string;
  /**
   * Set when the journal simply ends inside the last block (a crash after the input was written but
   * before all its derived entries were): the records that complete it (KERNEL §8.5).
   */
  incompleteBlock?: DerivedRecord[];
}

/** True for journal kinds that the driver admits (inputs) or that mark (snapshot): replay feeds these. */
export function isFedOnReplay(entry: KernelEntry): boolean {
  switch (entry.kind) {
    case "domain_event":
      return isRecord(entry, "domain_event") && entry.body.origin.kind === "external";
    case "genesis":
    case "snapshot":
    case "plan_start_requested":
    case "plan_cancel_requested":
    case "receipt_appended":
    case "receipt_ignored":
    case "inbox_quarantined":
    case "proposal_submitted":
    case "shadow_run_completed":
    case "approval_recorded":
    case "apply_requested":
    case "rollback":
      return true;
    default:
      return false;
  }
}

/**
 * The bytes replay compares: `{body, kind}` canonically. Human-readable reasons are advisory: a
 * `reducer_error`'s `message`, a `plan_ended` error's `message` and an `effect_rejected`'s `reason` carry
 * engine and codec text that may be reworded or change with the WASM engine, while the codes, stages and
 * everything else are what determinism promises and are compared byte for byte.
 */
export function recordBytes(record: { kind: string; body: { [key: string]: CborValue } }): Uint8Array {
  return encodeCanonicalWith((w) => writeRecord(w, record));
}

/**
 * Whether `recorded` holds the bytes replay compares ({@linkcode recordBytes}) of `record`, encoded into the
 * encoder's own buffer and compared there (one per derived entry on replay: no copy of them is kept).
 */
export function recordMatches(
  recorded: KernelEntry,
  record: { kind: string; body: { [key: string]: CborValue } },
): boolean {
  return encodeCanonicalLent((w) => writeRecord(w, record), (bytes) => recordedBytesMatch(recorded, bytes));
}

/** `{"body": ` of the compared bytes, a 2-key map (`"body"` sorts before `"kind"`: same length, `b` < `k`). */
const RECORD_HEAD = Uint8Array.of(0xa2, ...canonicalTexts("body"));
const KIND_KEY = canonicalTexts("kind");

function writeRecord(w: CanonicalSink, record: { kind: string; body: { [key: string]: CborValue } }): void {
  w.raw(RECORD_HEAD);
  w.value(hasAdvisoryText(record) ? withoutAdvisory(record.kind, record.body) : record.body);
  w.raw(KIND_KEY);
  w.text(record.kind);
}

/** The body of an advisory kind without its advisory text. */
function withoutAdvisory(
  kind: string,
  recordBody: { [key: string]: CborValue },
): { [key: string]: CborValue } {
  const body = { ...recordBody };
  if (kind === "reducer_error") delete body.message;
  if (kind === "effect_rejected") delete body.reason;
  if (kind === "plan_ended" && body.error && typeof body.error === "object" && !Array.isArray(body.error)) {
    const { message: _message, ...error } = body.error as { [key: string]: CborValue };
    body.error = error;
  }
  return body;
}

/**
 * Whether {@linkcode recordBytes} leaves advisory text out of this record: every `reducer_error` and
 * `effect_rejected`, and a `plan_ended` with an error (one that ended well has none).
 */
function hasAdvisoryText(record: { kind: string; body: { [key: string]: CborValue } }): boolean {
  switch (record.kind) {
    case "reducer_error":
    case "effect_rejected":
      return true;
    case "plan_ended": {
      const error = record.body.error;
      return error !== null && typeof error === "object" && !Array.isArray(error);
    }
    default:
      return false;
  }
}

/** The tail of an entry: `"prev": h'<32 bytes>'`. */
const PREV_TAIL_BYTES = 1 + 4 + 2 + 32;

/**
 * {@linkcode recordBytes} of a recorded entry, taken from the entry's own bytes when it carries them (a
 * journal entry: `{seq, body, kind, prev}`, canonical) instead of encoding its body again: the entry is
 * `a4 63"seq" <seq> 64"body" <body> 64"kind" <kind> 64"prev" 5820 <hash>`, and `{body, kind}` is `a2` and
 * the middle of it. Entries of an advisory kind, or whose bytes do not have that layout, are encoded.
 */
export function recordedBytesMatch(recorded: KernelEntry, regenerated: Uint8Array): boolean {
  const bytes = (recorded as { bytes?: unknown }).bytes;
  if (hasAdvisoryText(recorded) || !(bytes instanceof Uint8Array)) {
    return bytesEqual(recordBytes(recorded), regenerated);
  }
  // Where the body key starts: after the map head, the "seq" key and the seq (a uint head of 1 to 9 bytes).
  const info = bytes[5]! & 0x1f;
  const start = 5 + (info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 9);
  const end = bytes.length - PREV_TAIL_BYTES;
  if (
    bytes[0] !== 0xa4 || bytes[1] !== 0x63 || bytes[5]! >> 5 !== 0 || bytes[start] !== 0x64 ||
    bytes[end] !== 0x64 || bytes[end + 5] !== 0x58 || bytes[end + 6] !== 32
  ) {
    return bytesEqual(recordBytes(recorded), regenerated);
  }
  if (regenerated[0] !== 0xa2 || regenerated.length !== end - start + 1) return false;
  for (let i = start; i < end; i++) if (bytes[i] !== regenerated[i - start + 1]) return false;
  return true;
}

function reducerOf(record: { body: { [key: string]: CborValue } } | undefined): string | undefined {
  if (!record) return undefined;
  if (typeof record.body.reducer === "string" && record.body.reducer !== "") return record.body.reducer;
  const origin = record.body.origin as { name?: unknown } | undefined;
  return typeof origin?.name === "string" ? origin.name : undefined;
}

/**
 * A look at the kernel in the middle of a replay: `check` runs once, when the kernel stands at height `seq`
 * with every entry below it applied and matched (so it is idle), before the entry `seq` is applied. A
 * divergence it returns ends the replay.
 */
export interface ReplayCheckpoint {
  readonly seq: number;
  check(kernel: Kernel): Divergence | undefined;
}

/**
 * Replays `entries` (which must start at the kernel's height) through `kernel`, streaming: one block (an
 * input and the derived entries the journal recorded after it) is held at a time. Returns the first
 * divergence, or undefined when every derived entry was regenerated exactly. A `checkpoint` runs when the
 * replay reaches its seq.
 */
export function replayInto(
  kernel: Kernel,
  entries: Iterable<KernelEntry>,
  checkpoint?: ReplayCheckpoint,
): Divergence | undefined {
  const iterator = entries[Symbol.iterator]();
  try {
    let next = iterator.next();
    while (next.done !== true) {
      const entry = next.value;
      if (entry.seq !== kernel.height) {
        return { seq: entry.seq, message: `expected seq ${kernel.height}, journal has ${entry.seq}` };
      }
      if (entry.seq === checkpoint?.seq) {
        const divergence = checkpoint.check(kernel);
        if (divergence) return divergence;
      }
      if (!isFedOnReplay(entry)) {
        return {
          seq: entry.seq,
          ...optionalReducer(reducerOf(entry)),
          message: `journal has a derived "${entry.kind}" entry that replay did not produce`,
        };
      }
      // The recorded block: what the journal holds after the input, up to the next input or marker.
      const block: KernelEntry[] = [];
      next = iterator.next();
      while (next.done !== true && !isFedOnReplay(next.value)) {
        block.push(next.value);
        next = iterator.next();
      }
      let derived: DerivedRecord[];
      try {
        derived = kernel.apply(entry, { blobSize: recordedBlobSizes(block) });
      } catch (error) {
        // A journaled input the kernel refuses is damage (or a codec change); a bug propagates.
        if (isAosError(error, REPLAY_ERROR_CODES)) return { seq: entry.seq, message: error.message };
        throw error;
      }
      for (const [k, record] of derived.entries()) {
        const recorded = block[k] ?? (next.done === true ? undefined : next.value);
        if (!recorded) {
          return {
            seq: record.seq,
            ...optionalReducer(reducerOf(record)),
            message:
              `replay produced "${record.kind}" at seq ${record.seq} but the journal ends (incomplete last block)`,
            incompleteBlock: derived.slice(k),
          };
        }
        if (recorded.seq !== record.seq || !recordMatches(recorded, record)) {
          return {
            seq: recorded.seq,
            ...optionalReducer(reducerOf(record) ?? reducerOf(recorded)),
            message:
              `replay produced "${record.kind}" but the journal has "${recorded.kind}" with different bytes`,
          };
        }
      }
      const extra = block[derived.length];
      if (extra !== undefined) {
        return {
          seq: extra.seq,
          ...optionalReducer(reducerOf(extra)),
          message: `journal has a derived "${extra.kind}" entry that replay did not produce`,
        };
      }
    }
    return undefined;
  } finally {
    iterator.return?.();
  }
}

/** Blob sizes as the journal recorded them for the block's intents (`reserved.bytes`), for replay. */
function recordedBlobSizes(block: readonly KernelEntry[]): BlobSizeLookup {
  return (_blob, intentHash) => {
    for (const e of block) {
      if (!isRecord(e, "effect_queued") && !isRecord(e, "effect_rejected")) continue;
      const hash = e.body.intent_hash;
      if (hash === undefined || !bytesEqual(hash, intentHash)) continue;
      const bytes = e.body.reserved?.bytes;
      return bytes === undefined ? undefined : u64(bytes);
    }
    return undefined;
  };
}

function optionalReducer(reducer: string | undefined): { reducer?: string } {
  return reducer === undefined ? {} : { reducer };
}
