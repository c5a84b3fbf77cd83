/**
 * The world driver (KERNEL §2.7): the only async, I/O-doing owner of a live kernel. It admits inputs in
 * arrival order, appends them, runs the pure kernel to idle, fsyncs once per batch (group commit), takes
 * snapshots and reopens a world from its latest snapshot plus the journal tail. Everything it touches is a
 * port ({@linkcode WorldPorts}): a journal, a store, a clock, a head, an inbox, a receipt drop box and the
 * adapters; {@linkcode World.open} wires the file ports of a world folder, {@linkcode World.openOn} takes
 * any (in-memory ones for forks and simulation).
 *
 * @module
 */
import {
  AosError,
  assert,
  bytesEqual,
  bytesToHashRef,
  type CborValue,
  decodeTyped,
  type HashRef,
  hashRefToBytes,
  type JsonValue,
  limits,
  refType,
  type SecretRef,
} from "../air/mod.ts";
import {
  type Cas,
  domainEventRecord,
  firstHeldSeq,
  isRecord,
  type Journal,
  type JournalEntry,
  journalRecord,
  MemoryCas,
  MemoryJournal,
  preloadJournal,
} from "../journal/mod.ts";
import { lockWorld, type TornTail, type WorldLock } from "../journal/mod.ts";
import { worldPaths } from "./paths.ts";
import {
  type AdapterDirectory,
  type ApplyContext,
  type Clock,
  type DerivedRecord,
  Kernel,
  type KernelRecord,
  type Receipt,
  type ReceiptRejection,
  signedReceiptMap,
  type WorldDefs,
} from "../kernel/mod.ts";
import { ControlPlaneLibrary } from "./content.ts";
import { EventCodec, type EventInput } from "./event_codec.ts";
import { openFilePorts, type StoreLock, type WorldFileOptions } from "./file_ports.ts";
import { checkHead, FileHeadStore, type HeadStore, MemoryHeadStore, requireHead } from "./head.ts";
import { type InboxBatch, type InboxEvent, type InboxStore, MemoryInbox } from "./inbox.ts";
import { MemoryReceiptDropBox, type ReceiptDropBox } from "./receipt_inbox.ts";
import {
  countFailures,
  divergenceError,
  genesisOf,
  type InboxPosition,
  inboxPositionOf,
  inboxSource,
  isAfter,
  NO_INBOX_POSITION,
  replayWithContent,
  restoreLatest,
  tallyJournal,
  type UnusableSnapshot,
} from "./restore.ts";
import { planCancelRecord, planStartRecord } from "./plan_inputs.ts";
import { runWorld } from "./run_loop.ts";
import { receiptRejection } from "./receipt_admission.ts";
import { checkJournalable, INGRESS_NS_WORST } from "./input_size.ts";
import { EnvSecretResolver, secretAccess, type SecretResolver } from "./secrets.ts";

export type { EventInput } from "./event_codec.ts";

/** What one `step` did. */
export interface StepReport {
  admitted: number;
  heightBefore: number;
  height: number;
  entries: Array<{ seq: number; kind: string }>;
  reducerErrors: Array<{ seq: number; reducer: string; eventSeq: number; code: string; message: string }>;
  snapshot?: { height: number; hash: HashRef };
  /** Inbox events left queued by `step` (it admits at most `limits.inboxBatchMax` per call). */
  remaining?: number;
  /** Inbox files `step` could not admit: journaled as `inbox_quarantined` and moved to `movedTo`. */
  quarantined?: Array<{ seq: number; file: string; reason: string; movedTo: string }>;
  /** The schemas of the external events admitted, each once, in the order first admitted. */
  eventSchemas?: string[];
}

/** What `admitReceipts` did with each receipt. */
export interface ReceiptReport extends StepReport {
  outcomes: Array<{ intentHash: HashRef; adapterId: string; ignored?: ReceiptRejection }>;
}

/** What `rollback` did. */
export interface RollbackReport {
  /** Seq of the `rollback` entry. */
  seq: number;
  toHeight: number;
  snapshotHash: HashRef;
  /** The generation from now on. */
  generation: bigint;
  /** The entries abandoned (kept in the journal for audit): after the snapshot marker, before the rollback. */
  abandoned?: { from: number; to: number };
  height: number;
}

/** What `run` did. */
export interface RunReport {
  steps: StepReport[];
  receipts: number;
  ignored: number;
  dispatched: number;
  /** True when it stopped because nothing was left to do (not at the deadline). */
  idle: boolean;
  /** Intents no adapter is registered for (they stay in the outbox). */
  undispatchable: Array<{ intentHash: HashRef; kind: string }>;
}

/** The ports a world runs on. Only the journal, the store and the clock are required. */
export interface WorldPorts {
  journal: Journal;
  cas: Cas;
  clock: Clock;
  /** The acknowledged head (default: in memory). */
  head?: HeadStore;
  /** The durable inbox of `enqueue`/`step` (default: in memory). */
  inbox?: InboxStore;
  /** Receipts delivered from outside, and the adapter keys (default: in memory, empty). */
  receipts?: ReceiptDropBox;
  /** Adapters `run` dispatches to when it is given none. */
  adapters?: AdapterDirectory;
  /** Resolves defsecret bindings at dispatch (default: {@linkcode EnvSecretResolver}, `env:NAME`). */
  secrets?: SecretResolver;
}

/** Options for opening or creating a world on ports. */
export interface WorldRunOptions {
  /** Entries between automatic snapshots (default `limits.snapshotIntervalEntries`). */
  snapshotIntervalEntries?: number;
  /**
   * Open to read only: nothing is appended or written (an incomplete last block is completed in memory
   * only; on file ports the journal is opened read-only and a torn tail is reported, not cut).
   */
  readOnly?: boolean;
  /**
   * At creation: the world's id, journaled in genesis and mixed into every idempotency key. Default: 16
   * bytes from `random`. `null`: none (the keys of worlds created before ids existed).
   */
  worldId?: Uint8Array | null;
  /** At creation: the random source of the default `worldId` (default: `crypto.getRandomValues`). */
  random?: (length: number) => Uint8Array;
}

/** The index of a batch's first event not yet admitted, when `last` is the last one admitted. */
function firstUnadmitted(batch: InboxBatch, last: InboxPosition): number {
  return batch.batch === last.batch ? last.index + 1 : 0;
}

/**
 * Inside one step, a snapshot is taken every this many times `snapshotIntervalEntries` entries and this many
 * times the journal bytes the end of a step waits for (see `#snapshotDue`).
 */
export const STEP_SNAPSHOT_FACTOR = 10;

/**
 * The most bytes automatic snapshots write per byte journaled since the one before (beyond the entry
 * interval): 2 keeps a large state's snapshots to a bounded share of a step's cost, and the tail an open
 * replays to half a snapshot's bytes (a replayed byte costs several times a restored one).
 */
export const SNAPSHOT_WRITE_AMPLIFICATION_MAX = 2;

/** Length of a generated world id. */
export const WORLD_ID_BYTES = 16;

/** Options for opening or creating a world folder. */
export interface WorldOptions extends WorldRunOptions, WorldFileOptions {
  clock: Clock;
  /** Resolves defsecret bindings at dispatch (default: {@linkcode EnvSecretResolver}). */
  secrets?: SecretResolver;
}

/** A world on the file ports of a folder (what {@linkcode World.open} and {@linkcode World.create} return). */
export type FileWorld = World & { readonly dir: string };

/** Everything a world holds besides its kernel; the parts that stay when the kernel is replaced. */
interface WorldParts {
  ports: Required<Omit<WorldPorts, "adapters">> & Pick<WorldPorts, "adapters">;
  /** Control planes, patches and nodes loaded from the store; the kernel's content and reducer host. */
  library: ControlPlaneLibrary;
  dir: string | undefined;
  lock: WorldLock | undefined;
  snapshotInterval: number;
}

/** A live world: its kernel and the ports it journals to. */
export class World {
  /** The world folder, for a world on file ports; undefined on other ports. */
  readonly dir: string | undefined;
  readonly cas: Cas;
  readonly journal: Journal;
  readonly inbox: InboxStore;
  readonly receiptInbox: ReceiptDropBox;
  /** Control planes, patch documents and nodes loaded from the store (what governance inputs need). */
  readonly library: ControlPlaneLibrary;
  #codec: EventCodec;
  readonly #ports: WorldParts["ports"];
  #lock: WorldLock | undefined;
  /** True between {@linkcode releaseLock} and {@linkcode relock}. */
  #unlocked = false;
  #released: Promise<void> = Promise.resolve();
  readonly #snapshotInterval: number;
  #kernel: Kernel;
  #lastSnapshot: { height: number; hash: HashRef } | undefined;
  #unusableSnapshots: readonly UnusableSnapshot[] = [];
  #tornTail: TornTail | undefined;
  #incompleteBlock: number | undefined;
  /** The last inbox event journaled; events are admitted one block at a time. Recorded in the head. */
  #lastAdmitted: InboxPosition;
  /** What the kernel may ask while it applies a live input: blob sizes from the store (KERNEL §7). */
  readonly #applyContext: ApplyContext = {
    blobSize: (blob) => {
      const size = this.cas.sizeOf("blobs", bytesToHashRef(blob));
      return size === undefined ? undefined : BigInt(size);
    },
  };
  /**
   * Count of `reducer_error` entries in the journal, kept as they are appended and recorded in the head;
   * undefined until counted for a world whose head predates it.
   */
  #failures: number | undefined;

  private constructor(
    parts: WorldParts,
    kernel: Kernel,
    lastSnapshot: { height: number; hash: HashRef } | undefined,
    lastAdmitted: InboxPosition,
    failures: number | undefined,
  ) {
    this.dir = parts.dir;
    this.#ports = parts.ports;
    this.cas = parts.ports.cas;
    this.journal = parts.ports.journal;
    this.inbox = parts.ports.inbox;
    this.receiptInbox = parts.ports.receipts;
    this.library = parts.library;
    this.#codec = new EventCodec(kernel.defs);
    this.#lock = parts.lock;
    this.#snapshotInterval = parts.snapshotInterval;
    this.#kernel = kernel;
    this.#lastSnapshot = lastSnapshot;
    this.#lastAdmitted = lastAdmitted;
    this.#failures = failures;
  }

  /** The control plane in force (it changes when a proposal is applied). */
  get defs(): WorldDefs {
    return this.#kernel.defs;
  }

  /** Encodes events and keys, decodes keys and states, for the control plane in force. */
  get codec(): EventCodec {
    if (this.#codec.defs !== this.#kernel.defs) this.#codec = new EventCodec(this.#kernel.defs);
    return this.#codec;
  }

  /** The live kernel (read-only use). */
  get kernel(): Kernel {
    return this.#kernel;
  }

  /** Number of journal entries. */
  get height(): number {
    return this.journal.height;
  }

  /** Snapshots newer than the one this world was restored from that could not be used (newest first). */
  get unusableSnapshots(): readonly UnusableSnapshot[] {
    return this.#unusableSnapshots;
  }

  /**
   * The torn last journal frame (a crash mid-write) this open found: cut off and kept in `.aos/quarantine/`
   * (`cut: true`), or, for a read-only open, skipped and left in place (`cut: false`).
   */
  get tornTail(): TornTail | undefined {
    return this.#tornTail;
  }

  /**
   * Derived entries a crash left unwritten at the end of the last block, which a read-only open completed
   * in memory only (a writer journals them on open): the kernel is that many entries past the journal.
   */
  get incompleteBlock(): number | undefined {
    return this.#incompleteBlock;
  }

  /** The latest snapshot, if any. */
  get lastSnapshot(): { height: number; hash: HashRef } | undefined {
    return this.#lastSnapshot;
  }

  /**
   * Creates the `.aos/` journal of a world folder whose manifest and nodes are already stored in its CAS
   * (or are stored by `manifest`, given the new world's CAS), journals genesis and fsyncs it.
   */
  static async create(
    dir: string,
    manifest: HashRef | ((cas: Cas) => Promise<HashRef>),
    options: WorldOptions,
  ): Promise<FileWorld> {
    const opened = await openFilePorts(dir, { ...options, create: true });
    try {
      const manifestHash = typeof manifest === "string" ? manifest : await manifest(opened.ports.cas);
      const ports = options.secrets ? { ...opened.ports, secrets: options.secrets } : opened.ports;
      return await World.#create(ports, manifestHash, options, dir, opened.lock) as FileWorld;
    } catch (error) {
      opened.close();
      throw error;
    }
  }

  /** Creates a world on `ports` (an empty journal) from a manifest already in `ports.cas`. */
  static async createOn(
    ports: WorldPorts,
    manifestHash: HashRef,
    options: WorldRunOptions = {},
  ): Promise<World> {
    return await World.#create(ports, manifestHash, options, undefined, undefined);
  }

  static async #create(
    ports: WorldPorts,
    manifestHash: HashRef,
    options: WorldRunOptions,
    dir: string | undefined,
    lock: WorldLock | undefined,
  ): Promise<World> {
    const parts = worldParts(ports, options, dir, lock);
    const journal = parts.ports.journal;
    if (journal.height !== 0) {
      throw new AosError(
        "AOS_WORLD_EXISTS",
        `Cannot create a world on a journal of ${journal.height} entries`,
      );
    }
    const defs = await parts.library.loadDefs(manifestHash);
    const kernel = new Kernel(defs, parts.library.host, parts.library);
    const random = options.random ?? ((length: number) => crypto.getRandomValues(new Uint8Array(length)));
    const worldId = options.worldId === undefined ? random(WORLD_ID_BYTES) : options.worldId;
    const [genesis] = journal.append([journalRecord("genesis", {
      manifest_hash: hashRefToBytes(manifestHash),
      ingress_ns: ports.clock.nowNs(),
      ...(worldId === null ? {} : { world_id: worldId }),
    })]);
    kernel.apply(genesis!);
    const world = new World(parts, kernel, undefined, { ...NO_INBOX_POSITION }, 0);
    await world.#sync();
    return world;
  }

  /**
   * Opens a world folder: takes its lock, checks the journal's tail and the acknowledged head, restores the
   * latest snapshot and replays the entries after it, checking every derived entry (KERNEL §8.5). Reads
   * only the end of the journal (genesis aside). Refuses to open on divergence.
   */
  static async open(dir: string, options: WorldOptions): Promise<FileWorld> {
    const opened = await openFilePorts(dir, options);
    try {
      const ports = options.secrets ? { ...opened.ports, secrets: options.secrets } : opened.ports;
      const world = await World.#open(ports, options, dir, opened.lock) as FileWorld;
      world.#tornTail = opened.tornTail;
      return world;
    } catch (error) {
      opened.close();
      throw error;
    }
  }

  /** Opens a world on `ports` whose journal holds at least its genesis entry. */
  static async openOn(ports: WorldPorts, options: WorldRunOptions = {}): Promise<World> {
    return await World.#open(ports, options, undefined, undefined);
  }

  static async #open(
    ports: WorldPorts,
    options: WorldRunOptions,
    dir: string | undefined,
    lock: WorldLock | undefined,
  ): Promise<World> {
    const where = dir === undefined ? "The journal" : `World "${dir}"`;
    const head = await (ports.head ?? new MemoryHeadStore()).read();
    if (ports.head instanceof FileHeadStore) requireHead(ports.journal.height, head, ports.head.path);
    checkHead(ports.journal, head);
    // A journal holding only its tail (on PostgreSQL) checks its genesis when the rest is preloaded.
    if (firstHeldSeq(ports.journal) === 0) genesisOf(ports.journal, where);
    const parts = worldParts(ports, options, dir, lock);
    const journal = parts.ports.journal;
    // The manifest in force: the latest snapshot names it; replay from there switches at every apply.
    const restored = await restoreLatest(journal, parts.ports.cas, parts.library);
    let tailBytes = 0;
    const tail = function* (): Generator<JournalEntry> {
      for (const entry of journal.entries(restored.fromSeq)) {
        tailBytes += entry.bytes.length;
        yield entry;
      }
    };
    const { kernel, divergence } = await replayWithContent(restored.kernel, tail(), parts.library);
    const complete = divergence?.incompleteBlock !== undefined && options.readOnly !== true;
    if (divergence?.incompleteBlock) {
      // A crash cut the last block short; its derived entries are deterministic and none of its intents
      // were dispatched, so re-running its input completes it (KERNEL §8.5). A reader completes it in
      // memory only (the kernel already holds it).
      if (complete) {
        const appended = journal.append(divergence.incompleteBlock.map(({ kind, body }) => ({ kind, body })));
        for (const entry of appended) tailBytes += entry.bytes.length;
      }
    } else if (divergence) {
      throw divergenceError(divergence);
    }
    // Without the inbox position or failure count in the head (a crash between a commit and recording
    // them), they are found in the whole journal: a journal holding only its tail fetches the rest first.
    if (head?.inbox === undefined || head.failures === undefined) await preloadJournal(journal, 0);
    const tally = tallyJournal(journal, head);
    const world = new World(
      parts,
      kernel,
      restored.lastSnapshot,
      tally.lastAdmitted,
      tally.failures,
    );
    world.#unusableSnapshots = restored.unusable ?? [];
    world.#lastSnapshotBytes = restored.snapshotBytes ?? 0;
    world.#bytesSinceSnapshot = tailBytes;
    if (divergence?.incompleteBlock && !complete) world.#incompleteBlock = divergence.incompleteBlock.length;
    if (complete) await world.#sync();
    return world;
  }

  /** Validates an external event against the manifest and returns its canonical form. */
  encodeEvent(input: EventInput, where = ""): InboxEvent {
    return this.codec.encodeEvent(input, where);
  }

  /** Encodes a cell key given as plain JSON for a keyed reducer (its `key_schema`, else its routes' field type). */
  encodeCellKey(reducer: string, key: JsonValue): Uint8Array {
    return this.codec.encodeCellKey(reducer, key);
  }

  /** True when the reducer is keyed (has cells). */
  isKeyed(reducer: string): boolean {
    return this.codec.keyType(reducer) !== undefined;
  }

  /** The plain JSON of a cell key of a keyed reducer. */
  cellKeyJson(reducer: string, key: Uint8Array): JsonValue {
    return this.codec.cellKeyJson(reducer, key);
  }

  /** Validates every event, then queues them durably as one inbox batch (nothing is journaled). */
  async enqueue(events: EventInput[]): Promise<number> {
    if (events.length > limits.inboxBatchMax) {
      throw new AosError(
        "AOS_INPUT_TOO_LARGE",
        `Cannot queue ${events.length} events in one batch: the limit is inboxBatchMax (${limits.inboxBatchMax})`,
      );
    }
    const encoded = events.map((e) => this.encodeEvent(e));
    encoded.forEach((event, i) =>
      checkEventSize(event, events.length === 1 ? "The event" : `Event ${i + 1}`)
    );
    return await this.inbox.add(encoded, this.#lastAdmitted.batch, this.defs.manifestHash);
  }

  /**
   * Admits queued inbox batches in arrival order, one block per event, with one fsync for the whole
   * batch (group commit). Removes admitted inbox files only after the fsync. Then admits receipts already
   * delivered to the drop box, with every admission check.
   */
  async step(): Promise<StepReport> {
    const last = this.#lastAdmitted;
    const { listed, poison, unread } = await this.#readQueued(last);
    // A file that cannot be admitted (unreadable, or an event the manifest refuses) would block every later
    // one forever: it is journaled as `inbox_quarantined` and moved aside first.
    const quarantined = await this.#quarantine(poison);
    const moved = new Set(quarantined?.batches);
    const batches = listed.filter((b) => b.batch >= last.batch && !moved.has(b));
    // Every event of these batches passed #batchProblem's checks (type under the live manifest, size).
    // At most inboxBatchMax events per step; the rest stay queued for the next one. The events are taken
    // from their batches as they are admitted, not gathered first: a step of many events holds no second
    // copy of them.
    // A crash between journaling part of a batch and removing its file must not admit anything twice.
    const firstIndex = (b: InboxBatch) => firstUnadmitted(b, last);
    const queued = batches.reduce((n, b) => n + Math.max(0, b.events.length - firstIndex(b)), 0);
    const admitting = Math.min(queued, limits.inboxBatchMax);
    const remaining = queued - admitting + unread;
    let final: InboxPosition | undefined;
    function* pending(): Generator<{ event: InboxEvent; source: string; position: InboxPosition }> {
      let taken = 0;
      for (const b of batches) {
        for (let index = firstIndex(b); index < b.events.length; index++) {
          if (taken++ === admitting) return;
          final = { batch: b.batch, index };
          yield { event: b.events[index]!, source: inboxSource(final), position: final };
        }
      }
    }
    const report = withQuarantined(await this.#admit(pending()), quarantined?.report);
    if (remaining > 0) report.remaining = remaining;
    if (final) this.#lastAdmitted = final;
    // Files whose events are all journaled (and fsynced by #admit) are done.
    const done = this.#lastAdmitted;
    await this.inbox.remove(
      listed.filter((b) =>
        !moved.has(b) &&
        (b.batch < done.batch || (b.batch === done.batch && done.index >= b.events.length - 1))
      ),
    );
    const dropped = await this.receiptInbox.list();
    if (dropped.length === 0) return report;
    const keys = await this.receiptInbox.registeredKeys();
    const kinds = await this.receiptInbox.registeredKinds();
    // A file that is not a receipt, or one too large to journal, is ignored as malformed.
    const receipts = dropped.map((d) => d.receipt && receiptFits(d.receipt) ? d.receipt : malformedReceipt());
    const admitted = await this.admitReceipts(receipts, {
      publicKeyOf: (id) => keys.get(id),
      kindsOf: (id) => kinds.get(id),
    });
    await this.receiptInbox.remove(dropped.map((d) => d.file));
    const snapshot = admitted.snapshot ?? report.snapshot;
    return {
      ...(remaining > 0 ? { remaining } : {}),
      ...(report.quarantined ? { quarantined: report.quarantined } : {}),
      ...(report.eventSchemas ? { eventSchemas: report.eventSchemas } : {}),
      admitted: report.admitted + admitted.admitted,
      heightBefore: report.heightBefore,
      height: admitted.height,
      entries: [...report.entries, ...admitted.entries],
      reducerErrors: [...report.reducerErrors, ...admitted.reducerErrors],
      ...(snapshot ? { snapshot } : {}),
    };
  }

  /**
   * The inbox batches a step reads, in arrival order, and those of them that cannot be admitted (`poison`):
   * a file that does not parse, or an event the manifest in force refuses or the journal cannot hold. Read
   * in full: batches before the last admitted one (admitted, their files not yet removed when a crash came),
   * then batches until they hold inboxBatchMax events still to admit, and any later one whose header does
   * not read as a batch's (quarantined now). The rest are left for later steps unread, so a step's cost
   * and memory do not grow with the queue: `unread` is their events, counted from their headers.
   */
  async #readQueued(last: InboxPosition): Promise<{
    listed: InboxBatch[];
    poison: Array<{ batch: InboxBatch; reason: string }>;
    unread: number;
  }> {
    const listed: InboxBatch[] = [];
    const poison: Array<{ batch: InboxBatch; reason: string }> = [];
    let wanted = 0;
    let unread = 0;
    for (const ref of await this.inbox.refs()) {
      if (ref.batch > last.batch && ref.count !== undefined && wanted >= limits.inboxBatchMax) {
        unread += ref.count;
        continue;
      }
      const batch = await this.inbox.read(ref);
      listed.push(batch);
      // An unreadable file is quarantined whatever its number; a readable one is checked if not yet admitted.
      const reason = batch.problem ??
        (batch.batch >= last.batch ? this.#batchProblem(batch, last) : undefined);
      if (reason !== undefined) poison.push({ batch, reason });
      else if (batch.batch >= last.batch) {
        wanted += Math.max(0, batch.events.length - firstUnadmitted(batch, last));
      }
    }
    return { listed, poison, unread };
  }

  /**
   * Journals one `inbox_quarantined` input for each `poison` batch (one fsync), then moves each out of the
   * inbox. A crash between the two journals it again next time (the file is still there): a duplicate
   * record, never a lost one. Undefined when there is none.
   */
  async #quarantine(
    poison: Array<{ batch: InboxBatch; reason: string }>,
  ): Promise<{ batches: InboxBatch[]; report: StepReport } | undefined> {
    if (poison.length === 0) return undefined;
    const name = (file: string) => file.slice(file.lastIndexOf("/") + 1);
    const report = await this.#admitInputs(
      poison.map(({ batch, reason }) => (ingressNs: bigint) =>
        journalRecord("inbox_quarantined", {
          file: name(batch.file),
          reason: reason.length > 1_024 ? `${reason.slice(0, 1_024)}…` : reason,
          ingress_ns: ingressNs,
        })
      ),
    );
    const quarantined: NonNullable<StepReport["quarantined"]> = [];
    for (const [i, { batch, reason }] of poison.entries()) {
      const movedTo = await this.inbox.quarantine(batch);
      quarantined.push({ seq: report.entries[i]!.seq, file: name(batch.file), reason, movedTo });
    }
    report.quarantined = quarantined;
    return { batches: poison.map((p) => p.batch), report };
  }

  /** Why an inbox batch cannot be admitted under the manifest in force, or undefined. */
  #batchProblem(batch: InboxBatch, last: InboxPosition): string | undefined {
    const validated = batch.validatedFor === this.defs.manifestHash;
    const events = batch.events;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      if (batch.batch === last.batch && index <= last.index) continue;
      try {
        if (!validated) decodeTyped(refType(event.schema), event.value, this.defs.schemas);
        checkEventSize(event, `events[${index}]`);
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        return `events[${index}] (${event.schema}): ${error.message}`;
      }
    }
    return undefined;
  }

  /** Library entry: validates and admits events directly (no inbox), fsyncing once. */
  async send(events: EventInput[]): Promise<StepReport> {
    const items = events.map((e) => ({ event: this.encodeEvent(e), source: "api" }));
    items.forEach(({ event }, i) => checkEventSize(event, `Event ${i + 1}`));
    return await this.#admit(items);
  }

  /**
   * Admits checked events: every one valid under the live manifest and small enough to journal (`send`
   * checks its events, `step` its inbox batches and quarantines those that fail), so nothing fails midway.
   */
  async #admit(
    items: Iterable<{ event: InboxEvent; source: string; position?: InboxPosition }>,
  ): Promise<StepReport> {
    const schemas = new Set<string>();
    // The inbox position of the item whose input was handed out last (its source says the same).
    let position: InboxPosition | undefined;
    function* inputs(): Generator<(ingressNs: bigint) => KernelRecord> {
      for (const item of items) {
        const { event, source } = item;
        schemas.add(event.schema);
        position = item.position;
        yield (ingressNs) => domainEventRecord(event, { kind: "external", source }, ingressNs);
      }
    }
    const report = await this.#admitInputs(inputs(), () => position);
    if (schemas.size > 0) report.eventSchemas = [...schemas];
    return report;
  }

  /**
   * Admits inputs one block each (the input, then the kernel runs to idle), with one fsync for all of
   * them (group commit); takes a snapshot when due. `admittedPosition` gives the inbox position of the input
   * just handed out, when the caller knows it (else it is read from the entry's origin).
   */
  async #admitInputs(
    inputs: Iterable<(ingressNs: bigint) => KernelRecord>,
    admittedPosition?: () => InboxPosition | undefined,
  ): Promise<StepReport> {
    const heightBefore = this.journal.height;
    const report: StepReport = {
      admitted: 0,
      heightBefore,
      height: heightBefore,
      entries: [],
      reducerErrors: [],
    };
    let sinceSend = 0;
    const sendAheadEvery = limits.sendAheadInputsEvery;
    // One clock read for the whole batch: its inputs are admitted together, at the time the batch started
    // (never before the kernel's own time, which only moves forward).
    const batchNs = this.#ports.clock.nowNs();
    for (const build of inputs) {
      // A store that can take entries before the commit gets them now and then (still unacknowledged).
      if (++sinceSend === sendAheadEvery && this.journal.sendAhead !== undefined) {
        sinceSend = 0;
        await this.journal.sendAhead();
      }
      const input = build(maxBigint(batchNs, this.#kernel.nowNs));
      const [entry] = this.journal.append([input]);
      this.#bytesSinceSnapshot += entry!.bytes.length; // #journaled, without an array per event
      const admitted = admittedPosition === undefined ? inboxPositionOf(entry!) : admittedPosition();
      if (admitted !== undefined && isAfter(admitted, this.#lastAdmitted)) this.#lastAdmitted = admitted;
      const derived = this.#kernel.apply(entry!, this.#applyContext);
      report.entries.push({ seq: entry!.seq, kind: entry!.kind });
      this.#appendDerived(derived, report);
      report.admitted++;
      // By cadence inside the step too, between blocks: a crash in a long step then reopens from a recent
      // snapshot, not from the one before the step (the snapshot fsyncs the blocks before it and the head
      // records their inbox position, so the rest of the step is admitted exactly once after a crash).
      // Inside a step the cadence is STEP_SNAPSHOT_FACTOR times longer: a snapshot costs O(state), and a
      // long step over a large state would otherwise spend most of its time taking them.
      if (this.#snapshotDue(STEP_SNAPSHOT_FACTOR)) report.snapshot = await this.#snapshotInStep();
    }
    // A snapshot due now goes out with the block's entries: its blob is stored (and fsynced) first, its marker
    // appended, and the one sync below makes the entries and the marker durable together.
    if (this.#snapshotDue(1)) report.snapshot = await this.#snapshot("caller");
    await this.#sync();
    report.height = this.journal.height;
    return report;
  }

  /**
   * Admits receipts (KERNEL §6.4): each is checked (adapter known, signature, then the kernel's outbox
   * checks) and journaled as `receipt_appended`, or as `receipt_ignored` with the reason. One fsync.
   */
  async admitReceipts(
    receipts: Receipt[],
    directory: Pick<AdapterDirectory, "publicKeyOf" | "kindsOf"> = this.#adapters(),
  ): Promise<ReceiptReport> {
    receipts.forEach((receipt, i) => checkReceiptSize(receipt, `Receipt ${i + 1}`));
    const outcomes: ReceiptReport["outcomes"] = [];
    const inputs = receipts.map((receipt) => (ingressNs: bigint): KernelRecord => {
      const reason = receiptRejection(receipt, directory, this.#kernel);
      outcomes.push({
        intentHash: receipt.intentHash?.length === 32
          ? bytesToHashRef(receipt.intentHash)
          : `sha256:${"0".repeat(64)}`,
        adapterId: typeof receipt.adapterId === "string" ? receipt.adapterId : "",
        ...(reason ? { ignored: reason } : {}),
      });
      if (reason) {
        const body: { [key: string]: CborValue } = { reason, ingress_ns: ingressNs };
        if (receipt.intentHash instanceof Uint8Array && receipt.intentHash.length === 32) {
          body.intent_hash = receipt.intentHash;
        }
        if (typeof receipt.adapterId === "string") body.adapter_id = receipt.adapterId;
        return { kind: "receipt_ignored", body };
      }
      const body: { [key: string]: CborValue } = { ...signedReceiptMap(receipt), ingress_ns: ingressNs };
      // A response body charged to a bytes budget is measured now and journaled with the receipt, so
      // replay settles the same amount whatever the store holds later (AIR §10.5).
      const measured = this.#kernel.measuredBlobOf(receipt);
      const size = measured && this.cas.sizeOf("blobs", bytesToHashRef(measured));
      if (size !== undefined) body.body_size = BigInt(size);
      return { kind: "receipt_appended", body };
    });
    const report = await this.#admitInputs(inputs);
    return { ...report, outcomes };
  }

  /**
   * Admits one governance input (KERNEL §10.2) as its own block, with its fsync, after loading what the
   * kernel needs to apply it (the patch it names, the manifest it applies) from the store. The caller
   * (`governance/`) checks that the transition is legal and stores the content the input names first.
   */
  async admitGovernance(build: (ingressNs: bigint) => KernelRecord): Promise<StepReport> {
    await this.library.prepare(this.#kernel.contentNeeds(build(this.#kernel.nowNs)));
    return await this.#admitInputs([build]);
  }

  /** Validates and admits a manual plan start (`plan_start_requested`); returns the new instance id. */
  async startPlan(
    plan: string,
    input: JsonValue,
    locals: { [name: string]: JsonValue } = {},
  ): Promise<{ instanceId: bigint; report: StepReport }> {
    const record = planStartRecord(this.defs, plan, input, locals);
    const instanceId = this.#kernel.plansNextId();
    return { instanceId, report: await this.#admitInputs([record]) };
  }

  /** Admits a plan cancellation (`plan_cancel_requested`). */
  async cancelPlan(instanceId: bigint, reason?: string): Promise<StepReport> {
    return await this.#admitInputs([planCancelRecord(this.#kernel, instanceId, reason)]);
  }

  /** Drives the world until idle (see {@linkcode runWorld}). */
  async run(
    directory: AdapterDirectory = this.#adapters(),
    options: { deadline?: Promise<void> } = {},
  ): Promise<RunReport> {
    return await runWorld(this, directory, options);
  }

  /**
   * What adapters read secrets with at dispatch: the value of a `sys/SecretRef@1` under the control plane
   * in force, through this world's {@linkcode SecretResolver}. The value never enters the world.
   */
  secretAccess(): (ref: SecretRef) => Promise<string> {
    return secretAccess(() => this.defs, this.#ports.secrets);
  }

  /**
   * Releases the world lock while the caller only waits (`aos run` between polls), so other processes can
   * queue events meanwhile. Nothing may be admitted until {@linkcode relock}. No-op for a world without a
   * lock (in-memory ports) and for a world on PostgreSQL (its lock lives on its one connection).
   */
  releaseLock(): void {
    if (this.#lock === undefined || this.dir === undefined) return;
    // A world on PostgreSQL keeps its advisory lock on the connection it reads and writes through, so it
    // cannot let go between polls: it keeps the lock (other writers wait, as for any step).
    if ("released" in this.#lock) return;
    this.#lock.release();
    this.#lock = undefined;
    this.#unlocked = true;
  }

  /**
   * Takes the lock released by {@linkcode releaseLock} again (waiting for another writer to finish). True
   * when no other process wrote the journal meanwhile (the acknowledged head on disk is still this world's
   * height and hash, and the journal's segment files are the sizes this world wrote): the world goes on.
   * False: another process appended something (or crashed while appending), so this in-memory world is
   * stale and must be closed and opened again (opening checks the tail).
   */
  async relock(): Promise<boolean> {
    if (!this.#unlocked || this.dir === undefined) return true;
    this.#lock = await lockWorld(worldPaths(this.dir).lock);
    this.#unlocked = false;
    const head = await this.#ports.head.read();
    if (
      head === undefined || head.height !== this.journal.height ||
      !bytesEqual(head.hash, this.journal.lastHash)
    ) {
      return false;
    }
    return await this.#segmentsUnchanged();
  }

  /** True when the journal folder holds exactly the segment files, of the sizes, this world's journal knows. */
  async #segmentsUnchanged(): Promise<boolean> {
    const known = (this.journal as { segments?: Array<{ name: string; sizeBytes: number }> }).segments;
    if (known === undefined || this.dir === undefined) return true;
    const dir = worldPaths(this.dir).journal;
    const onDisk = new Map<string, number>();
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /^\d{5}\.log$/.test(e.name)) {
        onDisk.set(e.name, (await Deno.stat(`${dir}/${e.name}`)).size);
      }
    }
    return onDisk.size === known.length && known.every((s) => onDisk.get(s.name) === s.sizeBytes);
  }

  #adapters(): AdapterDirectory {
    return this.#ports.adapters ??
      { adapterFor: () => undefined, publicKeyOf: () => undefined, kindsOf: () => undefined };
  }

  #appendDerived(derived: DerivedRecord[], report: StepReport): void {
    if (derived.length === 0) return;
    const appended = this.journal.append(derived.map(({ kind, body }) => ({ kind, body })));
    this.#journaled(appended);
    appended.forEach((entry, i) => {
      assert(entry.seq === derived[i]!.seq, `journal seq ${entry.seq} equals kernel seq ${derived[i]!.seq}`);
      report.entries.push({ seq: entry.seq, kind: entry.kind });
      if (isRecord(entry, "reducer_error")) {
        if (this.#failures !== undefined) this.#failures++;
        report.reducerErrors.push({
          seq: entry.seq,
          reducer: entry.body.reducer,
          eventSeq: Number(entry.body.event_seq),
          code: entry.body.code,
          message: entry.body.message,
        });
      }
    });
  }

  /**
   * Fsyncs the journal, then records the acknowledged head, with the inbox position and failure count at
   * that height (so opening never searches the journal for them).
   */
  async #sync(): Promise<void> {
    await this.journal.sync();
    const head = {
      height: this.journal.height,
      hash: this.journal.lastHash,
      inbox: { ...this.#lastAdmitted },
      failures: this.failureCount(),
    };
    // A round that admitted nothing (most rounds of `aos run` while effects are in flight) leaves the head as
    // this process last wrote it: no rewrite, no fsyncs.
    const key = `${head.height}/${head.inbox.batch}/${head.inbox.index}/${head.failures}`;
    if (key === this.#headWritten) return;
    this.#headWritten = undefined; // unknown until this write is done
    await this.#ports.head.write(head);
    this.#headWritten = key;
  }

  /** What this process last wrote to the head (height, inbox position, failures), once written. */
  #headWritten: string | undefined;

  /** The size of the latest snapshot in bytes (0: none, or not known to this world). */
  #lastSnapshotBytes = 0;
  /** Bytes of the entries journaled since the latest snapshot (at open: those of the tail replayed). */
  #bytesSinceSnapshot = 0;

  /** Counts what `entries` add to the journal since the latest snapshot. */
  #journaled(entries: readonly JournalEntry[]): void {
    for (const entry of entries) this.#bytesSinceSnapshot += entry.bytes.length;
  }

  /**
   * True when `factor` × `snapshotIntervalEntries` entries were journaled since the last snapshot, and at
   * least `factor` times 1 / {@linkcode SNAPSHOT_WRITE_AMPLIFICATION_MAX} of the bytes that snapshot holds: a
   * snapshot writes the whole state, so a large one (many cells, many waiting plans) waits until the journal
   * has grown by half its size, and its cost per journaled byte stays bounded however large the state grows,
   * while the tail an open replays stays within half a snapshot's bytes.
   */
  #snapshotDue(factor: number): boolean {
    return this.journal.height - (this.#lastSnapshot?.height ?? 0) >= factor * this.#snapshotInterval &&
      this.#bytesSinceSnapshot * SNAPSHOT_WRITE_AMPLIFICATION_MAX >= factor * this.#lastSnapshotBytes;
  }

  /** Takes a snapshot now (the kernel is idle between blocks), stores it and journals the marker. */
  async snapshot(): Promise<{ height: number; hash: HashRef }> {
    return await this.#snapshot("wait");
  }

  /**
   * A snapshot between the blocks of a long step: its blob is stored (and fsynced) first, then the blocks
   * before it and its marker are made durable in the background (an fsync of the journal file, or on a store
   * that takes entries ahead of the commit, PostgreSQL, a commit behind the rows already sent) while the step
   * goes on. The step's final sync records the head (an open after a crash in between finds the entries past
   * the head in the journal); a failed sync fails that final sync.
   */
  async #snapshotInStep(): Promise<{ height: number; hash: HashRef }> {
    return await this.#snapshot("background");
  }

  /**
   * Stores the kernel's snapshot, journals its marker, and syncs: waiting for it, in the background, or not
   * at all (`caller`: the caller syncs next; the blob is durable before the marker can be).
   */
  async #snapshot(sync: "wait" | "background" | "caller"): Promise<{ height: number; hash: HashRef }> {
    const bytes = this.#kernel.snapshot();
    const hash = await this.cas.put("blobs", bytes);
    const [marker] = this.journal.append([{
      kind: "snapshot",
      body: { height: this.journal.height, snapshot_hash: hashRefToBytes(hash) },
    }]);
    this.#kernel.apply(marker!);
    if (sync === "wait") await this.#sync();
    else if (sync === "background") {
      this.journal.sync().catch(() => {/* the journal keeps the failure for the step's final sync */});
    }
    this.#lastSnapshot = { height: marker!.seq, hash };
    this.#lastSnapshotBytes = bytes.length;
    this.#bytesSinceSnapshot = marker!.bytes.length;
    return this.#lastSnapshot;
  }

  /**
   * Makes the journal hold its entries from `fromSeq` (default 0) on: a world on PostgreSQL opens holding only
   * the entries from its latest snapshot, and fetches (and chain-checks) older ones here. Call before reading
   * older entries through {@linkcode World.journal} or {@linkcode World.snapshots}; a no-op on other stores.
   */
  async loadHistory(fromSeq = 0): Promise<void> {
    await preloadJournal(this.journal, fromSeq);
  }

  /**
   * The snapshots the journal records, newest first (read backwards): the heights a rollback accepts. On a
   * world on PostgreSQL, only those the journal holds: call {@linkcode World.loadHistory} first for all.
   */
  snapshots(): Array<{ height: number; hash: HashRef }> {
    const found: Array<{ height: number; hash: HashRef }> = [];
    for (const entry of this.journal.entriesBackward()) {
      if (isRecord(entry, "snapshot")) {
        found.push({ height: entry.seq, hash: bytesToHashRef(entry.body.snapshot_hash) });
      }
    }
    return found;
  }

  /**
   * Rolls the world back to the snapshot taken at `toHeight` (KERNEL §8.6): journals `rollback {to_height,
   * snapshot_hash, generation}` as its own block and continues from that snapshot's state (manifest,
   * reducers, plans, outbox, budgets, governance) with the generation bumped, so receipts of intents from
   * the abandoned entries are ignored (`unknown_intent`, or `fence_mismatch` when queued again). The
   * abandoned entries stay in the journal for audit. `AOS_USAGE` when no snapshot was taken at `toHeight`.
   */
  async rollback(toHeight: number): Promise<RollbackReport> {
    await this.loadHistory(0);
    const snapshots = this.snapshots();
    const snapshot = snapshots.find((s) => s.height === toHeight);
    if (snapshot === undefined) {
      throw new AosError(
        "AOS_USAGE",
        snapshots.length === 0
          ? `Cannot roll back to height ${toHeight}: the journal records no snapshot (take one with "aos snapshot")`
          : `Cannot roll back to height ${toHeight}: it is not a snapshot height; snapshots are at heights ${
            snapshots.map((s) => s.height).join(", ")
          }`,
        { context: { seq: toHeight } },
      );
    }
    // Everything the rollback needs is loaded (and checked) before it is journaled.
    const { bytes, defs } = await this.library.loadSnapshot(snapshot.hash);
    const generation = this.#kernel.generation + 1n;
    const [entry] = this.journal.append([{
      kind: "rollback",
      body: {
        to_height: toHeight,
        snapshot_hash: hashRefToBytes(snapshot.hash),
        generation,
        ingress_ns: maxBigint(this.#ports.clock.nowNs(), this.#kernel.nowNs),
      },
    }]);
    this.#journaled([entry!]);
    this.#kernel = this.#kernel.rollBack(entry!, bytes, defs);
    await this.#sync();
    return {
      seq: entry!.seq,
      toHeight,
      snapshotHash: snapshot.hash,
      generation,
      ...(entry!.seq > toHeight + 1 ? { abandoned: { from: toHeight + 1, to: entry!.seq - 1 } } : {}),
      height: this.journal.height,
    };
  }

  /** The plain JSON form of a reducer's (or cell's) state, or null when it has none. */
  stateJson(reducer: string, key: Uint8Array | null = null): JsonValue {
    this.codec.module(reducer);
    return this.codec.stateJson(reducer, this.#kernel.reducerState(reducer, key));
  }

  /**
   * Count of `reducer_error` entries in the journal: kept as entries are appended and recorded in the head,
   * so it costs nothing; only a world whose head predates the count reads its whole journal, once.
   */
  failureCount(): number {
    this.#failures ??= countFailures(this.journal.entries());
    return this.#failures;
  }

  /** Events waiting in the inbox (counted from the batches' headers: no batch is decoded). */
  async pendingInbox(): Promise<number> {
    const last = this.#lastAdmitted;
    let n = 0;
    for (const b of await this.inbox.refs()) {
      const count = b.count ?? 0; // a batch that does not read as one holds nothing to admit
      if (b.batch > last.batch) n += count;
      else if (b.batch === last.batch) n += Math.max(0, count - last.index - 1);
    }
    return n;
  }

  /**
   * A copy of this world on in-memory ports, at its current height: the same control plane and kernel
   * state, a journal that continues this one's seqs and hash chain, and a store that reads through to this
   * one's. It shares this world's library of loaded control planes (content-addressed, read-only). Nothing
   * done to the fork reaches this world (the governance shadow run).
   */
  // deno-lint-ignore require-await
  async fork(options: { clock?: Clock; adapters?: AdapterDirectory } = {}): Promise<World> {
    const journal = MemoryJournal.continuing(this.journal.height, this.journal.lastHash);
    const cas = new MemoryCas(this.cas);
    const parts = worldParts(
      {
        journal,
        cas,
        clock: options.clock ?? this.#ports.clock,
        secrets: this.#ports.secrets,
        ...(options.adapters ? { adapters: options.adapters } : {}),
      },
      { snapshotIntervalEntries: Number.MAX_SAFE_INTEGER },
      undefined,
      undefined,
      this.library,
    );
    const kernel = Kernel.restore(this.defs, this.library.host, this.#kernel.snapshot(), this.library);
    return new World(parts, kernel, undefined, { ...this.#lastAdmitted }, this.failureCount());
  }

  /**
   * Closes the journal and releases the world lock. A world on PostgreSQL closes its connection in the
   * background; {@linkcode World.closed} resolves when it is closed.
   */
  close(): void {
    try {
      this.journal.close();
    } finally {
      const lock = this.#lock;
      this.#lock = undefined;
      lock?.release();
      if (lock !== undefined && "released" in lock) this.#released = (lock as StoreLock).released;
    }
  }

  /** Resolves once everything `close()` released is released (a database connection closes asynchronously). */
  get closed(): Promise<void> {
    return this.#released;
  }
}

/** The ports with their in-memory defaults and a library of control planes on the store. */
function worldParts(
  ports: WorldPorts,
  options: WorldRunOptions,
  dir: string | undefined,
  lock: WorldLock | undefined,
  library: ControlPlaneLibrary = new ControlPlaneLibrary(ports.cas),
): WorldParts {
  return {
    ports: {
      journal: ports.journal,
      cas: ports.cas,
      clock: ports.clock,
      head: ports.head ?? new MemoryHeadStore(),
      inbox: ports.inbox ?? new MemoryInbox(),
      receipts: ports.receipts ?? new MemoryReceiptDropBox(),
      secrets: ports.secrets ?? new EnvSecretResolver(),
      ...(ports.adapters ? { adapters: ports.adapters } : {}),
    },
    library,
    dir,
    lock,
    snapshotInterval: options.snapshotIntervalEntries ?? limits.snapshotIntervalEntries,
  };
}

/** Throws `AOS_INPUT_TOO_LARGE` when an external event's entry would exceed the journal's entry limit. */
export function checkEventSize(event: InboxEvent, what: string): void {
  // The usual event is far below the limit: its variable parts plus a generous bound on everything else
  // (field names, origin, positions, time, envelope) settle it without building the entry.
  const variable = event.value.length + event.schema.length * 3 + (event.key?.length ?? 0);
  if (variable + EVENT_FIXED_BOUND_BYTES <= limits.journalEntrySizeBytesMax) return;
  const source = `inbox:${Number.MAX_SAFE_INTEGER}:${Number.MAX_SAFE_INTEGER}`;
  checkJournalable(domainEventRecord(event, { kind: "external", source }, INGRESS_NS_WORST), what);
}

/** More than the fixed part of an external event's entry: keys, origin with the longest source, time, envelope. */
const EVENT_FIXED_BOUND_BYTES = 1_024;

/** Throws `AOS_INPUT_TOO_LARGE` when a receipt's `receipt_appended` entry would exceed the entry limit. */
export function checkReceiptSize(receipt: Receipt, what: string): void {
  const body: { [key: string]: CborValue } = {
    ...signedReceiptMap(receipt),
    ingress_ns: INGRESS_NS_WORST,
    body_size: INGRESS_NS_WORST,
  };
  checkJournalable({ kind: "receipt_appended", body }, what);
}

function receiptFits(receipt: Receipt): boolean {
  try {
    checkReceiptSize(receipt, "");
    return true;
  } catch (error) {
    if (error instanceof AosError && error.code === "AOS_INPUT_TOO_LARGE") return false;
    throw error;
  }
}

/** A receipt that fails the `malformed` check (for an unreadable drop-box file). */
function malformedReceipt(): Receipt {
  return {
    intentHash: new Uint8Array(0),
    adapterId: "",
    status: "error",
    payload: new Uint8Array(0),
    fence: { generation: 0n, height: 0n },
    signature: new Uint8Array(0),
  };
}

/** `report` with the quarantine report's entries, height and records in front (it was journaled first). */
function withQuarantined(report: StepReport, quarantine: StepReport | undefined): StepReport {
  if (quarantine === undefined) return report;
  const merged: StepReport = {
    ...report,
    admitted: report.admitted,
    heightBefore: quarantine.heightBefore,
    entries: [...quarantine.entries, ...report.entries],
    reducerErrors: [...quarantine.reducerErrors, ...report.reducerErrors],
    quarantined: quarantine.quarantined ?? [],
  };
  const snapshot = report.snapshot ?? quarantine.snapshot;
  if (snapshot) merged.snapshot = snapshot;
  return merged;
}

function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
