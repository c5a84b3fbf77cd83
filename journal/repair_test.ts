import assert from "node:assert/strict";
import { FRAME_OVERHEAD_SIZE_BYTES } from "./frame.ts";
import { FsJournal } from "./fs_journal.ts";
import { lastSeqFrom, quarantineFrom, scanJournal } from "./repair.ts";
import type { JournalEntry } from "./entry.ts";
import { sampleRecord } from "./testing/mod.ts";

/** A synced journal of `count` entries in `<root>/journal` (small segments), removed after `body`. */
async function withJournal(
  count: number,
  body: (dir: string, entries: JournalEntry[], root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "aos_repair_" });
  try {
    const dir = `${root}/journal`;
    const journal = await FsJournal.open(dir, { create: true, segmentSizeBytesMax: 300 });
    const entries = journal.append(Array.from({ length: count }, (_, i) => sampleRecord(i)));
    await journal.sync();
    journal.close();
    await body(dir, entries, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function segments(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log")).sort();
}

Deno.test("scanJournal() checks every frame from genesis and names the first damage with its seq", async () => {
  await withJournal(12, async (dir, entries) => {
    const intact = await scanJournal(dir, { locateSeq: 5 });
    assert.equal(intact.height, 12);
    assert.deepEqual(intact.lastHash, entries[11]!.hash);
    assert.equal(intact.damage, undefined);
    assert.deepEqual(intact.located?.hash, entries[5]!.hash);
    const names = segments(dir);
    assert.ok(names.length >= 3, `${names.length} segments`);
    // Flip a byte in the second frame of the second segment.
    const second = `${dir}/${names[1]}`;
    const bytes = await Deno.readFile(second);
    const firstSize = new DataView(bytes.buffer).getUint32(0, true) + FRAME_OVERHEAD_SIZE_BYTES;
    bytes[firstSize + 10]! ^= 0x01;
    await Deno.writeFile(second, bytes);
    const scan = await scanJournal(dir);
    assert.equal(scan.damage?.segment, names[1]);
    assert.equal(scan.damage?.offset, firstSize);
    assert.equal(scan.damage?.kind, "corrupt");
    assert.match(scan.damage?.reason ?? "", /CRC-32C mismatch/);
    assert.equal(scan.height, scan.damage?.seq);
    assert.deepEqual(scan.lastHash, entries[scan.height - 1]!.hash);
    // Every later seq still readable is found for the report.
    assert.equal(await lastSeqFrom(dir, scan.damage!), 11);
  });
});

Deno.test("scanJournal() calls a cut last frame torn; quarantineFrom() moves the damaged segment and every later one, keeping the intact prefix", async () => {
  await withJournal(12, async (dir, _entries, root) => {
    const names = segments(dir);
    const last = `${dir}/${names.at(-1)}`;
    await Deno.truncate(last, (await Deno.stat(last)).size - 2);
    const torn = await scanJournal(dir);
    assert.equal(torn.damage?.kind, "torn");
    assert.equal(torn.damage?.segment, names.at(-1));

    const second = `${dir}/${names[1]}`;
    const original = await Deno.readFile(second);
    const firstSize = new DataView(original.buffer).getUint32(0, true) + FRAME_OVERHEAD_SIZE_BYTES;
    const cut = await quarantineFrom(dir, { segment: names[1]!, offset: firstSize }, `${root}/q`);
    assert.deepEqual(cut.moved.filter((f) => f.endsWith(".log")), names.slice(1));
    assert.equal(cut.keptBytes, firstSize);
    assert.deepEqual(await Deno.readFile(`${root}/q/${names[1]}`), original);
    assert.deepEqual(segments(dir), names.slice(0, 2));
    assert.deepEqual(await Deno.readFile(second), original.subarray(0, firstSize));
    assert.equal(
      [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(".")).length,
      0,
      "no temp file left",
    );
    // What is left opens and is intact.
    const scan = await scanJournal(dir);
    assert.equal(scan.damage, undefined);
    const journal = await FsJournal.open(dir);
    assert.equal(journal.height, scan.height);
    journal.close();
  });
});
