/**
 * Copying a world between stores (`aos world export`, `aos init --import`): the journal entry by entry
 * (re-chained in the target and checked byte for byte against the source), every CAS object, the
 * acknowledged head, the queued inbox batches, and the folder's own files (AIR, modules, receipts, keys,
 * config). The source
 * is read under its lock and never changed; the copy replays to the same state hashes.
 *
 * @module
 */
import { AosError, bytesEqual, toHex } from "../air/mod.ts";
import { preloadJournal, type WorldLock, writeFileAtomic } from "../journal/mod.ts";
import type { Clock } from "../kernel/mod.ts";
import { readWorldConfig, type StoreConfig, storeConfigJson } from "./config.ts";
import { openFilePorts, type StoreLock } from "./file_ports.ts";
import { worldPaths } from "./paths.ts";

/** What a copy moved. */
export interface TransferReport {
  height: number;
  nodes: number;
  blobs: number;
  /** The target's store: undefined for the file store under `.aos/`. */
  store?: StoreConfig;
}

/** Entries appended and committed per transaction (or fsync) while copying. */
const COPY_CHUNK = 10_000;

async function copyTree(from: string, to: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(from));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  await Deno.mkdir(to, { recursive: true });
  for (const entry of entries) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) {
      await writeFileAtomic(`${to}/${entry.name}`, await Deno.readFile(`${from}/${entry.name}`));
    }
  }
}

async function copyFileIfExists(from: string, to: string): Promise<void> {
  try {
    await writeFileAtomic(to, await Deno.readFile(from));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Copies the world folder `source` to the new world folder `target` (which must not hold a world), on the
 * file store or, with `options.store`, in a database. The source's config is kept, its store entry
 * replaced by the target's.
 */
export async function transferWorld(
  source: string,
  target: string,
  options: { clock: Clock; store?: StoreConfig; onLockWait?: (holder: string) => void },
): Promise<TransferReport> {
  const from = worldPaths(source);
  const to = worldPaths(target);
  await readWorldConfig(from.config); // a bad config stops the copy before anything is written
  const src = await openFilePorts(source, {
    clock: options.clock,
    ...(options.onLockWait === undefined ? {} : { onLockWait: options.onLockWait }),
  });
  try {
    const head = await src.ports.head.read();
    await Deno.mkdir(to.aos, { recursive: true });
    const dst = await openFilePorts(target, {
      clock: options.clock,
      create: true,
      ...(options.store === undefined ? {} : { store: options.store }),
    });
    try {
      const report: TransferReport = { height: 0, nodes: 0, blobs: 0 };
      if (options.store !== undefined) report.store = options.store;
      for (const space of ["nodes", "blobs"] as const) {
        for (const ref of await src.ports.cas.list(space)) {
          await dst.ports.cas.put(space, await src.ports.cas.get(space, ref));
          report[space]++;
        }
      }
      const { journal } = dst.ports;
      let batch: Array<{ kind: string; body: never; hash: Uint8Array }> = [];
      const flush = async () => {
        const appended = journal.append(batch.map(({ kind, body }) => ({ kind, body })));
        appended.forEach((entry, i) => {
          if (!bytesEqual(entry.hash, batch[i]!.hash)) {
            throw new AosError(
              "AOS_JOURNAL_CORRUPT",
              `Entry ${entry.seq} does not re-encode to the same bytes (${toHex(entry.hash)}): not copied`,
              { context: { seq: entry.seq } },
            );
          }
        });
        await journal.sync();
        batch = [];
      };
      await preloadJournal(src.ports.journal, 0);
      for (const entry of src.ports.journal.entries(0)) {
        batch.push({ kind: entry.kind, body: entry.body as never, hash: entry.hash });
        if (batch.length >= COPY_CHUNK) await flush();
      }
      if (batch.length > 0) await flush();
      report.height = journal.height;
      // The source's head, when it is at the end of the journal; else (a crash left it behind) the bare end,
      // and the copy searches its journal for the rest when it opens, as the source would.
      await dst.ports.head.write(
        head !== undefined && head.height === journal.height
          ? head
          : { height: journal.height, hash: journal.lastHash },
      );
      await copyTree(from.air, to.air);
      await copyTree(from.modules, to.modules);
      for (const ref of await src.ports.inbox.refs()) {
        // One batch in memory at a time.
        const batch = await src.ports.inbox.read(ref);
        await dst.ports.inbox.add(batch.events, batch.batch - 1, batch.validatedFor);
      }
      await copyTree(from.receipts, to.receipts);
      await copyTree(from.keys, to.keys);
      await copyFileIfExists(from.manifestCbor, to.manifestCbor);
      await copyFileIfExists(from.manifestJson, to.manifestJson);
      const rest = await configWithout(from.config);
      if (rest !== undefined || options.store !== undefined) {
        const config = {
          ...rest,
          ...(options.store === undefined ? {} : { store: storeConfigJson(options.store) }),
        };
        await writeFileAtomic(to.config, new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n"));
      }
      return report;
    } finally {
      dst.close();
      await released(dst.lock);
    }
  } finally {
    src.close();
    await released(src.lock);
  }
}

/** Waits until a world lock let go of everything (a database connection closes asynchronously). */
async function released(lock: WorldLock): Promise<void> {
  if ("released" in lock) await (lock as StoreLock).released;
}

/** The source config's JSON without its `store` entry, or undefined when nothing else is left. */
async function configWithout(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const { store: _store, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return Object.keys(rest).length === 0 ? undefined : rest;
}
