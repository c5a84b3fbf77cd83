/**
 * Reading and validating journal segments (private to `journal/`): every frame's length and CRC, strict
 * decoding, dense seqs across segments and the hash chain. A torn last frame is returned for the caller to
 * cut or refuse; anything else is thrown as `AOS_JOURNAL_CORRUPT` naming segment, offset and seq.
 *
 * @module
 */
import { AosError, type AosErrorContext } from "../air/mod.ts";
import { linkProblem } from "./_chain.ts";
import { decodeEntry, type JournalEntry, ZERO_HASH } from "./entry.ts";
import { scanFrames } from "./frame.ts";

/** A torn last frame that was cut off on open; the driver reports it. */
export interface TornTail {
  /** Segment file name, e.g. `00003.log`. */
  segment: string;
  /** Where the torn frame started; the segment now ends here. */
  offset: number;
  reason: string;
}

/** One segment file and its size. */
export interface JournalSegment {
  name: string;
  sizeBytes: number;
}

const SEGMENT_NAME = /^(\d{5})\.log$/;
const SEGMENT_NUMBER_MAX = 99_999;

/** The file name of segment `number` (1-based): `00001.log`. */
export function segmentName(number: number): string {
  if (!Number.isSafeInteger(number) || number < 1 || number > SEGMENT_NUMBER_MAX) {
    throw new RangeError(`Invalid segment number "${number}": expected 1..${SEGMENT_NUMBER_MAX}`);
  }
  return `${String(number).padStart(5, "0")}.log`;
}

function corruptAt(
  dir: string,
  segment: string,
  offset: number,
  detail: string,
  seq?: number,
  cause?: unknown,
): AosError {
  const context: AosErrorContext = { file: `${dir}/${segment}`, segment, offset };
  if (seq !== undefined) context.seq = seq;
  const where = seq === undefined ? "" : ` (seq ${seq})`;
  return new AosError(
    "AOS_JOURNAL_CORRUPT",
    `Corrupt journal in ${segment} at offset ${offset}${where}: ${detail}`,
    {
      context,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** The `AOS_JOURNAL_TORN` error for a torn tail that is not to be cut. */
export function tornAt(dir: string, tail: TornTail): AosError {
  return new AosError(
    "AOS_JOURNAL_TORN",
    `Torn journal tail in ${tail.segment} at offset ${tail.offset}: ${tail.reason}`,
    { context: { file: `${dir}/${tail.segment}`, segment: tail.segment, offset: tail.offset } },
  );
}

/** A validated journal directory, up to a torn last frame if there is one. */
export interface LoadedJournal {
  entries: JournalEntry[];
  segments: JournalSegment[];
  tornTail?: TornTail;
}

async function listSegments(dir: string): Promise<string[]> {
  const numbers: number[] = [];
  try {
    for await (const item of Deno.readDir(dir)) {
      const match = SEGMENT_NAME.exec(item.name);
      if (match === null) {
        // A misnamed segment would silently drop entries, so anything that looks like one is refused.
        if (item.name.endsWith(".log")) {
          throw corruptAt(dir, item.name, 0, "unexpected file name: expected NNNNN.log");
        }
        continue;
      }
      if (!item.isFile) throw corruptAt(dir, item.name, 0, "segment is not a regular file");
      if (Number(match[1]) === 0) {
        throw corruptAt(dir, item.name, 0, "unexpected file name: segments start at 00001.log");
      }
      numbers.push(Number(match[1]));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new AosError("AOS_WORLD_NOT_FOUND", `Journal directory "${dir}" does not exist`, {
        context: { file: dir },
        cause: error,
      });
    }
    throw error;
  }
  numbers.sort((a, b) => a - b);
  return numbers.map((number, index) => {
    if (number !== index + 1) throw corruptAt(dir, segmentName(index + 1), 0, "segment is missing");
    return segmentName(number);
  });
}

/** Reads and validates every segment; a torn last frame is returned, every other problem thrown. */
export async function loadJournal(dir: string): Promise<LoadedJournal> {
  const names = await listSegments(dir);
  const entries: JournalEntry[] = [];
  const segments: JournalSegment[] = [];
  let lastHash = ZERO_HASH;
  for (const [index, name] of names.entries()) {
    const isLast = index === names.length - 1;
    const bytes = await Deno.readFile(`${dir}/${name}`);
    segments.push({ name, sizeBytes: bytes.length });
    if (bytes.length === 0 && !isLast) {
      throw corruptAt(dir, name, 0, "segment is empty but is not the last one");
    }
    const scan = scanFrames(bytes);
    for (const frame of scan.frames) {
      let entry: JournalEntry;
      try {
        entry = decodeEntry(frame.payload.slice());
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw corruptAt(dir, name, frame.offset, detail, undefined, cause);
      }
      const problem = linkProblem(entries.length, lastHash, entry);
      if (problem !== undefined) throw corruptAt(dir, name, frame.offset, problem, entry.seq);
      entries.push(entry);
      lastHash = entry.hash;
    }
    const problem = scan.problem;
    if (problem === undefined) continue;
    if (problem.kind === "torn" && isLast) {
      return {
        entries,
        segments,
        tornTail: { segment: name, offset: problem.offset, reason: problem.reason },
      };
    }
    const detail = problem.kind === "torn"
      ? `segment ends mid-frame but is not the last one: ${problem.reason}`
      : problem.reason;
    throw corruptAt(dir, name, problem.offset, detail);
  }
  return { entries, segments };
}
