/**
 * Fuzzing of what the journal reads back (issue 13, "Proving it"): entry decoding gets random and mutated
 * bytes and must answer with an entry or `AOS_JOURNAL_CORRUPT`; a journal folder on disk with one flipped
 * byte anywhere (segment, index or checkpoint) must be refused with `AOS_JOURNAL_CORRUPT`/`AOS_JOURNAL_TORN`
 * or come back visibly shorter (which the acknowledged head catches), never as different entries.
 * `AOS_FUZZ_RUNS=<n>` runs each property `n` times.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, bytesEqual, encodeCanonical } from "../air/mod.ts";
import { decodeEntry, encodeEntry } from "./entry.ts";
import { FsJournal } from "./fs_journal.ts";
import { sampleRecord } from "./testing/mod.ts";

const RUNS = Number(Deno.env.get("AOS_FUZZ_RUNS") ?? "0") || undefined;
const runs = (fallback: number) => ({ numRuns: RUNS ?? fallback });

const validEntry = fc.tuple(fc.nat(1_000_000), fc.nat(50), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([seq, n, prev]) => encodeEntry(seq, sampleRecord(n), prev).bytes);

const mutated = fc.tuple(
  validEntry,
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), { minLength: 1, maxLength: 3 }),
).map(([bytes, edits]) => {
  let out = bytes.slice();
  for (const [at, byte, how] of edits) {
    const i = at % out.length;
    if (how === 0) out[i] = byte;
    else if (how === 1) out = out.slice(0, i);
    else out = Uint8Array.from([...out.slice(0, i), byte, ...out.slice(i)]);
  }
  return out;
});

Deno.test("fuzz: decodeEntry() answers random and mutated entry bytes with an entry or AOS_JOURNAL_CORRUPT", () => {
  const other = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc.dictionary(fc.constantFrom("seq", "kind", "body", "prev", "x"), fc.oneof(fc.nat(), fc.string()))
      .map((map) => encodeCanonical(map)),
  );
  fc.assert(
    fc.property(fc.oneof(mutated, other), (bytes) => {
      try {
        const entry = decodeEntry(bytes);
        assert.ok(bytesEqual(entry.bytes, bytes), "an accepted entry is exactly the bytes given");
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        assert.equal(error.code, "AOS_JOURNAL_CORRUPT", error.message);
      }
    }),
    runs(300),
  );
});

/** Every file of a folder (recursively), by path relative to it. */
async function filesOf(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await filesOf(dir, `${rel}/`)) out.set(k, v); }
    else out.set(rel, await Deno.readFile(`${dir}/${rel}`));
  }
  return out;
}

Deno.test("fuzz: a journal folder with one flipped byte anywhere is refused or visibly shorter, never silently different", async () => {
  // Given a journal of two segments (one sealed with its index, one with a checkpoint)
  const root = await Deno.makeTempDir({ prefix: "aos-flip-" });
  try {
    const journal = await FsJournal.open(`${root}/good`, { create: true, segmentSizeBytesMax: 4096 });
    for (let n = 0; n < 80; n++) {
      journal.append([sampleRecord(n)]);
      if (n % 10 === 9) await journal.sync();
    }
    await journal.sync();
    const height = journal.height;
    const lastHash = journal.lastHash;
    const good = [...journal.entries()];
    journal.close();
    const files = await filesOf(`${root}/good`);
    assert.ok(files.size >= 3, `segments and their index files: ${[...files.keys()]}`);
    const names = [...files.keys()].sort();
    let detected = 0;
    let shorter = 0;
    let rebuilt = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(names.length - 1),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (f, at, bit) => {
          // When one bit of one file flips
          const dir = `${root}/run${run++}`;
          for (const [name, bytes] of files) {
            await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
            const copy = bytes.slice();
            if (name === names[f] && copy.length > 0) copy[at % copy.length]! ^= 1 << bit;
            await Deno.writeFile(`${dir}/${name}`, copy);
          }
          // Then opening and reading it all fails with a typed error, or gives fewer entries (the head's
          // height catches those), or gives exactly the original entries (a flip in a byte never read)
          try {
            const reopened = await FsJournal.open(dir, { readOnly: true });
            try {
              const entries = [...reopened.entries()];
              if (reopened.height < height) {
                shorter++;
                return;
              }
              const where = `bit ${bit} at ${at % files.get(names[f]!)!.length} of ${names[f]}`;
              assert.equal(reopened.height, height, where);
              assert.ok(
                bytesEqual(reopened.lastHash, lastHash),
                `the last hash is the acknowledged one (${where})`,
              );
              entries.forEach((e, i) =>
                assert.ok(bytesEqual(e.bytes, good[i]!.bytes), `entry ${i} (${where})`)
              );
              // Every byte of a segment is covered by its frame's CRC and the hash chain; an index or a
              // checkpoint is only a hint, checked against the segment and rebuilt when it disagrees.
              assert.ok(!names[f]!.endsWith(".log"), `flipped ${where} was not seen`);
              rebuilt++;
            } finally {
              reopened.close();
            }
          } catch (error) {
            if (!(error instanceof AosError)) throw error;
            assert.ok(["AOS_JOURNAL_CORRUPT", "AOS_JOURNAL_TORN"].includes(error.code), error.message);
            detected++;
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
        },
      ),
      runs(60),
    );
    console.log(
      `flipped bytes: ${detected} refused, ${shorter} cut short, ${rebuilt} in an index or checkpoint ` +
        `(rebuilt from the segment), 0 undetected`,
    );
    assert.ok(detected > 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
