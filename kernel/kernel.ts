/**
 * The pure, deterministic kernel (KERNEL §1–6, §9): given the world and one journal entry it computes the
 * next world and the derived entries. No clock, randomness, I/O or unordered iteration lives here; the
 * driver (`world.ts`) owns all of that and replay calls only this.
 *
 * @module
 */
import {
  type AirNode,
  AosError,
  assert,
  bytesEqual,
  bytesToHashRef,
  canonicalKeyOrder,
  type CborValue,
  checkTyped,
  decodeCanonical,
  type DefCap,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type DefSecret,
  effectSpec,
  encodeCanonicalWith,
  fromHex,
  type HashRef,
  hashRefToBytes,
  InvariantError,
  isAosError,
  limits,
  type Manifest,
  refType,
  type SchemaResolver,
  sha256,
  toHex,
} from "../air/mod.ts";
import {
  type BlobSizeLookup,
  BudgetLedger,
  type BudgetLine,
  carryOverLedger,
  receiptUsage,
} from "./budgets.ts";
import { CellStore } from "./cells.ts";
import {
  defcapOf,
  EffectManager,
  type EffectOrigin,
  type GateResult,
  type OutboxEntry,
} from "./effect_manager.ts";
import { decodeOutputEnvelope, type OutputEnvelope, withInputEnvelope } from "./envelope.ts";
import { cellKeyFor } from "./cell_keys.ts";
import { createPlanEngine } from "./plan_engine.ts";
import type { PlanEngine, PlanHost, QueuedEvent } from "./plan_types.ts";
import { type AcceptedReceipt, receiptEvent, receiptPayloadValue } from "./receipt_events.ts";
import type { ReducerHost } from "./reducer_host.ts";
import { outboxFromCbor, outboxToCbor } from "./snapshot_parts.ts";
import { handledMessage, VALUE_ERROR_CODES } from "./handled_errors.ts";
import {
  type ContentNeeds,
  type ControlPlaneContent,
  Governance,
  isGovernanceInput,
  type Proposal,
  staticContent,
} from "./proposals.ts";
import {
  domainEventRecord,
  type EntryBodies,
  type EventOrigin as JournalOrigin,
  isRecord,
  journalRecord,
  u64,
  type Uint,
} from "../journal/mod.ts";

/** A journal record the kernel produces or consumes (seq and chain are the journal's business). */
export interface KernelRecord {
  kind: string;
  body: { [key: string]: CborValue };
}

/** A journaled entry as the kernel sees it. */
export interface KernelEntry extends KernelRecord {
  seq: number;
}

/** A derived record with the seq the kernel expects the journal to give it. */
export interface DerivedRecord extends KernelRecord {
  seq: number;
}

/** The control plane a kernel runs: one manifest with everything it names, already validated. */
type Route = NonNullable<NonNullable<Manifest["routing"]>["events"]>[number];
type Trigger = NonNullable<Manifest["triggers"]>[number];

/** A manifest's routes and triggers by event schema, in manifest order within each (see {@linkcode dispatchOf}). */
interface Dispatch {
  routes: Map<string, Route[]>;
  triggers: Map<string, Trigger[]>;
}

const dispatches = new WeakMap<Manifest, Dispatch>();
const NONE: readonly never[] = Object.freeze([]);

/**
 * The routes and triggers of `manifest` by event schema, built once per manifest (a manifest is never
 * changed once loaded): an event looks up its own instead of walking every route and trigger.
 */
function dispatchOf(manifest: Manifest): Dispatch {
  let dispatch = dispatches.get(manifest);
  if (dispatch === undefined) {
    dispatch = { routes: new Map(), triggers: new Map() };
    for (const route of manifest.routing?.events ?? []) {
      const list = dispatch.routes.get(route.event);
      if (list === undefined) dispatch.routes.set(route.event, [route]);
      else list.push(route);
    }
    for (const trigger of manifest.triggers ?? []) {
      const list = dispatch.triggers.get(trigger.event);
      if (list === undefined) dispatch.triggers.set(trigger.event, [trigger]);
      else list.push(trigger);
    }
    dispatches.set(manifest, dispatch);
  }
  return dispatch;
}

/** `AOS_JOURNAL_CORRUPT` for entry `seq`. */
function corruptEntry(seq: number, what: string): AosError {
  return new AosError("AOS_JOURNAL_CORRUPT", `Entry ${seq}: ${what}`, { context: { seq } });
}

/** The origin of every admitted event (shared: an origin is never changed). */
const EXTERNAL_ORIGIN: EventOrigin = Object.freeze({ kind: "external" });

export interface WorldDefs {
  manifestHash: HashRef;
  manifest: Manifest;
  schemas: SchemaResolver & { has(name: string): boolean };
  modules: ReadonlyMap<string, DefModule>;
  plans: ReadonlyMap<string, DefPlan>;
  caps: ReadonlyMap<string, DefCap>;
  policies: ReadonlyMap<string, DefPolicy>;
  /** The defsecrets the manifest lists, by name (absent: none). */
  secrets?: ReadonlyMap<string, DefSecret>;
  /** Every node the manifest lists (built-ins aside), by node hash: what a patch against it may keep. */
  nodes: ReadonlyMap<HashRef, AirNode>;
}

/**
 * What the driver tells the kernel about the world outside the journal while it applies one entry. Whatever
 * the kernel learns from it is journaled in the block (`reserved` amounts), and replay answers from there.
 */
export interface ApplyContext {
  /** Blob sizes for `blob.put` reservations (KERNEL §7); absent: every blob is unknown (reserves 0). */
  blobSize?: BlobSizeLookup;
}

/** Where a queued event came from (decides who may receive it). */
type EventOrigin =
  | { kind: "external" | "reducer" | "plan" }
  | { kind: "receipt"; reducer: string; key: Uint8Array | null };

interface EventItem extends QueuedEvent {
  type: "event";
  origin: EventOrigin;
}

type WorkItem = EventItem | { type: "plan"; id: bigint };

/** Reducer failure codes of KERNEL §3.5 (and §4, §9, §10.4) that this kernel emits. */
export type ReducerErrorCode =
  | "trap"
  | "timeout"
  | "bad_output"
  | "bad_state"
  | "bad_event"
  | "too_many_effects"
  | "effect_not_declared"
  | "not_micro_effect"
  | "slot_unbound"
  | "bad_params"
  | "grant_missing"
  | "grant_expired"
  | "cap_mismatch"
  | "secret"
  | "constraint"
  | "budget"
  | "policy_denied"
  | "bad_ann"
  | "missing_key"
  | "bad_key"
  | "reducer_missing"
  | "runaway"
  | "block_limit";

/** Why a receipt is not admitted (KERNEL §6.4); the driver journals `receipt_ignored` with it. */
export type ReceiptRejection =
  | "malformed"
  | "unknown_adapter"
  | "bad_signature"
  | "duplicate"
  | "unknown_intent"
  | "fence_mismatch"
  | "invalid_payload"
  | "kind_not_allowed";

/** The fields of a cell in a snapshot's `reducers`, in canonical order (`key` absent for a non-keyed cell). */
const CELL_FIELDS = canonicalKeyOrder(["reducer", "key", "state"]);

/**
 * Snapshots {@linkcode Kernel.snapshotManifests} decoded, by their bytes, each taken (once) by the
 * {@linkcode Kernel.restore} of the very same bytes that follows it when a world opens: the driver reads the
 * manifests, loads them, then restores, and a large snapshot was decoded twice. The bytes come from the store
 * and are not modified in between; any other restore decodes its own.
 */
const decodedSnapshots = new WeakMap<Uint8Array, { [key: string]: CborValue }>();

/** The deterministic world state machine. */
export class Kernel {
  /** The live control plane: the manifest in force and everything it names. */
  #defs: WorldDefs;
  /** Control planes still pinned by running plan instances (KERNEL §5.5), by manifest hash. */
  readonly #pinned = new Map<HashRef, WorldDefs>();
  readonly #content: ControlPlaneContent;
  readonly #governance: Governance;
  readonly #host: ReducerHost;
  #height = 0;
  #nowNs = 0n;
  #generation = 0n;
  /** The world's id from genesis (`world_id`), mixed into idempotency keys; undefined for older worlds. */
  #worldId: Uint8Array | undefined;
  #started = false;
  readonly #cells = new CellStore();
  readonly #effects: EffectManager;
  readonly #plans: PlanEngine;
  /** The blob size lookup of the entry being applied. */
  #blobSize: BlobSizeLookup | undefined;
  readonly #queue: WorkItem[] = [];
  /** Instances with a PlanRun queued (at most one each, KERNEL §2.2). */
  readonly #planQueued = new Set<bigint>();
  #derived: DerivedRecord[] = [];
  /** Domain events derived in the current block, and their bytes (bounded by `limits.derived*PerBlockMax`). */
  #blockEvents = 0;
  #blockEventBytes = 0;
  /** Set when a step passed a per-block bound: the block ends and its remaining work is dropped. */
  #blockEnded = false;

  /**
   * A kernel running `defs` (the genesis manifest, or the one in force when restoring). `content` holds
   * the control-plane data governance inputs need (loaded by the driver); it defaults to `defs` alone.
   */
  constructor(defs: WorldDefs, host: ReducerHost, content: ControlPlaneContent = staticContent(defs)) {
    this.#defs = defs;
    this.#host = host;
    this.#content = content;
    assertLoaded(defs, host);
    this.#effects = new EffectManager(BudgetLedger.fromGrants(defs.manifest.defaults?.cap_grants ?? []));
    this.#plans = createPlanEngine(this.#planHost());
    // deno-lint-ignore no-this-alias
    const kernel = this;
    this.#governance = new Governance({
      get defs() {
        return kernel.#defs;
      },
      content,
      emit: (record) => kernel.#emit(record),
      switchTo: (next) => kernel.#switchTo(next),
    });
  }

  /** The live control plane: the manifest in force and everything it names. */
  get defs(): WorldDefs {
    return this.#defs;
  }

  /** The proposals, by id (copies). */
  proposals(): Proposal[] {
    return this.#governance.proposals();
  }

  /** Proposal `id` (a copy), or undefined. */
  proposal(id: bigint): Proposal | undefined {
    return this.#governance.proposal(id);
  }

  /** The id the next `proposal_submitted` must carry. */
  get nextProposalId(): bigint {
    return this.#governance.nextProposalId;
  }

  /**
   * The content-addressed data (patch documents, control planes) the driver must load into the kernel's
   * {@linkcode ControlPlaneContent} before this input is applied. Pure; empty for non-governance inputs.
   */
  contentNeeds(record: KernelRecord): ContentNeeds {
    return isGovernanceInput(record.kind) ? this.#governance.needs(record) : { patches: [], manifests: [] };
  }

  /** The control planes pinned by running plan instances other than the live one, sorted. */
  pinnedManifests(): HashRef[] {
    const live = this.#defs.manifestHash;
    return this.#plans.runningManifests().filter((hash) => hash !== live).sort();
  }

  /**
   * The atomic switch of apply (KERNEL §10.4): every table of `next` was built when it was loaded (schema
   * index, modules compiled, routing, triggers, grants, policies and bindings are read from it), so one
   * assignment switches them all. Running plan instances keep their pinned control plane.
   */
  #switchTo(next: WorldDefs): void {
    assertLoaded(next, this.#host);
    const previous = this.#defs;
    this.#carryOverBudgets(previous, next);
    this.#pinned.set(previous.manifestHash, previous);
    this.#defs = next;
    const keep = new Set(this.pinnedManifests());
    for (const hash of [...this.#pinned.keys()]) if (!keep.has(hash)) this.#pinned.delete(hash);
  }

  /**
   * Carries the budget ledger over to `next` by grant name (KERNEL §7, §10.4): `spent` and `reserved` stay,
   * limits come from the new grants, and a raised limit replenishes an exhausted grant. Inside the block,
   * so replay reproduces it.
   */
  #carryOverBudgets(_previous: WorldDefs, next: WorldDefs): void {
    this.#effects.budgets = carryOverLedger(this.#effects.budgets, next.manifest.defaults?.cap_grants ?? []);
  }

  /** Number of journal entries applied. */
  get height(): number {
    return this.#height;
  }

  /** Logical time of the current (or last) block: its input's journaled ingress_ns. */
  get nowNs(): bigint {
    return this.#nowNs;
  }

  /** The world generation (bumped by rollbacks). */
  get generation(): bigint {
    return this.#generation;
  }

  /** The world's id (genesis `world_id`), or undefined for a world created before worlds had one. */
  get worldId(): Uint8Array | undefined {
    return this.#worldId;
  }

  /** True once genesis (or a snapshot) has been applied. */
  get started(): boolean {
    return this.#started;
  }

  /** Reducer state of a reducer (or one of its cells), or null when it has none. */
  reducerState(reducer: string, key: Uint8Array | null = null): Uint8Array | null {
    // A copy: the store overwrites a cell's bytes in place when its next state is as long.
    return this.#cells.get(reducer, key)?.slice() ?? null;
  }

  /** Cells of a reducer, by key bytes. */
  cellsOf(reducer: string): Array<{ key: Uint8Array | null; state: Uint8Array }> {
    return this.#cells.cellsOf(reducer).map(({ key, state }) => ({ key, state: state.slice() }));
  }

  /** Reducer names that hold state, sorted. */
  reducersWithState(): string[] {
    return [...new Set(this.#cells.all().map((c) => c.reducer))];
  }

  /** `sha256(state)` of every cell, by (reducer, key bytes); `key` only for keyed cells. */
  stateHashes(): Array<{ reducer: string; key?: Uint8Array; hash: HashRef }> {
    return this.#cells.hashes().map((
      { reducer, key, hash },
    ) => (key === null ? { reducer, hash } : { reducer, key, hash }));
  }

  /** Intents awaiting receipts, by fence height. */
  outbox(): OutboxEntry[] {
    return this.#effects.outbox();
  }

  /** The budget ledger: every account of a budgeted grant, by grant then dimension. */
  budgets(): BudgetLine[] {
    return this.#effects.budgets.lines();
  }

  /**
   * The blob whose size the driver measures and journals as `body_size` with a receipt it admits: the
   * response body of an `http.request` on a grant with a bytes budget (AIR §10.5). Undefined otherwise.
   */
  measuredBlobOf(receipt: { intentHash: Uint8Array; payload: Uint8Array }): Uint8Array | undefined {
    const entry = this.#effects.pending(receipt.intentHash);
    if (!entry || entry.kind !== "http.request" || receipt.payload.length === 0) return undefined;
    if (!this.#effects.budgets.budgeted(entry.capName)?.has("bytes")) return undefined;
    try {
      const payload = receiptPayloadValue(entry.kind, receipt.payload, this.defs.schemas);
      const body = payload.kind === "record" ? payload.value.get("body_ref") : undefined;
      return body?.kind === "hash" ? body.value : undefined;
    } catch (error) {
      if (isAosError(error, VALUE_ERROR_CODES)) return undefined;
      throw error;
    }
  }

  /** The effect kind of the intent awaiting a receipt under `intentHash`, or undefined when none is pending. */
  pendingKind(intentHash: Uint8Array): string | undefined {
    return this.#effects.pending(intentHash)?.kind;
  }

  /** The id the next plan instance will get. */
  plansNextId(): bigint {
    return this.#plans.nextInstanceId;
  }

  /** Plan instances, by id. */
  plans(): ReturnType<PlanEngine["instances"]> {
    return this.#plans.instances();
  }

  /**
   * Checks a receipt against the outbox before the driver journals it (KERNEL §6.4, the kernel's part:
   * signature and adapter checks are the driver's). Returns the rejection reason, or undefined.
   */
  checkReceipt(receipt: {
    intentHash: Uint8Array;
    status: string;
    payload: Uint8Array;
    fence: { generation: bigint; height: bigint };
  }): ReceiptRejection | undefined {
    if (!["ok", "error", "timeout"].includes(receipt.status)) return "malformed";
    if (this.#effects.isSettled(receipt.intentHash)) return "duplicate";
    const entry = this.#effects.pending(receipt.intentHash);
    if (!entry) return "unknown_intent";
    if (entry.fence.generation !== receipt.fence.generation || entry.fence.height !== receipt.fence.height) {
      return "fence_mismatch";
    }
    if (receipt.payload.length === 0) return receipt.status === "ok" ? "invalid_payload" : undefined;
    try {
      receiptPayloadValue(entry.kind, receipt.payload, this.#defs.schemas);
    } catch (error) {
      if (isAosError(error, VALUE_ERROR_CODES)) return "invalid_payload";
      throw error;
    }
    return undefined;
  }

  /**
   * Applies one journaled entry (an input or a marker) and runs the kernel to idle.
   * Returns the derived records that must follow it in the journal, with their seqs.
   */
  apply(entry: KernelEntry, context: ApplyContext = {}): DerivedRecord[] {
    assert(entry.seq === this.#height, `entry seq ${entry.seq} equals kernel height ${this.#height}`);
    assert(this.#queue.length === 0, "inputs are admitted only when the kernel is idle");
    this.#blobSize = context.blobSize;
    try {
      return this.#apply(entry);
    } finally {
      this.#blobSize = undefined;
    }
  }

  #apply(entry: KernelEntry): DerivedRecord[] {
    this.#derived = [];
    this.#blockEvents = 0;
    this.#blockEventBytes = 0;
    this.#blockEnded = false;
    this.#height++;
    if (isRecord(entry, "genesis")) {
      if (this.#started || entry.seq !== 0) throw corruptEntry(entry.seq, "unexpected genesis");
      if (bytesToHashRef(entry.body.manifest_hash) !== this.#defs.manifestHash) {
        throw corruptEntry(entry.seq, "genesis names a different manifest than the one loaded");
      }
      this.#nowNs = u64(entry.body.ingress_ns);
      this.#worldId = entry.body.world_id;
      this.#started = true;
      return this.#takeDerived();
    }
    if (!this.#started) throw corruptEntry(entry.seq, "entry before genesis");
    if (entry.kind === "snapshot") return this.#takeDerived();
    if (entry.kind === "rollback") {
      throw corruptEntry(
        entry.seq,
        "a rollback restores a snapshot: it is applied with Kernel.rollBack, given the snapshot",
      );
    }
    if (isRecord(entry, "domain_event")) {
      const body = entry.body;
      if (body.origin.kind !== "external" || body.ingress_ns === undefined) {
        throw corruptEntry(entry.seq, "a derived domain_event where an input belongs");
      }
      this.#nowNs = u64(body.ingress_ns);
      const item: EventItem = {
        type: "event",
        seq: entry.seq,
        schema: body.schema,
        value: body.value,
        origin: EXTERNAL_ORIGIN,
      };
      if (body.key !== undefined) item.key = body.key;
      this.#queue.push(item);
    } else if (isRecord(entry, "receipt_appended")) {
      this.#nowNs = u64(entry.body.ingress_ns);
      this.#applyReceipt(entry.body, (what) => corruptEntry(entry.seq, what));
    } else if (isRecord(entry, "receipt_ignored") || isRecord(entry, "inbox_quarantined")) {
      this.#nowNs = u64(entry.body.ingress_ns);
    } else if (isRecord(entry, "plan_start_requested")) {
      this.#nowNs = u64(entry.body.ingress_ns);
      this.#plans.startRequested(entry.seq, entry.body);
    } else if (isRecord(entry, "plan_cancel_requested")) {
      this.#nowNs = u64(entry.body.ingress_ns);
      this.#plans.cancel(u64(entry.body.instance_id), entry.body.reason);
    } else if (isGovernanceInput(entry.kind)) {
      this.#nowNs = u64(entry.body.ingress_ns as bigint | number);
      this.#governance.apply(entry, (what) => corruptEntry(entry.seq, what));
    } else {
      throw corruptEntry(entry.seq, `kind "${entry.kind}" is not an input here`);
    }
    this.#runToIdle();
    return this.#takeDerived();
  }

  #takeDerived(): DerivedRecord[] {
    const derived = this.#derived;
    this.#derived = [];
    return derived;
  }

  #emit(record: KernelRecord): number {
    const seq = this.#height++;
    this.#derived.push({ seq, ...record });
    return seq;
  }

  #applyReceipt(b: EntryBodies["receipt_appended"], corrupt: (what: string) => AosError): void {
    const pending = this.#effects.settle(b.intent_hash);
    if (!pending) throw corrupt(`receipt for intent ${toHex(b.intent_hash)} that is not pending`);
    const receipt: AcceptedReceipt = {
      intentHash: b.intent_hash,
      adapterId: b.adapter_id,
      status: b.status,
      payload: b.payload,
      signature: b.signature,
    };
    if (b.cost_cents !== undefined) receipt.costCents = u64(b.cost_cents);
    this.#settleBudget(pending, receipt, b.body_size);
    if (pending.origin.kind === "plan") {
      this.#plans.onReceipt(pending, receipt);
      return;
    }
    const origin = pending.origin;
    const event = receiptEvent(pending, receipt, this.#defs.schemas);
    const originBody: JournalOrigin & { kind: "receipt" } = {
      kind: "receipt",
      intent_hash: receipt.intentHash,
      reducer: origin.name,
    };
    if (origin.key !== null) originBody.key = origin.key;
    const seq = this.#emit(domainEventRecord(event, originBody));
    this.#queue.push({
      type: "event",
      seq,
      schema: event.schema,
      value: event.value,
      origin: { kind: "receipt", reducer: origin.name, key: origin.key },
    });
  }

  /** KERNEL §6.5 step 2: releases the reservation, adds the usage, journals each overdraft. */
  #settleBudget(pending: OutboxEntry, receipt: AcceptedReceipt, bodySize: Uint | undefined): void {
    const ledger = this.#effects.budgets;
    if (!ledger.budgeted(pending.capName)) return;
    const payload = receiptPayloadValue(pending.kind, receipt.payload, this.defs.schemas);
    const usage = receiptUsage(pending.kind, payload, {
      costCents: receipt.costCents,
      bodySize: bodySize === undefined ? undefined : u64(bodySize),
    });
    for (const overdraft of ledger.settle(pending.capName, pending.reserved, usage)) {
      this.#emit(journalRecord("budget_exceeded", {
        grant_name: pending.capName,
        dimension: overdraft.dimension,
        delta: overdraft.delta,
        new_balance: overdraft.newBalance,
      }));
    }
  }

  #runToIdle(): void {
    let ticks = 0;
    while (this.#queue.length > 0) {
      if (this.#blockEnded) {
        // A step passed a per-block bound and journaled why (`block_limit`): the rest of the block is dropped.
        this.#queue.length = 0;
        this.#planQueued.clear();
        return;
      }
      const item = this.#queue.shift()!;
      if (++ticks > limits.ticksPerBlockMax) {
        // A reducer or plan ping-pong must not hang the world: end the block deterministically.
        this.#queue.length = 0;
        this.#planQueued.clear();
        this.#emit(journalRecord("reducer_error", {
          reducer: "",
          event_seq: item.type === "event" ? item.seq : 0,
          code: "runaway",
          message: `block exceeded ${limits.ticksPerBlockMax} ticks; remaining work dropped`,
        }));
        return;
      }
      if (item.type === "plan") {
        this.#planQueued.delete(item.id);
        this.#plans.run(item.id);
      } else {
        this.#processEvent(item);
      }
    }
  }

  /** KERNEL §2.3: reducers, then triggers, then wakeups. */
  #processEvent(event: EventItem): void {
    if (event.origin.kind === "receipt") {
      // A sys/* receipt event reaches only its originating reducer (and cell); no triggers, no wakeups.
      const module = this.#defs.modules.get(event.origin.reducer);
      if (!module) {
        this.#reducerError(
          event.origin.reducer,
          event.origin.key,
          event.seq,
          "reducer_missing",
          "the reducer is no longer in the manifest",
        );
        return;
      }
      this.#stepReducer(module, event, event.origin.key);
      return;
    }
    const dispatch = dispatchOf(this.#defs.manifest);
    const routes = dispatch.routes.get(event.schema) ?? NONE;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      const module = this.#defs.modules.get(route.reducer);
      assert(module, `routed reducer "${route.reducer}" is loaded`);
      if (route.key_field === undefined) {
        this.#stepReducer(module, event, null);
        continue;
      }
      const key = cellKeyFor(route.key_field, module, event, this.#defs.schemas);
      if (!key.ok) {
        this.#reducerError(module.name, null, event.seq, key.code, key.message);
        continue;
      }
      this.#stepReducer(module, event, key.key);
    }
    const triggers = dispatch.triggers.get(event.schema) ?? NONE;
    for (let i = 0; i < triggers.length; i++) this.#plans.startFromTrigger(triggers[i]!, event);
    this.#plans.onEvent(event);
  }

  #reducerError(
    reducer: string,
    key: Uint8Array | null,
    eventSeq: number,
    code: ReducerErrorCode,
    message: string,
  ): void {
    const body: EntryBodies["reducer_error"] = { reducer, event_seq: eventSeq, code, message };
    if (key !== null) body.key = key;
    this.#emit(journalRecord("reducer_error", body));
  }

  #stepReducer(module: DefModule, event: EventItem, key: Uint8Array | null): void {
    const reducer = module.name;
    const cellMode = key !== null;
    const fail = (code: ReducerErrorCode, message: string) =>
      this.#reducerError(reducer, key, event.seq, code, message);
    const envelope = {
      state: this.#cells.get(reducer, key),
      event: key === null
        ? { schema: event.schema, value: event.value }
        : { schema: event.schema, value: event.value, key },
      ctx: { key, cellMode, nowNs: this.#nowNs },
    };
    // The envelope's bytes are only copied into the reducer's memory: the encoder lends its buffer. The output
    // is lent too, a view of the reducer's memory valid until its next call: it is decoded here and now, and
    // what is kept is copied (the state by the cell store, anything else by the general decoder).
    const result = withInputEnvelope(envelope, (input) => this.#host.callLent(module.wasm_hash, input));
    if (!result.ok) return fail(result.code, result.message);
    let output: OutputEnvelope;
    try {
      output = decodeOutputEnvelope(result.output);
    } catch (error) {
      return fail("bad_output", errorMessage(error));
    }
    if (output.state !== null) {
      try {
        checkTyped(refType(module.abi.reducer.state), output.state, this.#defs.schemas);
      } catch (error) {
        return fail("bad_state", `state is not a valid ${module.abi.reducer.state}: ${errorMessage(error)}`);
      }
    }
    if (output.domainEvents.length > limits.eventsPerReducerStepMax) {
      return fail(
        "bad_event",
        `emitted ${output.domainEvents.length} events, above ${limits.eventsPerReducerStepMax}`,
      );
    }
    for (let i = 0; i < output.domainEvents.length; i++) {
      const emitted = output.domainEvents[i]!;
      if (!this.#defs.schemas.has(emitted.schema) || emitted.schema.startsWith("sys/")) {
        return fail(
          "bad_event",
          `domain_events[${i}]: schema "${emitted.schema}" is not a user schema of the manifest`,
        );
      }
      try {
        checkTyped(refType(emitted.schema), emitted.value, this.#defs.schemas);
        if (emitted.key !== undefined) decodeCanonical(emitted.key);
      } catch (error) {
        return fail("bad_event", `domain_events[${i}]: ${errorMessage(error)}`);
      }
    }
    if (output.effects.length > limits.effectsPerReducerStepMax) {
      return fail("too_many_effects", "one effect per reducer step at most; orchestrate several in a plan");
    }
    let gate: GateResult | undefined;
    const effect = output.effects[0];
    if (effect) {
      const declared = module.abi.reducer.effects_emitted ?? [];
      if (!declared.includes(effect.kind as never)) {
        return fail("effect_not_declared", `effect "${effect.kind}" is not in effects_emitted of ${reducer}`);
      }
      const spec = effectSpec(effect.kind);
      if (!spec?.micro) {
        return fail("not_micro_effect", `"${effect.kind}" is not a micro-effect; emit it from a plan`);
      }
      const slot = effect.capSlot ?? "default";
      const grantName = this.#defs.manifest.module_bindings?.[reducer]?.slots[slot];
      if (grantName === undefined) {
        return fail("slot_unbound", `cap slot "${slot}" of ${reducer} is not bound to a grant`);
      }
      try {
        checkTyped(refType(spec.params), effect.paramsCbor, this.#defs.schemas);
      } catch (error) {
        return fail("bad_params", `${effect.kind} params: ${errorMessage(error)}`);
      }
      const slotType = module.abi.reducer.cap_slots?.[slot];
      const grant = this.#defs.manifest.defaults?.cap_grants?.find((g) => g.name === grantName);
      const cap = grant ? defcapOf(this.#defs, grant.cap) : undefined;
      if (slotType !== undefined && cap !== undefined && cap.cap_type !== slotType) {
        return fail(
          "cap_mismatch",
          `slot "${slot}" wants ${slotType}, grant "${grantName}" is ${cap.cap_type}`,
        );
      }
      const origin: EffectOrigin = { kind: "reducer", name: reducer, key, eventSeq: event.seq };
      gate = this.#effects.evaluate(
        { kind: effect.kind, capName: grantName, params: effect.paramsCbor, origin },
        {
          defs: this.#defs,
          nowNs: this.#nowNs,
          generation: this.#generation,
          blobSize: this.#blobSize,
          worldId: this.#worldId,
        },
      );
      if (!gate.ok) {
        for (const record of gate.records) this.#emit(record);
        return fail(gate.stage === "policy" ? "policy_denied" : gate.stage, gate.reason);
      }
    }
    const annotations = module.abi.reducer.annotations;
    if (annotations !== undefined && output.ann !== null) {
      try {
        checkTyped(refType(annotations), output.ann, this.#defs.schemas);
      } catch (error) {
        return fail("bad_ann", errorMessage(error));
      }
    }
    let emittedBytes = 0;
    for (let i = 0; i < output.domainEvents.length; i++) {
      const e = output.domainEvents[i]!;
      emittedBytes += e.schema.length + e.value.length + (e.key?.length ?? 0);
    }
    const events = this.#blockEvents + output.domainEvents.length;
    const bytes = this.#blockEventBytes + emittedBytes;
    if (events > limits.derivedEventsPerBlockMax || bytes > limits.derivedEventBytesPerBlockMax) {
      // A fan-out (a reducer routing its own events back to itself) grows the block geometrically: end the
      // block here, deterministically, before it exhausts memory; the step is not committed.
      this.#blockEnded = true;
      const which = events > limits.derivedEventsPerBlockMax
        ? `${events} derived events, above derivedEventsPerBlockMax (${limits.derivedEventsPerBlockMax})`
        : `${bytes} bytes of derived events, above derivedEventBytesPerBlockMax (${limits.derivedEventBytesPerBlockMax})`;
      return fail(
        "block_limit",
        `emitting ${output.domainEvents.length} events would bring the block to ${which}; ` +
          `the block ends here and its remaining work is dropped`,
      );
    }
    this.#blockEvents = events;
    this.#blockEventBytes = bytes;
    // Commit (KERNEL §2.3 1a–c): state, emitted events in order, then the effect.
    this.#cells.set(reducer, key, output.state);
    for (const emitted of output.domainEvents) {
      const origin: JournalOrigin & { kind: "reducer" } = {
        kind: "reducer",
        name: reducer,
        event_seq: event.seq,
      };
      if (key !== null) origin.key = key;
      const seq = this.#emit(domainEventRecord(emitted, origin));
      const item: EventItem = {
        type: "event",
        seq,
        schema: emitted.schema,
        value: emitted.value,
        origin: { kind: "reducer" },
      };
      if (emitted.key !== undefined) item.key = emitted.key;
      this.#queue.push(item);
    }
    if (gate?.ok) this.#effects.commit(gate, (r) => this.#emit(r), () => this.#height);
  }

  #planHost(): PlanHost {
    // deno-lint-ignore no-this-alias
    const kernel = this;
    return {
      get defs() {
        return kernel.#defs;
      },
      defsFor(manifestHash: HashRef): WorldDefs {
        if (manifestHash === kernel.#defs.manifestHash) return kernel.#defs;
        const pinned = kernel.#pinned.get(manifestHash);
        if (pinned === undefined) {
          throw new InvariantError(`Manifest ${manifestHash} pinned by a plan is not loaded`);
        }
        return pinned;
      },
      get nowNs() {
        return kernel.#nowNs;
      },
      emit: (record) => kernel.#emit(record),
      enqueuePlanRun(id) {
        if (kernel.#planQueued.has(id)) return;
        kernel.#planQueued.add(id);
        kernel.#queue.push({ type: "plan", id });
      },
      emitEffect(request) {
        const gate = kernel.#effects.evaluate(request, {
          defs: kernel.#defs,
          nowNs: kernel.#nowNs,
          generation: kernel.#generation,
          blobSize: kernel.#blobSize,
          worldId: kernel.#worldId,
        });
        if (!gate.ok) {
          for (const record of gate.records) kernel.#emit(record);
          return { ok: false, reason: `${gate.stage}: ${gate.reason}` };
        }
        kernel.#effects.commit(gate, (r) => kernel.#emit(r), () => kernel.#height);
        return { ok: true, intentHash: gate.intentHash };
      },
      raiseEvent(event, origin) {
        kernel.#blockEvents++;
        kernel.#blockEventBytes += event.schema.length + event.value.length + (event.key?.length ?? 0);
        const seq = kernel.#emit(
          domainEventRecord(event, {
            kind: "plan",
            name: origin.name,
            instance_id: origin.instanceId,
            step: origin.step,
          }),
        );
        const item: EventItem = {
          type: "event",
          seq,
          schema: event.schema,
          value: event.value,
          origin: { kind: "plan" },
        };
        if (event.key !== undefined) item.key = event.key;
        kernel.#queue.push(item);
      },
    };
  }

  /**
   * Applies a `rollback` entry (KERNEL §8.6) and returns the kernel that continues after it: the snapshot
   * `bytes` (the blob the entry names, taken at `to_height`) restored on `defs` (the control plane then in
   * force, loaded by the driver with the manifests its plans pinned), at height `entry.seq + 1`, with the
   * entry's generation (this one's + 1) so fences of intents queued again differ from the abandoned ones.
   * Derives nothing. This kernel is left as it was (the abandoned branch); the journal keeps its entries.
   */
  rollBack(entry: KernelEntry, bytes: Uint8Array, defs: WorldDefs): Kernel {
    assert(entry.seq === this.#height, `entry seq ${entry.seq} equals kernel height ${this.#height}`);
    assert(this.#queue.length === 0, "inputs are admitted only when the kernel is idle");
    const corrupt = (what: string) =>
      new AosError("AOS_JOURNAL_CORRUPT", `Entry ${entry.seq}: ${what}`, { context: { seq: entry.seq } });
    if (!isRecord(entry, "rollback")) throw corrupt(`kind "${entry.kind}" is not a rollback`);
    if (!this.#started) throw corrupt("entry before genesis");
    const toHeight = u64(entry.body.to_height);
    const generation = u64(entry.body.generation);
    if (toHeight < 1n || toHeight >= BigInt(entry.seq)) {
      throw corrupt(`rollback to height ${toHeight} is not a height before it`);
    }
    if (generation !== this.#generation + 1n) {
      throw corrupt(`rollback to generation ${generation}, expected ${this.#generation + 1n}`);
    }
    if (!bytesEqual(sha256(bytes), entry.body.snapshot_hash)) {
      throw corrupt("the snapshot given does not hash to the rollback's snapshot_hash");
    }
    const next = Kernel.restore(defs, this.#host, bytes, this.#content);
    if (BigInt(next.#height) !== toHeight) {
      throw corrupt(`the snapshot it names is at height ${next.#height}, not ${toHeight}`);
    }
    next.#height = entry.seq + 1;
    next.#generation = generation;
    next.#nowNs = u64(entry.body.ingress_ns);
    return next;
  }

  /**
   * Canonical snapshot of the world state (KERNEL §8.4), taken only when idle: the canonical encoding of its
   * fields and `reducers`, the cells, written straight from the cell store (one `{key?, state, reducer}` map
   * each, in cell order) instead of as an object per cell for the encoder to sort.
   */
  snapshot(): Uint8Array {
    assert(this.#queue.length === 0, "snapshots are taken only when idle");
    const fields = this.#snapshotFields();
    const plans = this.#plans.snapshotPlans();
    const cells = this.#cells.all();
    return encodeCanonicalWith((sink) => {
      // As the generic encoder does, a field without a value is left out.
      const keys = canonicalKeyOrder([
        ...Object.keys(fields).filter((k) => fields[k] !== undefined),
        "plans",
        "reducers",
      ]);
      sink.map(keys.length);
      for (const key of keys) {
        sink.text(key);
        if (key === "plans") {
          // Each instance as the plan engine encoded it (ended ones once, not at every snapshot).
          sink.array(plans.length);
          for (const plan of plans) sink.raw(plan);
          continue;
        }
        if (key !== "reducers") {
          sink.value(fields[key]!);
          continue;
        }
        sink.array(cells.length);
        for (const cell of cells) {
          sink.map(cell.key === null ? 2 : 3);
          for (const field of CELL_FIELDS) {
            if (field === "key") {
              if (cell.key === null) continue;
              sink.text(field);
              sink.bytes(cell.key);
            } else if (field === "state") {
              sink.text(field);
              sink.bytes(cell.state);
            } else {
              sink.text(field);
              sink.text(cell.reducer);
            }
          }
        }
      }
    });
  }

  /** Every field of the snapshot but `plans` and `reducers` (the cells). */
  #snapshotFields(): { [key: string]: CborValue } {
    return {
      version: 1,
      ...(this.#worldId === undefined ? {} : { world_id: this.#worldId }),
      height: this.#height,
      generation: this.#generation,
      manifest_hash: hashRefToBytes(this.#defs.manifestHash),
      pinned_manifests: this.pinnedManifests().map(hashRefToBytes),
      outbox: outboxToCbor(this.#effects.outbox()),
      settled_recent: this.#effects.settled().map((hex) => fromHex(hex)),
      budgets: this.#effects.budgets.toCbor(),
      governance: this.#governance.snapshot(),
      next_instance_id: this.#plans.nextInstanceId,
      now_ns: this.#nowNs,
    };
  }

  /**
   * The manifest in force when a snapshot was taken and the manifests its running plans pinned: what the
   * driver loads before {@linkcode Kernel.restore}.
   */
  static snapshotManifests(bytes: Uint8Array): { manifestHash: HashRef; pinned: HashRef[] } {
    const raw = decodeCanonical(bytes, { useMaps: false }) as { [key: string]: CborValue };
    decodedSnapshots.set(bytes, raw);
    return snapshotManifestsOf(raw);
  }

  /**
   * Restores a kernel from snapshot bytes. `defs` is the control plane that was in force (the snapshot's
   * `manifest_hash`); `content` must hold the manifests its plan instances pinned.
   */
  static restore(
    defs: WorldDefs,
    host: ReducerHost,
    bytes: Uint8Array,
    content: ControlPlaneContent = staticContent(defs),
  ): Kernel {
    const raw = decodedSnapshots.get(bytes) ??
      decodeCanonical(bytes, { useMaps: false }) as { [key: string]: CborValue };
    decodedSnapshots.delete(bytes);
    const bad = (what: string) => new AosError("AOS_JOURNAL_CORRUPT", `Snapshot is malformed: ${what}`);
    if (raw.version !== 1) throw bad("version");
    if (
      !(raw.manifest_hash instanceof Uint8Array) || bytesToHashRef(raw.manifest_hash) !== defs.manifestHash
    ) {
      throw bad("it was taken under another manifest");
    }
    const kernel = new Kernel(defs, host, content);
    for (const hash of snapshotManifestsOf(raw).pinned) {
      const pinned = content.defs(hash);
      if (pinned === undefined) {
        throw new AosError("AOS_CAS_MISSING", `Manifest ${hash} pinned by a plan instance is not loaded`);
      }
      assertLoaded(pinned, host);
      kernel.#pinned.set(hash, pinned);
    }
    kernel.#governance.restore(raw.governance, bad);
    kernel.#height = Number(uint(raw.height, "snapshot.height", 0));
    kernel.#nowNs = uint(raw.now_ns, "snapshot.now_ns", 0);
    kernel.#generation = uint(raw.generation, "snapshot.generation", 0);
    if (raw.world_id !== undefined) {
      if (!(raw.world_id instanceof Uint8Array)) throw bad("world_id");
      kernel.#worldId = raw.world_id;
    }
    kernel.#started = true;
    if (!Array.isArray(raw.reducers)) throw bad("reducers");
    for (const item of raw.reducers) {
      const r = item as { reducer?: unknown; key?: unknown; state?: unknown };
      if (typeof r.reducer !== "string" || !(r.state instanceof Uint8Array)) throw bad("reducer entry");
      kernel.#cells.adopt(r.reducer, r.key instanceof Uint8Array ? r.key : null, r.state);
    }
    if (!Array.isArray(raw.outbox) || !Array.isArray(raw.settled_recent) || !Array.isArray(raw.plans)) {
      throw bad("outbox, settled set or plans");
    }
    kernel.#effects.restore(
      outboxFromCbor(raw.outbox),
      raw.settled_recent.map((h) => (h instanceof Uint8Array ? toHex(h) : "")),
    );
    // A snapshot taken before budgets were kept has `budgets: []`: the ledger starts at zero.
    kernel.#effects.budgets.restore(raw.budgets ?? []);
    kernel.#plans.restore({
      plans: raw.plans,
      next_instance_id: uint(raw.next_instance_id, "next_instance_id", 0),
    });
    return kernel;
  }
}

/** Asserts every reducer module of `defs` is compiled into `host`. */
function assertLoaded(defs: WorldDefs, host: ReducerHost): void {
  for (const module of defs.modules.values()) {
    assert(host.has(module.wasm_hash), `module "${module.name}" was loaded into the host`);
  }
}

function uint(value: CborValue | undefined, what: string, seq: number): bigint {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n) return value;
  throw new AosError("AOS_JOURNAL_CORRUPT", `Entry ${seq}: ${what} is not an unsigned integer`, {
    context: { seq },
  });
}

function errorMessage(error: unknown): string {
  return handledMessage(error, VALUE_ERROR_CODES);
}

/** True when two optional keys are equal. */
export function sameKey(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return bytesEqual(a, b);
}

/** {@linkcode Kernel.snapshotManifests} of a decoded snapshot. */
function snapshotManifestsOf(
  raw: { [key: string]: CborValue },
): { manifestHash: HashRef; pinned: HashRef[] } {
  const bad = (what: string) => new AosError("AOS_JOURNAL_CORRUPT", `Snapshot is malformed: ${what}`);
  if (raw === null || typeof raw !== "object" || raw.version !== 1) throw bad("version");
  const hash = (v: CborValue | undefined, what: string) => {
    if (!(v instanceof Uint8Array) || v.length !== 32) throw bad(what);
    return bytesToHashRef(v);
  };
  const pinned = raw.pinned_manifests;
  if (!Array.isArray(pinned)) throw bad("pinned_manifests");
  return {
    manifestHash: hash(raw.manifest_hash, "manifest_hash"),
    pinned: pinned.map((h) => hash(h, "pinned_manifests")),
  };
}
