/**
 * The behaviour every `Journal` implementation must show, as a suite of `Deno.test` cases.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bytesEqual, encodeCanonical, limits, sha256 } from "../../air/mod.ts";
import { decodeEntry, type EntryRecord, ZERO_HASH } from "../entry.ts";
import type { Journal } from "../journal.ts";

/** A journal under test. */
export interface JournalHarness {
  /**
   * Opens the journal's storage, closing the journal this harness opened before (if any). The first call
   * gives an empty journal; later calls reopen what was appended and synced.
   */
  open(): Promise<Journal>;
  /** Closes what is open and removes the storage. */
  cleanup(): Promise<void>;
}

/** A small, valid input record; `n` makes each one distinct. */
export function sampleRecord(n: number): EntryRecord {
  return {
    kind: "domain_event",
    body: {
      schema: "demo/Tick@1",
      value: encodeCanonical({ n }),
      origin: { kind: "external" },
      ingress_ns: 1_000 + n,
    },
  };
}

function checkChain(journal: Journal): void {
  let prev = ZERO_HASH;
  let seq = 0;
  for (const entry of journal.entries()) {
    assert.equal(entry.seq, seq, `seq ${seq} is dense`);
    assert.ok(bytesEqual(entry.prev, prev), `prev of seq ${seq} is the hash of the entry before`);
    assert.ok(bytesEqual(entry.hash, sha256(entry.bytes)), `hash of seq ${seq} is sha256 of its bytes`);
    prev = entry.hash;
    seq++;
  }
  assert.equal(journal.height, seq);
  assert.ok(bytesEqual(journal.lastHash, prev), "lastHash is the hash of the last entry");
}

/**
 * Registers the journal contract as `Deno.test` cases named `<name>: …`. `factory` is called once per test
 * and must give a harness over fresh, empty storage.
 */
export function runJournalContract(name: string, factory: () => Promise<JournalHarness>): void {
  const test = (title: string, body: (harness: JournalHarness) => Promise<void>) => {
    Deno.test(`${name}: ${title}`, async () => {
      const harness = await factory();
      try {
        await body(harness);
      } finally {
        await harness.cleanup();
      }
    });
  };

  test("a new journal is empty", async (harness) => {
    const journal = await harness.open();
    assert.equal(journal.height, 0);
    assert.deepEqual(journal.lastHash, ZERO_HASH);
    assert.deepEqual([...journal.entries()], []);
  });

  test("append() assigns dense seqs and chains each entry to the one before", async (harness) => {
    const journal = await harness.open();
    const first = journal.append([sampleRecord(0), sampleRecord(1)]);
    const second = journal.append([sampleRecord(2)]);
    assert.deepEqual([...first, ...second].map((entry) => entry.seq), [0, 1, 2]);
    assert.deepEqual(first[0]?.prev, ZERO_HASH);
    assert.deepEqual(second[0]?.prev, first[1]?.hash);
    assert.deepEqual(journal.lastHash, second[0]?.hash);
    checkChain(journal);
  });

  test("append() keeps the record's kind and body, and the bytes decode to the entry", async (harness) => {
    const journal = await harness.open();
    const [entry] = journal.append([sampleRecord(7)]);
    assert.ok(entry !== undefined);
    assert.equal(entry.kind, "domain_event");
    assert.deepEqual(entry.body, sampleRecord(7).body);
    assert.deepEqual(decodeEntry(entry.bytes), entry);
  });

  test("append([]) writes nothing", async (harness) => {
    const journal = await harness.open();
    assert.deepEqual(journal.append([]), []);
    assert.equal(journal.height, 0);
  });

  test("entries(fromSeq) yields the entries from that seq in order", async (harness) => {
    const journal = await harness.open();
    journal.append([0, 1, 2, 3, 4].map(sampleRecord));
    assert.deepEqual([...journal.entries(3)].map((entry) => entry.seq), [3, 4]);
    assert.deepEqual([...journal.entries(5)], []);
    assert.throws(() => journal.entries(6), RangeError);
    assert.throws(() => journal.entries(-1), RangeError);
  });

  test("entriesBackward() yields every entry from the last down to seq 0, lazily", async (harness) => {
    const journal = await harness.open();
    assert.deepEqual([...journal.entriesBackward()], []);
    journal.append([0, 1, 2, 3, 4].map(sampleRecord));
    assert.deepEqual([...journal.entriesBackward()].map((entry) => entry.seq), [4, 3, 2, 1, 0]);
    assert.deepEqual([...journal.entriesBackward()].reverse(), [...journal.entries()]);
    // Stopping early is fine, and an iteration started before an append does not see it.
    const backward = journal.entriesBackward()[Symbol.iterator]();
    journal.append([sampleRecord(5)]);
    assert.equal(backward.next().value?.seq, 4);
    backward.return?.();
    const [last] = journal.entriesBackward();
    assert.equal(last?.seq, 5);
  });

  test("entries() started before an append ends at the height it started at", async (harness) => {
    const journal = await harness.open();
    journal.append([0, 1].map(sampleRecord));
    const forward = journal.entries(0)[Symbol.iterator]();
    assert.equal(forward.next().value?.seq, 0);
    journal.append([sampleRecord(2)]);
    assert.equal(forward.next().value?.seq, 1);
    assert.equal(forward.next().done, true);
  });

  test("reopening after sync() keeps every entry and appends continue the chain", async (harness) => {
    const journal = await harness.open();
    journal.append([sampleRecord(0), sampleRecord(1)]);
    await journal.sync();
    const lastHash = journal.lastHash;
    const reopened = await harness.open();
    assert.equal(reopened.height, 2);
    assert.deepEqual(reopened.lastHash, lastHash);
    const [next] = reopened.append([sampleRecord(2)]);
    assert.equal(next?.seq, 2);
    assert.deepEqual(next?.prev, lastHash);
    await reopened.sync();
    const again = await harness.open();
    assert.equal(again.height, 3);
    checkChain(again);
    assert.deepEqual([...again.entriesBackward()].map((entry) => entry.seq), [2, 1, 0]);
  });

  test("group commit: many appends become durable with one sync()", async (harness) => {
    const journal = await harness.open();
    for (let n = 0; n < 200; n++) journal.append([sampleRecord(n)]);
    await journal.sync();
    const reopened = await harness.open();
    assert.equal(reopened.height, 200);
    checkChain(reopened);
  });

  test("append() rejects an entry over journalEntrySizeBytesMax and writes none of its batch", async (harness) => {
    const journal = await harness.open();
    journal.append([sampleRecord(0)]);
    const huge: EntryRecord = {
      kind: "domain_event",
      body: {
        schema: "demo/Tick@1",
        value: new Uint8Array(limits.journalEntrySizeBytesMax),
        origin: { kind: "external" },
        ingress_ns: 0,
      },
    };
    assert.throws(() => journal.append([sampleRecord(1), huge]), RangeError);
    assert.equal(journal.height, 1);
    await journal.sync();
    const reopened = await harness.open();
    assert.equal(reopened.height, 1);
  });

  test("append() rejects an unknown kind with TypeError", async (harness) => {
    const journal = await harness.open();
    assert.throws(() => journal.append([{ kind: "no_such_kind", body: {} }]), TypeError);
    assert.equal(journal.height, 0);
  });

  test("append() and sync() throw after close(); reads keep working", async (harness) => {
    const journal = await harness.open();
    journal.append([sampleRecord(0)]);
    await journal.sync();
    journal.close();
    assert.throws(() => journal.append([sampleRecord(1)]), TypeError);
    await assert.rejects(async () => await journal.sync(), TypeError);
    assert.equal(journal.height, 1);
    assert.equal([...journal.entries()].length, 1);
  });
}
