// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Test reducer: returns bytes that are not CBOR at all (0xff is a "break" with nothing to break), so the
 * host must discard the step as `bad_output` (KERNEL §3.5).
 */
import { returnBytes } from "../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, _ptr: i32, _len: i32): void {
  const out = new Uint8Array(3);
  out[0] = 0xff;
  out[1] = 0xff;
  out[2] = 0x00;
  returnBytes(ret, out);
}
