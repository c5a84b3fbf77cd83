import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, type CborValue, encodeCanonical } from "../air/mod.ts";
import { outcomeOf } from "../journal/testing/mod.ts";
import { tempDir } from "../kernel/_test_fixtures.ts";
import {
  batchCountOf,
  Inbox,
  type InboxEvent,
  MemoryInbox,
  parseBatchLayout,
  parseBatchReference,
} from "./inbox.ts";
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

Deno.test("property: parseBatchLayout() gives parseBatchReference()'s batch, or leaves the batch to it", () => {
  // Events as `aos event send` writes them, and others: a key that is not bytes, fields added or missing.
  const schema = fc.oneof(fc.constantFrom("demo/Increment@1", "demo/Other@1"), fc.string({ maxLength: 30 }));
  const written = fc.record({
    schema,
    value: fc.uint8Array({ maxLength: 40 }),
    key: fc.uint8Array({ maxLength: 8 }),
  }, {
    requiredKeys: ["schema", "value"],
  });
  const odd = fc.dictionary(
    fc.constantFrom("schema", "value", "key", "extra"),
    fc.oneof(fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), fc.integer(), fc.constant(null)),
  );
  const events = fc.array(fc.oneof({ weight: 9, arbitrary: written }, { weight: 1, arbitrary: odd }), {
    maxLength: 30,
  });
  const batch = fc.oneof(
    events.map((list) => list as CborValue),
    fc.record({ events, manifest_hash: fc.oneof(fc.constant("sha256:" + "ab".repeat(32)), fc.integer()) })
      .map((framed) => framed as CborValue),
  );
  const runs = Number(Deno.env.get("AOS_FUZZ_RUNS") ?? 500);
  let fast = 0;
  fc.assert(
    fc.property(batch, fc.nat(), (value, seed) => {
      const bytes = encodeCanonical(value);
      const layout = outcomeOf(() => parseBatchLayout(bytes));
      if (layout !== undefined) {
        fast++;
        assert.deepEqual(layout, parseBatchReference(bytes));
      }
      // Damaged: a byte changed, cut off or added; the layout parser never accepts what the reference refuses.
      const at = seed % Math.max(1, bytes.length);
      const damaged = [
        Uint8Array.from(bytes, (b, i) => (i === at ? (b + 1 + (seed % 250)) & 0xff : b)),
        bytes.slice(0, at),
        Uint8Array.from([...bytes.slice(0, at), seed & 0xff, ...bytes.slice(at)]),
      ];
      for (const d of damaged) {
        const got = outcomeOf(() => parseBatchLayout(d));
        if (got !== undefined) assert.deepEqual(got, outcomeOf(() => parseBatchReference(d)));
      }
    }),
    { numRuns: runs },
  );
  // About half the batches (those with only events as `aos event send` writes them) take the layout path.
  assert.ok(fast >= runs / 4, `${fast} of ${runs} batches took the layout path`);
});

Deno.test("parseBatchLayout() reads what Inbox.add() writes, every array length encoding included", async () => {
  await using dir = await tempDir();
  const inbox = new Inbox(`${dir.path}/inbox`);
  let after = 0;
  for (const n of SIZES) {
    const events = Array.from(
      { length: n },
      (_, i): InboxEvent => (i % 3 === 0 ? { ...event(i), key: new Uint8Array([i & 7]) } : event(i)),
    );
    for (const validatedFor of ["sha256:" + "cd".repeat(32), undefined]) {
      after = await inbox.add(events, after, validatedFor);
      const bytes = await Deno.readFile(`${dir.path}/inbox/${String(after).padStart(12, "0")}.cbor`);
      const layout = parseBatchLayout(bytes);
      assert.ok(layout !== undefined, `${n} events, validated for ${validatedFor}`);
      assert.deepEqual(layout, parseBatchReference(bytes));
      assert.deepEqual(layout.events, events);
    }
  }
});

Deno.test("parseBatchLayout() leaves a list length that is not in its shortest form to the reference, which refuses it", () => {
  const one = encodeCanonical([{ schema: "demo/Increment@1", value: new Uint8Array([1]) }]);
  const item = one.subarray(1);
  const heads = [[0x98, 0x01], [0x99, 0x00, 0x01], [0x9a, 0x00, 0x00, 0x00, 0x01]];
  for (const head of heads) {
    const bytes = Uint8Array.from([...head, ...item]);
    assert.equal(parseBatchLayout(bytes), undefined, `head ${head}`);
    assert.throws(() => parseBatchReference(bytes), AosError);
  }
  // The shortest form of the same list is read by both.
  assert.deepEqual(parseBatchLayout(one), parseBatchReference(one));
});
