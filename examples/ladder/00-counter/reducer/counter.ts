// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 00, demo/Counter@1: a state machine with no effects.
 *
 * - `demo/CounterStart@1 {target}` starts counting down from `target` (`Done` at once when it is 0); a
 *   Start while counting traps, so the step is discarded and journaled as a reducer error.
 * - `demo/CounterTick@1 {}` takes one off `remaining`; at 0 the counter is `Done`. A Tick while not
 *   counting changes nothing.
 *
 * State `demo/CounterState@1 {pc: Idle | Counting | Done, remaining}`; the first call gets a null state
 * (Idle, 0). Compiled by `deno task build:examples` into ../modules/counter.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

class CounterState {
  pc: string = "Idle";
  remaining: u64 = 0;
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  const current = state === null ? new CounterState() : readState(state);
  if (event.schema == "demo/CounterStart@1") {
    assert(current.pc != "Counting", "counter: already counting");
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(1);
    reader.expectKey("target");
    current.remaining = reader.readUint();
    reader.expectEnd();
    current.pc = current.remaining == 0 ? "Done" : "Counting";
    return new Output(writeState(current));
  }
  assert(event.schema == "demo/CounterTick@1", "counter: unknown event schema");
  if (current.pc != "Counting") return new Output(writeState(current));
  current.remaining -= 1;
  if (current.remaining == 0) current.pc = "Done";
  return new Output(writeState(current));
}

/** `{pc: {"$tag", "$value": null}, remaining}` (canonical key order: shorter keys first). */
function readState(state: Uint8Array): CounterState {
  const out = new CounterState();
  const reader = CborReader.of(state);
  reader.expectMapHeader(2);
  reader.expectKey("pc");
  reader.expectMapHeader(2);
  reader.expectKey("$tag");
  out.pc = reader.readText();
  reader.expectKey("$value");
  reader.readNull();
  reader.expectKey("remaining");
  out.remaining = reader.readUint();
  reader.expectEnd();
  return out;
}

function writeState(state: CounterState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("pc");
  writer.writeMapHeader(2);
  writer.writeText("$tag");
  writer.writeText(state.pc);
  writer.writeText("$value");
  writer.writeNull();
  writer.writeText("remaining");
  writer.writeUint(state.remaining);
  return writer.finish();
}
