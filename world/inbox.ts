/**
 * The world's durable inbox (`.aos/inbox/`): validated inputs wait here, in arrival order, until
 * `aos step` admits them. Nothing here is journaled; a batch file is written atomically (temp, fsync,
 * rename) and removed only after the block that admitted it is fsynced.
 *
 * @module
 */
import { AosError, decodeCanonical, encodeCanonical } from "../air/mod.ts";
import { syncDirectory, writeFileAtomic } from "../journal/mod.ts";

/** One queued external event: the schema and its canonical typed value. */
export interface InboxEvent {
  schema: string;
  value: Uint8Array;
  key?: Uint8Array;
}

/** A batch as read back from disk, with its arrival number. */
export interface InboxBatch {
  batch: number;
  events: InboxEvent[];
  /** The manifest the events were validated against when they were queued (absent: re-validate them). */
  validatedFor?: string;
  file: string;
}

const BATCH_FILE = /^(\d{12})\.cbor$/;

/**
 * Where validated events wait for admission (a port: the `.aos/inbox/` folder for worlds on disk, memory
 * for forks and tests). Batches are numbered in arrival order.
 */
export interface InboxStore {
  /** Batches in arrival order. */
  list(): Promise<InboxBatch[]>;
  /**
   * Writes one batch durably; `afterBatch` is the highest batch number already admitted, `validatedFor`
   * the manifest hash the events were validated against.
   */
  add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number>;
  /** Removes admitted batches. */
  remove(batches: InboxBatch[]): Promise<void>;
}

/** An inbox in memory. */
export class MemoryInbox implements InboxStore {
  readonly #batches = new Map<number, { events: InboxEvent[]; validatedFor?: string }>();

  list(): Promise<InboxBatch[]> {
    const numbers = [...this.#batches.keys()].sort((a, b) => a - b);
    return Promise.resolve(numbers.map((batch) => {
      const stored = this.#batches.get(batch)!;
      const out: InboxBatch = { batch, events: [...stored.events], file: `memory:${batch}` };
      if (stored.validatedFor !== undefined) out.validatedFor = stored.validatedFor;
      return out;
    }));
  }

  add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number> {
    const batch = Math.max(afterBatch, ...this.#batches.keys()) + 1;
    this.#batches.set(batch, {
      events: [...events],
      ...(validatedFor === undefined ? {} : { validatedFor }),
    });
    return Promise.resolve(batch);
  }

  remove(batches: InboxBatch[]): Promise<void> {
    for (const b of batches) this.#batches.delete(b.batch);
    return Promise.resolve();
  }
}

/** The inbox folder of one world. */
export class Inbox implements InboxStore {
  constructor(readonly dir: string) {}

  /** Batch file names in arrival order. */
  async #names(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (e.isFile && BATCH_FILE.test(e.name)) names.push(e.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return names.sort();
  }

  /**
   * Batches in arrival order. A file is `{"manifest_hash": text, "events": [...]}` (the manifest the events
   * were validated against) or, as written before, the bare array of events.
   */
  async list(): Promise<InboxBatch[]> {
    const batches: InboxBatch[] = [];
    for (const name of await this.#names()) {
      const file = `${this.dir}/${name}`;
      const malformed = () =>
        new AosError("AOS_JOURNAL_CORRUPT", `Inbox file "${file}" is malformed`, { context: { file } });
      const raw = decodeCanonical(await Deno.readFile(file));
      if (raw === null || typeof raw !== "object" || raw instanceof Uint8Array) throw malformed();
      let items: unknown[];
      let validatedFor: string | undefined;
      if (Array.isArray(raw)) {
        items = raw;
      } else {
        const framed = raw as { manifest_hash?: unknown; events?: unknown };
        if (typeof framed.manifest_hash !== "string" || !Array.isArray(framed.events)) throw malformed();
        if (Object.keys(framed).length !== 2) throw malformed();
        items = framed.events;
        validatedFor = framed.manifest_hash;
      }
      const events = items.map((item) => {
        const e = (item ?? {}) as { schema?: unknown; value?: unknown; key?: unknown };
        if (typeof e.schema !== "string" || !(e.value instanceof Uint8Array)) throw malformed();
        return e.key instanceof Uint8Array
          ? { schema: e.schema, value: e.value, key: e.key }
          : { schema: e.schema, value: e.value };
      });
      const batch: InboxBatch = { batch: Number(BATCH_FILE.exec(name)![1]), events, file };
      if (validatedFor !== undefined) batch.validatedFor = validatedFor;
      batches.push(batch);
    }
    return batches;
  }

  /** Writes one batch durably; `afterBatch` is the highest batch number already admitted. */
  async add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number> {
    await Deno.mkdir(this.dir, { recursive: true });
    const existing = (await this.#names()).map((name) => Number(BATCH_FILE.exec(name)![1]));
    const batch = Math.max(afterBatch, ...existing) + 1;
    const name = `${String(batch).padStart(12, "0")}.cbor`;
    const list = events.map((e) => (e.key ? { ...e } : { schema: e.schema, value: e.value }));
    const bytes = encodeCanonical(
      validatedFor === undefined ? list : { manifest_hash: validatedFor, events: list },
    );
    await writeFileAtomic(`${this.dir}/${name}`, bytes);
    return batch;
  }

  /** Removes admitted batches. */
  async remove(batches: InboxBatch[]): Promise<void> {
    for (const b of batches) {
      await Deno.remove(b.file).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    if (batches.length > 0) syncDirectory(this.dir);
  }
}
