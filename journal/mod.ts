/**
 * Persistence (KERNEL §8): the hash-chained, CRC-framed journal and the content-addressed store, each a
 * port with a file-system and an in-memory implementation that pass one shared contract suite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashRefToBytes } from "../air/mod.ts";
 * import { FsCas, FsJournal } from "./mod.ts";
 *
 * const world = await Deno.makeTempDir();
 * const journal = await FsJournal.open(`${world}/journal`, { create: true, truncateTornTail: true });
 * if (journal.tornTail !== undefined) console.warn("cut a torn journal tail", journal.tornTail);
 * const cas = new FsCas(`${world}/.aos/store`);
 * const manifestHash = await cas.put("nodes", new TextEncoder().encode("manifest"));
 * journal.append([{ kind: "genesis", body: { manifest_hash: hashRefToBytes(manifestHash), ingress_ns: 0 } }]);
 * await journal.sync(); // one fsync for everything appended so far
 * assert.equal(journal.height, 1);
 * journal.close();
 * await Deno.remove(world, { recursive: true });
 * ```
 *
 * @module
 */
export { type Cas, type CasSpace, FsCas, MemoryCas } from "./cas.ts";
export {
  classifyEntry,
  decodeEntry,
  encodeEntry,
  ENTRY_KINDS,
  type EntryClass,
  type EntryRecord,
  HASH_SIZE_BYTES,
  isEntryKind,
  isInputKind,
  isMarkerKind,
  type JournalEntry,
  ZERO_HASH,
} from "./entry.ts";
export {
  crc32c,
  encodeFrame,
  type Frame,
  FRAME_HEADER_SIZE_BYTES,
  FRAME_OVERHEAD_SIZE_BYTES,
  FRAME_TRAILER_SIZE_BYTES,
  type FrameProblem,
  type FrameScan,
  scanFrames,
} from "./frame.ts";
export {
  FsJournal,
  type FsJournalOptions,
  type JournalDirReport,
  type JournalSegment,
  readJournalDir,
  type TornTail,
  verifyJournalDir,
} from "./fs_journal.ts";
export {
  firstHeldSeq,
  isPreloadable,
  type Journal,
  MemoryJournal,
  type PreloadableJournal,
  preloadJournal,
} from "./journal.ts";
export {
  bodyOf,
  bodyProblem,
  type CborMap,
  checkBody,
  domainEventRecord,
  type EntryBodies,
  type EntryKind,
  type EventOrigin,
  isRecord,
  type JournalRecord,
  journalRecord,
  type TypedRecord,
  u64,
  type Uint,
} from "./records.ts";
export {
  createFileOnce,
  type DurableWriteOptions,
  exists,
  makeDirDurable,
  moveFileDurable,
  parentOf,
  readIfExists,
  syncDirectory,
  writeAll,
  writeAllSync,
  writeFileAtomic,
} from "./durable_fs.ts";
export { lockWorld, type WorldLock } from "./lock.ts";
export {
  type JournalDamage,
  type JournalPlace,
  type JournalScan,
  lastSeqFrom,
  type QuarantineCut,
  quarantineFrom,
  scanJournal,
} from "./repair.ts";
export {
  checkPgUrl,
  openPgWorld,
  type PgHead,
  type PgHeadStore,
  type PgInboxRows,
  type PgWorldOptions,
  type PgWorldStore,
} from "./postgres.ts";
export {
  pgBinDir,
  type PgServerOptions,
  type PgTestServer,
  sharedPgServer,
  startPgServer,
} from "./testing/pg_server.ts";
export { JOURNAL_FORMAT_VERSION } from "./format.ts";
