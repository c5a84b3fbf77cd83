/**
 * The acknowledged head (`.aos/head`): height and hash of the last entry the driver fsynced and
 * acknowledged. The hash chain catches an edit to any entry but the last, and a CRC can be recomputed;
 * the head closes that gap and detects acknowledged entries that went missing (a truncated journal).
 * It is written after the journal fsync (temp, fsync, rename), so it may lag the journal after a crash,
 * never lead it.
 *
 * @module
 */
import { AosError, bytesEqual, type CborValue, decodeCanonical, encodeCanonical, toHex } from "../air/mod.ts";
import { readIfExists, writeFileAtomic } from "../journal/mod.ts";
import type { Journal } from "../journal/mod.ts";

/** The acknowledged head. */
export interface Head {
  height: number;
  hash: Uint8Array;
  /**
   * The last inbox event journaled in the first `height` entries (`{batch: 0, index: -1}` when none), so
   * opening need not search the journal for it. Absent in heads written before it was recorded.
   */
  inbox?: { batch: number; index: number };
  /** Count of `reducer_error` entries in the first `height` entries. Absent in older heads. */
  failures?: number;
}

/** Where the driver keeps its acknowledged head (a port: a file for worlds on disk, memory for forks). */
export interface HeadStore {
  /** The head, or undefined when none was ever written. */
  read(): Promise<Head | undefined>;
  /** Records the head durably. */
  write(head: Head): Promise<void>;
}

/** The head in a file (`.aos/head`), written crash-safely. */
export class FileHeadStore implements HeadStore {
  constructor(readonly path: string) {}

  async read(): Promise<Head | undefined> {
    const bytes = await readIfExists(this.path);
    if (bytes === undefined) return undefined;
    let raw: unknown;
    try {
      raw = decodeCanonical(bytes);
    } catch (cause) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Head file "${this.path}" is not canonical CBOR`, {
        cause,
        context: { file: this.path },
      });
    }
    const head = parseHead(raw);
    if (head === undefined) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Head file "${this.path}" is malformed`, {
        context: { file: this.path },
      });
    }
    return head;
  }

  async write(head: Head): Promise<void> {
    await writeFileAtomic(this.path, encodeHead(head));
  }
}

/** The canonical CBOR of a head: `{height, hash}`, plus `inbox: {batch, index}` and `failures` when known. */
function encodeHead(head: Head): Uint8Array {
  const value: { [key: string]: CborValue } = { height: head.height, hash: head.hash };
  if (head.inbox !== undefined) value.inbox = { batch: head.inbox.batch, index: head.inbox.index };
  if (head.failures !== undefined) value.failures = head.failures;
  return encodeCanonical(value);
}

function isUint(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseHead(raw: unknown): Head | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || raw instanceof Uint8Array) {
    return undefined;
  }
  const { height, hash, inbox, failures } = raw as { [key: string]: unknown };
  if (!isUint(height) || !(hash instanceof Uint8Array) || hash.length !== 32) return undefined;
  const head: Head = { height, hash };
  if (inbox !== undefined) {
    const { batch, index } = (inbox ?? {}) as { batch?: unknown; index?: unknown };
    if (!isUint(batch) || typeof index !== "number" || !Number.isSafeInteger(index) || index < -1) {
      return undefined;
    }
    head.inbox = { batch, index };
  }
  if (failures !== undefined) {
    if (!isUint(failures)) return undefined;
    head.failures = failures;
  }
  return head;
}

/** The head in memory, for worlds on in-memory ports. */
export class MemoryHeadStore implements HeadStore {
  #head: Head | undefined;

  read(): Promise<Head | undefined> {
    return Promise.resolve(this.#head && copyHead(this.#head));
  }

  write(head: Head): Promise<void> {
    this.#head = copyHead(head);
    return Promise.resolve();
  }
}

function copyHead(head: Head): Head {
  const copy: Head = { height: head.height, hash: head.hash.slice() };
  if (head.inbox !== undefined) copy.inbox = { ...head.inbox };
  if (head.failures !== undefined) copy.failures = head.failures;
  return copy;
}

/** Throws `AOS_JOURNAL_CORRUPT` when the journal lost or changed an acknowledged entry. */
export function checkHead(journal: Pick<Journal, "height" | "entries">, head: Head | undefined): void {
  if (!head) return;
  if (journal.height < head.height) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Journal ends at height ${journal.height} but ${head.height} entries were acknowledged: entries are missing`,
      { context: { seq: journal.height } },
    );
  }
  if (head.height === 0) return;
  const [last] = journal.entries(head.height - 1);
  if (!last || !bytesEqual(last.hash, head.hash)) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Journal entry ${head.height - 1} differs from the acknowledged head (hash ${
        toHex(head.hash).slice(0, 16)
      }…)`,
      { context: { seq: head.height - 1 } },
    );
  }
}

/**
 * Throws `AOS_JOURNAL_CORRUPT` when a world folder's journal holds acknowledged-looking entries (more than
 * genesis) but its `.aos/head` is gone: without it a cut at a frame boundary could not be told from a journal
 * that ended there, so the loss would go unseen. Only genesis may lack a head (a crash right after it).
 */
export function requireHead(journalHeight: number, head: Head | undefined, path: string): void {
  if (head !== undefined || journalHeight <= 1) return;
  throw new AosError(
    "AOS_JOURNAL_CORRUPT",
    `The acknowledged head "${path}" is missing but the journal holds ${journalHeight} entries: ` +
      "acknowledged entries may have been lost, and nothing can show which",
    { context: { file: path } },
  );
}
