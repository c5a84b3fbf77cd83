/**
 * What `aos journal repair --quarantine` needs of a journal directory (KERNEL §8.5: "a bad frame anywhere
 * else is corruption: stop, name the segment and offset, quarantine; never repair silently"): a scan from
 * genesis that finds the first damaged frame without trusting any index, and a cut that moves the damaged
 * segment and every one after it into a quarantine folder, keeping the intact frames before the damage.
 *
 * @module
 */
import { assert as invariant } from "../air/mod.ts";
import { linkProblem } from "./_chain.ts";
import { isProblem, SegmentFrameReader } from "./_segment_reader.ts";
import { indexName, listSegments } from "./_segments.ts";
import { exists, makeDirDurable, syncDirectory, writeFileAtomic } from "./durable_fs.ts";
import { decodeEntry, type JournalEntry, ZERO_HASH } from "./entry.ts";
import { scanFrames } from "./frame.ts";

/** A place in the journal: a segment file and a byte offset in it. */
export interface JournalPlace {
  segment: string;
  offset: number;
}

/** The first damaged frame a scan found. */
export interface JournalDamage extends JournalPlace {
  /** The seq the damaged frame should hold (every seq before it is intact). */
  seq: number;
  /** `torn`: the last frame of the last segment, as a crash mid-write leaves it; `corrupt`: anything else. */
  kind: "torn" | "corrupt";
  reason: string;
}

/** What {@linkcode scanJournal} found. */
export interface JournalScan {
  /** Intact entries from genesis up to the first damage (or all of them). */
  height: number;
  /** Hash of the last intact entry (zero when none). */
  lastHash: Uint8Array;
  damage?: JournalDamage;
  /** Where entry `options.locateSeq` starts and its hash, when it is among the intact entries. */
  located?: JournalPlace & { hash: Uint8Array };
}

/**
 * Checks a journal directory frame by frame from genesis, trusting no index: lengths, CRC-32C, strict
 * decode, dense seqs and the hash chain. Stops at the first damaged frame and names it. Changes nothing.
 */
export async function scanJournal(dir: string, options: { locateSeq?: number } = {}): Promise<JournalScan> {
  const names = await listSegments(dir);
  let height = 0;
  let lastHash: Uint8Array = ZERO_HASH;
  let located: (JournalPlace & { hash: Uint8Array }) | undefined;
  for (const [position, name] of names.entries()) {
    const path = `${dir}/${name}`;
    const size = (await Deno.stat(path)).size;
    const isLast = position === names.length - 1;
    if (size === 0 && !isLast) {
      return {
        height,
        lastHash,
        damage: { segment: name, offset: 0, seq: height, kind: "corrupt", reason: "segment is empty" },
        ...(located ? { located } : {}),
      };
    }
    const reader = new SegmentFrameReader(path, size);
    try {
      for (let frame = reader.next(); frame !== undefined; frame = reader.next()) {
        const damage = (offset: number, kind: "torn" | "corrupt", reason: string): JournalScan => ({
          height,
          lastHash,
          damage: { segment: name, offset, seq: height, kind, reason },
          ...(located ? { located } : {}),
        });
        if (isProblem(frame)) {
          const kind = frame.kind === "torn" && isLast ? "torn" : "corrupt";
          return damage(frame.offset, kind, frame.reason);
        }
        let entry: JournalEntry;
        try {
          entry = decodeEntry(frame.payload.slice());
        } catch (error) {
          return damage(frame.offset, "corrupt", error instanceof Error ? error.message : String(error));
        }
        const problem = linkProblem(height, lastHash, entry);
        if (problem !== undefined) return damage(frame.offset, "corrupt", problem);
        if (entry.seq === options.locateSeq) {
          located = { segment: name, offset: frame.offset, hash: entry.hash };
        }
        height++;
        lastHash = entry.hash;
      }
    } finally {
      reader.close();
    }
  }
  return { height, lastHash, ...(located ? { located } : {}) };
}

/**
 * The highest seq any intact frame at or after `place` holds (frames are read leniently: the damaged
 * segment from the first intact frame after the damage, later segments up to their first bad frame), or
 * undefined when none is readable. For saying which seqs a cut loses.
 */
export async function lastSeqFrom(dir: string, place: JournalPlace): Promise<number | undefined> {
  let last: number | undefined;
  const see = (payload: Uint8Array) => {
    try {
      const entry = decodeEntry(payload.slice());
      if (last === undefined || entry.seq > last) last = entry.seq;
    } catch {
      // Not an entry: skipped.
    }
  };
  for (const name of await listSegments(dir)) {
    if (name < place.segment) continue;
    const bytes = await Deno.readFile(`${dir}/${name}`);
    if (name === place.segment) {
      // Resynchronise after the damage: try every later offset for an intact frame.
      for (let at = place.offset + 1; at + 8 < bytes.length; at++) {
        const scan = scanFrames(bytes.subarray(at));
        if (scan.frames.length === 0) continue;
        for (const frame of scan.frames) see(frame.payload);
        break;
      }
    } else {
      for (const frame of scanFrames(bytes).frames) see(frame.payload);
    }
  }
  return last;
}

/** What {@linkcode quarantineFrom} moved and kept. */
export interface QuarantineCut {
  /** The folder everything moved to. */
  folder: string;
  /** Names of the files moved (segments and their indexes), in order. */
  moved: string[];
  /** Bytes of the damaged segment kept in the journal (its intact frames before the damage). */
  keptBytes: number;
}

/**
 * Moves the segment at `place` and every later one (with their index files) from the journal `dir` into
 * `folder` (created), and puts back a segment of the same name holding its bytes before `place.offset`
 * (none when the offset is 0). Crash-safe at every step: the kept prefix is written and fsynced under a
 * temp name before anything moves; moves are renames followed by folder fsyncs.
 */
export async function quarantineFrom(
  dir: string,
  place: JournalPlace,
  folder: string,
): Promise<QuarantineCut> {
  const names = (await listSegments(dir)).filter((name) => name >= place.segment);
  invariant(names[0] === place.segment, "the damaged segment exists");
  await makeDirDurable(folder);
  const prefix = place.offset === 0
    ? undefined
    : (await Deno.readFile(`${dir}/${place.segment}`)).subarray(0, place.offset);
  const temp = `${dir}/.${place.segment}.repair`;
  if (prefix !== undefined) await writeFileAtomic(temp, prefix);
  const moved: string[] = [];
  for (const name of names) {
    for (const file of [name, indexName(name)]) {
      if (!(await exists(`${dir}/${file}`))) continue;
      await Deno.rename(`${dir}/${file}`, `${folder}/${file}`);
      moved.push(file);
    }
  }
  syncDirectory(folder);
  syncDirectory(dir);
  if (prefix !== undefined) {
    await Deno.rename(temp, `${dir}/${place.segment}`);
    syncDirectory(dir);
  }
  return { folder, moved, keptBytes: prefix?.length ?? 0 };
}
