import assert from "node:assert/strict";
import {
  AosError,
  type AosErrorCode,
  bytesEqual,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
} from "../air/mod.ts";
import { decodeEntry, encodeEntry, type JournalEntry, ZERO_HASH } from "./entry.ts";
import { crc32c, encodeFrame, FRAME_OVERHEAD_SIZE_BYTES, scanFrames } from "./frame.ts";
import { attempt, exists } from "./durable_fs.ts";
import { FsJournal, readJournalDir, verifyJournalDir } from "./fs_journal.ts";
import { sampleRecord } from "./testing/mod.ts";

interface Fixture {
  dir: string;
  entries: JournalEntry[];
}

/** A synced, closed journal of `count` entries in a temp dir, removed after `body`. */
async function withJournal(
  count: number,
  body: (fixture: Fixture) => Promise<void>,
  segmentSizeBytesMax?: number,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "aos_fs_journal_" });
  try {
    const dir = `${root}/journal`;
    const journal = await FsJournal.open(
      dir,
      segmentSizeBytesMax === undefined ? { create: true } : {
        create: true,
        segmentSizeBytesMax,
      },
    );
    const entries: JournalEntry[] = [];
    // Mixed batch sizes: single appends and a group.
    for (let n = 0; n < count; n += n % 2 === 0 ? 1 : 3) {
      entries.push(
        ...journal.append(
          Array.from({ length: Math.min(n % 2 === 0 ? 1 : 3, count - n) }, (_, i) => sampleRecord(n + i)),
        ),
      );
    }
    await journal.sync();
    journal.close();
    assert.equal(entries.length, count);
    await body({ dir, entries });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Offset of each entry's frame within its segment, when all entries sit in one segment. */
function frameOffsets(entries: JournalEntry[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const entry of entries) {
    offsets.push(at);
    at += entry.bytes.length + FRAME_OVERHEAD_SIZE_BYTES;
  }
  return offsets;
}

async function truncateBy(path: string, cutBytes: number): Promise<number> {
  const sizeBytes = (await Deno.stat(path)).size - cutBytes;
  await Deno.truncate(path, sizeBytes);
  return sizeBytes;
}

interface Expected {
  code: AosErrorCode;
  segment: string;
  offset: number;
  seq?: number;
  message?: RegExp;
}

async function rejectsWith(promise: Promise<unknown>, expected: Expected): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AosError, `expected an AosError, got ${String(error)}`);
    assert.equal(error.code, expected.code, error.message);
    assert.equal(error.context.segment, expected.segment);
    assert.equal(error.context.offset, expected.offset);
    assert.equal(error.context.seq, expected.seq);
    assert.ok(error.message.includes(`${expected.segment} at offset ${expected.offset}`), error.message);
    if (expected.message !== undefined) assert.match(error.message, expected.message);
    return true;
  });
}

async function segmentNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of Deno.readDir(dir)) names.push(item.name);
  return names.sort();
}

Deno.test("FsJournal.open() of a missing directory without create throws AOS_WORLD_NOT_FOUND", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_fs_journal_" });
  try {
    await assert.rejects(FsJournal.open(`${root}/nope`), (error: unknown) => {
      return error instanceof AosError && error.code === "AOS_WORLD_NOT_FOUND";
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FsJournal.open() with create gives an empty journal and writes no segment before the first append", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_fs_journal_" });
  try {
    const journal = await FsJournal.open(`${root}/a/journal`, { create: true });
    assert.equal(journal.height, 0);
    assert.deepEqual(journal.lastHash, ZERO_HASH);
    assert.equal(journal.tornTail, undefined);
    await journal.sync();
    assert.deepEqual(await segmentNames(`${root}/a/journal`), []);
    journal.append([sampleRecord(0)]);
    await journal.sync();
    journal.close();
    assert.deepEqual(await segmentNames(`${root}/a/journal`), ["00001.log"]);
    assert.deepEqual(await readJournalDir(`${root}/a/journal`), {
      entries: [...journal.entries()],
      segments: [{ name: "00001.log", sizeBytes: journal.segments[0]!.sizeBytes }],
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FsJournal rolls segments before one would exceed segmentSizeBytesMax and reopens across them", async () => {
  const segmentSizeBytesMax = 400;
  await withJournal(20, async ({ dir, entries }) => {
    const { segments, entries: read } = await readJournalDir(dir);
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    assert.deepEqual(
      segments.map((segment) => segment.name),
      segments.map((_, i) => `0000${i + 1}.log`.slice(-9)),
    );
    // Every sealed segment has its index file; the last one has none.
    assert.deepEqual(
      await segmentNames(dir),
      [
        ...segments.slice(0, -1).flatMap((s) => [s.name.replace(".log", ".idx"), s.name]),
        segments.at(-1)!.name,
      ],
    );
    let nextSeq = 0;
    for (const segment of segments) {
      assert.ok(segment.sizeBytes <= segmentSizeBytesMax, `${segment.name} is ${segment.sizeBytes} bytes`);
      const scan = scanFrames(await Deno.readFile(`${dir}/${segment.name}`));
      assert.equal(scan.problem, undefined);
      // Each segment starts with the entry after the previous segment's last.
      assert.equal(decodeEntry(scan.frames[0]!.payload).seq, nextSeq, segment.name);
      nextSeq += scan.frames.length;
    }
    assert.equal(nextSeq, 20);
    assert.deepEqual(read, entries);

    const journal = await FsJournal.open(dir, { segmentSizeBytesMax });
    const added = journal.append([20, 21, 22, 23, 24, 25].map(sampleRecord));
    await journal.sync();
    journal.close();
    assert.deepEqual(added[0]!.prev, entries.at(-1)!.hash);
    const again = await readJournalDir(dir);
    assert.equal(again.entries.length, 26);
    assert.ok(again.segments.length > segments.length);
  }, segmentSizeBytesMax);
});

Deno.test("FsJournal writes an entry larger than segmentSizeBytesMax alone in its own segment", async () => {
  await withJournal(3, async ({ dir }) => {
    const { segments } = await readJournalDir(dir);
    assert.deepEqual(segments.map((segment) => segment.name), ["00001.log", "00002.log", "00003.log"]);
  }, 10);
});

for (const cutBytes of [1, 3, 7]) {
  Deno.test(`FsJournal.open() reports a tail cut by ${cutBytes} byte${cutBytes === 1 ? "" : "s"} as AOS_JOURNAL_TORN naming segment and offset`, async () => {
    await withJournal(5, async ({ dir, entries }) => {
      const lastOffset = frameOffsets(entries)[4]!;
      const sizeBytes = await truncateBy(`${dir}/00001.log`, cutBytes);
      const expected = {
        code: "AOS_JOURNAL_TORN",
        segment: "00001.log",
        offset: lastOffset,
        message: /^Torn journal tail in 00001\.log at offset \d+: /,
      } as const;
      await rejectsWith(FsJournal.open(dir), expected);
      await rejectsWith(readJournalDir(dir), expected);
      assert.equal((await Deno.stat(`${dir}/00001.log`)).size, sizeBytes, "reading does not repair");
    });
  });

  Deno.test(`FsJournal.open() with truncateTornTail cuts a tail cut by ${cutBytes} byte${cutBytes === 1 ? "" : "s"}, reports it, and appends continue`, async () => {
    await withJournal(5, async ({ dir, entries }) => {
      const lastOffset = frameOffsets(entries)[4]!;
      await truncateBy(`${dir}/00001.log`, cutBytes);
      const journal = await FsJournal.open(dir, { truncateTornTail: true });
      assert.equal(journal.tornTail?.segment, "00001.log");
      assert.equal(journal.tornTail?.offset, lastOffset);
      assert.match(journal.tornTail?.reason ?? "", /frame needs \d+ bytes/);
      assert.equal(journal.height, 4);
      assert.deepEqual(journal.lastHash, entries[3]!.hash);
      assert.equal((await Deno.stat(`${dir}/00001.log`)).size, lastOffset);
      const [next] = journal.append([sampleRecord(100)]);
      await journal.sync();
      journal.close();
      assert.equal(next!.seq, 4);
      assert.deepEqual(next!.prev, entries[3]!.hash);
      const reopened = await FsJournal.open(dir);
      assert.equal(reopened.tornTail, undefined);
      assert.deepEqual([...reopened.entries()], [...entries.slice(0, 4), next]);
      reopened.close();
    });
  });
}

Deno.test("FsJournal.open() with truncateTornTail keeps the cut bytes in quarantine before cutting them", async () => {
  await withJournal(5, async ({ dir, entries }) => {
    const lastOffset = frameOffsets(entries)[4]!;
    const original = await Deno.readFile(`${dir}/00001.log`);
    await truncateBy(`${dir}/00001.log`, 3);
    const cutBytes = original.subarray(lastOffset, original.length - 3);
    const journal = await FsJournal.open(dir, { truncateTornTail: true });
    journal.close();
    const quarantined = `${dir}/../quarantine/00001.log@${lastOffset}.torn`;
    assert.equal(journal.tornTail?.cut, true);
    assert.equal(journal.tornTail?.sizeBytes, cutBytes.length);
    assert.equal(
      journal.tornTail?.quarantineFile,
      `${dir.replace(/\/journal$/, "")}/quarantine/00001.log@${lastOffset}.torn`,
    );
    assert.deepEqual(
      await Deno.readFile(quarantined),
      cutBytes,
      "the quarantine file holds exactly the cut bytes",
    );
    // No temp file is left next to it.
    const names = [...Deno.readDirSync(`${dir}/../quarantine`)].map((e) => e.name);
    assert.deepEqual(names, [`00001.log@${lastOffset}.torn`]);
  });
});

Deno.test("FsJournal.open() read-only with tolerateTornTail ends before a torn tail and changes nothing", async () => {
  await withJournal(5, async ({ dir, entries }) => {
    const lastOffset = frameOffsets(entries)[4]!;
    const sizeBytes = await truncateBy(`${dir}/00001.log`, 3);
    const before = await Deno.readFile(`${dir}/00001.log`);
    const journal = await FsJournal.open(dir, { readOnly: true, tolerateTornTail: true });
    assert.equal(journal.height, 4);
    assert.deepEqual([...journal.entries()], entries.slice(0, 4));
    assert.deepEqual(journal.tornTail && { ...journal.tornTail }, {
      segment: "00001.log",
      offset: lastOffset,
      sizeBytes: sizeBytes - lastOffset,
      reason: journal.tornTail?.reason,
      cut: false,
    });
    journal.close();
    assert.deepEqual(await Deno.readFile(`${dir}/00001.log`), before);
    assert.equal(await exists(`${dir}/../quarantine`), false);
    await assert.rejects(
      FsJournal.open(dir, { tolerateTornTail: true }),
      TypeError,
      "a writer never skips a torn tail",
    );
  });
});

Deno.test("FsJournal.open() calls a damaged acknowledged last frame corruption, never a torn tail to cut", async () => {
  await withJournal(3, async ({ dir, entries }) => {
    const lastOffset = frameOffsets(entries)[2]!;
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    bytes[lastOffset + 9]! ^= 0x10;
    await Deno.writeFile(`${dir}/00001.log`, bytes);
    for (const options of [{ truncateTornTail: true }, { readOnly: true, tolerateTornTail: true }]) {
      await rejectsWith(FsJournal.open(dir, { ...options, acknowledgedHeight: 3 }), {
        code: "AOS_JOURNAL_CORRUPT",
        segment: "00001.log",
        offset: lastOffset,
        seq: 2,
        message: /acknowledged entry 2 is damaged \(CRC-32C mismatch/,
      });
    }
    assert.deepEqual(await Deno.readFile(`${dir}/00001.log`), bytes, "an acknowledged entry is never cut");
    // Not acknowledged yet (the head lags): a crash mid-write, so it is cut.
    const journal = await FsJournal.open(dir, { truncateTornTail: true, acknowledgedHeight: 2 });
    assert.equal(journal.height, 2);
    journal.close();
  });
});

Deno.test("FsJournal.open() calls a partial length header at the tail torn", async () => {
  await withJournal(3, async ({ dir, entries }) => {
    const lastOffset = frameOffsets(entries)[2]!;
    await Deno.truncate(`${dir}/00001.log`, lastOffset + 2);
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_TORN",
      segment: "00001.log",
      offset: lastOffset,
      message: /partial length header/,
    });
  });
});

Deno.test("FsJournal.open() calls a complete last frame with a failing CRC torn, and can cut it", async () => {
  await withJournal(3, async ({ dir, entries }) => {
    const lastOffset = frameOffsets(entries)[2]!;
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    bytes[lastOffset + 9]! ^= 0x10;
    await Deno.writeFile(`${dir}/00001.log`, bytes);
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_TORN",
      segment: "00001.log",
      offset: lastOffset,
      message: /CRC-32C mismatch/,
    });
    const journal = await FsJournal.open(dir, { truncateTornTail: true });
    assert.equal(journal.height, 2);
    journal.close();
  });
});

Deno.test("FsJournal.open() calls a zero-filled tail torn", async () => {
  await withJournal(2, async ({ dir }) => {
    const sizeBytes = (await Deno.stat(`${dir}/00001.log`)).size;
    const file = await Deno.open(`${dir}/00001.log`, { append: true });
    await file.write(new Uint8Array(64));
    file.close();
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_TORN",
      segment: "00001.log",
      offset: sizeBytes,
    });
    const journal = await FsJournal.open(dir, { truncateTornTail: true });
    assert.equal(journal.height, 2);
    journal.close();
  });
});

Deno.test("FsJournal.open() reports a flipped byte in an early frame as AOS_JOURNAL_CORRUPT and never repairs it", async () => {
  await withJournal(6, async ({ dir, entries }) => {
    const offsets = frameOffsets(entries);
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    const middle = offsets[1]! + Math.floor(entries[1]!.bytes.length / 2);
    bytes[middle]! ^= 0x04;
    await Deno.writeFile(`${dir}/00001.log`, bytes);
    const expected = {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: offsets[1]!,
      message: /^Corrupt journal in 00001\.log at offset \d+: CRC-32C mismatch/,
    } as const;
    await rejectsWith(FsJournal.open(dir), expected);
    await rejectsWith(FsJournal.open(dir, { truncateTornTail: true }), expected);
    await rejectsWith(readJournalDir(dir), expected);
    assert.deepEqual(await Deno.readFile(`${dir}/00001.log`), bytes);
  });
});

Deno.test("FsJournal.open() catches an edited entry with a recomputed CRC by the hash chain, naming the seq", async () => {
  await withJournal(6, async ({ dir, entries }) => {
    const offsets = frameOffsets(entries);
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    const payloadStart = offsets[2]! + 4;
    const payload = bytes.subarray(payloadStart, payloadStart + entries[2]!.bytes.length);
    const at = new TextDecoder().decode(payload).indexOf("Tick");
    assert.ok(at > 0);
    payload.set(new TextEncoder().encode("Tock"), at);
    new DataView(bytes.buffer).setUint32(payloadStart + payload.length, crc32c(payload), true);
    await Deno.writeFile(`${dir}/00001.log`, bytes);
    await rejectsWith(FsJournal.open(dir, { truncateTornTail: true }), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: offsets[3]!,
      seq: 3,
      message: /\(seq 3\): hash chain broken: prev of seq 3/,
    });
  });
});

Deno.test("FsJournal.open() reports a seq gap as AOS_JOURNAL_CORRUPT naming the seq", async () => {
  await withJournal(2, async ({ dir, entries }) => {
    const skipped = encodeEntry(3, sampleRecord(3), entries[1]!.hash);
    const file = await Deno.open(`${dir}/00001.log`, { append: true });
    await file.write(encodeFrame(skipped));
    file.close();
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: frameOffsets(entries)[1]! + entries[1]!.bytes.length + FRAME_OVERHEAD_SIZE_BYTES,
      seq: 3,
      message: /seq gap: expected seq 2, found 3/,
    });
  });
});

Deno.test("FsJournal.open() reports a frame with valid CRC but non-canonical CBOR as AOS_JOURNAL_CORRUPT", async () => {
  await withJournal(1, async ({ dir, entries }) => {
    const file = await Deno.open(`${dir}/00001.log`, { append: true });
    await file.write(encodeFrame({ bytes: new Uint8Array([0xa0, 0x00]) }));
    file.close();
    await rejectsWith(FsJournal.open(dir, { truncateTornTail: true }), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: entries[0]!.bytes.length + FRAME_OVERHEAD_SIZE_BYTES,
      message: /not canonical CBOR/,
    });
  });
});

Deno.test("FsJournal.open() reports a non-last segment that ends mid-frame as AOS_JOURNAL_CORRUPT, not torn", async () => {
  await withJournal(12, async ({ dir }) => {
    const { segments } = await readJournalDir(dir);
    assert.ok(segments.length >= 3);
    const first = scanFrames(await Deno.readFile(`${dir}/00001.log`));
    const lastOffset = first.frames.at(-1)!.offset;
    await truncateBy(`${dir}/00001.log`, 3);
    await rejectsWith(FsJournal.open(dir, { truncateTornTail: true }), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: lastOffset,
      message: /segment ends mid-frame but is not the last one/,
    });
  }, 400);
});

Deno.test("FsJournal.open() with tiny segments reports a torn tail in the last segment", async () => {
  await withJournal(12, async ({ dir }) => {
    const { segments } = await readJournalDir(dir);
    const last = segments.at(-1)!.name;
    assert.notEqual(last, "00001.log");
    const lastOffset = scanFrames(await Deno.readFile(`${dir}/${last}`)).frames.at(-1)!.offset;
    await truncateBy(`${dir}/${last}`, 7);
    await rejectsWith(FsJournal.open(dir), { code: "AOS_JOURNAL_TORN", segment: last, offset: lastOffset });
    const journal = await FsJournal.open(dir, { truncateTornTail: true, segmentSizeBytesMax: 400 });
    assert.equal(journal.height, 11);
    journal.close();
  }, 400);
});

Deno.test("FsJournal.open() reports a missing segment as AOS_JOURNAL_CORRUPT naming it", async () => {
  await withJournal(12, async ({ dir }) => {
    await Deno.remove(`${dir}/00002.log`);
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00002.log",
      offset: 0,
      message: /segment is missing/,
    });
  }, 400);
});

Deno.test("FsJournal.open() refuses a misnamed segment file", async () => {
  await withJournal(1, async ({ dir }) => {
    await Deno.writeFile(`${dir}/2.log`, new Uint8Array());
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "2.log",
      offset: 0,
      message: /unexpected file name/,
    });
  });
});

Deno.test("FsJournal.open() accepts an empty last segment (a crash right after a roll) and appends into it", async () => {
  await withJournal(3, async ({ dir, entries }) => {
    await Deno.writeFile(`${dir}/00002.log`, new Uint8Array());
    const journal = await FsJournal.open(dir);
    assert.equal(journal.height, 3);
    journal.append([sampleRecord(3)]);
    await journal.sync();
    journal.close();
    const { segments, entries: read } = await readJournalDir(dir);
    assert.deepEqual(segments.map((segment) => segment.name), ["00001.log", "00002.log"]);
    assert.equal(segments[1]!.sizeBytes, read[3]!.bytes.length + FRAME_OVERHEAD_SIZE_BYTES);
    assert.ok(bytesEqual(read[3]!.prev, entries[2]!.hash));
  });
});

Deno.test("FsJournal.open() reports an empty segment that is not the last as AOS_JOURNAL_CORRUPT", async () => {
  await withJournal(3, async ({ dir }) => {
    await Deno.rename(`${dir}/00001.log`, `${dir}/00002.log`);
    await Deno.writeFile(`${dir}/00001.log`, new Uint8Array());
    await rejectsWith(FsJournal.open(dir), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: 0,
      message: /segment is empty/,
    });
  });
});

Deno.test("FsJournal appends that roll segments while a sync() is in flight stay intact", async () => {
  await withJournal(0, async ({ dir }) => {
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 200 });
    const syncs: Promise<void>[] = [];
    for (let n = 0; n < 30; n++) {
      journal.append([sampleRecord(n)]);
      syncs.push(journal.sync());
    }
    await Promise.all(syncs);
    await journal.sync();
    journal.close();
    const { entries, segments } = await readJournalDir(dir);
    assert.equal(entries.length, 30);
    assert.ok(segments.length > 10);
  });
});

Deno.test("FsJournal.sync() called while another sync() is in flight resolves only after it", async () => {
  await withJournal(0, async ({ dir }) => {
    const journal = await FsJournal.open(dir);
    journal.append([sampleRecord(0)]);
    const order: string[] = [];
    const first = journal.sync().then(() => order.push("first"));
    const second = journal.sync().then(() => order.push("second"));
    await Promise.all([first, second]);
    journal.close();
    assert.deepEqual(order, ["first", "second"]);
  });
});

/** The entries of each segment, by name, for a journal of tiny segments. */
async function segmentSeqs(dir: string): Promise<Map<string, number[]>> {
  const { segments } = await readJournalDir(dir);
  const seqs = new Map<string, number[]>();
  for (const segment of segments) {
    const scan = scanFrames(await Deno.readFile(`${dir}/${segment.name}`));
    seqs.set(segment.name, scan.frames.map((frame) => decodeEntry(frame.payload).seq));
  }
  return seqs;
}

async function assertCorrupt(fn: () => unknown, segment: string, message?: RegExp): Promise<void> {
  await assert.rejects(async () => await fn(), (error: unknown) => {
    assert.ok(error instanceof AosError, `expected an AosError, got ${String(error)}`);
    assert.equal(error.code, "AOS_JOURNAL_CORRUPT", error.message);
    assert.equal(error.context.segment, segment, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

Deno.test("FsJournal.open() reads only the tail: a sealed segment overwritten with garbage does not stop it, reading it does", async () => {
  await withJournal(30, async ({ dir, entries }) => {
    const seqs = await segmentSeqs(dir);
    assert.ok(seqs.size >= 5, `${seqs.size} segments`);
    const size = (await Deno.stat(`${dir}/00002.log`)).size;
    await Deno.writeFile(`${dir}/00002.log`, new Uint8Array(size).fill(0xff));
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 400 });
    try {
      assert.equal(journal.height, 30);
      assert.deepEqual(journal.lastHash, entries[29]!.hash);
      // Entries past the damaged segment read fine; reading into it throws, naming it.
      const third = seqs.get("00003.log")![0]!;
      assert.deepEqual([...journal.entries(third)], entries.slice(third));
      await assertCorrupt(() => [...journal.entries(0)], "00002.log", /frame length/);
      await assertCorrupt(() => [...journal.entriesBackward()], "00002.log");
    } finally {
      journal.close();
    }
    // The full check from genesis catches it, read-only.
    await assertCorrupt(() => verifyJournalDir(dir), "00002.log");
    assert.deepEqual(await Deno.readFile(`${dir}/00002.log`), new Uint8Array(size).fill(0xff));
  }, 400);
});

Deno.test("FsJournal: an edited byte in a sealed segment is AOS_JOURNAL_CORRUPT when that entry is read, naming segment and offset", async () => {
  await withJournal(30, async ({ dir, entries }) => {
    const seqs = await segmentSeqs(dir);
    const [first] = seqs.get("00002.log")!;
    const bytes = await Deno.readFile(`${dir}/00002.log`);
    const offset = scanFrames(bytes).frames[0]!.offset;
    bytes[offset + 10]! ^= 0x01;
    await Deno.writeFile(`${dir}/00002.log`, bytes);
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 400 });
    try {
      assert.equal(journal.height, 30);
      const read: JournalEntry[] = [];
      await rejectsWith(
        attempt(() => {
          for (const entry of journal.entries(0)) read.push(entry);
        }),
        { code: "AOS_JOURNAL_CORRUPT", segment: "00002.log", offset, message: /CRC-32C mismatch/ },
      );
      // Everything before the damage was read and is intact.
      assert.deepEqual(read, entries.slice(0, first));
      await rejectsWith(attempt(() => [...journal.entries(first!)]), {
        code: "AOS_JOURNAL_CORRUPT",
        segment: "00002.log",
        offset,
      });
      // Appends still work: the tail is intact.
      journal.append([sampleRecord(30)]);
      await journal.sync();
    } finally {
      journal.close();
    }
    await rejectsWith(verifyJournalDir(dir), {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00002.log",
      offset,
      message: /CRC-32C mismatch/,
    });
  }, 400);
});

Deno.test("FsJournal.open() rebuilds a missing or malformed index by checking its segment, and a read-only open writes nothing", async () => {
  await withJournal(30, async ({ dir, entries }) => {
    const original2 = await Deno.readFile(`${dir}/00002.idx`);
    const original3 = await Deno.readFile(`${dir}/00003.idx`);
    await Deno.remove(`${dir}/00002.idx`);
    await Deno.writeFile(`${dir}/00003.idx`, new Uint8Array([0xa0]));
    const readOnly = await FsJournal.open(dir, { readOnly: true });
    assert.equal(readOnly.height, 30);
    assert.deepEqual([...readOnly.entries(0)], entries);
    assert.throws(() => readOnly.append([sampleRecord(30)]), TypeError);
    readOnly.close();
    assert.equal(await exists(`${dir}/00002.idx`), false);
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 400 });
    journal.close();
    assert.deepEqual(await Deno.readFile(`${dir}/00002.idx`), original2);
    assert.deepEqual(await Deno.readFile(`${dir}/00003.idx`), original3);
  }, 400);
});

Deno.test("FsJournal.open() refuses a sealed segment cut at a frame boundary (its index no longer matches, the chain breaks)", async () => {
  await withJournal(30, async ({ dir }) => {
    const seqs = await segmentSeqs(dir);
    const bytes = await Deno.readFile(`${dir}/00002.log`);
    const frames = scanFrames(bytes).frames;
    await Deno.writeFile(`${dir}/00002.log`, bytes.subarray(0, frames.at(-1)!.offset));
    const next = seqs.get("00003.log")![0]!;
    await assertCorrupt(
      () => FsJournal.open(dir),
      "00003.log",
      new RegExp(`seq gap: expected seq ${next - 1}`),
    );
    await assertCorrupt(() => verifyJournalDir(dir), "00003.log");
  }, 400);
});

Deno.test("FsJournal: an index that lies about its segment's last hash is caught when the segment is read", async () => {
  await withJournal(30, async ({ dir }) => {
    const fake = new Uint8Array(32).fill(7);
    const rewrite = async (name: string, key: string) => {
      const index = decodeCanonical(await Deno.readFile(`${dir}/${name}`)) as { [key: string]: CborValue };
      index[key] = fake;
      await Deno.writeFile(`${dir}/${name}`, encodeCanonical(index));
    };
    await rewrite("00002.idx", "last_hash");
    await rewrite("00003.idx", "first_prev");
    const journal = await FsJournal.open(dir, { readOnly: true });
    try {
      assert.equal(journal.height, 30);
      await assertCorrupt(() => [...journal.entries(0)], "00002.log", /last hash differs/);
    } finally {
      journal.close();
    }
    await assertCorrupt(() => verifyJournalDir(dir), "00002.log");
  }, 400);
});

Deno.test("FsJournal.entriesBackward() catches a flipped payload byte inside a block it reads at once", async () => {
  // Given sealed segments, the second one's second frame with a payload byte flipped (its length intact)
  await withJournal(30, async ({ dir, entries }) => {
    const seqs = await segmentSeqs(dir);
    const damaged = seqs.get("00002.log")!;
    assert.ok(damaged.length >= 2 && seqs.size >= 4, `${seqs.size} segments`);
    const bytes = await Deno.readFile(`${dir}/00002.log`);
    bytes[scanFrames(bytes).frames[1]!.offset + 4 + 3]! ^= 0x01;
    await Deno.writeFile(`${dir}/00002.log`, bytes);
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 400 });
    try {
      // When reading backwards, then the entries after it read, and the damaged one is named by its CRC
      const seen: number[] = [];
      await assertCorrupt(
        () => {
          for (const entry of journal.entriesBackward()) seen.push(entry.seq);
        },
        "00002.log",
        /CRC-32C mismatch/,
      );
      assert.deepEqual(seen, entries.slice(damaged[1]! + 1).map((e) => e.seq).reverse());
    } finally {
      journal.close();
    }
  }, 400);
});

Deno.test("FsJournal.entries() and entriesBackward() stop reading when iteration stops", async () => {
  await withJournal(30, async ({ dir, entries }) => {
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 400 });
    try {
      const [genesis] = journal.entries(0);
      assert.deepEqual(genesis, entries[0]);
      const [last] = journal.entriesBackward();
      assert.deepEqual(last, entries[29]);
      for (const from of [0, 1, 5, 13, 29, 30]) {
        assert.deepEqual([...journal.entries(from)], entries.slice(from), `from ${from}`);
      }
    } finally {
      journal.close();
    }
  }, 400);
});

Deno.test("FsJournal reads from any seq and backwards across index blocks and segments", async () => {
  await withJournal(3_000, async ({ dir, entries }) => {
    const { segments } = await readJournalDir(dir);
    assert.equal(segments.length, 3);
    const journal = await FsJournal.open(dir, { segmentSizeBytesMax: 150_000 });
    try {
      for (const from of [0, 1, 1023, 1024, 1025, 1400, 2047, 2048, 2049, 2999, 3000]) {
        const read = [...journal.entries(from)];
        assert.equal(read.length, 3_000 - from, `from ${from}`);
        assert.deepEqual(read[0], entries[from], `from ${from}`);
      }
      assert.deepEqual([...journal.entries(0)], entries);
      assert.deepEqual([...journal.entriesBackward()].reverse(), entries);
    } finally {
      journal.close();
    }
  }, 150_000);
});

Deno.test("FsJournal checkpoints the last segment: open checks its prefix by digest, and a flipped byte there is still named exactly", async () => {
  await withJournal(1_000, async ({ dir, entries }) => {
    // The writer stored a checkpoint of the last (only) segment: reopening trusts its prefix by digest.
    const size = (await Deno.stat(`${dir}/00001.log`)).size;
    assert.ok(await exists(`${dir}/00001.idx`), "a checkpoint was stored");
    const journal = await FsJournal.open(dir);
    assert.equal(journal.height, 1_000);
    assert.deepEqual([...journal.entries(990)], entries.slice(990));
    journal.close();
    // A flipped byte inside the checkpointed prefix fails the digest; the full check names the frame.
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    const frame = scanFrames(bytes).frames[500]!;
    bytes[frame.offset + 12]! ^= 0x40;
    await Deno.writeFile(`${dir}/00001.log`, bytes);
    const expected = {
      code: "AOS_JOURNAL_CORRUPT",
      segment: "00001.log",
      offset: frame.offset,
      message: /CRC-32C mismatch/,
    } as const;
    await rejectsWith(FsJournal.open(dir), expected);
    await rejectsWith(FsJournal.open(dir, { readOnly: true }), expected);
    await rejectsWith(verifyJournalDir(dir), expected);
    assert.equal((await Deno.stat(`${dir}/00001.log`)).size, size);
  });
});

Deno.test("FsJournal.open() ignores a last-segment checkpoint that does not match its bytes, and checks the segment in full", async () => {
  await withJournal(1_000, async ({ dir, entries }) => {
    const index = decodeCanonical(await Deno.readFile(`${dir}/00001.idx`)) as { [key: string]: CborValue };
    // A checkpoint that claims a different digest, or more bytes than the segment has, is not trusted.
    for (const forged of [{ ...index, digest: new Uint8Array(32) }, { ...index, size_bytes: 10_000_000 }]) {
      await Deno.writeFile(`${dir}/00001.idx`, encodeCanonical(forged));
      const journal = await FsJournal.open(dir, { readOnly: true });
      assert.equal(journal.height, 1_000);
      assert.deepEqual(journal.lastHash, entries[999]!.hash);
      journal.close();
    }
    // A writable open stores a fresh checkpoint.
    (await FsJournal.open(dir)).close();
    const fresh = decodeCanonical(await Deno.readFile(`${dir}/00001.idx`)) as { [key: string]: CborValue };
    assert.equal(fresh.size_bytes, (await Deno.stat(`${dir}/00001.log`)).size);
    assert.equal(fresh.last_seq, 999);
    // Cut back at a frame boundary below the checkpoint: the shorter journal opens (the world's head
    // catches lost acknowledged entries).
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    await Deno.writeFile(`${dir}/00001.log`, bytes.subarray(0, scanFrames(bytes).frames[600]!.offset));
    const cut = await FsJournal.open(dir, { readOnly: true });
    assert.equal(cut.height, 600);
    assert.deepEqual(cut.lastHash, entries[599]!.hash);
    cut.close();
  });
});

Deno.test("FsJournal: an index with a wrong offset fails the reads that use it and the full check, never a wrong entry", async () => {
  await withJournal(3_000, async ({ dir, entries }) => {
    const index = decodeCanonical(await Deno.readFile(`${dir}/00001.idx`)) as { [key: string]: CborValue };
    const offsets = index.offsets as number[];
    const seqs = await segmentSeqs(dir);
    assert.ok(offsets.length >= 2 && seqs.get("00001.log")!.length > 1_100);
    const second = seqs.get("00002.log")![0]!;
    // Point block 1 at the frame after the one it names.
    const bytes = await Deno.readFile(`${dir}/00001.log`);
    const frames = scanFrames(bytes).frames;
    assert.equal(frames[1024]!.offset, offsets[1]);
    await Deno.writeFile(
      `${dir}/00001.idx`,
      encodeCanonical({
        ...index,
        offsets: offsets.map((offset, k) => k === 1 ? frames[1025]!.offset : offset),
      }),
    );
    const journal = await FsJournal.open(dir, { readOnly: true });
    try {
      assert.throws(() => [...journal.entries(1100)], (error: unknown) => {
        assert.ok(error instanceof AosError && error.code === "AOS_JOURNAL_CORRUPT", String(error));
        return true;
      });
      // A read that starts in block 0 does not use the offset, but checks it on the way.
      await assertCorrupt(() => [...journal.entries(0)], "00001.log", /not where the index says/);
      assert.deepEqual([...journal.entries(second)], entries.slice(second));
    } finally {
      journal.close();
    }
    await assertCorrupt(() => verifyJournalDir(dir), "00001.log", /not where the index says/);
  }, 300_000);
});
