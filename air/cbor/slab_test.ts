import assert from "node:assert/strict";
import { encodeCanonical, sha256, sha256Slab } from "./mod.ts";
import { ByteSlab, SLAB_SIZE_BYTES, slabBytes, slabCopy } from "./slab.ts";

/** The longest byte string the shared slabs hold: a sixteenth of one. */
const ITEM_MAX = SLAB_SIZE_BYTES / 16;

Deno.test("slabBytes() hands out zeroed views that never overlap, across slabs, and long ones on their own", () => {
  const views: Uint8Array[] = [];
  // More than two slabs' worth, in lengths that do not divide the slab.
  for (let total = 0; total < 2.5 * SLAB_SIZE_BYTES; total += 37) views.push(slabBytes(37));
  for (const view of views) {
    assert.equal(view.length, 37);
    assert.ok(view.every((b) => b === 0), "fresh slab memory is zero");
    view.fill(0xff);
  }
  // Writing every view did not touch another: each is still all 0xff, and the ranges of one buffer are disjoint.
  const byBuffer = new Map<ArrayBufferLike, Array<[number, number]>>();
  for (const view of views) {
    assert.ok(view.every((b) => b === 0xff));
    const ranges = byBuffer.get(view.buffer) ?? [];
    ranges.push([view.byteOffset, view.byteOffset + view.byteLength]);
    byBuffer.set(view.buffer, ranges);
  }
  assert.ok(byBuffer.size >= 3, `${byBuffer.size} slabs`);
  for (const ranges of byBuffer.values()) {
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i - 1]![1] <= ranges[i]![0]);
  }
  assert.equal(slabBytes(ITEM_MAX).buffer.byteLength, SLAB_SIZE_BYTES);
  const long = slabBytes(ITEM_MAX + 1);
  assert.equal(long.byteOffset, 0);
  assert.equal(long.buffer.byteLength, ITEM_MAX + 1);
});

Deno.test("slabCopy() copies; sha256Slab() equals sha256() for short and long inputs", () => {
  const source = Uint8Array.from({ length: 100 }, (_, i) => i);
  const copy = slabCopy(source);
  source[0] = 99;
  assert.equal(copy[0], 0);
  assert.deepEqual(copy.slice(1), source.slice(1));
  for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 16 * 1024, 16 * 1024 + 1, 100_000]) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
    assert.deepEqual(sha256Slab(bytes), sha256(bytes), `length ${length}`);
  }
  assert.deepEqual(encodeCanonical({ a: [1, "x"] }, { inSlab: true }), encodeCanonical({ a: [1, "x"] }));
});

Deno.test("ByteSlab: slabs of its size; byte strings over a sixteenth of it get a buffer of their own", () => {
  const pool = new ByteSlab(64);
  const a = pool.bytes(4);
  const b = pool.copy(Uint8Array.of(1, 2, 3, 4));
  assert.equal(a.buffer, b.buffer);
  assert.equal(a.buffer.byteLength, 64);
  assert.deepEqual([...b], [1, 2, 3, 4]);
  const own = pool.bytes(5);
  assert.notEqual(own.buffer, a.buffer);
  assert.equal(own.buffer.byteLength, 5);
  // 64 bytes fill the first slab exactly (8 handed out, 56 more); the next one starts another.
  for (let i = 0; i < 14; i++) assert.equal(pool.bytes(4).buffer, a.buffer);
  assert.notEqual(pool.bytes(1).buffer, a.buffer);
  assert.throws(() => new ByteSlab(8), RangeError);
});
