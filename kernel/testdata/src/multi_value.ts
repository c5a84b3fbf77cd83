// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Test reducer: the counter of examples/counter (same state and event schemas, same outputs) behind the
 * multi-value calling convention, `step(ptr, len) -> (out_ptr, out_len)` (KERNEL §3.2).
 *
 * AssemblyScript cannot return tuples, so this file exports an ordinary result-pointer `step`; the build
 * script (scripts/build_examples.ts, target option `multiValue`) replaces that export with a generated
 * wrapper that calls `alloc(8)`, calls this `step` and returns the two i32 it wrote.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  assert(event.schema == "demo/Increment@1", "counter: unknown event schema");
  const count = state === null ? 0 : readSingleNat(state, "count");
  const next = count + readSingleNat(event.value, "by");
  assert(next >= count, "counter: count overflows u64");
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("count");
  writer.writeUint(next);
  return new Output(writer.finish());
}

function readSingleNat(bytes: Uint8Array, name: string): u64 {
  const reader = CborReader.of(bytes);
  reader.expectMapHeader(1);
  reader.expectKey(name);
  const value = reader.readUint();
  reader.expectEnd();
  return value;
}
