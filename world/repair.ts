/**
 * `aos journal repair --quarantine` (KERNEL §8.5): the explicit, reported way back from a damaged journal.
 * Finds the first damage (a bad frame, a broken chain, acknowledged entries missing or changed), moves the
 * damaged segment and every later one to `.aos/quarantine/repair-seq-<K>/` (with the old head), keeps the
 * intact frames before the damage, records the new end as the head, and opens the world, which restores the
 * latest valid snapshot at or before the damage and replays the intact entries after it. Says exactly
 * which seqs were lost. Never runs unasked: nothing opens a world this way by itself.
 *
 * @module
 */
import { AosError, bytesEqual, toHex } from "../air/mod.ts";
import {
  exists,
  FsJournal,
  type JournalDamage,
  lastSeqFrom,
  lockWorld,
  makeDirDurable,
  type QuarantineCut,
  quarantineFrom,
  scanJournal,
  syncDirectory,
  type TornTail,
} from "../journal/mod.ts";
import type { Clock } from "../kernel/mod.ts";
import { FileHeadStore, type Head } from "./head.ts";
import { worldPaths } from "./paths.ts";
import { World } from "./world.ts";

/** What a repair found and did. */
export interface RepairReport {
  /** True when something was changed (a torn tail cut, or damaged segments moved aside). */
  repaired: boolean;
  /** The first damage found, or undefined when the journal was intact. */
  damage?: {
    /** What kind of damage: a bad frame, or the acknowledged head disagreeing with intact frames. */
    kind: "torn_tail" | "corrupt_frame" | "missing_entries" | "changed_entry" | "head_unreadable";
    message: string;
    segment?: string;
    offset?: number;
    seq?: number;
  };
  /** The torn tail cut (a crash mid-write, never acknowledged: nothing lost). */
  tornTail?: TornTail;
  /** Where the damaged files went, relative to the world folder, and which files moved. */
  quarantine?: { folder: string; moved: string[] };
  /** Entries the journal holds after the repair (seqs `0..height-1`). */
  height: number;
  /** The seqs lost: `from..to` (inclusive); `to` is the last seq anything on disk still shows. */
  lost?: { from: number; to: number };
  /** The snapshot the world was restored from (undefined: genesis). */
  restoredFrom?: { height: number; hash: string };
  /** Later snapshots that were damaged and skipped. */
  unusableSnapshots: number[];
}

/** The quarantine folder of a repair at `seq`, with a suffix when an earlier repair used that name. */
async function repairFolder(quarantine: string, seq: number): Promise<string> {
  const base = `${quarantine}/repair-seq-${seq}`;
  if (!(await exists(base))) return base;
  for (let n = 2;; n++) if (!(await exists(`${base}-${n}`))) return `${base}-${n}`;
}

/** The head, or undefined with the reason when it cannot be read (it is then set aside too). */
async function readHead(path: string): Promise<{ head?: Head; error?: string }> {
  try {
    const head = await new FileHeadStore(path).read();
    return head === undefined ? {} : { head };
  } catch (error) {
    if (error instanceof AosError && error.code === "AOS_JOURNAL_CORRUPT") return { error: error.message };
    throw error;
  }
}

/**
 * Repairs the world folder `dir` (see the module doc). Returns what it found and did; a journal with no
 * damage is left unchanged (`repaired: false`). Throws when the world cannot be opened even after the cut
 * (e.g. its store lacks the genesis manifest): the quarantined files stay where the report says.
 */
export async function repairWorld(dir: string, clock: Clock): Promise<RepairReport> {
  const paths = worldPaths(dir);
  if (!(await exists(paths.aos))) {
    throw new AosError("AOS_WORLD_NOT_FOUND", `No world at "${dir}": it has no .aos/ folder`);
  }
  const lock = await lockWorld(paths.lock);
  try {
    const { head, error: headError } = await readHead(paths.head);
    const scan = await scanJournal(paths.journal, {
      ...(head !== undefined && head.height > 0 ? { locateSeq: head.height - 1 } : {}),
    });
    const acknowledged = head?.height ?? 0;
    let damage: RepairReport["damage"];
    let cutAt: JournalDamage | undefined;
    if (scan.damage !== undefined && (scan.damage.kind === "corrupt" || acknowledged > scan.height)) {
      cutAt = scan.damage;
      const what = scan.damage.kind === "torn"
        ? `acknowledged entry ${scan.damage.seq} is damaged (${scan.damage.reason})`
        : scan.damage.reason;
      damage = {
        kind: "corrupt_frame",
        message:
          `Corrupt journal in ${scan.damage.segment} at offset ${scan.damage.offset} (seq ${scan.damage.seq}): ${what}`,
        segment: scan.damage.segment,
        offset: scan.damage.offset,
        seq: scan.damage.seq,
      };
    } else if (scan.damage?.kind === "torn") {
      damage = {
        kind: "torn_tail",
        message:
          `Torn journal tail in ${scan.damage.segment} at offset ${scan.damage.offset}: ${scan.damage.reason}`,
        segment: scan.damage.segment,
        offset: scan.damage.offset,
        seq: scan.damage.seq,
      };
    } else if (head !== undefined && head.height > scan.height) {
      damage = {
        kind: "missing_entries",
        message: `Journal ends at height ${scan.height} but ${head.height} entries were acknowledged`,
        seq: scan.height,
      };
    } else if (
      head !== undefined && head.height > 0 &&
      scan.located !== undefined && !bytesEqual(scan.located.hash, head.hash)
    ) {
      const place = { segment: scan.located.segment, offset: scan.located.offset };
      cutAt = {
        ...place,
        seq: head.height - 1,
        kind: "corrupt",
        reason: "differs from the acknowledged head",
      };
      damage = {
        kind: "changed_entry",
        message:
          `Journal entry ${head.height - 1} in ${place.segment} at offset ${place.offset} differs from the ` +
          `acknowledged head (hash ${toHex(head.hash).slice(0, 16)}…)`,
        segment: place.segment,
        offset: place.offset,
        seq: head.height - 1,
      };
    } else if (headError !== undefined) {
      damage = { kind: "head_unreadable", message: headError };
    } else if (head === undefined && scan.height > 1) {
      damage = {
        kind: "head_unreadable",
        message:
          `The acknowledged head "${paths.head}" is missing but the journal holds ${scan.height} entries`,
      };
    }
    if (damage === undefined) {
      return { repaired: false, height: scan.height, unusableSnapshots: [] };
    }
    const report: RepairReport = { repaired: true, damage, height: scan.height, unusableSnapshots: [] };
    if (damage.kind === "torn_tail") {
      // A crash mid-write, never acknowledged: cut like any writer cuts it (the bytes kept in quarantine).
      const journal = await FsJournal.open(paths.journal, {
        truncateTornTail: true,
        quarantineDir: paths.quarantine,
        ...(head === undefined ? {} : { acknowledgedHeight: head.height }),
      });
      journal.close();
      if (journal.tornTail !== undefined) report.tornTail = journal.tornTail;
    } else {
      const folder = await repairFolder(paths.quarantine, cutAt?.seq ?? scan.height);
      let cut: QuarantineCut | undefined;
      let lastKnown = Math.max(acknowledged, scan.height) - 1;
      if (cutAt !== undefined) {
        const later = await lastSeqFrom(paths.journal, cutAt);
        if (later !== undefined) lastKnown = Math.max(lastKnown, later);
        cut = await quarantineFrom(paths.journal, cutAt, folder);
      } else {
        await makeDirDurable(folder);
      }
      const moved = [...(cut?.moved ?? [])];
      if (await exists(paths.head)) {
        await Deno.rename(paths.head, `${folder}/head`);
        syncDirectory(folder);
        syncDirectory(paths.aos);
        moved.push("head");
      }
      report.quarantine = { folder: folder.slice(dir.length + 1), moved };
      // The new end of the journal becomes the acknowledged head.
      const journal = await FsJournal.open(paths.journal);
      const ends = { height: journal.height, hash: journal.lastHash };
      journal.close();
      // Only height and hash: opening recounts the inbox position and the failures from the journal.
      await new FileHeadStore(paths.head).write(ends);
      if (lastKnown >= ends.height) report.lost = { from: ends.height, to: lastKnown };
    }
    // Opening restores the latest valid snapshot at or before the damage and replays what is intact.
    const world = await World.open(dir, { clock });
    try {
      report.height = world.height;
      if (report.lost !== undefined) {
        // An incomplete last block was completed on open: its derived entries are back, not lost.
        if (world.height > report.lost.to) delete report.lost;
        else report.lost.from = world.height;
      }
      if (world.lastSnapshot !== undefined) {
        report.restoredFrom = { height: world.lastSnapshot.height, hash: world.lastSnapshot.hash };
      }
      report.unusableSnapshots = world.unusableSnapshots.map((s) => s.height);
    } finally {
      world.close();
    }
    return report;
  } finally {
    lock.release();
  }
}
