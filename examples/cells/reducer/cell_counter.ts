// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * demo/CellCounter@1: one counter per user (cells, KERNEL §9). The route
 * `{"event": "demo/CellIncrement@1", "key_field": "user"}` is keyed, so the kernel keeps one state
 * `demo/CellCounterState@1 {count: nat}` per key `demo/UserId@1` (text) and calls the reducer with that
 * cell's state and `ctx {key, cell_mode: true}`. Each `demo/CellIncrement@1 {user, by}` adds `by` to the
 * count of `user`'s cell; the first event of a user gets a null state (count 0).
 *
 * The reducer refuses to run outside cell mode, and checks that the cell key is the event's `user` (the
 * kernel derives one from the other, so a mismatch means a misrouted event).
 *
 * AssemblyScript, compiled by `deno task build:examples` into ../modules/cell_counter.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../sdk/assemblyscript/assembly/index";

/** The ABI exports (KERNEL §3.1–3.2): the SDK's `alloc`, and `step`, which runs `reduce` on the envelopes. */
export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  assert(event.schema == "demo/CellIncrement@1", "cells: unknown event schema");
  assert(ctx.cellMode, 'cells: not in cell mode (route demo/CellIncrement@1 with key_field "user")');
  const key = ctx.key;
  assert(key !== null, "cells: cell mode without a key");
  // The key is the canonical encoding of a demo/UserId@1, i.e. a CBOR text.
  const user = readKey(key!);

  const reader = CborReader.of(event.value);
  reader.expectMapHeader(2);
  reader.expectKey("by");
  const by = reader.readUint();
  reader.expectKey("user");
  assert(reader.readText() == user, "cells: the cell key is not the event's user");
  reader.expectEnd();

  const count = state === null ? 0 : readCount(state);
  const next = count + by;
  assert(next >= count, "cells: count overflows u64");
  return new Output(writeCount(next));
}

function readKey(key: Uint8Array): string {
  const reader = CborReader.of(key);
  const user = reader.readText();
  reader.expectEnd();
  return user;
}

/** `demo/CellCounterState@1`: `{"count": nat}`. */
function readCount(state: Uint8Array): u64 {
  const reader = CborReader.of(state);
  reader.expectMapHeader(1);
  reader.expectKey("count");
  const count = reader.readUint();
  reader.expectEnd();
  return count;
}

function writeCount(count: u64): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("count");
  writer.writeUint(count);
  return writer.finish();
}
