/**
 * The file ports of a world folder: the `.aos/journal/` segments, the `.aos/store/` CAS, the `.aos/head`
 * file, the `.aos/inbox/` and `.aos/receipts/` folders, under the `.aos/LOCK` that makes one process the
 * writer. A world whose config names a PostgreSQL store (`aos init --store`) keeps its journal, CAS and head
 * there instead (and its inbox), under the world's advisory lock; its receipt drop box and keys stay in the
 * folder.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { FsCas, FsJournal, openPgWorld, writeFileAtomic } from "../journal/mod.ts";
import { lockWorld, type WorldLock } from "../journal/mod.ts";
import { readWorldConfig, type StoreConfig, storeConfigJson } from "./config.ts";
import type { Clock } from "../kernel/mod.ts";
import { FileHeadStore, type Head, type HeadStore } from "./head.ts";
import { Inbox, type InboxStore, RowInbox } from "./inbox.ts";
import { worldPaths } from "./paths.ts";
import { ReceiptInbox } from "./receipt_inbox.ts";
import type { Cas, Journal, TornTail } from "../journal/mod.ts";

/** Options of a world folder's files. */
export interface WorldFileOptions {
  /** Told when another process holds the world lock and this one waits for it. */
  onLockWait?: (holder: string) => void;
  /** Segment size of the journal (tests use small ones). */
  segmentSizeBytesMax?: number;
  /**
   * Open without changing any file: the journal read-only, a torn tail reported but left in place (the
   * journal ends before it). Appending throws. For commands that only read.
   */
  readOnly?: boolean;
  /** For a new world: keep journal, CAS and head in this store (recorded in `.aos/config.json`). */
  store?: StoreConfig;
}

/** The opened file ports of a world folder, with its lock. */
export interface FilePorts {
  ports: {
    journal: Journal;
    cas: Cas;
    clock: Clock;
    head: HeadStore;
    inbox: InboxStore;
    receipts: ReceiptInbox;
  };
  lock: WorldLock;
  /**
   * A torn last journal frame (a crash mid-write) found on open: cut off and kept in `.aos/quarantine/`
   * by a writer, skipped by a read-only open. Never part of an acknowledged entry (that is corruption).
   */
  tornTail?: TornTail;
  /** Closes the journal and releases the lock (for a failed open; a `World` closes its own). */
  close(): void;
}

/** A world lock that also closes the world's database connection (which holds its advisory lock). */
export interface StoreLock extends WorldLock {
  /** Resolves once everything the lock held is released (the database connection closed). */
  readonly released: Promise<void>;
}

/**
 * Takes the lock of the world folder `dir` and opens its ports. Without `create`, a folder that has no
 * `.aos/` is `AOS_WORLD_NOT_FOUND` (and gets no LOCK file).
 */
export async function openFilePorts(
  dir: string,
  options: WorldFileOptions & { clock: Clock; create?: boolean },
): Promise<FilePorts> {
  const paths = worldPaths(dir);
  if (options.create !== true) {
    try {
      await Deno.stat(paths.aos);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new AosError("AOS_WORLD_NOT_FOUND", `No world at "${dir}": it has no .aos/ folder`);
      }
      throw error;
    }
  }
  let lock: WorldLock;
  try {
    lock = await lockWorld(paths.lock, options.onLockWait);
  } catch (error) {
    // The world's own state is damaged (a failure, exit 1), not the command's input.
    if (error instanceof Deno.errors.IsADirectory || error instanceof Deno.errors.NotADirectory) {
      throw new AosError("AOS_IO", `Cannot lock world "${dir}": "${paths.lock}" is not a file`, {
        cause: error,
        context: { file: paths.lock },
      });
    }
    throw error;
  }
  let store = options.store;
  if (options.create === true && store !== undefined) {
    await Deno.mkdir(paths.aos, { recursive: true });
  } else if (options.create !== true) {
    try {
      store = (await readWorldConfig(paths.config)).store;
    } catch (error) {
      lock.release();
      throw error;
    }
  }
  if (store !== undefined) return await openPgPorts(paths, store, lock, options);
  const head = new FileHeadStore(paths.head);
  let acknowledged: Head | undefined;
  try {
    // The head first: a torn-looking frame among the acknowledged entries is corruption, never cut.
    acknowledged = await head.read();
  } catch (error) {
    lock.release();
    throw error;
  }
  let journal: FsJournal;
  try {
    journal = await FsJournal.open(paths.journal, {
      ...(options.create === true ? { create: true } : {}),
      ...(options.segmentSizeBytesMax === undefined
        ? {}
        : { segmentSizeBytesMax: options.segmentSizeBytesMax }),
      ...(options.readOnly === true
        ? { readOnly: true, tolerateTornTail: true }
        : { truncateTornTail: true, quarantineDir: paths.quarantine }),
      ...(acknowledged === undefined ? {} : { acknowledgedHeight: acknowledged.height }),
    });
  } catch (error) {
    lock.release();
    if (error instanceof Deno.errors.IsADirectory || error instanceof Deno.errors.NotADirectory) {
      throw new AosError(
        "AOS_JOURNAL_CORRUPT",
        `Corrupt journal: "${paths.journal}" is not a folder of segments (${error.message})`,
        { cause: error, context: { file: paths.journal } },
      );
    }
    throw error;
  }
  return {
    ports: {
      journal,
      cas: new FsCas(paths.store),
      clock: options.clock,
      head,
      inbox: new Inbox(paths.inbox, paths.quarantine),
      receipts: new ReceiptInbox(paths.receipts, paths.keys),
    },
    lock,
    ...(journal.tornTail === undefined ? {} : { tornTail: journal.tornTail }),
    close() {
      try {
        journal.close();
      } finally {
        lock.release();
      }
    },
  };
}

/** The ports of a world on PostgreSQL: journal, CAS, head and inbox in the database; receipts and keys on disk. */
async function openPgPorts(
  paths: ReturnType<typeof worldPaths>,
  store: StoreConfig,
  fileLock: WorldLock,
  options: WorldFileOptions & { clock: Clock; create?: boolean },
): Promise<FilePorts> {
  let opened;
  try {
    opened = await openPgWorld({
      url: store.url,
      worldId: store.worldId,
      ...(options.create === true ? { create: true } : {}),
      ...(options.onLockWait === undefined ? {} : { onLockWait: options.onLockWait }),
    });
    if (options.create === true) {
      const json = JSON.stringify({ store: storeConfigJson(store) }, null, 2) + "\n";
      await writeFileAtomic(paths.config, new TextEncoder().encode(json));
    }
  } catch (error) {
    await opened?.close();
    fileLock.release();
    throw error;
  }
  const db = opened;
  let released: Promise<void> | undefined;
  const lock: StoreLock = {
    get released() {
      return released ?? Promise.resolve();
    },
    release() {
      if (released !== undefined) return;
      try {
        fileLock.release();
      } finally {
        released = db.close();
      }
    },
  };
  return {
    ports: {
      journal: db.journal,
      cas: db.cas,
      clock: options.clock,
      head: db.head,
      inbox: new RowInbox(db.inbox, `postgres:${store.worldId}:inbox`, paths.quarantine),
      receipts: new ReceiptInbox(paths.receipts, paths.keys),
    },
    lock,
    close() {
      try {
        db.journal.close();
      } finally {
        lock.release();
      }
    },
  };
}
