/**
 * Rebuilding a live kernel from a journal: the latest snapshot (or genesis) plus the tail, and where the
 * inbox was when the journal ends.
 *
 * @module
 */
import { AosError, bytesToHashRef, type HashRef } from "../air/mod.ts";
import { type Cas, type EntryBodies, isRecord, type Journal, type JournalEntry } from "../journal/mod.ts";
import { type Divergence, isGovernanceInput, Kernel, type KernelEntry, replayInto } from "../kernel/mod.ts";
import type { ControlPlaneLibrary } from "./content.ts";

/** A kernel restored from a journal, and the seq to replay from. */
export interface Restored {
  kernel: Kernel;
  /** The first seq still to replay (the snapshot marker's seq, or 0). */
  fromSeq: number;
  lastSnapshot?: { height: number; hash: HashRef };
}

/** The genesis entry of a journal and the manifest it names; `AOS_JOURNAL_CORRUPT` when there is none. */
export function genesisOf(journal: Pick<Journal, "entries">, where: string): { manifestHash: HashRef } {
  const [genesis] = journal.entries(0);
  if (!genesis || genesis.seq !== 0 || !isRecord(genesis, "genesis")) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `${where} does not start with a genesis entry`, {
      context: { seq: 0 },
    });
  }
  return { manifestHash: bytesToHashRef(genesis.body.manifest_hash) };
}

/**
 * Builds a kernel from the latest snapshot in the journal, on the manifest in force when it was taken (and
 * the manifests its running plans pinned), or from genesis on the genesis manifest when there is none.
 * Returns it with the seq of the first entry still to replay ({@linkcode replayWithContent}).
 */
export async function restoreLatest(
  journal: Pick<Journal, "entries">,
  cas: Cas,
  library: ControlPlaneLibrary,
): Promise<Restored> {
  let latest: (JournalEntry & { body: EntryBodies["snapshot"] }) | undefined;
  for (const entry of journal.entries(0)) if (isRecord(entry, "snapshot") && entry.seq > 0) latest = entry;
  if (latest === undefined) {
    const defs = await library.loadDefs(genesisOf(journal, "The journal").manifestHash);
    return { kernel: new Kernel(defs, library.host, library), fromSeq: 0 };
  }
  const hash = bytesToHashRef(latest.body.snapshot_hash);
  const bytes = await cas.get("blobs", hash);
  const manifests = Kernel.snapshotManifests(bytes);
  const defs = await library.loadDefs(manifests.manifestHash);
  for (const pinned of manifests.pinned) await library.loadDefs(pinned);
  const kernel = Kernel.restore(defs, library.host, bytes, library);
  if (kernel.height !== latest.seq) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Snapshot at seq ${latest.seq} claims height ${kernel.height}`,
      { context: { seq: latest.seq } },
    );
  }
  return { kernel, fromSeq: latest.seq, lastSnapshot: { height: latest.seq, hash } };
}

/**
 * Replays `entries` through `kernel` like {@linkcode replayInto}, loading into `library` what each
 * governance input needs (its patch, the manifest it applies) just before the kernel meets it: replay from
 * genesis switches to every applied manifest where the journal applied it.
 */
export async function replayWithContent(
  kernel: Kernel,
  entries: readonly KernelEntry[],
  library: ControlPlaneLibrary,
): Promise<Divergence | undefined> {
  let start = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (!isGovernanceInput(entry.kind)) continue;
    const divergence = replayInto(kernel, entries.slice(start, i));
    if (divergence) return divergence;
    start = i;
    if (entry.seq === kernel.height) await library.prepare(kernel.contentNeeds(entry));
  }
  return replayInto(kernel, entries.slice(start));
}

/** A position in the inbox: batch number and event index within it. */
export interface InboxPosition {
  batch: number;
  index: number;
}

const INBOX_SOURCE = /^inbox:(\d+):(\d+)$/;

/** The `origin.source` of an event admitted from the inbox. */
export function inboxSource(position: InboxPosition): string {
  return `inbox:${position.batch}:${position.index}`;
}

/** The last inbox event the journal admitted (batch 0, index -1 when none). */
export function lastAdmittedPosition(journal: Pick<Journal, "entries">): InboxPosition {
  let last: InboxPosition = { batch: 0, index: -1 };
  for (const e of journal.entries(0)) {
    if (!isRecord(e, "domain_event") || e.body.origin.kind !== "external") continue;
    const source = e.body.origin.source;
    const m = source === undefined ? null : INBOX_SOURCE.exec(source);
    if (!m) continue;
    const at = { batch: Number(m[1]), index: Number(m[2]) };
    if (at.batch > last.batch || (at.batch === last.batch && at.index > last.index)) last = at;
  }
  return last;
}

/** The error for a replay divergence, naming the seq and reducer. */
export function divergenceError(d: Divergence): AosError {
  const who = d.reducer ? ` (reducer ${d.reducer})` : "";
  return new AosError("AOS_REPLAY_DIVERGED", `Replay diverged at seq ${d.seq}${who}: ${d.message}`, {
    context: { seq: d.seq, ...(d.reducer ? { reducer: d.reducer } : {}) },
  });
}
