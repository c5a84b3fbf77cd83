/**
 * The world's durable inbox (`.aos/inbox/`): validated inputs wait here, in arrival order, until
 * `aos step` admits them. Nothing here is journaled; a batch file is written atomically (temp, fsync,
 * rename) and removed only after the block that admitted it is fsynced.
 *
 * @module
 */
import { AosError, CanonicalCursor, canonicalTexts, decodeCanonical, encodeCanonical } from "../air/mod.ts";
import { makeDirDurable, moveFileDurable, parentOf, syncDirectory, writeFileAtomic } from "../journal/mod.ts";

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
  /** Why the file cannot be read as a batch (not CBOR, not canonical, wrong shape); `events` is then empty. */
  problem?: string;
}

/**
 * A queued batch before its events are read: its arrival number, where it is, and the number of events its
 * header announces (undefined when the header does not read as a batch's: reading the batch says why).
 */
export interface InboxBatchRef {
  batch: number;
  file: string;
  count: number | undefined;
}

const BATCH_FILE = /^(\d{12})\.cbor$/;

/** Bytes of a batch's start that hold its event count: a map header, `"events"` and an array header. */
const BATCH_HEAD_BYTES = 17;

/**
 * Bytes of batch files {@linkcode Inbox.refs} reads whole before it reads only headers: about 1,000,000
 * counter events' worth would be 20 MB, whose decoded events took a step to a peak of 394 MB.
 */
const WHOLE_BATCHES_BYTES_MAX = 8 * 1024 * 1024;

/**
 * The number of events a batch's first bytes announce, without decoding the batch: the canonical
 * `{"events": [...], "manifest_hash": …}` (the shorter key sorts first) or a bare array; undefined for
 * anything else, or for more events than the batch's `size` in bytes could hold. Only a count for planning a
 * step: the batch is decoded and checked in full when read.
 */
export function batchCountOf(head: Uint8Array, size: number = head.length): number | undefined {
  let at = 0;
  if (head[0] === 0xa2) {
    const key = [0x66, 0x65, 0x76, 0x65, 0x6e, 0x74, 0x73]; // "events"
    for (let i = 0; i < key.length; i++) if (head[1 + i] !== key[i]) return undefined;
    at = 1 + key.length;
  }
  const initial = head[at];
  if (initial === undefined || initial >> 5 !== 4) return undefined;
  const info = initial & 0x1f;
  const length = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
  if (length < 0 || at + 1 + length > head.length) return undefined;
  let n = info < 24 ? info : 0;
  for (let i = 0; i < length; i++) n = n * 256 + head[at + 1 + i]!;
  // An event takes several bytes: a count beyond the batch's size in bytes is not a batch's.
  return n <= size ? n : undefined;
}

/**
 * Where validated events wait for admission (a port: the `.aos/inbox/` folder for worlds on disk, memory
 * for forks and tests). Batches are numbered in arrival order.
 */
export interface InboxStore {
  /** Batches in arrival order, every one read in full. */
  list(): Promise<InboxBatch[]>;
  /**
   * Batches in arrival order without their events, each with the count its header announces: what a step
   * needs to plan which batches to read ({@linkcode read}) and how many events stay queued.
   */
  refs(): Promise<InboxBatchRef[]>;
  /** Reads one batch in full (a batch that does not parse has a `problem`). */
  read(ref: InboxBatchRef): Promise<InboxBatch>;
  /**
   * Writes one batch durably; `afterBatch` is the highest batch number already admitted, `validatedFor`
   * the manifest hash the events were validated against.
   */
  add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number>;
  /** Removes admitted batches. */
  remove(batches: InboxBatch[]): Promise<void>;
  /**
   * Moves a batch that cannot be admitted out of the inbox, durably (a file goes to the quarantine folder);
   * returns where it went.
   */
  quarantine(batch: InboxBatch): Promise<string>;
}

/** The canonical CBOR of a batch: `{manifest_hash, events}`, or the bare events when not validated. */
function encodeBatch(events: InboxEvent[], validatedFor: string | undefined): Uint8Array {
  const list = events.map((e) => (e.key ? { ...e } : { schema: e.schema, value: e.value }));
  return encodeCanonical(validatedFor === undefined ? list : { manifest_hash: validatedFor, events: list });
}

/**
 * A batch from its bytes, named `where`. Bytes that are not a batch give a batch without events whose
 * `problem` says why: `step` quarantines it, so one poison batch never blocks the later ones.
 */
function decodeBatch(batch: number, bytes: Uint8Array, where: string): InboxBatch {
  try {
    return { batch, file: where, ...parseBatch(bytes) };
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    return { batch, file: where, events: [], problem: error.message };
  }
}

/** The rows an inbox in a database keeps: each batch as the bytes an inbox file would hold. */
export interface InboxRows {
  list(): Promise<Array<{ batch: number; bytes: Uint8Array }>>;
  add(bytes: Uint8Array, afterBatch: number): Promise<number>;
  remove(batches: readonly number[]): Promise<void>;
}

/**
 * An inbox kept as rows (the `aos_inbox` table of a world on PostgreSQL); batches named `<where>:<n>`.
 * A batch `step` cannot admit is written to `quarantineDir` (the world folder's `.aos/quarantine/`) before
 * its row is removed, so nothing is thrown away.
 */
export class RowInbox implements InboxStore {
  constructor(readonly rows: InboxRows, readonly where: string, readonly quarantineDir: string) {}

  async list(): Promise<InboxBatch[]> {
    return (await this.rows.list()).map(({ batch, bytes }) =>
      decodeBatch(batch, bytes, `${this.where}:${batch}`)
    );
  }

  /** The rows' bytes as {@linkcode refs} listed them, for {@linkcode read} (by ref, no second query). */
  readonly #listed = new WeakMap<InboxBatchRef, Uint8Array>();

  async refs(): Promise<InboxBatchRef[]> {
    return (await this.rows.list()).map(({ batch, bytes }) => {
      const ref = {
        batch,
        file: `${this.where}:${batch}`,
        count: batchCountOf(bytes.subarray(0, BATCH_HEAD_BYTES), bytes.length),
      };
      this.#listed.set(ref, bytes);
      return ref;
    });
  }

  async read(ref: InboxBatchRef): Promise<InboxBatch> {
    const bytes = this.#listed.get(ref) ??
      (await this.rows.list()).find((row) => row.batch === ref.batch)?.bytes;
    if (bytes === undefined) {
      return { batch: ref.batch, file: ref.file, events: [], problem: "the row is gone" };
    }
    return decodeBatch(ref.batch, bytes, ref.file);
  }

  async add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number> {
    return await this.rows.add(encodeBatch(events, validatedFor), afterBatch);
  }

  async remove(batches: InboxBatch[]): Promise<void> {
    await this.rows.remove(batches.map((b) => b.batch));
  }

  async quarantine(batch: InboxBatch): Promise<string> {
    const row = (await this.rows.list()).find((candidate) => candidate.batch === batch.batch);
    const path = `${this.quarantineDir}/inbox-${String(batch.batch).padStart(8, "0")}.cbor`;
    if (row !== undefined) {
      await makeDirDurable(this.quarantineDir);
      await writeFileAtomic(path, row.bytes);
    }
    await this.rows.remove([batch.batch]);
    return path;
  }
}

/** An inbox in memory. */
export class MemoryInbox implements InboxStore {
  readonly #batches = new Map<number, { events: InboxEvent[]; validatedFor?: string }>();

  list(): Promise<InboxBatch[]> {
    const numbers = [...this.#batches.keys()].sort((a, b) => a - b);
    return Promise.resolve(numbers.map((batch) => this.#batch(batch)));
  }

  refs(): Promise<InboxBatchRef[]> {
    const numbers = [...this.#batches.keys()].sort((a, b) => a - b);
    return Promise.resolve(
      numbers.map((batch) => ({
        batch,
        file: `memory:${batch}`,
        count: this.#batches.get(batch)!.events.length,
      })),
    );
  }

  read(ref: InboxBatchRef): Promise<InboxBatch> {
    if (!this.#batches.has(ref.batch)) {
      return Promise.resolve({ batch: ref.batch, file: ref.file, events: [], problem: "the batch is gone" });
    }
    return Promise.resolve(this.#batch(ref.batch));
  }

  #batch(batch: number): InboxBatch {
    const stored = this.#batches.get(batch)!;
    const out: InboxBatch = { batch, events: [...stored.events], file: `memory:${batch}` };
    if (stored.validatedFor !== undefined) out.validatedFor = stored.validatedFor;
    return out;
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

  /** Batches moved out by {@linkcode quarantine}, by batch number. */
  readonly quarantined = new Map<number, InboxEvent[]>();

  quarantine(batch: InboxBatch): Promise<string> {
    this.quarantined.set(batch.batch, this.#batches.get(batch.batch)?.events ?? []);
    this.#batches.delete(batch.batch);
    return Promise.resolve(`memory-quarantine:${batch.batch}`);
  }
}

/** The inbox folder of one world. */
export class Inbox implements InboxStore {
  /**
   * The inbox folder `dir`; `quarantineDir` receives the files `step` cannot admit (default: `quarantine`
   * next to `dir`); `wholeBytesMax` bounds the bytes {@linkcode refs} reads whole (default
   * {@linkcode WHOLE_BATCHES_BYTES_MAX}).
   */
  constructor(
    readonly dir: string,
    readonly quarantineDir: string = `${parentOf(dir)}/quarantine`,
    options: { wholeBytesMax?: number } = {},
  ) {
    this.#wholeBytesMax = options.wholeBytesMax ?? WHOLE_BATCHES_BYTES_MAX;
  }

  /** Bytes of batch files {@linkcode refs} reads whole before it reads only headers. */
  readonly #wholeBytesMax: number;

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
    for (const ref of await this.refs()) batches.push(await this.read(ref));
    return batches;
  }

  /** The bytes of the batches {@linkcode refs} read whole, for {@linkcode read} (by ref, no second read). */
  readonly #whole = new WeakMap<InboxBatchRef, Uint8Array>();

  /**
   * The batch files in arrival order, with the count each one's header announces. Files are read whole (one
   * read each, kept for {@linkcode read}) until `wholeBytesMax` bytes are kept; past that,
   * only each file's first bytes: a long queue costs a step neither the memory nor the time of all of it.
   */
  async refs(): Promise<InboxBatchRef[]> {
    const refs: InboxBatchRef[] = [];
    let kept = 0;
    for (const name of await this.#names()) {
      const file = `${this.dir}/${name}`;
      const batch = Number(BATCH_FILE.exec(name)![1]);
      if (kept < this.#wholeBytesMax) {
        const bytes = await Deno.readFile(file);
        const ref = { batch, file, count: batchCountOf(bytes.subarray(0, BATCH_HEAD_BYTES), bytes.length) };
        this.#whole.set(ref, bytes);
        kept += bytes.length;
        refs.push(ref);
        continue;
      }
      using handle = await Deno.open(file, { read: true });
      const head = new Uint8Array(BATCH_HEAD_BYTES);
      let filled = 0;
      while (filled < head.length) {
        const n = await handle.read(head.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      const size = filled < head.length ? filled : (await handle.stat()).size;
      refs.push({ batch, file, count: batchCountOf(head.subarray(0, filled), size) });
    }
    return refs;
  }

  /** Reads and parses one batch file (or the bytes {@linkcode refs} read whole). */
  async read(ref: InboxBatchRef): Promise<InboxBatch> {
    const bytes = this.#whole.get(ref) ?? await Deno.readFile(ref.file);
    return decodeBatch(ref.batch, bytes, ref.file);
  }

  /** Writes one batch durably; `afterBatch` is the highest batch number already admitted. */
  async add(events: InboxEvent[], afterBatch: number, validatedFor?: string): Promise<number> {
    await makeDirDurable(this.dir);
    // The names sort as their numbers do (fixed width): the last is the highest.
    const last = (await this.#names()).at(-1);
    const batch = Math.max(afterBatch, last === undefined ? 0 : Number(BATCH_FILE.exec(last)![1])) + 1;
    const name = `${String(batch).padStart(12, "0")}.cbor`;
    await writeFileAtomic(`${this.dir}/${name}`, encodeBatch(events, validatedFor));
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

  /** Moves a batch file to the quarantine folder (link, remove, both folders fsynced). */
  async quarantine(batch: InboxBatch): Promise<string> {
    return await moveFileDurable(batch.file, this.quarantineDir);
  }
}

/**
 * Parses a batch file: `{"manifest_hash": text, "events": [...]}` or the bare array of events; throws an
 * `AosError` naming what is wrong.
 */
function parseBatch(bytes: Uint8Array): Pick<InboxBatch, "events" | "validatedFor"> {
  return parseBatchLayout(bytes) ?? parseBatchReference(bytes);
}

/** `{"events": ` of a validated batch, a 2-key map. */
const EVENTS_HEAD = Uint8Array.of(0xa2, ...canonicalTexts("events"));
const MANIFEST_HASH_KEY = canonicalTexts("manifest_hash");
const EVENT_KEY_KEY = canonicalTexts("key");
const EVENT_VALUE_KEY = canonicalTexts("value");
const EVENT_SCHEMA_KEY = canonicalTexts("schema");

/**
 * {@linkcode parseBatch} along the one layout `aos event send` writes, `{events: [{key?, value, schema}],
 * manifest_hash}` or the bare list, every event with exactly these fields (a byte-string key when there is
 * one): one object per event, and the schema's text decoded once for a run of events of one schema. It
 * gives what {@linkcode parseBatchReference} gives, and undefined for anything else, which that parses (and
 * refuses) the general way; inbox_test.ts compares both on random and damaged batches.
 */
export function parseBatchLayout(bytes: Uint8Array): Pick<InboxBatch, "events" | "validatedFor"> | undefined {
  // The events' values and keys are views of the batch's bytes, as parseBatchReference's are.
  const cursor = new CanonicalCursor(bytes, "objects", true);
  try {
    const framed = cursor.skip(EVENTS_HEAD);
    const count = cursor.arrayHeader();
    if (count === undefined) return undefined;
    const events: InboxEvent[] = new Array(count);
    // Where the last schema's encoding is in `bytes` ([schemaStart, schemaEnd)), and its text.
    let schemaStart = 0;
    let schemaEnd = 0;
    let schema = "";
    for (let i = 0; i < count; i++) {
      const head = cursor.byte();
      if (head !== 0xa2 && head !== 0xa3) return undefined;
      let key: Uint8Array | undefined;
      if (head === 0xa3) {
        if (!cursor.skip(EVENT_KEY_KEY)) return undefined;
        const item = cursor.item(2);
        if (!(item instanceof Uint8Array)) return undefined;
        key = item;
      }
      if (!cursor.skip(EVENT_VALUE_KEY)) return undefined;
      const value = cursor.item(2);
      if (!(value instanceof Uint8Array) || !cursor.skip(EVENT_SCHEMA_KEY)) return undefined;
      // A run of events of one schema: the same bytes are the same text.
      const start = cursor.offset;
      const text = cursor.item(2);
      if (typeof text !== "string") return undefined;
      const end = cursor.offset;
      if (!sameBytes(bytes, schemaStart, schemaEnd, start, end)) {
        schemaStart = start;
        schemaEnd = end;
        schema = text;
      }
      events[i] = key === undefined ? { schema, value } : { schema, value, key };
    }
    if (!framed) return cursor.done ? { events } : undefined;
    if (!cursor.skip(MANIFEST_HASH_KEY)) return undefined;
    const validatedFor = cursor.item(1);
    return typeof validatedFor === "string" && cursor.done ? { events, validatedFor } : undefined;
  } catch (error) {
    if (error instanceof AosError) return undefined;
    throw error;
  }
}

/** True when `bytes` holds the same bytes in [aStart, aEnd) as in [bStart, bEnd). */
function sameBytes(bytes: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (bytes[aStart + i] !== bytes[bStart + i]) return false;
  return true;
}

/** {@linkcode parseBatch} for every batch, the general way: the reference {@linkcode parseBatchLayout} is tested against. */
export function parseBatchReference(bytes: Uint8Array): Pick<InboxBatch, "events" | "validatedFor"> {
  const malformed = (what: string) => new AosError("AOS_CBOR_INVALID", `not an inbox batch: ${what}`);
  // The batch's bytes (a file or a row) are read for this decoding only: its events' values can be views of them.
  const raw = decodeCanonical(bytes, { byteViews: true });
  let items: unknown[];
  let validatedFor: string | undefined;
  if (Array.isArray(raw)) {
    items = raw;
  } else {
    const framed = raw as { manifest_hash?: unknown; events?: unknown };
    if (raw === null || typeof raw !== "object" || typeof framed.manifest_hash !== "string") {
      throw malformed("no manifest_hash");
    }
    if (!Array.isArray(framed.events)) throw malformed("no events array");
    if (Object.keys(framed).length !== 2) throw malformed("unknown fields");
    items = framed.events;
    validatedFor = framed.manifest_hash;
  }
  const events = items.map((item, i) => {
    const e = item as { schema?: unknown; value?: unknown; key?: unknown } | null;
    if (
      e === null || typeof e !== "object" || typeof e.schema !== "string" || !(e.value instanceof Uint8Array)
    ) {
      throw malformed(`events[${i}] is not {schema, value, key?}`);
    }
    return e.key instanceof Uint8Array
      ? { schema: e.schema, value: e.value, key: e.key }
      : { schema: e.schema, value: e.value };
  });
  return validatedFor === undefined ? { events } : { events, validatedFor };
}
