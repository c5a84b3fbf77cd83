/**
 * The world driver (KERNEL §2.7): the only async, I/O-doing part of the kernel. It admits inputs in
 * arrival order, appends them, runs the pure kernel to idle, fsyncs once per batch (group commit),
 * takes snapshots and reopens a world from its latest snapshot plus the journal tail.
 *
 * @module
 */
import {
  AosError,
  assert,
  bytesToHashRef,
  type CborValue,
  decodeTyped,
  type DefModule,
  encodeTyped,
  type HashRef,
  hashRefToBytes,
  type JsonValue,
  limits,
  toHex,
  type TypeExpr,
  valueFromJson,
  valueToPlainJson,
} from "../air/mod.ts";
import { type Cas, FsCas } from "../journal/cas.ts";
import { FsJournal, type Journal, type JournalEntry } from "../journal/mod.ts";
import type { Clock } from "./clock.ts";
import { checkHead, readHead, writeHead } from "./head.ts";
import { lockWorld, type WorldLock } from "../journal/lock.ts";
import { loadDefs } from "./defs.ts";
import {
  type DerivedRecord,
  Kernel,
  type KernelRecord,
  type ReceiptRejection,
  type WorldDefs,
} from "./kernel.ts";
import type { AdapterDirectory, Receipt } from "./effects.ts";
import { verifyReceiptSignature } from "./receipt_signature.ts";
import { ReceiptInbox, registeredKeys } from "./receipt_inbox.ts";
import { Inbox, type Inbox as InboxType, type InboxEvent } from "./inbox.ts";
import { type Divergence, replayInto } from "./replay.ts";
import { ReducerHost } from "./reducer_host.ts";
import { keyTypeOf } from "./keys.ts";

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
    lock: `${aos}/LOCK`,
    keys: `${aos}/keys`,
    receipts: `${aos}/receipts`,
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

/** What `admitReceipts` did with each receipt. */
export interface ReceiptReport extends StepReport {
  outcomes: Array<{ intentHash: HashRef; adapterId: string; ignored?: ReceiptRejection }>;
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

/** Options for opening or creating a world. */
export interface WorldOptions {
  clock: Clock;
  /** Entries between automatic snapshots (default `limits.snapshotIntervalEntries`). */
  snapshotIntervalEntries?: number;
  /** Told when another process holds the world lock and this one waits for it. */
  onLockWait?: (holder: string) => void;
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
  #lock: WorldLock | undefined;
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
    const lock = await lockWorld(paths.lock, options.onLockWait);
    try {
      const world = await World.#create(dir, manifestHash, options);
      world.#lock = lock;
      return world;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static async #create(dir: string, manifestHash: HashRef, options: WorldOptions): Promise<World> {
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
    // A folder without .aos/ is not a world: fail before creating a LOCK file in it.
    try {
      await Deno.stat(paths.aos);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new AosError("AOS_WORLD_NOT_FOUND", `No world at "${dir}": it has no .aos/ folder`);
      }
      throw error;
    }
    const lock = await lockWorld(paths.lock, options.onLockWait);
    try {
      const world = await World.#open(dir, options);
      world.#lock = lock;
      return world;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static async #open(dir: string, options: WorldOptions): Promise<World> {
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
    try {
      const value = valueFromJson({ ref: schema }, input.value, this.defs.schemas);
      const encoded: InboxEvent = { schema, value: encodeTyped({ ref: schema }, value, this.defs.schemas) };
      if (input.key !== undefined) encoded.key = this.#encodeKey(schema, input.key, where);
      return encoded;
    } catch (error) {
      if (error instanceof AosError && !error.message.startsWith(where)) {
        throw new AosError(error.code, `${where}${error.message}`, { cause: error, context: error.context });
      }
      throw error;
    }
  }

  /** Encodes an explicit event key with the key type of the first keyed route of `schema`. */
  #encodeKey(schema: string, key: JsonValue, where: string): Uint8Array {
    for (const route of this.defs.manifest.routing?.events ?? []) {
      if (route.event !== schema || route.key_field === undefined) continue;
      const module = this.defs.modules.get(route.reducer);
      const type = module ? keyTypeOf(module, schema, route.key_field, this.defs.schemas) : undefined;
      if (!type) continue;
      return encodeTyped(type, valueFromJson(type, key, this.defs.schemas, ["key"]), this.defs.schemas);
    }
    throw new AosError(
      "AOS_TYPE_MISMATCH",
      `${where}Event "${schema}" has a key, but no keyed route takes it`,
    );
  }

  #keyType(reducer: string): TypeExpr | undefined {
    const module = this.#module(reducer);
    if (module.key_schema !== undefined) return { ref: module.key_schema };
    for (const route of this.defs.manifest.routing?.events ?? []) {
      if (route.reducer === reducer && route.key_field !== undefined) {
        const type = keyTypeOf(module, route.event, route.key_field, this.defs.schemas);
        if (type) return type;
      }
    }
    return undefined;
  }

  /** Encodes a cell key given as plain JSON for a keyed reducer (its `key_schema`, else its routes' field type). */
  encodeCellKey(reducer: string, key: JsonValue): Uint8Array {
    const type = this.#keyType(reducer);
    if (!type) {
      throw new AosError(
        "AOS_USAGE",
        `Reducer "${reducer}" is not keyed: --key applies to keyed reducers only`,
      );
    }
    return encodeTyped(type, valueFromJson(type, key, this.defs.schemas, ["key"]), this.defs.schemas);
  }

  /** True when the reducer is keyed (has cells). */
  isKeyed(reducer: string): boolean {
    return this.#keyType(reducer) !== undefined;
  }

  /** The plain JSON of a cell key of a keyed reducer. */
  cellKeyJson(reducer: string, key: Uint8Array): JsonValue {
    const type = this.#keyType(reducer);
    if (!type) return toHex(key);
    return valueToPlainJson(type, decodeTyped(type, key, this.defs.schemas), this.defs.schemas);
  }

  #module(reducer: string): DefModule {
    const module = this.defs.modules.get(reducer);
    if (!module) {
      const known = [...this.defs.modules.keys()].sort().join(", ");
      throw new AosError(
        "AOS_REDUCER_UNKNOWN",
        `Unknown reducer "${reducer}": the manifest has ${known || "none"}`,
      );
    }
    return module;
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
    // Receipts already delivered to the drop box are admitted too (with every admission check).
    const dropped = await this.receiptInbox.list();
    if (dropped.length === 0) return report;
    const keys = await registeredKeys(worldPaths(this.dir).keys);
    const receipts = dropped.map((d) => d.receipt ?? malformedReceipt());
    const admitted = await this.admitReceipts(receipts, { publicKeyOf: (id) => keys.get(id) });
    await this.receiptInbox.remove(dropped.map((d) => d.file));
    return {
      admitted: report.admitted + admitted.admitted,
      heightBefore: report.heightBefore,
      height: admitted.height,
      entries: [...report.entries, ...admitted.entries],
      reducerErrors: [...report.reducerErrors, ...admitted.reducerErrors],
      ...(admitted.snapshot ?? report.snapshot ? { snapshot: (admitted.snapshot ?? report.snapshot)! } : {}),
    };
  }

  /** The receipt drop box (`.aos/receipts/`). */
  get receiptInbox(): ReceiptInbox {
    return new ReceiptInbox(worldPaths(this.dir).receipts);
  }

  /** Library entry: validates and admits events directly (no inbox), fsyncing once. */
  async send(events: EventInput[]): Promise<StepReport> {
    const items = events.map((e) => ({ event: this.encodeEvent(e), source: "api" }));
    return await this.#admit(items);
  }

  async #admit(items: Array<{ event: InboxEvent; source: string }>): Promise<StepReport> {
    // Re-check every event against the live manifest before journaling any (the inbox may predate a
    // change): a bad one after good ones would leave those journaled while their batch stays queued.
    for (const { event } of items) decodeTyped({ ref: event.schema }, event.value, this.defs.schemas);
    return await this.#admitInputs(items.map(({ event, source }) => (ingressNs: bigint): KernelRecord => {
      const body: { [key: string]: CborValue } = {
        schema: event.schema,
        value: event.value,
        origin: { kind: "external", source },
        ingress_ns: ingressNs,
      };
      if (event.key !== undefined) body.key = event.key;
      return { kind: "domain_event", body };
    }));
  }

  /**
   * Admits inputs one block each (the input, then the kernel runs to idle), with one fsync for all of
   * them (group commit); takes a snapshot when due.
   */
  async #admitInputs(inputs: Array<(ingressNs: bigint) => KernelRecord>): Promise<StepReport> {
    const heightBefore = this.journal.height;
    const report: StepReport = {
      admitted: 0,
      heightBefore,
      height: heightBefore,
      entries: [],
      reducerErrors: [],
    };
    for (const build of inputs) {
      const input = build(maxBigint(this.#clock.nowNs(), this.#kernel.nowNs));
      const [entry] = this.journal.append([input]);
      const derived = this.#kernel.apply(entry!);
      report.entries.push({ seq: entry!.seq, kind: entry!.kind });
      this.#appendDerived(derived, report);
      report.admitted++;
    }
    await this.#sync();
    if (this.journal.height - (this.#lastSnapshot?.height ?? 0) >= this.#snapshotInterval) {
      report.snapshot = await this.snapshot();
    }
    report.height = this.journal.height;
    return report;
  }

  /**
   * Admits receipts (KERNEL §6.4): each is checked (adapter known, signature, then the kernel's outbox
   * checks) and journaled as `receipt_appended`, or as `receipt_ignored` with the reason. One fsync.
   */
  async admitReceipts(
    receipts: Receipt[],
    directory: Pick<AdapterDirectory, "publicKeyOf">,
  ): Promise<ReceiptReport> {
    const outcomes: ReceiptReport["outcomes"] = [];
    const inputs = receipts.map((receipt) => (ingressNs: bigint): KernelRecord => {
      const reason = this.#receiptRejection(receipt, directory);
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
      const body: { [key: string]: CborValue } = {
        intent_hash: receipt.intentHash,
        adapter_id: receipt.adapterId,
        status: receipt.status,
        payload: receipt.payload,
        fence: { generation: receipt.fence.generation, height: receipt.fence.height },
        signature: receipt.signature,
        ingress_ns: ingressNs,
      };
      if (receipt.costCents !== undefined) body.cost_cents = receipt.costCents;
      return { kind: "receipt_appended", body };
    });
    const report = await this.#admitInputs(inputs);
    return { ...report, outcomes };
  }

  #receiptRejection(
    receipt: Receipt,
    directory: Pick<AdapterDirectory, "publicKeyOf">,
  ): ReceiptRejection | undefined {
    if (
      !(receipt.intentHash instanceof Uint8Array) || receipt.intentHash.length !== 32 ||
      typeof receipt.adapterId !== "string" || !(receipt.payload instanceof Uint8Array) ||
      !(receipt.signature instanceof Uint8Array) || typeof receipt.fence?.height !== "bigint" ||
      typeof receipt.fence?.generation !== "bigint" ||
      (receipt.costCents !== undefined && receipt.costCents < 0n)
    ) {
      return "malformed";
    }
    const key = directory.publicKeyOf(receipt.adapterId);
    if (!key) return "unknown_adapter";
    if (!verifyReceiptSignature(receipt, key)) return "bad_signature";
    return this.#kernel.checkReceipt(receipt);
  }

  /** Validates and admits a manual plan start (`plan_start_requested`); returns the new instance id. */
  async startPlan(
    plan: string,
    input: JsonValue,
    locals: { [name: string]: JsonValue } = {},
  ): Promise<{ instanceId: bigint; report: StepReport }> {
    const def = this.defs.plans.get(plan);
    if (!def) {
      const known = [...this.defs.plans.keys()].sort().join(", ");
      throw new AosError("AOS_USAGE", `Unknown plan "${plan}": the manifest has ${known || "none"}`);
    }
    const inputType = { ref: def.input };
    const inputBytes = encodeTyped(
      inputType,
      valueFromJson(inputType, input, this.defs.schemas, ["input"]),
      this.defs.schemas,
    );
    const localsBody = new Map<CborValue, CborValue>();
    for (const name of Object.keys(locals).sort()) {
      const schema = def.locals?.[name];
      if (schema === undefined) {
        throw new AosError("AOS_TYPE_MISMATCH", `Plan "${plan}" declares no local "${name}"`);
      }
      const type = { ref: schema };
      localsBody.set(
        name,
        encodeTyped(
          type,
          valueFromJson(type, locals[name]!, this.defs.schemas, ["locals", name]),
          this.defs.schemas,
        ),
      );
    }
    const instanceId = this.#kernel.plansNextId();
    const report = await this.#admitInputs([(ingressNs) => {
      const body: { [key: string]: CborValue } = { plan, input: inputBytes, ingress_ns: ingressNs };
      if (localsBody.size > 0) body.locals = Object.fromEntries(localsBody) as { [key: string]: CborValue };
      return { kind: "plan_start_requested", body };
    }]);
    return { instanceId, report };
  }

  /** Admits a plan cancellation (`plan_cancel_requested`). */
  async cancelPlan(instanceId: bigint, reason?: string): Promise<StepReport> {
    const instance = this.#kernel.plans().find((p) => p.id === instanceId);
    if (!instance) throw new AosError("AOS_USAGE", `No plan instance #${instanceId}`);
    if (instance.status === "ok" || instance.status === "error") {
      throw new AosError("AOS_USAGE", `Plan instance #${instanceId} already ended (${instance.status})`);
    }
    return await this.#admitInputs([(ingressNs) => ({
      kind: "plan_cancel_requested",
      body: reason === undefined
        ? { instance_id: instanceId, ingress_ns: ingressNs }
        : { instance_id: instanceId, reason, ingress_ns: ingressNs },
    })]);
  }

  /**
   * Drives the world until idle (KERNEL §2.7): admits the inbox, dispatches every outbox intent (only
   * after the block that queued it is fsynced — all journaled intents are), admits receipts as they
   * arrive (group commit of whatever is ready), and returns when the inbox and outbox are empty, or at
   * the deadline. Receipts still in flight at the deadline are dropped; their intents stay in the outbox
   * and are dispatched again next time (adapters are idempotent on the intent hash).
   */
  async run(directory: AdapterDirectory, options: { deadline?: Promise<void> } = {}): Promise<RunReport> {
    const run: RunReport = {
      steps: [],
      receipts: 0,
      ignored: 0,
      dispatched: 0,
      idle: false,
      undispatchable: [],
    };
    const inflight = new Map<string, Promise<{ hex: string; receipt: Receipt }>>();
    // An intent whose receipt was ignored is not dispatched again in this run: re-dispatching at once
    // would loop (and grow the journal) while an adapter keeps answering wrongly. It stays in the outbox
    // and goes out again on the next run (at-least-once delivery).
    const ignored = new Set<string>();
    let timedOut = false;
    const deadline = options.deadline?.then(() => {
      timedOut = true;
    });
    for (let round = 0; round < limits.runRoundsMax; round++) {
      const step = await this.step();
      if (step.admitted > 0) run.steps.push(step);
      run.undispatchable = [];
      for (const entry of this.#kernel.outbox()) {
        const hex = toHex(entry.intentHash);
        if (inflight.has(hex) || ignored.has(hex)) continue;
        const adapter = directory.adapterFor(entry.kind);
        if (!adapter) {
          run.undispatchable.push({ intentHash: bytesToHashRef(entry.intentHash), kind: entry.kind });
          continue;
        }
        run.dispatched++;
        inflight.set(
          hex,
          adapter.execute({
            intentHash: entry.intentHash,
            kind: entry.kind,
            capName: entry.capName,
            params: entry.params,
            idempotencyKey: entry.idempotencyKey,
            fence: entry.fence,
          }).then((receipt) => ({ hex, receipt })),
        );
      }
      if (inflight.size === 0 && (await this.pendingInbox()) === 0) {
        run.idle = run.undispatchable.length === 0 &&
          !this.#kernel.outbox().some((e) => ignored.has(toHex(e.intentHash)));
        break;
      }
      if (inflight.size === 0) continue;
      const first = await Promise.race([
        ...inflight.values(),
        ...(deadline ? [deadline.then(() => undefined)] : []),
      ]);
      if (first === undefined || timedOut) break;
      // Group commit: take every receipt that is ready now, not just the first.
      const ready = [first];
      inflight.delete(first.hex);
      for (const [hex, promise] of inflight) {
        const settled = await Promise.race([promise, Promise.resolve(undefined)]);
        if (settled) {
          ready.push(settled);
          inflight.delete(hex);
        }
      }
      const admitted = await this.admitReceipts(ready.map((r) => r.receipt), directory);
      run.receipts += admitted.outcomes.filter((o) => !o.ignored).length;
      run.ignored += admitted.outcomes.filter((o) => o.ignored).length;
      for (const o of admitted.outcomes) if (o.ignored) ignored.add(o.intentHash.slice(7));
      run.steps.push(admitted);
    }
    return run;
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

  /** The plain JSON form of a reducer's (or cell's) state, or null when it has none. */
  stateJson(reducer: string, key: Uint8Array | null = null): JsonValue {
    const module = this.#module(reducer);
    const bytes = this.#kernel.reducerState(reducer, key);
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
    try {
      this.journal.close();
    } finally {
      this.#lock?.release();
      this.#lock = undefined;
    }
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
