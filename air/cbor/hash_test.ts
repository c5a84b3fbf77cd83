import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { toHex } from "./cbor.ts";
import { sha256 } from "./hash.ts";
import { SHA256_MODULE_BASE64, SHA256_WASM_INPUT_MAX, sha256Wasm } from "./_sha256_wasm.ts";
import { sha256ModuleBytes } from "./_sha256_module.ts";
import fc from "npm:fast-check@4.11.0";

Deno.test("sha256() matches the FIPS 180-4 test vectors", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(toHex(sha256(text(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    toHex(sha256(text("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256() agrees with the native hash at every length around block and size boundaries", () => {
  const lengths = [
    ...Array.from({ length: 200 }, (_, i) => i),
    447,
    448,
    511,
    512,
    4095,
    4096,
    16383,
    16384,
    16385,
    70_000,
  ];
  for (const length of lengths) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
    const native = new Uint8Array(createHash("sha256").update(bytes).digest());
    assert.equal(toHex(sha256(bytes)), toHex(native), `length ${length}`);
  }
});

Deno.test("sha256Wasm() agrees with the native hash on random inputs, views at any offset, and refuses long ones", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat({ max: 7 }), (bytes, offset) => {
      // A view into a larger buffer, as journal entries are (views of slabs).
      const backing = new Uint8Array(bytes.length + offset + 3).fill(0xee);
      backing.set(bytes, offset);
      const view = backing.subarray(offset, offset + bytes.length);
      const native = new Uint8Array(createHash("sha256").update(bytes).digest());
      const out = new Uint8Array(32);
      assert.equal(sha256Wasm(view, out), out);
      assert.equal(toHex(out), toHex(native));
    }),
    { numRuns: 500 },
  );
  assert.throws(() => sha256Wasm(new Uint8Array(SHA256_WASM_INPUT_MAX + 1), new Uint8Array(32)), RangeError);
});

Deno.test("the embedded SHA-256 module is exactly what _sha256_module.ts assembles", () => {
  const assembled = sha256ModuleBytes().toBase64();
  assert.equal(
    SHA256_MODULE_BASE64,
    assembled,
    `_sha256_module.ts changed: put this base64 in _sha256_wasm.ts as SHA256_MODULE_BASE64:\n${assembled}`,
  );
});
