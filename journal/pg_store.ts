/**
 * The journal, the CAS and the head of a world on PostgreSQL (loaded by `postgres.ts` only when a world's
 * config names such a store). Tables (schema versioned in `aos_schema_migrations`):
 *
 * - `aos_worlds(world_id)`: one row per world; every other table is keyed by it;
 * - `aos_entries(world_id, seq, kind, bytes, prev_hash)`: primary key `(world_id, seq)`, so a seq is
 *   written once;
 * - `aos_nodes` / `aos_blobs(world_id, hash, bytes)`: the CAS spaces, primary key `(world_id, hash)`;
 * - `aos_inbox(world_id, batch, bytes)`: queued event batches (the same canonical CBOR as an inbox file);
 * - `aos_heads(world_id, height, hash, inbox_batch, inbox_index, failures)`: the acknowledged head. Every
 *   step's transaction moves it from the height the writer last committed (`… WHERE height = $old`), so a
 *   second writer, even one that slipped past the advisory lock, fails instead of interleaving.
 *
 * One writer per world: a session advisory lock on a key derived from the world id, held by the one
 * connection all of the world's reads and writes use. If that connection is lost, the lock goes with it and
 * every later write fails; the world must be reopened.
 *
 * @module
 */
import { Socket } from "node:net";
import postgres from "postgres";
import {
  AosError,
  assert as invariant,
  bytesEqual,
  type HashRef,
  hashRefOf,
  hashRefToBytes,
  limits,
  sha256,
  toHex,
} from "../air/mod.ts";
import { assertChained, chainRecords, linkProblem } from "./_chain.ts";
import { type Cas, type CasSpace, checkHash, checkSpace } from "./cas.ts";
import { decodeEntry, type EntryRecord, type JournalEntry, ZERO_HASH } from "./entry.ts";
import type { PreloadableJournal } from "./journal.ts";
import type { PgHead, PgHeadStore, PgInboxRows, PgWorldOptions, PgWorldStore } from "./postgres.ts";

type Sql = postgres.Sql;
type Conn = postgres.ReservedSql;

/** The schema, one migration per version; applied in order inside one transaction each. */
const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "worlds, journal entries, CAS nodes and blobs, heads",
    sql: `
      CREATE TABLE aos_worlds (
        world_id text PRIMARY KEY CHECK (world_id <> ''),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE aos_entries (
        world_id text NOT NULL REFERENCES aos_worlds,
        seq bigint NOT NULL CHECK (seq >= 0),
        kind text NOT NULL,
        bytes bytea NOT NULL,
        prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
        PRIMARY KEY (world_id, seq)
      );
      CREATE TABLE aos_nodes (
        world_id text NOT NULL REFERENCES aos_worlds,
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        bytes bytea NOT NULL,
        PRIMARY KEY (world_id, hash)
      );
      CREATE TABLE aos_blobs (
        world_id text NOT NULL REFERENCES aos_worlds,
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        bytes bytea NOT NULL,
        PRIMARY KEY (world_id, hash)
      );
      CREATE TABLE aos_heads (
        world_id text PRIMARY KEY REFERENCES aos_worlds,
        height bigint NOT NULL CHECK (height >= 0),
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        inbox_batch bigint,
        inbox_index bigint,
        failures bigint
      );`,
  },
  {
    version: 2,
    name: "inbox batches",
    sql: `
      CREATE TABLE aos_inbox (
        world_id text NOT NULL REFERENCES aos_worlds,
        batch bigint NOT NULL CHECK (batch > 0),
        bytes bytea NOT NULL,
        PRIMARY KEY (world_id, batch)
      );`,
  },
  {
    version: 3,
    name: "index of snapshot markers",
    sql: `
      CREATE INDEX aos_entries_snapshots ON aos_entries (world_id, seq) WHERE kind = 'snapshot';`,
  },
  {
    // A foreign key fires a trigger per row: a third of a step's COPY. The step's transaction moves the
    // world's head row (`aos_heads` keeps its key to `aos_worlds`) and commits only if that row exists at
    // the height it started from, so an entry of an unknown world cannot commit without it.
    version: 4,
    name: "entries: the world is checked through its head row, not per row",
    sql: `
      ALTER TABLE aos_entries DROP CONSTRAINT IF EXISTS aos_entries_world_id_fkey;`,
  },
];

/** The schema version this build writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Advisory lock key that serializes migrations across processes. */
const MIGRATION_LOCK_KEY = "7308463526380855296";

/** Creates or upgrades the schema; refuses a database whose schema is newer than this build. */
export async function migrate(sql: Sql): Promise<number> {
  // Every open of a world migrates: when the schema is current already (the common case), one query tells,
  // without the lock, the transaction and the catalog work of the full path.
  try {
    const [row] = await sql`SELECT max(version)::int AS version FROM aos_schema_migrations`;
    if (row?.version === PG_SCHEMA_VERSION) return PG_SCHEMA_VERSION;
  } catch (error) {
    // No migrations table yet (undefined_table): a new database, migrated below.
    if ((error as { code?: unknown }).code !== "42P01") throw error;
  }
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS aos_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const [row] = await tx`SELECT coalesce(max(version), 0)::int AS version FROM aos_schema_migrations`;
    const current = row!.version as number;
    if (current > PG_SCHEMA_VERSION) {
      throw new AosError(
        "AOS_JOURNAL_CORRUPT",
        `The database's aos schema is version ${current}, newer than this aos (${PG_SCHEMA_VERSION}): upgrade aos`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO aos_schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
    }
    return PG_SCHEMA_VERSION;
  }) as number;
}

/** The advisory lock key of a world: the first 8 bytes of SHA-256("aos-world:" + id), as a signed bigint. */
export function worldLockKey(worldId: string): string {
  const digest = sha256(new TextEncoder().encode(`aos-world:${worldId}`));
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigInt64(0).toString();
}

/** A bytea from the client (a Node Buffer) as a plain `Uint8Array` copy. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function ioError(what: string, error: unknown): unknown {
  if (error instanceof AosError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AosError("AOS_JOURNAL_IO", `PostgreSQL: cannot ${what}: ${message}`, { cause: error });
}

/**
 * postgres@3.4.10 can write to a connection it has just closed: a write queued with `setImmediate` runs after
 * `closed()` nulled the socket and throws `TypeError: Cannot read properties of null (reading 'write')` from
 * the timer, where nothing can catch it (porsager/postgres#1208, fix proposed in #1209). By then the
 * client has rejected the queries on that connection (and every step here races the connection's loss), so
 * the write is moot: that one error is kept from ending the process. Anything else still does.
 */
function guardClosedSocketWrite(): void {
  if (closedSocketGuard) return;
  closedSocketGuard = true;
  globalThis.addEventListener("error", (event) => {
    if (isClosedSocketWrite(event.error)) event.preventDefault();
  });
}
let closedSocketGuard = false;

/** The postgres client's write to a closed socket (see {@linkcode guardClosedSocketWrite}). */
export function isClosedSocketWrite(error: unknown): boolean {
  return error instanceof TypeError && error.message === "Cannot read properties of null (reading 'write')" &&
    /\bnextWrite\b/.test(error.stack ?? "") &&
    /postgres\/3\.4\.\d+\/src\/connection\.js/.test(error.stack ?? "");
}

/**
 * A TCP socket to the server with Nagle's algorithm off, as libpq has it. postgres.js leaves it on, and a
 * COPY writes its data and its end as two small packets: the second waited for the server's delayed
 * acknowledgement, about 40 ms, twice in every step's commit. The socket is returned while it connects
 * (postgres.js writes its startup message once it is open); a unix socket folder (`host=/path`) connects
 * there.
 */
function noDelaySocket(options: { host: string[]; port: number[]; path?: string | false }): Socket {
  const socket = new Socket();
  socket.setNoDelay(true);
  if (typeof options.path === "string") socket.connect(options.path);
  else socket.connect(options.port[0] ?? 5432, options.host[0] ?? "localhost");
  return socket;
}

/** Opens a world's store: connects, migrates, takes the world's advisory lock, loads journal and CAS index. */
export async function openPgWorldStore(options: PgWorldOptions): Promise<PgWorldStore> {
  const { worldId } = options;
  if (typeof worldId !== "string" || worldId.length === 0) {
    throw new TypeError("Invalid world id: expected a non-empty string");
  }
  guardClosedSocketWrite();
  const lost = Promise.withResolvers<never>();
  let connectionClosed = false;
  lost.promise.catch(() => {}); // observed by a COPY in flight; otherwise nobody waits for it
  const settings = {
    max: 1,
    onnotice: () => {},
    onclose: () => {
      connectionClosed = true;
      lost.reject(new Error("the connection to PostgreSQL closed"));
    },
    connect_timeout: 10,
    connection: { application_name: `aos ${worldId}` },
    // Not in postgres.js's types, but in its documented options.
    socket: noDelaySocket,
  };
  const sql = postgres(options.url, settings);
  let conn: Conn | undefined;
  try {
    try {
      await migrate(sql);
      conn = await sql.reserve();
    } catch (error) {
      throw ioError(`connect to ${options.url}`, error);
    }
    const key = worldLockKey(worldId);
    const [tried] = await conn`SELECT pg_try_advisory_lock(${key}::bigint) AS ok`;
    if (tried?.ok !== true) {
      if (options.noWait === true) {
        throw new AosError(
          "AOS_BUSY",
          `World "${worldId}" is open in another process (PostgreSQL advisory lock)`,
        );
      }
      options.onLockWait?.("another process (PostgreSQL advisory lock)");
      await conn`SELECT pg_advisory_lock(${key}::bigint)`;
    }
    if (options.create === true) {
      const inserted = await conn`INSERT INTO aos_worlds (world_id) VALUES (${worldId})
        ON CONFLICT DO NOTHING RETURNING world_id`;
      if (inserted.length === 0) {
        throw new AosError("AOS_WORLD_EXISTS", `World "${worldId}" already exists in ${options.url}`);
      }
      await conn`INSERT INTO aos_heads (world_id, height, hash) VALUES (${worldId}, 0, ${ZERO_HASH})`;
    }
    const gate = new QueryGate();
    const journal = await PgJournal.load(conn, gate, worldId, lost.promise);
    const cas = await PgCas.load(conn, gate, worldId);
    const head = new PgHeadRow(conn, gate, worldId);
    const inbox = new PgInboxTable(conn, gate, worldId);
    const reserved = conn;
    let closing: Promise<void> | undefined;
    return {
      worldId,
      journal,
      cas,
      head,
      inbox,
      close() {
        closing ??= (async () => {
          journal.close();
          reserved.release();
          // A lost connection has nothing left to finish: ending it must not wait out the timeout.
          await sql.end({ timeout: connectionClosed ? 0 : 5 });
        })();
        return closing;
      },
    };
  } catch (error) {
    conn?.release();
    await sql.end({ timeout: 5 });
    throw ioError("open the world", error);
  }
}

/** A stored entry not decoded yet: its row, checked against the chain when loaded. */
interface StoredRow {
  seq: number;
  bytes: Uint8Array;
  prev: Uint8Array;
  hash: Uint8Array;
  kind: string;
}

function corrupt(worldId: string, seq: number, problem: string): AosError {
  return new AosError(
    "AOS_JOURNAL_CORRUPT",
    `Corrupt journal of world "${worldId}" at seq ${seq}: ${problem}`,
    {
      context: { seq },
    },
  );
}

/**
 * Checks rows read in seq order: dense from `from`, each `prev_hash` the hash of the row before; the first
 * row's `prev_hash` must be `firstPrev` when given, else is taken as given. Returns them and the last hash.
 */
function checkRows(
  worldId: string,
  rows: Iterable<Record<string, unknown>>,
  from: number,
  firstPrev: Uint8Array | undefined,
): { rows: StoredRow[]; lastHash: Uint8Array | undefined } {
  const out: StoredRow[] = [];
  let prev = firstPrev;
  for (const row of rows) {
    const seq = Number(row.seq);
    const bytes = plain(row.bytes as Uint8Array);
    const stored = plain(row.prev_hash as Uint8Array);
    const expected = from + out.length;
    if (seq !== expected) throw corrupt(worldId, seq, `seq gap: expected seq ${expected}, found ${seq}`);
    if (prev !== undefined && !bytesEqual(stored, prev)) {
      throw corrupt(worldId, seq, `hash chain broken: prev_hash ${toHex(stored)}, expected ${toHex(prev)}`);
    }
    const hash = sha256(bytes);
    out.push({ seq, bytes, prev: stored, hash, kind: row.kind as string });
    prev = hash;
  }
  return { rows: out, lastHash: out.length === 0 ? undefined : prev };
}

/**
 * Runs the queries of one world's connection one after another. The client pipelines queries: one sent while
 * a COPY is in flight reaches the server in the middle of the COPY's data, and the server ends the session.
 * A step's COPY may run while the world goes on (its rows are sent ahead of the commit) and adapters store
 * blobs while a step commits, so every query of the store (journal, CAS, head, inbox) goes through here.
 */
export class QueryGate {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `query` after every query queued before it has settled. */
  run<T>(query: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(query);
    this.#tail = result.then(() => {}, () => {});
    return result;
  }
}

/** Rows fetched per round trip when reading entries: the client never holds a whole journal's result. */
const FETCH_ROWS = 4_096;

/**
 * Runs an entries query page by page (a cursor) and checks the rows as {@linkcode checkRows} does, the hash
 * chain running on across pages.
 */
async function fetchRows(
  query: postgres.PendingQuery<postgres.Row[]>,
  worldId: string,
  from: number,
  firstPrev: Uint8Array | undefined,
): Promise<{ rows: StoredRow[]; lastHash: Uint8Array | undefined }> {
  const rows: StoredRow[] = [];
  let prev = firstPrev;
  for await (const page of query.cursor(FETCH_ROWS)) {
    const checked = checkRows(worldId, page, from + rows.length, prev);
    for (const row of checked.rows) rows.push(row);
    prev = checked.lastHash ?? prev;
  }
  return { rows, lastHash: rows.length === 0 ? undefined : prev };
}

/** Entries per INSERT statement of a step's transaction. */
const INSERT_CHUNK = 20_000;

/**
 * The journal of one world on PostgreSQL. Opening reads only the rows from the latest snapshot marker (found
 * by an index on `kind = 'snapshot'`) to the head, or every row when there is no snapshot, so it costs
 * O(tail), like the file store; it checks the seqs, the stored `prev_hash` of every loaded row against the
 * hash of the row before (the first loaded row's `prev_hash` is taken as given, checked when the rows before
 * it are preloaded) and the acknowledged head. {@linkcode PgJournal.preload} fetches and checks older rows
 * (verify, export, `journal show`, rollback). Every entry is decoded strictly (and checked against its row)
 * when it is read. `append` keeps entries in memory;
 * `sync` writes everything appended since the last sync in one transaction (group commit), and resolves
 * only after that transaction committed.
 */
export class PgJournal implements PreloadableJournal {
  readonly #conn: Conn;
  readonly worldId: string;
  /** Loaded rows (decoded on read) and entries appended by this process; `#rows[0]` has seq `#base`. */
  #rows: Array<StoredRow | JournalEntry> = [];
  /** Seq of the first held row. */
  #base = 0;
  /** The stored `prev_hash` of the first held row (32 zero bytes when it is seq 0 or nothing is held). */
  #baseHash: Uint8Array = ZERO_HASH;
  #lastHash: Uint8Array = ZERO_HASH;
  #syncedHeight = 0;
  readonly #gate: QueryGate;
  #closed = false;
  /** Set when a sync failed: what was appended may or may not be committed, so nothing more is written. */
  #failed: unknown;
  /** True while the step's transaction is open: rows up to `#sentHeight` were sent ahead of its commit. */
  #inTransaction = false;
  #sentHeight = 0;

  /** Rejects when the world's connection closes (so a COPY in flight fails instead of waiting forever). */
  readonly #connectionLost: Promise<never>;

  private constructor(conn: Conn, gate: QueryGate, worldId: string, connectionLost: Promise<never>) {
    this.#conn = conn;
    this.#gate = gate;
    this.worldId = worldId;
    this.#connectionLost = connectionLost;
  }

  /** Loads and checks the journal of `worldId` (the world must exist). */
  static async load(
    conn: Conn,
    gate: QueryGate,
    worldId: string,
    connectionLost: Promise<never>,
  ): Promise<PgJournal> {
    connectionLost.catch(() => {});
    const journal = new PgJournal(conn, gate, worldId, connectionLost);
    const [head] = await conn`SELECT height, hash FROM aos_heads WHERE world_id = ${worldId}`;
    if (head === undefined) {
      throw new AosError("AOS_WORLD_NOT_FOUND", `No world "${worldId}" in the database`);
    }
    // The latest snapshot marker (seq 0 is genesis, never a usable snapshot): replay starts there.
    const [mark] = await conn`SELECT max(seq) AS seq FROM aos_entries
      WHERE world_id = ${worldId} AND kind = 'snapshot' AND seq > 0`;
    const from = mark?.seq === null || mark?.seq === undefined ? 0 : Number(mark.seq);
    const loaded = await fetchRows(
      conn`SELECT seq, kind, bytes, prev_hash FROM aos_entries
        WHERE world_id = ${worldId} AND seq >= ${from} ORDER BY seq`,
      worldId,
      from,
      from === 0 ? ZERO_HASH : undefined,
    );
    journal.#rows = loaded.rows;
    journal.#base = from;
    journal.#baseHash = loaded.rows[0]?.prev ?? ZERO_HASH;
    const prev = loaded.lastHash ?? journal.#baseHash;
    const height = Number(head.height);
    const headHash = plain(head.hash as Uint8Array);
    if (height !== journal.height || !bytesEqual(headHash, prev)) {
      throw corrupt(
        worldId,
        Math.min(height, journal.height),
        `the acknowledged head is height ${height} (${toHex(headHash)}), the entries end at height ` +
          `${journal.height} (${toHex(prev)})`,
      );
    }
    journal.#lastHash = prev;
    journal.#syncedHeight = height;
    return journal;
  }

  get height(): number {
    return this.#base + this.#rows.length;
  }

  /** Seq of the first entry held: the latest snapshot's at open, lower after {@linkcode preload}. */
  get firstHeldSeq(): number {
    return this.#base;
  }

  /**
   * Fetches the rows from `fromSeq` (default 0) up to the first held one and checks their seqs and hash
   * chain, up to the first held row (whose stored `prev_hash` must be the hash of the last fetched one); then
   * holds them. `AOS_JOURNAL_CORRUPT` naming the seq on damage (nothing is added then).
   */
  async preload(fromSeq = 0): Promise<void> {
    const base = this.#base;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 0 || fromSeq > this.height) {
      throw new RangeError(`Invalid fromSeq "${fromSeq}": expected an integer in 0..${this.height}`);
    }
    if (fromSeq >= base) return;
    let loaded;
    try {
      loaded = await this.#gate.run(() =>
        fetchRows(
          this.#conn`SELECT seq, kind, bytes, prev_hash FROM aos_entries
            WHERE world_id = ${this.worldId} AND seq >= ${fromSeq} AND seq < ${base} ORDER BY seq`,
          this.worldId,
          fromSeq,
          fromSeq === 0 ? ZERO_HASH : undefined,
        )
      );
    } catch (error) {
      if (error instanceof AosError) throw error;
      throw ioError(`read entries ${fromSeq}..${base - 1} of world "${this.worldId}"`, error);
    }
    if (loaded.rows.length !== base - fromSeq) {
      const seq = fromSeq + loaded.rows.length;
      throw corrupt(this.worldId, seq, `seq gap: expected seq ${seq}, found ${base}`);
    }
    if (!bytesEqual(loaded.lastHash!, this.#baseHash)) {
      throw corrupt(
        this.worldId,
        base,
        `hash chain broken: prev_hash ${toHex(this.#baseHash)}, expected ${toHex(loaded.lastHash!)} ` +
          `(the hash of seq ${base - 1})`,
      );
    }
    if (this.#base !== base) return; // a concurrent preload got there first
    this.#rows = (loaded.rows as Array<StoredRow | JournalEntry>).concat(this.#rows);
    this.#base = fromSeq;
    this.#baseHash = loaded.rows[0]!.prev;
  }

  get lastHash(): Uint8Array {
    return this.#lastHash.slice();
  }

  /** Entries committed to the database. */
  get syncedHeight(): number {
    return this.#syncedHeight;
  }

  #entryAt(seq: number): JournalEntry {
    const row = this.#rows[seq - this.#base]!;
    if ("body" in row) return row;
    let entry: JournalEntry;
    try {
      entry = decodeEntry(row.bytes);
    } catch (error) {
      throw corrupt(this.worldId, row.seq, `the entry does not decode: ${(error as Error).message}`);
    }
    const problem = linkProblem(row.seq, row.prev, entry) ??
      (entry.kind !== row.kind ? `kind column "${row.kind}" but the entry is "${entry.kind}"` : undefined);
    if (problem !== undefined) throw corrupt(this.worldId, row.seq, problem);
    return entry;
  }

  entries(fromSeq = 0): Iterable<JournalEntry> {
    const height = this.height;
    const base = this.#base;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < base || fromSeq > height) {
      const hint = base > 0 && Number.isSafeInteger(fromSeq) && fromSeq >= 0 && fromSeq < base
        ? ` (entries before ${base} are not loaded: preload them first)`
        : "";
      throw new RangeError(`Invalid fromSeq "${fromSeq}": expected an integer in ${base}..${height}${hint}`);
    }
    return (function* (journal: PgJournal) {
      for (let seq = fromSeq; seq < height; seq++) yield journal.#entryAt(seq);
    })(this);
  }

  /** The held entries, newest first, down to {@linkcode firstHeldSeq}. */
  entriesBackward(): Iterable<JournalEntry> {
    const height = this.height;
    const base = this.#base;
    return (function* (journal: PgJournal) {
      for (let seq = height - 1; seq >= base; seq--) yield journal.#entryAt(seq);
    })(this);
  }

  append(records: readonly EntryRecord[]): JournalEntry[] {
    if (this.#closed) throw new TypeError("Cannot append: the journal is closed");
    this.#checkHealthy();
    const entries = chainRecords(this.height, this.#lastHash, records);
    assertChained(this.height, this.#lastHash, entries);
    for (const entry of entries) this.#rows.push(entry);
    if (entries.length > 0) this.#lastHash = entries.at(-1)!.hash;
    return entries;
  }

  #checkHealthy(): void {
    if (this.#failed !== undefined) {
      throw new AosError(
        "AOS_JOURNAL_IO",
        `The journal of world "${this.worldId}" failed to commit; reopen the world (${String(this.#failed)})`,
        { cause: this.#failed },
      );
    }
  }

  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new TypeError("Cannot sync: the journal is closed"));
    return this.#gate.run(() => this.#commit());
  }

  /**
   * Sends the rows appended since the last send or commit, when there are at least `limits.sendAheadRowsMin`, into
   * the step's transaction (opened here if need be): the server inserts them while the kernel computes the
   * next blocks. Nothing is acknowledged before `sync` commits; a failure fails that sync.
   */
  sendAhead(): Promise<void> {
    if (this.#closed || this.#failed !== undefined) return Promise.resolve();
    const from = this.#inTransaction ? this.#sentHeight : this.#syncedHeight;
    if (this.height - from >= limits.sendAheadRowsMin) {
      void this.#gate.run(() => this.#send());
    }
    // A macrotask turn: the client reads the server's replies and writes what is queued.
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  async #send(): Promise<void> {
    if (this.#closed || this.#failed !== undefined) return;
    const from = this.#inTransaction ? this.#sentHeight : this.#syncedHeight;
    const to = this.height;
    if (to - from < limits.sendAheadRowsMin) return;
    try {
      await Promise.race([this.#insert(from, to), this.#connectionLost]);
      this.#sentHeight = to;
      this.#compact(from, to);
    } catch (error) {
      // The sync that follows reports it (and rolls the transaction back, if the connection still works).
      this.#failed = error;
    }
  }

  /** Entries sent to the database are kept as their rows (decoded again if read), not with their bodies. */
  #compact(from: number, to: number): void {
    for (let seq = from; seq < to; seq++) {
      const at = seq - this.#base;
      const entry = this.#rows[at]!;
      if ("body" in entry) {
        this.#rows[at] = { seq, bytes: entry.bytes, prev: entry.prev, hash: entry.hash, kind: entry.kind };
      }
    }
  }

  async #commit(): Promise<void> {
    const from = this.#syncedHeight;
    try {
      this.#checkHealthy();
    } catch (error) {
      if (this.#inTransaction) await this.#rollback();
      throw error;
    }
    const to = this.height;
    if (to === from) return;
    const sent = this.#inTransaction ? this.#sentHeight : from;
    const lastHash = this.#rows[to - 1 - this.#base]!.hash;
    try {
      // A reserved connection has no begin(): the transaction is spelled out, on the connection that holds
      // the world's advisory lock. A lost connection fails the step (queries on it would never settle).
      await Promise.race([this.#transaction(sent, from, to, lastHash), this.#connectionLost]);
    } catch (error) {
      this.#failed = error;
      throw ioError(`commit entries ${from}..${to - 1} of world "${this.worldId}"`, error);
    }
    this.#syncedHeight = to;
    this.#compact(from, to);
  }

  async #rollback(): Promise<void> {
    this.#inTransaction = false;
    await Promise.race([this.#conn`ROLLBACK`, this.#connectionLost]).catch(() => {});
  }

  /**
   * Writes the held rows of seqs `from..to` into the step's transaction, opening it if need be: binary COPYs
   * of at most `INSERT_CHUNK` rows.
   */
  async #insert(from: number, to: number): Promise<void> {
    if (!this.#inTransaction) {
      await this.#conn`BEGIN`;
      this.#inTransaction = true;
    }
    for (let at = from; at < to; at += INSERT_CHUNK) {
      const rows = this.#rows.slice(at - this.#base, Math.min(to, at + INSERT_CHUNK) - this.#base);
      await insertEntries(this.#conn, this.worldId, rows, this.#connectionLost);
    }
  }

  /** Writes the unsent rows up to `to`, moves the head from `from` and commits (rolled back on failure). */
  async #transaction(sent: number, from: number, to: number, lastHash: Uint8Array): Promise<void> {
    const tx = this.#conn;
    try {
      await this.#insert(sent, to);
      // The inbox position and failure count belong to the old height: cleared here (unknown, so an open after
      // a crash before the world records them searches the journal for them) and recorded after the commit.
      const moved = await tx`UPDATE aos_heads SET height = ${to}, hash = ${lastHash},
          inbox_batch = NULL, inbox_index = NULL, failures = NULL
        WHERE world_id = ${this.worldId} AND height = ${from}`;
      if (moved.count !== 1) {
        throw new AosError(
          "AOS_BUSY",
          `World "${this.worldId}" was written by another process since height ${from}; nothing was committed`,
        );
      }
    } catch (error) {
      await this.#rollback();
      throw error;
    }
    this.#inTransaction = false;
    await tx`COMMIT`;
  }

  close(): void {
    this.#closed = true;
  }
}

/** What a COPY row takes from an entry (held entries and compacted rows both have it). */
type CopyRow = Pick<JournalEntry, "seq" | "kind" | "bytes" | "prev">;

/** The 19-byte header of PostgreSQL's binary COPY format (signature, flags, header extension length). */
const COPY_HEADER = new Uint8Array([
  0x50,
  0x47,
  0x43,
  0x4f,
  0x50,
  0x59,
  0x0a,
  0xff,
  0x0d,
  0x0a,
  0x00,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

/**
 * Consecutive entries as binary COPY rows `(world_id, seq, kind, bytes, prev_hash)`: no text escaping
 * either way.
 */
export function encodeCopyRows(worldId: string, entries: readonly CopyRow[]): Uint8Array {
  const encoder = new TextEncoder();
  const world = encoder.encode(worldId);
  const kinds = new Map<string, Uint8Array>();
  let size = COPY_HEADER.length + 2;
  for (const entry of entries) {
    let kind = kinds.get(entry.kind);
    if (kind === undefined) kinds.set(entry.kind, kind = encoder.encode(entry.kind));
    size += 2 + (4 + world.length) + (4 + 8) + (4 + kind.length) + (4 + entry.bytes.length) +
      (4 + entry.prev.length);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(COPY_HEADER);
  let at = COPY_HEADER.length;
  const field = (bytes: Uint8Array) => {
    view.setInt32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  };
  for (const entry of entries) {
    view.setInt16(at, 5);
    at += 2;
    field(world);
    view.setInt32(at, 8);
    view.setBigInt64(at + 4, BigInt(entry.seq));
    at += 12;
    field(kinds.get(entry.kind)!);
    field(entry.bytes);
    field(entry.prev);
  }
  view.setInt16(at, -1);
  invariant(at + 2 === size, "binary COPY rows fill their buffer");
  return out;
}

/**
 * Writes consecutive entries in the open transaction: one binary COPY into `aos_entries`, whose primary key
 * refuses a seq written before (the COPY fails, and the transaction with it).
 */
async function insertEntries(
  tx: Conn,
  worldId: string,
  entries: readonly CopyRow[],
  connectionLost: Promise<never>,
): Promise<void> {
  const payload = encodeCopyRows(worldId, entries);
  const stream = await tx`COPY aos_entries (world_id, seq, kind, bytes, prev_hash) FROM STDIN (FORMAT binary)`
    .writable();
  const finished = new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("finish", resolve);
  });
  stream.write(payload);
  stream.end();
  // The client resolves a COPY when the server confirms it, and only reports a lost connection elsewhere.
  await Promise.race([finished, connectionLost]);
}

/** The 32 bytes of a well-formed reference (`TypeError` otherwise, as the file CAS). */
function hashBytes(hash: HashRef): Uint8Array {
  checkHash(hash);
  return hashRefToBytes(hash);
}

/**
 * The CAS of one world on PostgreSQL (`aos_nodes`, `aos_blobs`). Opening reads the size of every object of
 * the world (for the synchronous `sizeOf`); `put` commits before it resolves; `get` re-hashes.
 */
export class PgCas implements Cas {
  readonly #conn: Conn;
  readonly #gate: QueryGate;
  readonly worldId: string;
  /** `space/hex` → size, for every object of this world. */
  readonly #sizes = new Map<string, number>();

  private constructor(conn: Conn, gate: QueryGate, worldId: string) {
    this.#conn = conn;
    this.#gate = gate;
    this.worldId = worldId;
  }

  /** Loads the index (hash and size) of the world's objects. */
  static async load(conn: Conn, gate: QueryGate, worldId: string): Promise<PgCas> {
    const cas = new PgCas(conn, gate, worldId);
    const rows = await conn`SELECT 'nodes' AS space, encode(hash, 'hex') AS hex, octet_length(bytes) AS size
        FROM aos_nodes WHERE world_id = ${worldId}
      UNION ALL SELECT 'blobs', encode(hash, 'hex'), octet_length(bytes) FROM aos_blobs WHERE world_id = ${worldId}`;
    for (const row of rows) cas.#sizes.set(`${row.space}/${row.hex}`, Number(row.size));
    return cas;
  }

  async put(space: CasSpace, bytes: Uint8Array): Promise<HashRef> {
    checkSpace(space);
    const hash = hashRefOf(bytes);
    const key = `${space}/${hash.slice(7)}`;
    if (this.#sizes.has(key)) return hash;
    const copy = bytes.slice();
    invariant(hashRefOf(copy) === hash, "CAS bytes changed while being stored");
    try {
      const key = hashBytes(hash);
      await this.#gate.run(() =>
        space === "nodes"
          ? this.#conn`INSERT INTO aos_nodes (world_id, hash, bytes) VALUES (${this.worldId}, ${key}, ${copy})
              ON CONFLICT DO NOTHING`
          : this.#conn`INSERT INTO aos_blobs (world_id, hash, bytes) VALUES (${this.worldId}, ${key}, ${copy})
              ON CONFLICT DO NOTHING`
      );
    } catch (error) {
      throw ioError(`store ${hash} in ${space}`, error);
    }
    this.#sizes.set(key, copy.length);
    return hash;
  }

  async get(space: CasSpace, hash: HashRef): Promise<Uint8Array> {
    checkSpace(space);
    const key = hashBytes(hash);
    let rows;
    try {
      rows = await this.#gate.run(() =>
        space === "nodes"
          ? this.#conn`SELECT bytes FROM aos_nodes WHERE world_id = ${this.worldId} AND hash = ${key}`
          : this.#conn`SELECT bytes FROM aos_blobs WHERE world_id = ${this.worldId} AND hash = ${key}`
      );
    } catch (error) {
      throw ioError(`read ${hash} from ${space}`, error);
    }
    const row = rows[0];
    if (row === undefined) {
      throw new AosError("AOS_CAS_MISSING", `CAS object "${hash}" is missing from ${space}`);
    }
    const bytes = plain(row.bytes as Uint8Array);
    const actual = hashRefOf(bytes);
    if (actual !== hash) {
      throw new AosError(
        "AOS_CAS_CORRUPT",
        `CAS object "${hash}" in ${space} is corrupt: its bytes hash to "${actual}"`,
      );
    }
    return bytes;
  }

  has(space: CasSpace, hash: HashRef): Promise<boolean> {
    try {
      checkSpace(space);
      hashBytes(hash);
      return Promise.resolve(this.#sizes.has(`${space}/${hash.slice(7)}`));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  list(space: CasSpace): Promise<HashRef[]> {
    checkSpace(space);
    const refs: HashRef[] = [];
    for (const key of this.#sizes.keys()) {
      if (key.startsWith(`${space}/`)) refs.push(`sha256:${key.slice(space.length + 1)}`);
    }
    return Promise.resolve(refs.sort());
  }

  sizeOf(space: CasSpace, hash: HashRef): number | undefined {
    checkSpace(space);
    hashBytes(hash);
    return this.#sizes.get(`${space}/${hash.slice(7)}`);
  }
}

/** The acknowledged head row of a world. The journal moves height and hash; this adds inbox and failures. */
class PgHeadRow implements PgHeadStore {
  constructor(readonly conn: Conn, readonly gate: QueryGate, readonly worldId: string) {}

  async read(): Promise<PgHead | undefined> {
    const [row] = await this.gate.run(() =>
      this.conn`SELECT height, hash, inbox_batch, inbox_index, failures FROM aos_heads
        WHERE world_id = ${this.worldId}`
    );
    if (row === undefined) return undefined;
    const head: PgHead = { height: Number(row.height), hash: plain(row.hash as Uint8Array) };
    if (row.inbox_batch !== null && row.inbox_index !== null) {
      head.inbox = { batch: Number(row.inbox_batch), index: Number(row.inbox_index) };
    }
    if (row.failures !== null) head.failures = Number(row.failures);
    return head;
  }

  async write(head: PgHead): Promise<void> {
    const inbox = head.inbox ?? null;
    let updated;
    try {
      updated = await this.gate.run(() =>
        this.conn`UPDATE aos_heads SET
            inbox_batch = ${inbox === null ? null : inbox.batch},
            inbox_index = ${inbox === null ? null : inbox.index},
            failures = ${head.failures ?? null}
          WHERE world_id = ${this.worldId} AND height = ${head.height} AND hash = ${head.hash}`
      );
    } catch (error) {
      throw ioError(`record the head of world "${this.worldId}"`, error);
    }
    invariant(updated.count === 1, `the head row of "${this.worldId}" is at height ${head.height}`);
  }
}

/** The inbox rows of a world: batches numbered in arrival order, each committed before `add` resolves. */
class PgInboxTable implements PgInboxRows {
  constructor(readonly conn: Conn, readonly gate: QueryGate, readonly worldId: string) {}

  async list(): Promise<Array<{ batch: number; bytes: Uint8Array }>> {
    try {
      const rows = await this.gate.run(() =>
        this.conn`SELECT batch, bytes FROM aos_inbox WHERE world_id = ${this.worldId} ORDER BY batch`
      );
      return rows.map((row) => ({ batch: Number(row.batch), bytes: plain(row.bytes as Uint8Array) }));
    } catch (error) {
      throw ioError(`read the inbox of world "${this.worldId}"`, error);
    }
  }

  async add(bytes: Uint8Array, afterBatch: number): Promise<number> {
    try {
      const [row] = await this.gate.run(() =>
        this.conn`INSERT INTO aos_inbox (world_id, batch, bytes)
          SELECT ${this.worldId}, greatest(${afterBatch}::bigint, coalesce(max(batch), 0)) + 1, ${bytes}
          FROM aos_inbox WHERE world_id = ${this.worldId}
          RETURNING batch`
      );
      return Number(row!.batch);
    } catch (error) {
      throw ioError(`queue a batch in the inbox of world "${this.worldId}"`, error);
    }
  }

  async remove(batches: readonly number[]): Promise<void> {
    if (batches.length === 0) return;
    try {
      await this.gate.run(() =>
        this.conn`DELETE FROM aos_inbox WHERE world_id = ${this.worldId} AND batch IN ${
          this.conn(batches.map((batch) => batch))
        }`
      );
    } catch (error) {
      throw ioError(`remove admitted batches from the inbox of world "${this.worldId}"`, error);
    }
  }
}
