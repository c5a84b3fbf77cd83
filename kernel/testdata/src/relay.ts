// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Test reducer for reducer-emitted events: state `{seen: nat}`, event `test/Ping@1 = {n: nat}`. Each
 * Ping increments `seen` and, while n > 0, emits one more Ping with n - 1, so one external Ping{n}
 * becomes n + 1 steps that the kernel must run in queue order.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../sdk/assemblyscript/assembly/index";

const PING = "test/Ping@1";

export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  assert(event.schema == PING, "relay: unknown event schema");
  const seen = state === null ? 0 : readSingleNat(state, "seen");
  assert(seen < U64.MAX_VALUE, "relay: seen overflows u64");
  const n = readSingleNat(event.value, "n");
  const output = new Output(writeSingleNat("seen", seen + 1));
  if (n > 0) output.emit(PING, writeSingleNat("n", n - 1));
  return output;
}

/** A record with one nat field, `{<name>: nat}`. */
function readSingleNat(bytes: Uint8Array, name: string): u64 {
  const reader = CborReader.of(bytes);
  reader.expectMapHeader(1);
  reader.expectKey(name);
  const value = reader.readUint();
  reader.expectEnd();
  return value;
}

function writeSingleNat(name: string, value: u64): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText(name);
  writer.writeUint(value);
  return writer.finish();
}
