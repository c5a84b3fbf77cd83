/**
 * SHA-256 and `sha256:<hex>` hash references (AIR §1).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AosError } from "../base/mod.ts";
import { fromHex, toHex } from "./cbor.ts";
import { slabBytes, slabCopy } from "./slab.ts";

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
  if (bytes.length <= SMALL_INPUT_SIZE_BYTES_MAX) return sha256Small(bytes, new Uint8Array(32));
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/**
 * {@linkcode sha256}, the 32 bytes a view of a shared slab (see `slab.ts`): for the hash of every journal
 * entry, made on each append and each read. Not for a hash kept on its own among many that die.
 */
export function sha256Slab(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SMALL_INPUT_SIZE_BYTES_MAX) return sha256Small(bytes, slabBytes(32));
  return slabCopy(createHash("sha256").update(bytes).digest());
}

const K = new Int32Array([
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
/** The message schedule, the running state and the last one or two padded blocks: reused by every call. */
const W = new Int32Array(64);
const H = new Int32Array(8);
const TAIL = new Uint8Array(128);

/** One SHA-256 compression of the 64 bytes of `src` at `at` into `H`. */
function compress(src: Uint8Array, at: number): void {
  const w = W;
  for (let t = 0; t < 16; t++, at += 4) {
    w[t] = (src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15]!, w2 = w[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  const h = H;
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, hh = h[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}

/**
 * SHA-256 (FIPS 180-4) in TypeScript, for small inputs, into `out` (32 bytes): full blocks are read in place,
 * the padded tail goes through one reused buffer, so a call allocates nothing.
 */
function sha256Small(bytes: Uint8Array, out: Uint8Array): Uint8Array {
  const h = H;
  h[0] = 0x6a09e667;
  h[1] = 0xbb67ae85;
  h[2] = 0x3c6ef372;
  h[3] = 0xa54ff53a;
  h[4] = 0x510e527f;
  h[5] = 0x9b05688c;
  h[6] = 0x1f83d9ab;
  h[7] = 0x5be0cd19;
  const length = bytes.length;
  const full = length & ~63;
  for (let at = 0; at < full; at += 64) compress(bytes, at);
  const rest = length - full;
  const tail = TAIL;
  const end = rest + 9 <= 64 ? 64 : 128;
  for (let i = 0; i < rest; i++) tail[i] = bytes[full + i]!;
  tail[rest] = 0x80;
  for (let i = rest + 1; i < end - 8; i++) tail[i] = 0;
  // The length in bits, big-endian, in the last 8 bytes (inputs here are far below 2^53 bits).
  const high = Math.floor(length / 0x20000000);
  const low = (length << 3) >>> 0;
  for (let i = 0; i < 4; i++) {
    tail[end - 8 + i] = high >>> (24 - 8 * i);
    tail[end - 4 + i] = low >>> (24 - 8 * i);
  }
  compress(tail, 0);
  if (end === 128) compress(tail, 64);
  for (let i = 0; i < 8; i++) {
    const word = h[i]!;
    out[i * 4] = word >>> 24;
    out[i * 4 + 1] = word >>> 16;
    out[i * 4 + 2] = word >>> 8;
    out[i * 4 + 3] = word;
  }
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
