import assert from "node:assert/strict";
import { encodeSleb128, encodeUleb128 } from "./leb128.ts";

Deno.test("encodeUleb128() matches the reference vectors", () => {
  const vectors: Array<[number, number[]]> = [
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [16_384, [0x80, 0x80, 0x01]],
    [624_485, [0xe5, 0x8e, 0x26]],
    [0x7fff_ffff, [0xff, 0xff, 0xff, 0xff, 0x07]],
    [0xffff_ffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [value, bytes] of vectors) assert.deepEqual(encodeUleb128(value), bytes, `${value}`);
});

Deno.test("encodeSleb128() matches the reference vectors and takes u32 as two's complement", () => {
  const vectors: Array<[number, number[]]> = [
    [0, [0x00]],
    [1, [0x01]],
    [-1, [0x7f]],
    [63, [0x3f]],
    [64, [0xc0, 0x00]],
    [-64, [0x40]],
    [-65, [0xbf, 0x7f]],
    [127, [0xff, 0x00]],
    [-128, [0x80, 0x7f]],
    [-123_456, [0xc0, 0xbb, 0x78]],
    [0x7fff_ffff, [0xff, 0xff, 0xff, 0xff, 0x07]],
    [-0x8000_0000, [0x80, 0x80, 0x80, 0x80, 0x78]],
  ];
  for (const [value, bytes] of vectors) assert.deepEqual(encodeSleb128(value), bytes, `${value}`);
  assert.deepEqual(encodeSleb128(0xffff_ffff), encodeSleb128(-1));
  assert.deepEqual(encodeSleb128(0x8000_0000), encodeSleb128(-0x8000_0000));
});

Deno.test("LEB128 encoders reject values outside 32 bits and non-integers", () => {
  for (const value of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => encodeUleb128(value), RangeError);
  for (const value of [-(2 ** 31) - 1, 2 ** 32, 0.5]) assert.throws(() => encodeSleb128(value), RangeError);
});
