/**
 * Seeded crash simulation of a world on real files, in the spirit of TigerBeetle's simulator. The file
 * ports of the world folder are wrapped in fault-injecting ones (named as fakes: {@linkcode FaultyJournal},
 * {@linkcode FaultyCas}, {@linkcode FaultyHeadStore}, {@linkcode FaultyInbox}) that, driven by a seed, make
 * one I/O operation crash the process before or after it, fail an fsync or fail a rename. A crash then
 * rebuilds what a power cut leaves on disk: the journal folder as of its last successful fsync, plus a
 * seeded part of the bytes written since (all, none, or torn at any byte), with indexes and checkpoints as
 * they were at that fsync. The world reopens and the invariants are checked: every acknowledged event is
 * journaled exactly once (none twice), every intent an adapter saw is journaled, and replay verifies.
 *
 * @module
 */
import { AosError, bytesEqual, decodeCanonical, toHex } from "../../air/mod.ts";
import { AdapterKey, FakeAdapter } from "../../adapters/mod.ts";
import {
  type Cas,
  type CasSpace,
  FsCas,
  FsJournal,
  type Journal,
  type JournalEntry,
} from "../../journal/mod.ts";
import type { HashRef } from "../../air/mod.ts";
import { type AdapterDirectory, type EffectAdapter, type Receipt, VirtualClock } from "../../kernel/mod.ts";
import {
  FileHeadStore,
  type Head,
  Inbox,
  type InboxBatch,
  type InboxEvent,
  initWorld,
  openFilePorts,
  readAirFolder,
  readWasmFolders,
  ReceiptInbox,
  verifyReplay,
  World,
  worldPaths,
} from "../../world/mod.ts";

/** A small seeded PRNG (mulberry32): the same seed gives the same faults and workload. */
export class SimRandom {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The error a fake port throws for an injected fault (a crash or a failed fsync/rename). */
export class InjectedFault extends Error {
  constructor(readonly point: string) {
    super(`injected fault: ${point}`);
    this.name = "InjectedFault";
  }
}

/** Decides, operation by operation, where the one fault of a process lifetime goes. */
export class FaultPlan {
  /** The faults injected so far, as `operation:kind`. */
  readonly injected: string[] = [];
  #armed = false;
  #fired = false;

  constructor(readonly random: SimRandom, readonly probability: number) {}

  /** Allows one fault in the next process lifetime. */
  arm(): void {
    this.#armed = true;
    this.#fired = false;
  }

  /** No more faults (the final drain). */
  disarm(): void {
    this.#armed = false;
  }

  /** True when a fault was injected in this lifetime (the process is then dead). */
  get fired(): boolean {
    return this.#fired;
  }

  /** The fault to inject at `operation`, one of `kinds`, or undefined. */
  decide(operation: string, kinds: readonly string[]): string | undefined {
    if (!this.#armed || this.#fired || this.random.next() >= this.probability) return undefined;
    this.#fired = true;
    const kind = this.random.pick(kinds);
    this.injected.push(`${operation}:${kind}`);
    return kind;
  }

  fault(operation: string, kind: string): InjectedFault {
    return new InjectedFault(`${operation}:${kind}`);
  }
}

/**
 * What a crash leaves of a journal folder: the state recorded at its last successful fsync, plus a seeded
 * part of what the last segment got since. Files are written by the real `FsJournal`.
 */
export class JournalDisk {
  #logSizes = new Map<string, number>();
  #aux = new Map<string, Uint8Array>();

  constructor(readonly dir: string) {}

  async #files(): Promise<string[]> {
    const names: string[] = [];
    for await (const e of Deno.readDir(this.dir)) if (e.isFile && !e.name.startsWith(".")) names.push(e.name);
    return names.sort();
  }

  /** Records the folder as durable (after a successful fsync). */
  async record(): Promise<void> {
    this.#logSizes.clear();
    this.#aux.clear();
    for (const name of await this.#files()) {
      if (name.endsWith(".log")) this.#logSizes.set(name, (await Deno.stat(`${this.dir}/${name}`)).size);
      else this.#aux.set(name, await Deno.readFile(`${this.dir}/${name}`));
    }
  }

  /**
   * Turns the folder into what a power cut leaves: unsynced segment bytes all lost, all kept, or torn at
   * a random byte; files created since the fsync gone; indexes and checkpoints as they were. Returns the
   * count of unsynced bytes kept.
   */
  async crash(random: SimRandom): Promise<number> {
    let kept = 0;
    for (const name of await this.#files()) {
      const path = `${this.dir}/${name}`;
      if (name.endsWith(".log")) {
        const durable = this.#logSizes.get(name);
        if (durable === undefined) {
          await Deno.remove(path);
          continue;
        }
        const size = (await Deno.stat(path)).size;
        if (size <= durable) continue;
        const how = random.int(3);
        const keep = how === 0 ? 0 : how === 1 ? size - durable : random.int(size - durable + 1);
        await Deno.truncate(path, durable + keep);
        kept += keep;
      } else {
        const bytes = this.#aux.get(name);
        if (bytes === undefined) await Deno.remove(path);
        else if (!bytesEqual(bytes, await Deno.readFile(path))) await Deno.writeFile(path, bytes);
      }
    }
    for (const [name, bytes] of this.#aux) {
      try {
        await Deno.lstat(`${this.dir}/${name}`);
      } catch {
        await Deno.writeFile(`${this.dir}/${name}`, bytes);
      }
    }
    return kept;
  }
}

/** A fake journal port: the real `FsJournal` with faults injected at `sync`. */
export class FaultyJournal implements Journal {
  /** Intent hashes (hex) of the `effect_queued` entries fsynced so far: the only ones that may be dispatched. */
  readonly durableIntents = new Set<string>();
  #synced = 0;
  #failed = false;

  constructor(readonly inner: FsJournal, readonly plan: FaultPlan, readonly disk: JournalDisk) {
    this.#noteDurable();
  }

  #noteDurable(): void {
    for (const e of this.inner.entries(this.#synced)) {
      if (e.kind === "effect_queued") this.durableIntents.add(toHex(e.body.intent_hash as Uint8Array));
    }
    this.#synced = this.inner.height;
  }
  get height(): number {
    return this.inner.height;
  }
  get lastHash(): Uint8Array {
    return this.inner.lastHash;
  }
  entries(fromSeq?: number): Iterable<JournalEntry> {
    return this.inner.entries(fromSeq);
  }
  entriesBackward(): Iterable<JournalEntry> {
    return this.inner.entriesBackward();
  }
  append(records: Parameters<Journal["append"]>[0]): JournalEntry[] {
    this.#checkWritable("append");
    return this.inner.append(records);
  }
  /** Like `FsJournal`: after a failed fsync, every write is refused until the journal is reopened. */
  #checkWritable(operation: string): void {
    if (this.#failed) {
      throw new Error(`Cannot ${operation}: an earlier sync of the journal failed; reopen it`);
    }
  }
  async sync(): Promise<void> {
    this.#checkWritable("sync");
    const fault = this.plan.decide("journal.sync", ["crash_before", "fsync_fails", "crash_after"]);
    if (fault === "crash_before") throw this.plan.fault("journal.sync", fault);
    await this.inner.sync();
    // A failed fsync: the bytes reached the OS, but nothing says they reached the disk.
    if (fault === "fsync_fails") {
      this.#failed = true;
      throw this.plan.fault("journal.sync", fault);
    }
    await this.disk.record();
    this.#noteDurable();
    if (fault === "crash_after") throw this.plan.fault("journal.sync", fault);
  }
  close(): void {
    this.inner.close();
  }
}

/** A fake store port: the real `FsCas` with faults injected at `put`. */
export class FaultyCas extends FsCas {
  constructor(rootDir: string, readonly plan: FaultPlan) {
    super(rootDir);
  }
  override async put(space: CasSpace, bytes: Uint8Array): Promise<HashRef> {
    const fault = this.plan.decide("cas.put", ["crash_before", "rename_fails", "crash_after"]);
    if (fault === "crash_before" || fault === "rename_fails") throw this.plan.fault("cas.put", fault);
    const hash = await super.put(space, bytes);
    if (fault === "crash_after") throw this.plan.fault("cas.put", fault);
    return hash;
  }
}

/** A fake head port: the real `FileHeadStore` with faults injected at `write`. */
export class FaultyHeadStore extends FileHeadStore {
  constructor(path: string, readonly plan: FaultPlan) {
    super(path);
  }
  override async write(head: Head): Promise<void> {
    const fault = this.plan.decide("head.write", ["crash_before", "rename_fails", "crash_after"]);
    if (fault === "crash_before" || fault === "rename_fails") throw this.plan.fault("head.write", fault);
    await super.write(head);
    if (fault === "crash_after") throw this.plan.fault("head.write", fault);
  }
}

/** A fake inbox port: the real `Inbox` folder with faults injected at `add` and `remove`. */
export class FaultyInbox extends Inbox {
  constructor(dir: string, readonly plan: FaultPlan) {
    super(dir);
  }
  override async add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number> {
    const fault = this.plan.decide("inbox.add", ["crash_before", "rename_fails", "crash_after"]);
    if (fault === "crash_before" || fault === "rename_fails") throw this.plan.fault("inbox.add", fault);
    const batch = await super.add(events, afterBatch, validatedFor);
    if (fault === "crash_after") throw this.plan.fault("inbox.add", fault);
    return batch;
  }
  override async remove(batches: InboxBatch[]): Promise<void> {
    const fault = batches.length === 0
      ? undefined
      : this.plan.decide("inbox.remove", ["crash_before", "partial", "crash_after"]);
    if (fault === "crash_before") throw this.plan.fault("inbox.remove", fault);
    if (fault === "partial") {
      await super.remove(batches.slice(0, this.plan.random.int(batches.length)));
      throw this.plan.fault("inbox.remove", fault);
    }
    await super.remove(batches);
    if (fault === "crash_after") throw this.plan.fault("inbox.remove", fault);
  }
}

/** A fake receipt drop box: the real `.aos/receipts/` folder with faults injected at `add` and `remove`. */
export class FaultyReceiptInbox extends ReceiptInbox {
  constructor(dir: string, keysDir: string, readonly plan: FaultPlan) {
    super(dir, keysDir);
  }
  override async add(receipt: Receipt): Promise<string> {
    const fault = this.plan.decide("receipts.add", ["crash_before", "link_fails", "crash_after"]);
    if (fault === "crash_before" || fault === "link_fails") throw this.plan.fault("receipts.add", fault);
    const file = await super.add(receipt);
    if (fault === "crash_after") throw this.plan.fault("receipts.add", fault);
    return file;
  }
  override async remove(files: string[]): Promise<void> {
    const fault = files.length === 0
      ? undefined
      : this.plan.decide("receipts.remove", ["crash_before", "partial", "crash_after"]);
    if (fault === "crash_before") throw this.plan.fault("receipts.remove", fault);
    if (fault === "partial") {
      await super.remove(files.slice(0, this.plan.random.int(files.length)));
      throw this.plan.fault("receipts.remove", fault);
    }
    await super.remove(files);
    if (fault === "crash_after") throw this.plan.fault("receipts.remove", fault);
  }
}

/** Figures of one or more simulated runs. */
export interface SimStats {
  seeds: number;
  /** Faults injected that ended a process lifetime (a crash, or a failure the process died of). */
  crashes: number;
  /** Failed fsyncs and renames the process went on after, with the same world. */
  survived: number;
  /** Faults by `operation:kind`. */
  byPoint: Record<string, number>;
  /** Reopens that found a torn last frame (cut off before reopening). */
  tornTails: number;
  /** Unsynced journal bytes that survived a crash. */
  unsyncedBytesKept: number;
  acknowledged: number;
  /** Acknowledged events missing after recovery (must be 0). */
  lost: number;
  /** Events journaled twice (must be 0). */
  duplicated: number;
  /** Intents adapters saw that are not journaled (must be 0). */
  dispatchedUnjournaled: number;
  /** Crash points at which `verifyReplay` ran and passed. */
  verified: number;
}

/** Empty figures. */
export function emptyStats(): SimStats {
  return {
    seeds: 0,
    crashes: 0,
    survived: 0,
    byPoint: {},
    tornTails: 0,
    unsyncedBytesKept: 0,
    acknowledged: 0,
    lost: 0,
    duplicated: 0,
    dispatchedUnjournaled: 0,
    verified: 0,
  };
}

const FETCH_NOTIFY = new URL("../../examples/fetch-notify", import.meta.url).pathname;

/** A template world (fetch-notify, initialized) to copy for each seed; remove `dir` when done. */
export async function simTemplate(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "aos-sim-template-" });
  const world = await initWorld(
    dir,
    await readAirFolder(`${FETCH_NOTIFY}/air`),
    await readWasmFolders([`${FETCH_NOTIFY}/modules`]),
    { clock: new VirtualClock() },
  );
  world.close();
  return dir;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** A violated invariant of the simulation (the seed reproduces it). */
export class SimFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimFailure";
  }
}

interface Lifetime {
  world: World;
  receipts: FaultyReceiptInbox;
  journal: FaultyJournal;
  cas: Cas;
  head: FileHeadStore;
  release(): void;
}

/**
 * Runs one seed: a workload of events (queued and sent), steps, runs (plans, http effects through a fake
 * adapter, receipts), receipts delivered through the drop box, and snapshots, on a copy of `template`, with
 * faults injected; after every fault that ends the process the world is crashed, reopened and checked. Adds its figures to `stats`; throws {@linkcode SimFailure} (or
 * whatever unexpected error) when an invariant breaks.
 */
export async function runSeed(seed: number, template: string, stats: SimStats): Promise<void> {
  const random = new SimRandom(seed);
  const plan = new FaultPlan(random, 0.06 + random.next() * 0.14);
  const dir = await Deno.makeTempDir({ prefix: `aos-sim-${seed}-` });
  const clock = new VirtualClock();
  const fake = new FakeAdapter({
    kind: "http.request",
    key: AdapterKey.fromSeed(new Uint8Array(32).fill(7)),
    adapterId: "sim-http",
  });
  /** Intents dispatched before their `effect_queued` entry was fsynced (must stay empty). */
  const early: string[] = [];
  // The fake as the driver sees it: every dispatch is checked against what the journal has fsynced.
  const checked: EffectAdapter = {
    kind: fake.kind,
    adapterId: fake.adapterId,
    publicKey: fake.publicKey,
    execute: (intent) => {
      const hex = toHex(intent.intentHash);
      if (!life?.journal.durableIntents.has(hex)) early.push(hex);
      return fake.execute(intent);
    },
  };
  const directory: AdapterDirectory = {
    adapterFor: (kind) => (kind === "http.request" ? checked : undefined),
    publicKeyOf: (id) => (id === fake.adapterId ? fake.publicKey : undefined),
    kindsOf: (id) => (id === fake.adapterId ? ["http.request"] : undefined),
  };
  // Small segments for most seeds: rolls, sealed segments and their indexes are crashed too.
  const segmentSizeBytesMax = random.next() < 0.7 ? 1024 + random.int(8192) : 64 * 1024 * 1024;
  const acked = new Set<string>();
  const sentAcked = new Set<string>();
  let next = 0;
  let life: Lifetime | undefined;
  /** A failure was survived in this lifetime (and, after a failed fsync, the journal refuses writes). */
  let survived = false;
  let poisoned = false;
  stats.seeds++;
  try {
    await copyDir(template, dir);
    const paths = worldPaths(dir);
    // The fake adapter also answers as an outside service, through the drop box: its key is registered.
    await Deno.mkdir(paths.keys, { recursive: true });
    await Deno.writeTextFile(`${paths.keys}/${fake.adapterId}.pub`, toHex(fake.publicKey) + "\n");
    const open = async (): Promise<Lifetime> => {
      for (let attempt = 0;; attempt++) {
        try {
          const ports = await openFilePorts(dir, { clock, segmentSizeBytesMax });
          const disk = new JournalDisk(paths.journal);
          await disk.record();
          const journal = new FaultyJournal(ports.ports.journal as FsJournal, plan, disk);
          const cas = new FaultyCas(paths.store, plan);
          const head = new FaultyHeadStore(paths.head, plan);
          const receipts = new FaultyReceiptInbox(paths.receipts, paths.keys, plan);
          try {
            const world = await World.openOn({
              journal,
              cas,
              clock,
              head,
              inbox: new FaultyInbox(paths.inbox, plan),
              receipts,
              adapters: directory,
            }, { snapshotIntervalEntries: 5 + random.int(20) });
            return { world, receipts, journal, cas, head, release: () => ports.close() };
          } catch (error) {
            ports.close();
            throw error;
          }
        } catch (error) {
          // A torn last frame: cut it off (what a writing command's recovery does) and open again.
          if (attempt === 0 && error instanceof AosError && error.code === "AOS_JOURNAL_TORN") {
            (await FsJournal.open(paths.journal, { truncateTornTail: true })).close();
            stats.tornTails++;
            continue;
          }
          throw error;
        }
      }
    };
    const crash = async (counted = true): Promise<void> => {
      survived = false;
      poisoned = false;
      if (counted) {
        stats.crashes++;
        const point = plan.injected.at(-1)!;
        stats.byPoint[point] = (stats.byPoint[point] ?? 0) + 1;
      }
      if (life) {
        try {
          life.world.close();
        } catch { /* a dead process closes nothing cleanly */ }
        life.release();
        stats.unsyncedBytesKept += await life.journal.disk.crash(random);
        life = undefined;
      }
    };
    /** Opens (faults allowed while recovering) and, after a crash, checks the invariants and verifies replay. */
    const reopen = async (afterCrash: boolean): Promise<void> => {
      for (;;) {
        plan.arm();
        try {
          life = await open();
          break;
        } catch (error) {
          if (!plan.fired) throw error;
          await crash();
        }
      }
      // The first open is of the fresh copy: only a reopen after a crash has anything to prove.
      if (afterCrash || plan.injected.length > 0) await check(life, false);
    };
    const check = async ({ world, cas, head }: Lifetime, final: boolean): Promise<void> => {
      const counts = new Map<string, number>();
      const queued = new Set<string>();
      for (const e of world.journal.entries()) {
        if (e.kind === "effect_queued") queued.add(toHex(e.body.intent_hash as Uint8Array));
        if (e.kind !== "domain_event" || e.body.schema !== "demo/Notify@1") continue;
        const id = (decodeCanonical(e.body.value as Uint8Array) as { request_id: string }).request_id;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      for (const [id, n] of counts) {
        if (n > 1) {
          stats.duplicated++;
          throw new SimFailure(`event ${id} is journaled ${n} times`);
        }
      }
      for (const id of final ? acked : sentAcked) {
        if (!counts.has(id)) {
          stats.lost++;
          throw new SimFailure(
            `acknowledged event ${id} is not journaled (faults: ${plan.injected.join(", ")})`,
          );
        }
      }
      if (early.length > 0) {
        stats.dispatchedUnjournaled += early.length;
        throw new SimFailure(`intent ${early[0]} was dispatched before its effect_queued entry was fsynced`);
      }
      for (const call of fake.calls) {
        if (!queued.has(toHex(call.intentHash))) {
          stats.dispatchedUnjournaled++;
          throw new SimFailure(`intent ${toHex(call.intentHash)} was dispatched but is not journaled`);
        }
      }
      const report = await verifyReplay(world.journal, cas, await head.read());
      if (!report.ok) {
        throw new SimFailure(`replay --verify failed: ${JSON.stringify(report.divergence ?? report.error)}`);
      }
      stats.verified++;
    };
    await reopen(false);
    const operations = 4 + random.int(6);
    for (let op = 0; op < operations; op++) {
      const ids = Array.from({ length: 1 + random.int(2) }, () => `e${next++}`);
      const action = random.pick(
        ["enqueue", "enqueue", "send", "step", "run", "run", "drop", "snapshot"] as const,
      );
      try {
        const world = life!.world;
        const events = ids.map((id) => ({
          schema: "demo/Notify@1",
          value: { request_id: id, url: "http://127.0.0.1:9/sim" },
        }));
        if (action === "enqueue") {
          await world.enqueue(events);
          ids.forEach((id) => acked.add(id));
        } else if (action === "send") {
          await world.send(events);
          ids.forEach((id) => (acked.add(id), sentAcked.add(id)));
        } else if (action === "step") await world.step();
        else if (action === "run") await world.run(directory);
        else if (action === "drop") {
          // An outside adapter answers the journaled intents through the drop box (the next step admits
          // them); it learns of an intent from the journal, so only of fsynced ones.
          for (const intent of world.kernel.outbox()) {
            if (!life!.journal.durableIntents.has(toHex(intent.intentHash))) continue;
            await life!.receipts.add(await checked.execute(intent));
          }
        } else await world.snapshot();
      } catch (error) {
        if (!plan.fired || (survived && !poisoned)) throw error;
        // A failed fsync or rename need not end the process: a caller may go on with the same world. After
        // a failed fsync the journal refuses every write until reopened; after any other failure the world
        // must keep working (a later error is a bug).
        const failure = /:(fsync_fails|rename_fails|link_fails)$/.exec(plan.injected.at(-1)!);
        if (!survived && failure && random.next() < 0.5) {
          survived = true;
          poisoned = failure[1] === "fsync_fails";
          stats.survived++;
          continue;
        }
        await crash();
        await reopen(true);
      }
    }
    if (poisoned) {
      await crash(false);
      await reopen(true);
    }
    // The final drain, without faults: everything queued is admitted and every effect settled.
    plan.disarm();
    await life!.world.run(directory);
    if ((await life!.world.pendingInbox()) !== 0) throw new SimFailure("the inbox is not drained");
    await check(life!, true);
    stats.acknowledged += acked.size;
  } finally {
    if (life) {
      life.world.close();
      life.release();
    }
    await Deno.remove(dir, { recursive: true });
  }
}
