// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Test reducer: a well-formed canonical output envelope whose state is `{"count": "x"}`, i.e. canonical
 * CBOR but not a value of demo/CounterState@1 (text where a nat belongs). The host must discard the step
 * as `bad_state` (KERNEL §3.5).
 */
import { CborWriter, Ctx, Event, Output, runReducer } from "../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(_state: Uint8Array | null, _event: Event, _ctx: Ctx): Output {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("count");
  writer.writeText("x");
  return new Output(writer.finish());
}
