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
import type { JournalEntry } from "../journal/mod.ts";

/** The acknowledged head. */
export interface Head {
  height: number;
  hash: Uint8Array;
}

/** Reads the head file, or undefined when there is none (a world from before heads existed). */
export async function readHead(path: string): Promise<Head | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const raw = decodeCanonical(bytes) as { height?: unknown; hash?: unknown };
  if (typeof raw.height !== "number" || !(raw.hash instanceof Uint8Array) || raw.hash.length !== 32) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `Head file "${path}" is malformed`);
  }
  return { height: raw.height, hash: raw.hash };
}

/** Writes the head durably. */
export async function writeHead(path: string, head: Head): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    const bytes = encodeCanonical({ height: head.height, hash: head.hash });
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
}

/** Throws `AOS_JOURNAL_CORRUPT` when the journal lost or changed an acknowledged entry. */
export function checkHead(entries: readonly JournalEntry[], head: Head | undefined): void {
  if (!head) return;
  if (entries.length < head.height) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Journal ends at height ${entries.length} but ${head.height} entries were acknowledged: entries are missing`,
      { context: { seq: entries.length } },
    );
  }
  const last = entries[head.height - 1];
  if (head.height > 0 && (!last || !bytesEqual(last.hash, head.hash))) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Journal entry ${head.height - 1} differs from the acknowledged head (hash ${
        toHex(head.hash).slice(0, 16)
      }…)`,
      { context: { seq: head.height - 1 } },
    );
  }
}
