/**
 * The PostgreSQL store's surface without its client: the types of a world opened on PostgreSQL and the
 * loader that imports the client (`npm:postgres`) only when a world asks for it, so worlds on the file
 * store never load it.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import type { Cas } from "./cas.ts";
import type { Journal } from "./journal.ts";

/** The acknowledged head as the PostgreSQL store keeps it (the shape of the world's `Head`). */
export interface PgHead {
  height: number;
  hash: Uint8Array;
  inbox?: { batch: number; index: number };
  failures?: number;
}

/** The head row of a world (the world's `HeadStore` port). */
export interface PgHeadStore {
  read(): Promise<PgHead | undefined>;
  write(head: PgHead): Promise<void>;
}

/** The inbox of a world in the database: batches as the bytes an inbox file holds, in arrival order. */
export interface PgInboxRows {
  list(): Promise<Array<{ batch: number; bytes: Uint8Array }>>;
  /** Stores a batch numbered after `afterBatch` and every batch queued; returns its number. */
  add(bytes: Uint8Array, afterBatch: number): Promise<number>;
  remove(batches: readonly number[]): Promise<void>;
}

/** Options of {@linkcode openPgWorld}. */
export interface PgWorldOptions {
  /** `postgres://USER@HOST:PORT/DB`; the password comes from `PGPASSWORD` (never from here). */
  url: string;
  /** The world's id: each world of a database reads only its own rows. */
  worldId: string;
  /** Register a new world (`AOS_WORLD_EXISTS` when the id is taken); otherwise it must exist. */
  create?: boolean;
  /** Told when another process holds the world's advisory lock and this one waits for it. */
  onLockWait?: (holder: string) => void;
  /** Fail with `AOS_WORLD_LOCKED` instead of waiting for the lock. */
  noWait?: boolean;
}

/** A world's journal, store and head on PostgreSQL, under the world's advisory lock. */
export interface PgWorldStore {
  /** The world's id in the database. */
  worldId: string;
  journal: Journal;
  cas: Cas;
  head: PgHeadStore;
  inbox: PgInboxRows;
  /** Releases the lock and the connection; resolves when the connection is closed. */
  close(): Promise<void>;
}

/**
 * Connects to the database at `options.url`, creates or upgrades the schema (versioned in
 * `aos_schema_migrations`), takes the world's advisory lock (one writer per world, across machines) and
 * loads its journal, checking every entry and the hash chain.
 */
export async function openPgWorld(options: PgWorldOptions): Promise<PgWorldStore> {
  const { openPgWorldStore } = await import("./pg_store.ts");
  return await openPgWorldStore(options);
}

/**
 * Checks a store URL before it is recorded: `postgres://` or `postgresql://`, with a user, a host and a
 * database, and no password (passwords come from `PGPASSWORD` and are never written to disk).
 */
export function checkPgUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AosError("AOS_USAGE", `Invalid store "${url}": expected postgres://USER@HOST:PORT/DB`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new AosError("AOS_USAGE", `Invalid store "${url}": expected postgres://USER@HOST:PORT/DB`);
  }
  if (parsed.password !== "") {
    throw new AosError(
      "AOS_USAGE",
      "The store URL must not hold a password (it would be written to the world's config): set PGPASSWORD",
    );
  }
  if (parsed.username === "" || parsed.hostname === "" || parsed.pathname.length <= 1) {
    throw new AosError("AOS_USAGE", `Invalid store "${url}": expected postgres://USER@HOST:PORT/DB`);
  }
  return url;
}
