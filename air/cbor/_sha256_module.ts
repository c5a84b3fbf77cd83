/**
 * Private to `air/cbor/`: the source of the SHA-256 WebAssembly module `_sha256_wasm.ts` embeds. This file
 * assembles the module from its instructions (64 rounds unrolled, the message schedule in a window of 16
 * locals); `hash_test.ts` checks that the embedded bytes are exactly what it assembles. Assembling at every
 * start took about 8 ms of a command's time, so the bytes are embedded instead, and this file is where they
 * come from: after changing it, put the base64 of {@linkcode sha256ModuleBytes} in `_sha256_wasm.ts` (the
 * test prints it).
 *
 * The module exports one page of memory and `blocks(from, to)`, which compresses the 64-byte blocks between
 * the two addresses into the hash state (8 words) at address 0.
 *
 * @module
 */
import { encodeSleb128, encodeUleb128 } from "../base/mod.ts";

const K = [
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
];

// Locals of `blocks`: the two parameters, the eight working variables, the schedule's window of 16 words.
const FROM = 0;
const TO = 1;
const VAR = 2;
const SCHEDULE = 10;
const T1 = 26;

/** The body of `blocks(from, to)` (its locals and instructions). */
function blocksBody(): number[] {
  const code: number[] = [];
  const get = (local: number) => code.push(0x20, local);
  const set = (local: number) => code.push(0x21, local);
  const constant = (value: number) => code.push(0x41, ...encodeSleb128(value));
  const add = () => code.push(0x6a);
  const and = () => code.push(0x71);
  const or = () => code.push(0x72);
  const xor = () => code.push(0x73);
  const shrU = () => code.push(0x76);
  const rotl = () => code.push(0x77);
  const rotr = () => code.push(0x78);
  const load = (offset: number) => code.push(0x28, 2, ...encodeUleb128(offset));
  const store = (offset: number) => code.push(0x36, 2, ...encodeUleb128(offset));
  const rotated = (local: number, n: number) => {
    get(local);
    constant(n);
    rotr();
  };

  code.push(0x03, 0x40); // loop: one 64-byte block per turn
  for (let i = 0; i < 8; i++) {
    constant(0);
    load(4 * i);
    set(VAR + i);
  }
  for (let t = 0; t < 64; t++) {
    // The working variables rotate through the eight locals instead of being moved: a..h of round t.
    const role = (i: number) => VAR + (((i - t) % 8) + 8) % 8;
    const w = SCHEDULE + (t & 15);
    if (t < 16) {
      // The message word, big-endian: (rotr(x, 8) & 0xff00ff00) | (rotl(x, 8) & 0x00ff00ff).
      get(FROM);
      load(4 * t);
      set(w);
      rotated(w, 8);
      constant(0xff00ff00 | 0);
      and();
      get(w);
      constant(8);
      rotl();
      constant(0x00ff00ff);
      and();
      or();
      set(w);
    } else {
      // w[t] = w[t-16] + σ0(w[t-15]) + w[t-7] + σ1(w[t-2]), in the window of 16.
      const w15 = SCHEDULE + ((t - 15) & 15);
      const w7 = SCHEDULE + ((t - 7) & 15);
      const w2 = SCHEDULE + ((t - 2) & 15);
      get(w);
      rotated(w15, 7);
      rotated(w15, 18);
      xor();
      get(w15);
      constant(3);
      shrU();
      xor();
      add();
      get(w7);
      add();
      rotated(w2, 17);
      rotated(w2, 19);
      xor();
      get(w2);
      constant(10);
      shrU();
      xor();
      add();
      set(w);
    }
    const a = role(0), b = role(1), c = role(2), d = role(3);
    const e = role(4), f = role(5), g = role(6), h = role(7);
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + w[t], with Ch(e, f, g) = g ^ (e & (f ^ g)).
    get(h);
    rotated(e, 6);
    rotated(e, 11);
    xor();
    rotated(e, 25);
    xor();
    add();
    get(g);
    get(e);
    get(f);
    get(g);
    xor();
    and();
    xor();
    add();
    constant(K[t]! | 0);
    add();
    get(w);
    add();
    set(T1);
    // d += T1 (it is e of the next round).
    get(d);
    get(T1);
    add();
    set(d);
    // h = T1 + Σ0(a) + Maj(a, b, c) (it is a of the next round), with Maj = (a & b) | (c & (a | b)).
    get(T1);
    rotated(a, 2);
    rotated(a, 13);
    xor();
    rotated(a, 22);
    xor();
    add();
    get(a);
    get(b);
    and();
    get(c);
    get(a);
    get(b);
    or();
    and();
    or();
    add();
    set(h);
  }
  // After 64 rounds each variable is back in its own local: add them into the state.
  for (let i = 0; i < 8; i++) {
    constant(0);
    constant(0);
    load(4 * i);
    get(VAR + i);
    add();
    store(4 * i);
  }
  get(FROM);
  constant(64);
  add();
  code.push(0x22, FROM); // local.tee
  get(TO);
  code.push(0x49); // i32.lt_u
  code.push(0x0d, 0); // br_if: the next block
  code.push(0x0b); // end of loop
  code.push(0x0b); // end of function
  // One group of 25 i32 locals after the two parameters.
  return [0x01, T1 - VAR + 1, 0x7f, ...code];
}

function section(id: number, content: number[]): number[] {
  return [id, ...encodeUleb128(content.length), ...content];
}

function name(text: string): number[] {
  return [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
}

/** The module: `blocks(from: i32, to: i32)` and one page of exported memory. */
export function sha256ModuleBytes(): Uint8Array<ArrayBuffer> {
  const body = blocksBody();
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // type 0: (i32, i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x01, 1, 1]), // memory 0: exactly one page
    ...section(7, [2, ...name("blocks"), 0x00, 0, ...name("memory"), 0x02, 0]),
    ...section(10, [1, ...encodeUleb128(body.length), ...body]),
  ]);
}
