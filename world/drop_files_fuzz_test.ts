/**
 * Fuzzing of the files other processes drop into a world (issue 13, "Proving it"): receipt files in
 * `.aos/receipts/` and batch files in `.aos/inbox/`, random and mutated. Decoding answers with a value or a
 * typed `AosError`; a world stepping over such a file journals only `receipt_ignored` entries for receipts
 * (or admits the events of an inbox file that still decodes), and its journal still verifies by replay.
 * `AOS_FUZZ_RUNS=<n>` runs each property `n` times.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, encodeCanonical } from "../air/mod.ts";
import { FsJournal } from "../journal/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { FileHeadStore } from "./head.ts";
import { batchCountOf, Inbox } from "./inbox.ts";
import { initWorld, readAirFolder, readWasmFolders } from "./init_world.ts";
import { worldPaths } from "./paths.ts";
import { decodeReceiptFile, encodeReceiptFile } from "./receipt_inbox.ts";
import { verifyReplay } from "./verify.ts";
import { FsCas } from "../journal/mod.ts";

const RUNS = Number(Deno.env.get("AOS_FUZZ_RUNS") ?? "0") || undefined;
const runs = (fallback: number) => ({ numRuns: RUNS ?? fallback });

const COUNTER = new URL("../examples/counter", import.meta.url).pathname;

function mutate(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(
    base,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)), { minLength: 1, maxLength: 3 }),
  ).map(([bytes, edits]) => {
    let out = bytes.slice();
    for (const [at, byte, how] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (how === 0) out[i] = byte;
      else if (how === 1) out = out.slice(0, i);
      else out = Uint8Array.from([...out.slice(0, i), byte, ...out.slice(i)]);
    }
    return out;
  });
}

const receiptFile = fc.record({
  intentHash: fc.uint8Array({ minLength: 0, maxLength: 33 }),
  adapterId: fc.constantFrom("http", "timer", "../../etc/passwd", "", "a".repeat(300)),
  status: fc.constantFrom("ok" as const, "error" as const, "timeout" as const),
  payload: fc.uint8Array({ maxLength: 40 }),
  generation: fc.bigInt(0n, (1n << 64n) - 1n),
  height: fc.bigInt(0n, (1n << 64n) - 1n),
  signature: fc.uint8Array({ minLength: 0, maxLength: 64 }),
}).map((r) =>
  encodeReceiptFile({
    intentHash: r.intentHash,
    adapterId: r.adapterId,
    status: r.status,
    payload: r.payload,
    fence: { generation: r.generation, height: r.height },
    signature: r.signature,
  })
);

const dropped = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  receiptFile,
  mutate(receiptFile),
  fc.constantFrom(encodeCanonical(null), encodeCanonical([]), encodeCanonical({ fence: null })),
);

Deno.test("fuzz: decodeReceiptFile() answers random and mutated drop-box files with a receipt or a CBOR error", () => {
  fc.assert(
    fc.property(dropped, (bytes) => {
      try {
        decodeReceiptFile(bytes, "receipt file");
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        assert.ok(["AOS_CBOR_INVALID", "AOS_CBOR_NON_CANONICAL"].includes(error.code), error.message);
      }
    }),
    runs(500),
  );
});

const inboxFile = fc.array(
  fc.record({ by: fc.bigInt(0n, 1000n) }).map((value) => ({
    schema: "demo/Increment@1",
    value: encodeCanonical(value),
  })),
  { minLength: 1, maxLength: 3 },
).chain((events) =>
  fc.constantFrom(
    encodeCanonical(events),
    encodeCanonical({ manifest_hash: `sha256:${"0".repeat(64)}`, events }),
  )
);

const inboxInput = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  inboxFile,
  mutate(inboxFile),
  fc.constantFrom(
    encodeCanonical(null),
    encodeCanonical([null]),
    encodeCanonical({ manifest_hash: "", events: [null] }),
  ),
);

Deno.test("fuzz: an inbox file's header count is the number of events it holds whenever the file decodes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aos-inbox-count-" });
  try {
    // Read whole, and (past a budget of 0 bytes) only the header.
    const inboxes = [new Inbox(dir), new Inbox(dir, undefined, { wholeBytesMax: 0 })];
    await fc.assert(
      fc.asyncProperty(inboxInput, async (bytes) => {
        const name = `${dir}/000000000001.cbor`;
        await Deno.writeFile(name, bytes);
        for (const inbox of inboxes) {
          const [ref] = await inbox.refs();
          const batch = await inbox.read(ref!);
          if (batch.problem === undefined) assert.equal(ref!.count, batch.events.length);
          assert.equal(ref!.count, batchCountOf(bytes));
        }
      }),
      runs(300),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fuzz: a world steps over random and mutated drop-box and inbox files with typed outcomes, and still verifies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aos-dropfuzz-" });
  const clock = new VirtualClock(1_000n);
  const world = await initWorld(
    dir,
    await readAirFolder(`${COUNTER}/air`),
    await readWasmFolders([`${COUNTER}/modules`]),
    { clock },
  );
  const paths = worldPaths(dir);
  let receipts = 0;
  let inboxes = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(dropped.map((b) => ["receipt", b] as const), inboxInput.map((b) => ["inbox", b] as const)),
        async ([where, bytes]) => {
          const heightBefore = world.height;
          const folder = where === "receipt" ? paths.receipts : paths.inbox;
          await Deno.mkdir(folder, { recursive: true });
          await Deno.writeFile(`${folder}/000000000001.cbor`, bytes);
          // A file that is not an inbox batch is listed with its problem (never thrown): step quarantines it.
          const decodes = where === "inbox"
            ? (await new Inbox(paths.inbox).list())[0]?.problem === undefined
            : true;
          const report = await world.step();
          const kinds = report.entries.map((e) => e.kind);
          if (where === "receipt") {
            // No intent is outstanding: whatever was dropped is ignored, with its reason journaled.
            assert.deepEqual(kinds, ["receipt_ignored"]);
            receipts++;
          } else if (!decodes) {
            // Exactly one typed record says why, and the file is kept aside, byte for byte.
            assert.deepEqual(kinds.filter((k) => k !== "snapshot"), ["inbox_quarantined"]);
            assert.deepEqual(await Deno.readFile(`${paths.quarantine}/000000000001.cbor`), bytes);
            await Deno.remove(`${paths.quarantine}/000000000001.cbor`);
            inboxes++;
          } else {
            // A batch admits its events, or (an event the manifest refuses) is quarantined whole.
            const admitted = kinds.every((k) => k === "domain_event" || k === "snapshot");
            const refused = kinds.filter((k) => k !== "snapshot").join() === "inbox_quarantined";
            assert.ok(admitted || refused, kinds.join());
            if (refused) await Deno.remove(`${paths.quarantine}/000000000001.cbor`);
            inboxes++;
          }
          assert.ok(world.height >= heightBefore);
          assert.deepEqual([...Deno.readDirSync(folder)].map((e) => e.name), []);
        },
      ),
      runs(40),
    );
    const journal = await FsJournal.open(paths.journal, { readOnly: true });
    try {
      const report = await verifyReplay(
        journal,
        new FsCas(paths.store),
        await new FileHeadStore(paths.head).read(),
      );
      assert.equal(report.ok, true, JSON.stringify(report.divergence ?? report.error));
    } finally {
      journal.close();
    }
    assert.ok(receipts + inboxes > 0);
  } finally {
    world.close();
    await Deno.remove(dir, { recursive: true });
  }
});
