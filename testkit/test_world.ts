/**
 * `TestWorld`: a real world in a temp folder, driven deterministically — a virtual clock that only moves
 * when told (or skips to the next timer), the real timer adapter on a virtual scheduler, and fake
 * adapters for every other kind whose receipts are scripted and signed like real ones. It sends events,
 * runs to idle, reads state and the journal, and replays the journal in a fresh kernel to assert that
 * states, plan instances and queues come out byte-identical.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestWorld } from "./test_world.ts";
 * import { counterWorld } from "./_examples.ts";
 *
 * await using world = await TestWorld.create(await counterWorld());
 * await world.send("demo/Increment@1", { by: 2 });
 * assert.deepEqual(world.state("demo/Counter@1"), { count: 2n });
 * await world.assertReplay();
 * ```
 *
 * @module
 */
import {
  AosError,
  bytesEqual,
  type EffectKind,
  hashRefOf,
  InvariantError,
  type JsonValue,
  toJsonValue,
} from "../air/mod.ts";
import {
  AdapterKey,
  FakeAdapter,
  type FakeOutcome,
  TimerAdapter,
  VirtualTimerScheduler,
} from "../adapters/mod.ts";
import {
  applyProposal,
  parseHarness,
  patchFromBundle,
  type Proposal,
  recordApproval,
  type ShadowOptions,
  type ShadowOutcome,
  shadowProposal,
  type SubmitOutcome,
  submitProposal,
} from "../governance/mod.ts";
import { type Cas, FsCas, FsJournal } from "../journal/mod.ts";
import {
  type AdapterDirectory,
  type EffectAdapter,
  type Kernel,
  type Receipt,
  VirtualClock,
} from "../kernel/mod.ts";
import {
  AirInvalidError,
  Dispatcher,
  FileHeadStore,
  type FileWorld,
  initWorld,
  type SecretResolver,
  type StepReport,
  validateAirSource,
  verifyReplay,
  World,
  worldPaths,
} from "../world/mod.ts";
import type { WorldDefinition } from "./fixtures.ts";
import { typedEntries, type TypedEntry } from "./journal_view.ts";

/** The start of virtual time in test worlds (2023-11-14T22:13:20Z). */
export const TEST_EPOCH_NS = 1_700_000_000_000_000_000n;

/** Options of {@linkcode TestWorld.create}. */
export interface TestWorldOptions {
  startNs?: bigint;
  /** Default outcome of the fake adapters per kind (default: ok with the zero receipt). */
  respond?: Partial<
    Record<EffectKind, (intent: { intentHash: Uint8Array; params: Uint8Array }) => FakeOutcome>
  >;
  snapshotIntervalEntries?: number;
  /**
   * Real adapters that replace the fakes of their kinds (e.g. `BlobPutAdapter` on the world's CAS, or
   * `LlmAdapter` with the mock provider); built once the world exists, from its CAS.
   */
  adapters?: (world: { cas: Cas }) => EffectAdapter[];
  /**
   * Resolves defsecret bindings at dispatch (default: the world's, `env:NAME` from this process's
   * environment); e.g. `new EnvSecretResolver((name) => …)` for a scenario's own variables.
   */
  secrets?: SecretResolver;
  /** The world's id in genesis (default: a fixed one, so test journals are the same on every run). */
  worldId?: Uint8Array | null;
}

/** The world id of a test world unless one is given: fixed, for deterministic journals. */
export const TEST_WORLD_ID: Uint8Array = new Uint8Array(16).fill(7);

const FAKE_KINDS: EffectKind[] = ["http.request", "blob.put", "blob.get", "llm.generate"];

/** A deterministic world for tests. Dispose it (`await using`) to remove its folder. */
export class TestWorld implements AsyncDisposable {
  readonly dir: string;
  readonly clock: VirtualClock;
  readonly scheduler: VirtualTimerScheduler;
  /**
   * Fake adapters by kind (every kind but `timer.set`, which is the real adapter on virtual time); a kind
   * given a real adapter in `options.adapters` keeps its fake here, unused.
   */
  readonly fakes: ReadonlyMap<EffectKind, FakeAdapter>;
  readonly #adapters = new Map<EffectKind, EffectAdapter>();
  readonly #keys = new Map<string, Uint8Array>();
  #world: FileWorld;
  /** Executions of the real adapters of `options.adapters` that have not settled yet. */
  readonly #realInFlight = new Set<Promise<void>>();
  /** The driver's dispatcher: intents whose receipt was ignored wait for `forgetIgnored()` (like a restart). */
  readonly #dispatcher = new Dispatcher();

  private constructor(
    dir: string,
    world: FileWorld,
    clock: VirtualClock,
    scheduler: VirtualTimerScheduler,
    options: TestWorldOptions,
  ) {
    this.dir = dir;
    this.#world = world;
    this.clock = clock;
    this.scheduler = scheduler;
    const fakes = new Map<EffectKind, FakeAdapter>();
    // Fixed seeds: the same scenario signs the same bytes every run.
    FAKE_KINDS.forEach((kind, i) => {
      const respond = options.respond?.[kind];
      const fake = new FakeAdapter({
        kind,
        key: AdapterKey.fromSeed(new Uint8Array(32).fill(i + 1)),
        scheduler,
        ...(respond ? { respond } : {}),
      });
      fakes.set(kind, fake);
      this.#register(fake);
    });
    this.fakes = fakes;
    this.#register(new TimerAdapter({ key: AdapterKey.fromSeed(new Uint8Array(32).fill(9)), scheduler }));
    for (const adapter of options.adapters?.({ cas: world.cas }) ?? []) {
      this.#register(this.#tracked(adapter));
    }
  }

  /** `adapter`, its executions recorded in `#realInFlight` until they settle (so `runToIdle` awaits them). */
  #tracked(adapter: EffectAdapter): EffectAdapter {
    const inFlight = this.#realInFlight;
    return {
      kind: adapter.kind,
      adapterId: adapter.adapterId,
      publicKey: adapter.publicKey,
      execute(intent) {
        const receipt = adapter.execute(intent);
        const settled = receipt.then(() => {}, () => {});
        inFlight.add(settled);
        void settled.then(() => inFlight.delete(settled));
        return receipt;
      },
    };
  }

  #register(adapter: EffectAdapter): void {
    this.#adapters.set(adapter.kind, adapter);
    this.#keys.set(adapter.adapterId, adapter.publicKey);
  }

  /** Creates the world from a fixture in a fresh temp folder. */
  static async create(definition: WorldDefinition, options: TestWorldOptions = {}): Promise<TestWorld> {
    const dir = await Deno.makeTempDir({ prefix: "aos-testworld-" });
    const clock = new VirtualClock(options.startNs ?? TEST_EPOCH_NS);
    const scheduler = new VirtualTimerScheduler(clock);
    const worldOptions = {
      clock,
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      worldId: options.worldId === undefined ? TEST_WORLD_ID : options.worldId,
      ...(options.snapshotIntervalEntries === undefined
        ? {}
        : { snapshotIntervalEntries: options.snapshotIntervalEntries }),
    };
    try {
      const created = await initWorld(dir, definition.airFiles, definition.wasmFiles, worldOptions);
      created.close();
      const world = await World.open(dir, worldOptions);
      return new TestWorld(dir, world, clock, scheduler, options);
    } catch (error) {
      // An invalid fixture must not leave its temp folder behind.
      scheduler.close();
      await Deno.remove(dir, { recursive: true });
      throw error;
    }
  }

  /** The underlying world (journal, kernel, defs). */
  get world(): FileWorld {
    return this.#world;
  }

  /** The adapters and keys the driver uses. */
  get directory(): AdapterDirectory {
    return {
      adapterFor: (kind) => this.#adapters.get(kind),
      publicKeyOf: (id) => this.#keys.get(id),
      kindsOf: (id) => [...this.#adapters].filter(([, a]) => a.adapterId === id).map(([kind]) => kind).sort(),
    };
  }

  /** Sends one external event (plain JSON value; numbers allowed) and processes its block. */
  async send(schema: string, value: unknown, key?: unknown): Promise<StepReport> {
    const input = key === undefined
      ? { schema, value: toJsonValue(value) }
      : { schema, value: toJsonValue(value), key: toJsonValue(key) };
    return await this.#world.send([input]);
  }

  /** Starts a plan manually; returns its instance id. */
  async startPlan(plan: string, input: unknown): Promise<bigint> {
    return (await this.#world.startPlan(plan, toJsonValue(input))).instanceId;
  }

  /**
   * Proposes turning the world into `target` (a fixture, e.g. the original one with a few changes): submits
   * the patch from the manifest in force to the target's manifest, with the target's WASM.
   */
  async propose(
    target: WorldDefinition,
    options: { author?: string; description?: string } = {},
  ): Promise<SubmitOutcome> {
    const { source, diagnostics } = validateAirSource(target.airFiles, target.wasmFiles);
    if (!source) throw new AirInvalidError(diagnostics);
    const live = this.#world.defs;
    const doc = patchFromBundle(live.manifest, live.manifestHash, source.bundle);
    return await this.submitPatch(doc, options, target.wasmFiles);
  }

  /** Submits a patch document (plain JSON, numbers allowed). */
  async submitPatch(
    patch: unknown,
    options: { author?: string; description?: string } = {},
    wasm: Array<{ path: string; bytes: Uint8Array }> = [],
  ): Promise<SubmitOutcome> {
    return await submitProposal(this.#world, toJsonValue(patch), { ...options, wasm });
  }

  /**
   * Shadows proposal `id` with a harness (`{events?: [{schema, value, key?}], receipts?: [{kind, status,
   * payload?, cost_cents?}]}`, numbers allowed) and records the report.
   */
  async shadow(id: bigint, harness: unknown = {}, options: ShadowOptions = {}): Promise<ShadowOutcome> {
    return await shadowProposal(this.#world, id, parseHarness(toJsonValue(harness), "harness"), options);
  }

  /** Approves proposal `id`. */
  async approve(id: bigint, approver = "reviewer", note?: string): Promise<Proposal> {
    return await recordApproval(this.#world, id, "approve", approver, note);
  }

  /** Rejects proposal `id`. */
  async reject(id: bigint, approver = "reviewer", note?: string): Promise<Proposal> {
    return await recordApproval(this.#world, id, "reject", approver, note);
  }

  /** Applies proposal `id` (approved); returns it after (applied, or rejected for a stale base). */
  async apply(id: bigint): Promise<Proposal> {
    return await applyProposal(this.#world, id);
  }

  /** Dispatches every queued intent that is not in flight yet. */
  dispatch(): number {
    return this.#dispatcher.dispatch(this.#world.kernel.outbox(), this.directory, this.#world.secretAccess())
      .dispatched;
  }

  /** Lets settled adapter promises deliver their receipts. */
  async #settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Admits receipts that are ready (including duplicates a fake produced), in arrival order. */
  async admitReady(): Promise<number> {
    await this.#settle();
    for (const fake of this.fakes.values()) this.#dispatcher.deliver(fake.takeDuplicates());
    const ready = this.#dispatcher.takeReady();
    if (ready.length === 0) return 0;
    const report = await this.#world.admitReceipts(ready, this.directory);
    for (const o of report.outcomes) if (o.ignored) this.#dispatcher.holdBack(o.intentHash);
    return ready.length;
  }

  /** Lets intents whose receipts were ignored be dispatched again (what a driver restart does). */
  forgetIgnored(): void {
    this.#dispatcher.forgetIgnored();
  }

  /** Admits a receipt as given (e.g. a forged or replayed one). */
  async admit(...receipts: Receipt[]): Promise<StepReport> {
    return await this.#world.admitReceipts(receipts, this.directory);
  }

  /**
   * Runs until nothing can happen without outside help: dispatches intents, admits receipts (waiting for
   * the real adapters of `options.adapters` to answer), and when only timers are left moves the virtual
   * clock to the next one. Held fake receipts stay held.
   */
  async runToIdle(options: { maxRounds?: number; timers?: boolean } = {}): Promise<void> {
    const maxRounds = options.maxRounds ?? 1_000;
    for (let round = 0; round < maxRounds; round++) {
      this.dispatch();
      if ((await this.admitReady()) > 0) continue;
      if (this.#realInFlight.size > 0) {
        // A real adapter works on real I/O: wait for it rather than take it for idle.
        await Promise.all([...this.#realInFlight]);
        continue;
      }
      if (options.timers !== false && this.scheduler.nextDueNs() !== undefined) {
        this.scheduler.runNext();
        continue;
      }
      return;
    }
    throw new InvariantError(`TestWorld did not become idle in ${maxRounds} rounds`);
  }

  /** Advances virtual time (firing due timers); receipts are admitted by the next `runToIdle`. */
  advance(byNs: bigint): void {
    this.scheduler.advance(byNs);
  }

  /** A reducer's (or cell's) state in plain JSON (integers as bigints), or null. */
  state(reducer: string, key?: unknown): JsonValue {
    const keyBytes = key === undefined ? null : this.#world.encodeCellKey(reducer, toJsonValue(key));
    return this.#world.stateJson(reducer, keyBytes);
  }

  /** The journal as typed entries (values decoded through their schemas). */
  journal(fromSeq = 0): TypedEntry[] {
    return typedEntries([...this.#world.journal.entries(fromSeq)], this.#world.defs);
  }

  /** The kinds of the journal entries, in order (a compact way to assert ordering). */
  kinds(fromSeq = 0): string[] {
    return [...this.#world.journal.entries(fromSeq)].map((e) => e.kind);
  }

  /** Plan instances. */
  plans(): ReturnType<Kernel["plans"]> {
    return this.#world.kernel.plans();
  }

  /**
   * Replays this world's journal from genesis in a fresh kernel (no adapters, nothing redefined: the
   * control plane comes from the world's own store) and asserts the regenerated derived entries and the
   * whole kernel state — cells, plan instances, outbox, settled set, budgets — are byte-identical to the live one.
   * Then reopens the world from disk (snapshot + tail) and asserts the same.
   */
  async assertReplay(): Promise<void> {
    const paths = worldPaths(this.dir);
    const journal = await FsJournal.open(paths.journal, { readOnly: true });
    let report: Awaited<ReturnType<typeof verifyReplay>>;
    try {
      report = await verifyReplay(
        journal,
        new FsCas(paths.store),
        await new FileHeadStore(paths.head).read(),
      );
    } finally {
      journal.close();
    }
    if (report.error) throw new AosError(report.error.code as never, report.error.message);
    if (report.divergence) {
      throw new AosError(
        "AOS_REPLAY_DIVERGED",
        `Replay diverged at seq ${report.divergence.seq}: ${report.divergence.message}`,
      );
    }
    // verifyReplay compared genesis replay with snapshot + tail; the live kernel must equal both.
    const live = this.#world.kernel.snapshot();
    const reopened = await World.open(this.dir, { clock: this.clock });
    try {
      if (!bytesEqual(reopened.kernel.snapshot(), live)) {
        throw new AosError("AOS_REPLAY_DIVERGED", "Reopened world state differs from the live one");
      }
    } finally {
      reopened.close();
    }
  }

  /** The hash of the live kernel state (for comparing two runs of one scenario). */
  stateHash(): string {
    return hashRefOf(this.#world.kernel.snapshot());
  }

  /** Closes the world and removes its folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.scheduler.close();
    this.#world.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}
