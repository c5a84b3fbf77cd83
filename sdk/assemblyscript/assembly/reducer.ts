/**
 * The reducer ABI of KERNEL §3.1–3.2 (result-pointer convention): `alloc` and the body of `step`.
 *
 * Memory is a bump allocator that never frees (AssemblyScript's `--runtime stub`). That is enough
 * because every call starts from the instance's initial memory and globals, so nothing outlives one step.
 */
import { CborReader } from "./cbor_reader";
import { Ctx, decodeInput, encodeOutput, Event, Output } from "./envelope";

/** A reducer: current state (canonical CBOR or null), the event and its context → output. */
export type Reducer = (state: Uint8Array | null, event: Event, ctx: Ctx) => Output;

/** `len` bytes of fresh memory; the host copies the input envelope there. */
export function allocate(length: i32): i32 {
  assert(length >= 0, "alloc: negative length");
  return <i32> heap.alloc(<usize> length);
}

/**
 * The `alloc` export itself, ready to re-export from a reducer's entry file:
 * `export { alloc } from ".../sdk/assemblyscript/assembly/index";`.
 */
export function alloc(len: i32): i32 {
  return allocate(len);
}

/**
 * The body of the `step` export: decodes the input envelope at `ptr`/`len`, calls `reducer` and
 * returns the encoded output envelope through the 8-byte result area at `ret`.
 */
export function runReducer(ret: i32, ptr: i32, len: i32, reducer: Reducer): void {
  assert(ptr >= 0 && len >= 0, "step: negative pointer or length");
  const input = decodeInput(CborReader.fixedLayout(<usize> ptr, <usize> len));
  const output = reducer(input.state, input.event, input.ctx);
  returnBytes(ret, encodeOutput(output));
}

/** Writes `out_ptr` and `out_len` (little-endian i32, as wasm stores are) at `ret` and `ret + 4`. */
export function returnBytes(ret: i32, bytes: Uint8Array): void {
  assert(ret >= 0, "step: negative result pointer");
  store<i32>(<usize> ret, <i32> bytes.dataStart);
  store<i32>(<usize> ret, bytes.length, 4);
}
