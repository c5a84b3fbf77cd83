/**
 * The world driver (KERNEL §2.7): the only async, I/O-doing part of the kernel. It admits inputs in
 * arrival order, appends them, runs the pure kernel to idle, fsyncs once per batch (group commit),
 * takes snapshots and reopens a world from its latest snapshot plus the journal tail.
 *
 * @module
 */
import { type CborValue, toHex } from "../air/cbor.ts";
import { AosError, assert } from "../air/errors.ts";
import { bytesToHashRef, type HashRef, hashRefToBytes } from "../air/hash.ts";
import type { JsonValue } from "../air/json.ts";
import { limits } from "../air/limits.ts";
import { decodeTyped, encodeTyped } from "../air/typed_codec.ts";
import { valueFromJson, valueToPlainJson } from "../air/value_json.ts";
import { FsCas } from "../journal/cas.ts";
import type { Cas } from "../journal/cas.ts";
import { FsJournal, type Journal, type JournalEntry } from "../journal/mod.ts";
import type { Clock } from "./clock.ts";
import { checkHead, readHead, writeHead } from "./head.ts";
import { loadDefs } from "./defs.ts";
import { type DerivedRecord, Kernel, type KernelRecord, type WorldDefs } from "./kernel.ts";
import { Inbox, type Inbox as InboxType, type InboxEvent } from "./inbox.ts";
import { type Divergence, replayInto } from "./replay.ts";
import { ReducerHost } from "./reducer_host.ts";

/** Paths of a world's files (AIR §19). */
export function worldPaths(dir: string) {
  const aos = `${dir}/.aos`;
  return {
    root: dir,
    aos,
    air: `${dir}/air`,
    modules: `${dir}/modules`,
    store: `${aos}/store`,
    journal: `${aos}/journal`,
    inbox: `${aos}/inbox`,
    manifestCbor: `${aos}/manifest.air.cbor`,
    manifestJson: `${aos}/manifest.json`,
    head: `${aos}/head`,
  };
}

/** An external event as given by a user: schema name and plain (or tagged) JSON value. */
export interface EventInput {
  schema: string;
  value: JsonValue;
  key?: JsonValue;
}

/** What one `step` did. */
export interface StepReport {
  admitted: number;
  heightBefore: number;
  height: number;
  entries: Array<{ seq: number; kind: string }>;
  reducerErrors: Array<{ seq: number; reducer: string; eventSeq: number; code: string; message: string }>;
  snapshot?: { height: number; hash: HashRef };
}

/** Options for opening or creating a world. */
export interface WorldOptions {
  clock: Clock;
  /** Entries between automatic snapshots (default `limits.snapshotIntervalEntries`). */
  snapshotIntervalEntries?: number;
  /** Segment size of the journal (tests use small ones). */
  segmentSizeBytesMax?: number;
}

const INBOX_SOURCE = /^inbox:(\d+):(\d+)$/;

/** A world on disk with its live kernel. */
export class World {
  readonly dir: string;
  readonly cas: Cas;
  readonly journal: Journal;
  readonly defs: WorldDefs;
  readonly inbox: InboxType;
  readonly #clock: Clock;
  readonly #snapshotInterval: number;
  #kernel: Kernel;
  #lastSnapshot: { height: number; hash: HashRef } | undefined;
  /** The last inbox event journaled, as (batch, index); events are admitted one block at a time. */
  #lastAdmitted: InboxPosition;

  private constructor(
    dir: string,
    cas: Cas,
    journal: Journal,
    defs: WorldDefs,
    kernel: Kernel,
    options: WorldOptions,
    lastSnapshot: { height: number; hash: HashRef } | undefined,
    lastAdmitted: InboxPosition,
  ) {
    this.dir = dir;
    this.cas = cas;
    this.journal = journal;
    this.defs = defs;
    this.#kernel = kernel;
    this.#clock = options.clock;
    this.#snapshotInterval = options.snapshotIntervalEntries ?? limits.snapshotIntervalEntries;
    this.#lastSnapshot = lastSnapshot;
    this.#lastAdmitted = lastAdmitted;
    this.inbox = new Inbox(worldPaths(dir).inbox);
  }

  /** The live kernel (read-only use). */
  get kernel(): Kernel {
    return this.#kernel;
  }

  /** Number of journal entries. */
  get height(): number {
    return this.journal.height;
  }

  /** The latest snapshot, if any. */
  get lastSnapshot(): { height: number; hash: HashRef } | undefined {
    return this.#lastSnapshot;
  }

  /**
   * Creates the `.aos/` of a world whose manifest and nodes are already stored in `cas`, journals
   * genesis and fsyncs it.
   */
  static async create(dir: string, manifestHash: HashRef, options: WorldOptions): Promise<World> {
    const paths = worldPaths(dir);
    const cas = new FsCas(paths.store);
    const host = new ReducerHost();
    const defs = await loadDefs(cas, manifestHash, host);
    const journal = await FsJournal.open(paths.journal, {
      create: true,
      ...(options.segmentSizeBytesMax === undefined
        ? {}
        : { segmentSizeBytesMax: options.segmentSizeBytesMax }),
    });
    assert(journal.height === 0, "a new journal is empty");
    const kernel = new Kernel(defs, host);
    const [genesis] = journal.append([{
      kind: "genesis",
      body: { manifest_hash: hashRefToBytes(manifestHash), ingress_ns: options.clock.nowNs() },
    }]);
    kernel.apply(genesis!);
    await journal.sync();
    await writeHead(paths.head, { height: journal.height, hash: journal.lastHash });
    return new World(dir, cas, journal, defs, kernel, options, undefined, { batch: 0, index: -1 });
  }

  /**
   * Opens a world: validates the whole journal (frames, CRCs, hash chain), restores the latest snapshot
   * and replays the tail, checking every derived entry (KERNEL §8.5). Refuses to open on divergence.
   */
  static async open(dir: string, options: WorldOptions): Promise<World> {
    const paths = worldPaths(dir);
    const cas = new FsCas(paths.store);
    const journal = await FsJournal.open(paths.journal, {
      ...(options.segmentSizeBytesMax === undefined
        ? {}
        : { segmentSizeBytesMax: options.segmentSizeBytesMax }),
    });
    const entries = [...journal.entries()];
    checkHead(entries, await readHead(paths.head));
    const genesis = entries[0];
    if (!genesis || genesis.kind !== "genesis") {
      throw new AosError("AOS_JOURNAL_CORRUPT", `World "${dir}" has no genesis entry`);
    }
    const manifestHash = bytesToHashRef(genesis.body.manifest_hash as Uint8Array);
    const host = new ReducerHost();
    const defs = await loadDefs(cas, manifestHash, host);
    const { kernel, from, lastSnapshot } = await restoreLatest(entries, cas, defs, host);
    const divergence = replayInto(kernel, entries.slice(from));
    if (divergence?.incompleteBlock) {
      // A crash cut the last block short; its derived entries are deterministic and none of its intents
      // were dispatched, so re-running its input completes it (KERNEL §8.5).
      journal.append(divergence.incompleteBlock.map(({ kind, body }) => ({ kind, body })));
      await journal.sync();
      await writeHead(paths.head, { height: journal.height, hash: journal.lastHash });
    } else if (divergence) {
      throw divergenceError(divergence);
    }
    return new World(dir, cas, journal, defs, kernel, options, lastSnapshot, lastAdmittedPosition(entries));
  }

  /** Validates an external event against the manifest and returns its canonical form. */
  encodeEvent(input: EventInput, where = ""): InboxEvent {
    const schema = input.schema;
    const listed = this.defs.manifest.schemas.some((ref) => ref.name === schema);
    if (!listed || schema.startsWith("sys/")) {
      throw new AosError(
        "AOS_SCHEMA_UNKNOWN",
        `${where}Unknown event schema "${schema}": not in the manifest`,
      );
    }
    if (input.key !== undefined) {
      throw new AosError(
        "AOS_TYPE_MISMATCH",
        `${where}Event "${schema}" has a key, but keyed routes are not enabled`,
      );
    }
    try {
      const value = valueFromJson({ ref: schema }, input.value, this.defs.schemas);
      return { schema, value: encodeTyped({ ref: schema }, value, this.defs.schemas) };
    } catch (error) {
      if (error instanceof AosError) {
        throw new AosError(error.code, `${where}${error.message}`, { cause: error, context: error.context });
      }
      throw error;
    }
  }

  /** Validates every event, then queues them durably as one inbox batch (nothing is journaled). */
  async enqueue(events: EventInput[]): Promise<number> {
    const encoded = events.map((e) => this.encodeEvent(e));
    return await this.inbox.add(encoded, this.#lastAdmitted.batch);
  }

  /**
   * Admits queued inbox batches in arrival order, one block per event, with one fsync for the whole
   * batch (group commit). Removes admitted inbox files only after the fsync.
   */
  async step(): Promise<StepReport> {
    const last = this.#lastAdmitted;
    const listed = await this.inbox.list();
    const batches = listed.filter((b) => b.batch >= last.batch);
    const items: Array<{ event: InboxEvent; source: string; position: InboxPosition }> = [];
    for (const b of batches) {
      b.events.forEach((event, index) => {
        // A crash between journaling part of a batch and removing its file must not admit anything twice.
        if (b.batch === last.batch && index <= last.index) return;
        items.push({ event, source: `inbox:${b.batch}:${index}`, position: { batch: b.batch, index } });
      });
    }
    const report = await this.#admit(items);
    const final = items[items.length - 1];
    if (final) this.#lastAdmitted = final.position;
    // Files whose events are all journaled (and fsynced by #admit) are done.
    await this.inbox.remove(listed.filter((b) => b.batch <= this.#lastAdmitted.batch));
    return report;
  }

  /** Library entry: validates and admits events directly (no inbox), fsyncing once. */
  async send(events: EventInput[]): Promise<StepReport> {
    const items = events.map((e) => ({ event: this.encodeEvent(e), source: "api" }));
    return await this.#admit(items);
  }

  async #admit(items: Array<{ event: InboxEvent; source: string }>): Promise<StepReport> {
    const heightBefore = this.journal.height;
    const report: StepReport = {
      admitted: 0,
      heightBefore,
      height: heightBefore,
      entries: [],
      reducerErrors: [],
    };
    // Re-check every event against the live manifest before journaling any (the inbox may predate a
    // change): a bad one after good ones would leave those journaled while their batch stays queued.
    for (const { event } of items) decodeTyped({ ref: event.schema }, event.value, this.defs.schemas);
    for (const { event, source } of items) {
      const ingressNs = maxBigint(this.#clock.nowNs(), this.#kernel.nowNs);
      const input: KernelRecord = {
        kind: "domain_event",
        body: {
          schema: event.schema,
          value: event.value,
          origin: { kind: "external", source },
          ingress_ns: ingressNs,
        },
      };
      const [entry] = this.journal.append([input]);
      const derived = this.#kernel.apply(entry!);
      this.#appendDerived(derived, report);
      report.entries.push({ seq: entry!.seq, kind: entry!.kind });
      report.admitted++;
    }
    report.entries.sort((a, b) => a.seq - b.seq);
    await this.#sync();
    if (this.journal.height - (this.#lastSnapshot?.height ?? 0) >= this.#snapshotInterval) {
      report.snapshot = await this.snapshot();
    }
    report.height = this.journal.height;
    return report;
  }

  #appendDerived(derived: DerivedRecord[], report: StepReport): void {
    if (derived.length === 0) return;
    const appended = this.journal.append(derived.map(({ kind, body }) => ({ kind, body })));
    appended.forEach((entry, i) => {
      assert(entry.seq === derived[i]!.seq, `journal seq ${entry.seq} equals kernel seq ${derived[i]!.seq}`);
      report.entries.push({ seq: entry.seq, kind: entry.kind });
      if (entry.kind === "reducer_error") {
        report.reducerErrors.push({
          seq: entry.seq,
          reducer: String(entry.body.reducer),
          eventSeq: Number(entry.body.event_seq),
          code: String(entry.body.code),
          message: String(entry.body.message),
        });
      }
    });
  }

  /** Fsyncs the journal, then records the acknowledged head. */
  async #sync(): Promise<void> {
    await this.journal.sync();
    await writeHead(worldPaths(this.dir).head, { height: this.journal.height, hash: this.journal.lastHash });
  }

  /** Takes a snapshot now (the kernel is idle between blocks), stores it and journals the marker. */
  async snapshot(): Promise<{ height: number; hash: HashRef }> {
    const bytes = this.#kernel.snapshot();
    const hash = await this.cas.put("blobs", bytes);
    const [marker] = this.journal.append([{
      kind: "snapshot",
      body: { height: this.journal.height, snapshot_hash: hashRefToBytes(hash) },
    }]);
    this.#kernel.apply(marker!);
    await this.#sync();
    this.#lastSnapshot = { height: marker!.seq, hash };
    return this.#lastSnapshot;
  }

  /** The plain JSON form of a reducer's state, or null when it has none. */
  stateJson(reducer: string): JsonValue {
    const module = this.defs.modules.get(reducer);
    if (!module) {
      const known = [...this.defs.modules.keys()].sort().join(", ");
      throw new AosError(
        "AOS_REDUCER_UNKNOWN",
        `Unknown reducer "${reducer}": the manifest has ${known || "none"}`,
      );
    }
    const bytes = this.#kernel.reducerState(reducer);
    if (bytes === null) return null;
    const type = { ref: module.abi.reducer.state };
    return valueToPlainJson(type, decodeTyped(type, bytes, this.defs.schemas), this.defs.schemas);
  }

  /** Count of `reducer_error` entries in the journal. */
  failureCount(): number {
    let n = 0;
    for (const e of this.journal.entries()) if (e.kind === "reducer_error") n++;
    return n;
  }

  /** Events waiting in the inbox. */
  async pendingInbox(): Promise<number> {
    const last = this.#lastAdmitted;
    let n = 0;
    for (const b of await this.inbox.list()) {
      if (b.batch > last.batch) n += b.events.length;
      else if (b.batch === last.batch) n += Math.max(0, b.events.length - last.index - 1);
    }
    return n;
  }

  /** Closes the journal. */
  close(): void {
    this.journal.close();
  }
}

function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A position in the inbox: batch number and event index within it. */
interface InboxPosition {
  batch: number;
  index: number;
}

function lastAdmittedPosition(entries: readonly JournalEntry[]): InboxPosition {
  let last: InboxPosition = { batch: 0, index: -1 };
  for (const e of entries) {
    if (e.kind !== "domain_event") continue;
    const source = (e.body.origin as { source?: CborValue } | undefined)?.source;
    const m = typeof source === "string" ? INBOX_SOURCE.exec(source) : null;
    if (!m) continue;
    const at = { batch: Number(m[1]), index: Number(m[2]) };
    if (at.batch > last.batch || (at.batch === last.batch && at.index > last.index)) last = at;
  }
  return last;
}

/**
 * Builds a kernel from the latest snapshot in `entries` (or from scratch when there is none).
 * Returns it with the index of the first entry still to replay.
 */
export async function restoreLatest(
  entries: readonly JournalEntry[],
  cas: Cas,
  defs: WorldDefs,
  host: ReducerHost,
): Promise<{ kernel: Kernel; from: number; lastSnapshot?: { height: number; hash: HashRef } }> {
  for (let i = entries.length - 1; i > 0; i--) {
    const e = entries[i]!;
    if (e.kind !== "snapshot") continue;
    const hash = bytesToHashRef(e.body.snapshot_hash as Uint8Array);
    const kernel = Kernel.restore(defs, host, await cas.get("blobs", hash));
    if (kernel.height !== e.seq) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Snapshot at seq ${e.seq} claims height ${kernel.height}`, {
        context: { seq: e.seq },
      });
    }
    return { kernel, from: i, lastSnapshot: { height: e.seq, hash } };
  }
  return { kernel: new Kernel(defs, host), from: 0 };
}

/** The error for a replay divergence, naming the seq and reducer. */
export function divergenceError(d: Divergence): AosError {
  const who = d.reducer ? ` (reducer ${d.reducer})` : "";
  return new AosError("AOS_REPLAY_DIVERGED", `Replay diverged at seq ${d.seq}${who}: ${d.message}`, {
    context: { seq: d.seq, ...(d.reducer ? { reducer: d.reducer } : {}) },
  });
}

/** Hex helper re-exported for the CLI's displays. */
export { toHex };
