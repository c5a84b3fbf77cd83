/**
 * SHA-256 and `sha256:<hex>` hash references (AIR §1).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AosError } from "../base/mod.ts";
import { fromHex, toHex } from "./cbor.ts";

/** A `sha256:` + 64 lowercase hex digits reference. */
export type HashRef = `sha256:${string}`;

const HASH_REF = /^sha256:[0-9a-f]{64}$/;

/** Inputs up to this size are hashed in TypeScript; larger ones by the runtime's native SHA-256. */
const SMALL_INPUT_SIZE_BYTES_MAX = 16 * 1024;

/**
 * SHA-256 of bytes. Small inputs (journal entries, keys, intents) are hashed in TypeScript: it is faster
 * than a native hash object per call, and leaves no native object for the garbage collector to find,
 * which kept a streaming read of a million entries from holding a hundred megabytes of them.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL_INPUT_SIZE_BYTES_MAX) return sha256Small(bytes);
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const W = new Uint32Array(64);

/** SHA-256 (FIPS 180-4) in TypeScript, for small inputs. */
function sha256Small(bytes: Uint8Array): Uint8Array {
  const length = bytes.length;
  const padded = new Uint8Array((((length + 8) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000), false);
  view.setUint32(padded.length - 4, (length << 3) >>> 0, false);
  let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
  let h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) W[t] = view.getUint32(block + t * 4, false);
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!, w2 = W[t - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  [h0, h1, h2, h3, h4, h5, h6, h7].forEach((word, i) => outView.setUint32(i * 4, word, false));
  return out;
}

/** `sha256:<hex>` of bytes. */
export function hashRefOf(bytes: Uint8Array): HashRef {
  return `sha256:${toHex(sha256(bytes))}`;
}

/** True when `text` is a well-formed hash reference. */
export function isHashRef(text: string): text is HashRef {
  return HASH_REF.test(text);
}

/** The 32 bytes of a hash reference. */
export function hashRefToBytes(ref: string): Uint8Array {
  if (!isHashRef(ref)) {
    throw new AosError("AOS_AIR_INVALID", `Invalid hash reference "${ref}": expected sha256:<64 hex>`);
  }
  return fromHex(ref.slice(7));
}

/** The reference of 32 hash bytes. */
export function bytesToHashRef(bytes: Uint8Array): HashRef {
  if (bytes.length !== 32) {
    throw new AosError("AOS_AIR_INVALID", `Invalid hash: expected 32 bytes, got ${bytes.length}`);
  }
  return `sha256:${toHex(bytes)}`;
}
