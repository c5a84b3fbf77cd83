/**
 * The acknowledged head (`.aos/head`): height and hash of the last entry the driver fsynced and
 * acknowledged. The hash chain catches an edit to any entry but the last, and a CRC can be recomputed;
 * the head closes that gap and detects acknowledged entries that went missing (a truncated journal).
 * It is written after the journal fsync (temp, fsync, rename), so it may lag the journal after a crash,
 * never lead it.
 *
 * @module
 */
import { AosError, bytesEqual, decodeCanonical, encodeCanonical, toHex } from "../air/mod.ts";
import { readIfExists, writeFileAtomic } from "../journal/mod.ts";
import type { Journal } from "../journal/mod.ts";

/** The acknowledged head. */
export interface Head {
  height: number;
  hash: Uint8Array;
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
    let raw: { height?: unknown; hash?: unknown };
    try {
      raw = decodeCanonical(bytes) as { height?: unknown; hash?: unknown };
    } catch (cause) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Head file "${this.path}" is not canonical CBOR`, {
        cause,
        context: { file: this.path },
      });
    }
    if (
      raw === null || typeof raw !== "object" || typeof raw.height !== "number" ||
      !(raw.hash instanceof Uint8Array) || raw.hash.length !== 32
    ) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Head file "${this.path}" is malformed`, {
        context: { file: this.path },
      });
    }
    return { height: raw.height, hash: raw.hash };
  }

  async write(head: Head): Promise<void> {
    await writeFileAtomic(this.path, encodeCanonical({ height: head.height, hash: head.hash }));
  }
}

/** The head in memory, for worlds on in-memory ports. */
export class MemoryHeadStore implements HeadStore {
  #head: Head | undefined;

  read(): Promise<Head | undefined> {
    return Promise.resolve(this.#head && { height: this.#head.height, hash: this.#head.hash.slice() });
  }

  write(head: Head): Promise<void> {
    this.#head = { height: head.height, hash: head.hash.slice() };
    return Promise.resolve();
  }
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
