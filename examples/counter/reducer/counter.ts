// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * demo/Counter@1 (AIR §20): state `demo/CounterState@1 = {count: nat}`, event
 * `demo/Increment@1 = {by: nat}`. The first call gets a null state (count 0); every Increment adds `by`.
 *
 * AssemblyScript, compiled by `deno task build:examples` into ../modules/counter.wasm.
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

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  // Anything else was routed here by mistake; trapping discards the step (KERNEL §3.5).
  assert(event.schema == "demo/Increment@1", "counter: unknown event schema");
  const count = state === null ? 0 : readCount(state);
  const by = readIncrement(event.value);
  const next = count + by;
  // u64 wrap-around would silently lose the count; trapping keeps the old state instead.
  assert(next >= count, "counter: count overflows u64");
  return new Output(writeCount(next));
}

/** `demo/CounterState@1`: `{"count": nat}`. */
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

/** `demo/Increment@1`: `{"by": nat}`. */
function readIncrement(value: Uint8Array): u64 {
  const reader = CborReader.of(value);
  reader.expectMapHeader(1);
  reader.expectKey("by");
  const by = reader.readUint();
  reader.expectEnd();
  return by;
}
