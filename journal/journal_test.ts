import assert from "node:assert/strict";
import { AosError } from "../air/mod.ts";
import { encodeEntry } from "./entry.ts";
import { FsJournal } from "./fs_journal.ts";
import { type Journal, MemoryJournal } from "./journal.ts";
import { runJournalContract, sampleRecord } from "./testing/mod.ts";

runJournalContract("MemoryJournal", () => {
  let current: MemoryJournal | undefined;
  return Promise.resolve({
    open: () => {
      current?.close();
      current = MemoryJournal.from(current?.entries() ?? []);
      return Promise.resolve(current);
    },
    cleanup: () => {
      current?.close();
      return Promise.resolve();
    },
  });
});

runJournalContract("FsJournal", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_journal_" });
  let current: Journal | undefined;
  return {
    open: async () => {
      current?.close();
      current = await FsJournal.open(`${root}/journal`, { create: true });
      return current;
    },
    cleanup: async () => {
      current?.close();
      await Deno.remove(root, { recursive: true });
    },
  };
});

runJournalContract("FsJournal with tiny segments", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_journal_" });
  let current: Journal | undefined;
  return {
    open: async () => {
      current?.close();
      current = await FsJournal.open(`${root}/journal`, { create: true, segmentSizeBytesMax: 300 });
      return current;
    },
    cleanup: async () => {
      current?.close();
      await Deno.remove(root, { recursive: true });
    },
  };
});

Deno.test("MemoryJournal.syncedHeight follows sync()", async () => {
  const journal = new MemoryJournal();
  journal.append([sampleRecord(0), sampleRecord(1)]);
  assert.equal(journal.syncedHeight, 0);
  await journal.sync();
  journal.append([sampleRecord(2)]);
  assert.equal(journal.syncedHeight, 2);
  const crashed = MemoryJournal.from([...journal.entries()].slice(0, journal.syncedHeight));
  assert.equal(crashed.height, 2);
});

Deno.test("MemoryJournal.from() rejects a broken chain with AOS_JOURNAL_CORRUPT naming the seq", () => {
  const source = new MemoryJournal();
  const entries = source.append([sampleRecord(0), sampleRecord(1), sampleRecord(2)]);
  const forged = encodeEntry(2, sampleRecord(99), entries[1]!.prev);
  assert.throws(() => MemoryJournal.from([entries[0]!, entries[1]!, forged]), (error: unknown) => {
    assert.ok(error instanceof AosError);
    assert.equal(error.code, "AOS_JOURNAL_CORRUPT");
    assert.equal(error.context.seq, 2);
    return true;
  });
  assert.throws(() => MemoryJournal.from([entries[0]!, entries[2]!]), (error: unknown) => {
    assert.ok(error instanceof AosError);
    assert.equal(error.code, "AOS_JOURNAL_CORRUPT");
    assert.match(error.message, /seq gap: expected seq 1, found 2/);
    return true;
  });
});
