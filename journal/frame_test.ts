import assert from "node:assert/strict";
import { encodeEntry, ZERO_HASH } from "./entry.ts";
import { crc32c, encodeFrame, FRAME_OVERHEAD_SIZE_BYTES, scanFrames } from "./frame.ts";

Deno.test('crc32c() matches the CRC-32C check value of "123456789"', () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array()), 0);
});

function frames(count: number): { bytes: Uint8Array; offsets: number[] } {
  const parts: Uint8Array[] = [];
  const offsets: number[] = [];
  let prev = ZERO_HASH;
  let size = 0;
  for (let seq = 0; seq < count; seq++) {
    const entry = encodeEntry(
      seq,
      { kind: "apply_requested", body: { proposal_id: seq, ingress_ns: 0 } },
      prev,
    );
    prev = entry.hash;
    const frame = encodeFrame(entry);
    offsets.push(size);
    parts.push(frame);
    size += frame.length;
  }
  const bytes = new Uint8Array(size);
  parts.forEach((part, i) => bytes.set(part, offsets[i]));
  return { bytes, offsets };
}

Deno.test("encodeFrame() writes u32 LE length, the CBOR bytes and u32 LE CRC-32C", () => {
  const entry = encodeEntry(
    0,
    { kind: "apply_requested", body: { proposal_id: 1, ingress_ns: 0 } },
    ZERO_HASH,
  );
  const frame = encodeFrame(entry);
  const view = new DataView(frame.buffer);
  assert.equal(frame.length, entry.bytes.length + FRAME_OVERHEAD_SIZE_BYTES);
  assert.equal(view.getUint32(0, true), entry.bytes.length);
  assert.deepEqual(frame.subarray(4, 4 + entry.bytes.length), entry.bytes);
  assert.equal(view.getUint32(4 + entry.bytes.length, true), crc32c(entry.bytes));
});

Deno.test("scanFrames() finds every frame of intact bytes", () => {
  const { bytes, offsets } = frames(4);
  const scan = scanFrames(bytes);
  assert.equal(scan.problem, undefined);
  assert.deepEqual(scan.frames.map((frame) => frame.offset), offsets);
  assert.deepEqual(scanFrames(new Uint8Array()), { frames: [] });
});

Deno.test("scanFrames() calls an incomplete or CRC-failing last frame torn", () => {
  const { bytes, offsets } = frames(3);
  const last = offsets[2]!;
  for (const cut of [1, 3, 7, bytes.length - last - 2]) {
    const scan = scanFrames(bytes.subarray(0, bytes.length - cut));
    assert.equal(scan.frames.length, 2, `cut ${cut}`);
    assert.equal(scan.problem?.kind, "torn", `cut ${cut}`);
    assert.equal(scan.problem?.offset, last, `cut ${cut}`);
  }
  const flipped = bytes.slice();
  flipped[last + 10]! ^= 0x40;
  assert.deepEqual(scanFrames(flipped).problem, {
    kind: "torn",
    offset: last,
    reason: scanFrames(flipped).problem?.reason,
  });
  assert.match(scanFrames(flipped).problem?.reason ?? "", /CRC-32C mismatch/);
  const zeros = new Uint8Array(bytes.length + 100);
  zeros.set(bytes);
  assert.deepEqual(scanFrames(zeros).problem?.kind, "torn");
  assert.deepEqual(scanFrames(zeros).problem?.offset, bytes.length);
});

Deno.test("scanFrames() calls a bad frame followed by more bytes corrupt", () => {
  const { bytes, offsets } = frames(3);
  const flipped = bytes.slice();
  flipped[offsets[1]! + 12]! ^= 0x01;
  assert.equal(scanFrames(flipped).problem?.kind, "corrupt");
  assert.equal(scanFrames(flipped).problem?.offset, offsets[1]);
  assert.equal(scanFrames(flipped).frames.length, 1);
});

Deno.test("scanFrames() calls a damaged length header corrupt even when it points past the end", () => {
  const { bytes, offsets } = frames(3);
  const longer = bytes.slice();
  longer[offsets[0]! + 1] = 0x01; // length + 256: still under the limit, now past the end of these bytes
  const scan = scanFrames(longer);
  assert.equal(scan.problem?.kind, "corrupt");
  assert.equal(scan.problem?.offset, 0);
  assert.match(scan.problem?.reason ?? "", /intact frame starts at offset/);
  const huge = bytes.slice();
  huge[offsets[1]! + 3] = 0x7f;
  assert.deepEqual(scanFrames(huge).problem?.kind, "corrupt");
  const zero = bytes.slice();
  zero.fill(0, offsets[1]!, offsets[1]! + 4);
  assert.deepEqual(scanFrames(zero).problem?.kind, "corrupt");
});
