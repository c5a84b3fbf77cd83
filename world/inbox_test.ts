import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { encodeCanonical } from "../air/mod.ts";
import { tempDir } from "../kernel/_test_fixtures.ts";
import { batchCountOf, Inbox, type InboxEvent, MemoryInbox } from "./inbox.ts";
import { parseInboxSource } from "./restore.ts";

const event = (i: number): InboxEvent => ({ schema: "demo/Increment@1", value: new Uint8Array([i & 0xff]) });

// Array lengths on each side of every CBOR length encoding (inline, 1, 2 and 4 bytes).
const SIZES = [0, 1, 23, 24, 255, 256, 65_535, 65_536];

Deno.test("Inbox.refs() counts each batch's events from its header, in both file layouts, without reading the rest", async () => {
  await using dir = await tempDir();
  const inbox = new Inbox(`${dir.path}/inbox`);
  let after = 0;
  for (const n of SIZES) {
    const events = Array.from({ length: n }, (_, i) => event(i));
    after = await inbox.add(events, after, "sha256:" + "ab".repeat(32)); // {events, manifest_hash}
    after = await inbox.add(events, after); // the bare array, as written before batches were framed
  }
  const refs = await inbox.refs();
  assert.deepEqual(refs.map((r) => r.count), SIZES.flatMap((n) => [n, n]));
  for (const ref of refs.slice(0, 6)) {
    assert.equal((await inbox.read(ref)).events.length, ref.count);
  }
  // Past the bytes it reads whole, only headers are read, to the same counts; read() then reads the file.
  for (const wholeBytesMax of [0, 10_000]) {
    const headers = new Inbox(`${dir.path}/inbox`, undefined, { wholeBytesMax });
    const counted = await headers.refs();
    assert.deepEqual(
      counted.map((r) => r.count),
      SIZES.flatMap((n) => [n, n]),
      `wholeBytesMax ${wholeBytesMax}`,
    );
    for (const ref of counted) assert.equal((await headers.read(ref)).events.length, ref.count);
  }
});

Deno.test("batchCountOf() gives no count for bytes that do not start like a batch", () => {
  const framed = encodeCanonical({ events: [], manifest_hash: "x" });
  assert.equal(batchCountOf(framed), 0);
  for (
    const bytes of [
      new Uint8Array(),
      new Uint8Array([0xa2]),
      framed.subarray(0, 8), // "events" but no array header
      encodeCanonical({ evenTs: [], manifest_hash: "x" }),
      encodeCanonical({ events: "no", manifest_hash: "x" }),
      encodeCanonical("events"),
      new Uint8Array([0x9f, 0xff]), // indefinite length: never canonical
      new Uint8Array([0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // more events than bytes
      new Uint8Array([0x99, 0x01, 0x00, 0xa0, 0xa0]), // 256 events announced in 5 bytes
      new Uint8Array([0x99, 0x01]), // a 2-byte length cut short
    ]
  ) {
    assert.equal(batchCountOf(bytes), undefined, `bytes ${[...bytes].join(",")}`);
  }
});

Deno.test("MemoryInbox.refs() and read() agree with list()", async () => {
  const inbox = new MemoryInbox();
  await inbox.add([event(1), event(2)], 0, "sha256:" + "cd".repeat(32));
  await inbox.add([event(3)], 0);
  const refs = await inbox.refs();
  assert.deepEqual(refs.map((r) => [r.batch, r.count]), [[1, 2], [2, 1]]);
  assert.deepEqual(await Promise.all(refs.map((r) => inbox.read(r))), await inbox.list());
  await inbox.remove(await inbox.list());
  assert.match((await inbox.read(refs[0]!)).problem ?? "", /gone/);
});

Deno.test("property: parseInboxSource() reads exactly what /^inbox:(\\d+):(\\d+)$/ matches", () => {
  const reference = (source: string) => {
    const m = /^inbox:(\d+):(\d+)$/.exec(source);
    return m ? { batch: Number(m[1]), index: Number(m[2]) } : undefined;
  };
  const part = fc.oneof(
    fc.stringMatching(/^\d{0,20}$/),
    fc.constantFrom("", ":", "inbox", "inbox:", "-1", "1e3", " 1", "٣", "0x1", "1:2"),
    fc.string({ maxLength: 4 }),
  );
  const source = fc.oneof(
    fc.tuple(part, part).map(([a, b]) => `inbox:${a}:${b}`),
    fc.tuple(part, part, part).map(([a, b, c]) => `${a}${b}${c}`),
    fc.string({ maxLength: 30 }),
  );
  fc.assert(fc.property(source, (s) => assert.deepEqual(parseInboxSource(s), reference(s))), {
    numRuns: 2_000,
  });
  assert.deepEqual(parseInboxSource("inbox:12:0"), { batch: 12, index: 0 });
});
