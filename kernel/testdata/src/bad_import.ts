// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
// deno-fmt-ignore-file -- deno fmt drops decorators on functions, and AssemblyScript needs @external.
/**
 * Test reducer: imports `env.now`, which the host does not provide; only `env.abort` is allowed
 * (KERNEL §3.1), so the module must be rejected when the manifest is loaded or applied.
 */
import { CborWriter, Ctx, Event, Output, runReducer } from "../../../sdk/assemblyscript/assembly/index";

// Wall-clock time would make replay diverge: exactly the kind of import the host must refuse.
@external("env", "now")
declare function now(): u64;

export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(_state: Uint8Array | null, _event: Event, _ctx: Ctx): Output {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("count");
  writer.writeUint(now());
  return new Output(writer.finish());
}
