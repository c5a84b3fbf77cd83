// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/** Test reducer: every step traps (KERNEL §3.5 `trap`), before touching its input. */
export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(_ret: i32, _ptr: i32, _len: i32): void {
  unreachable();
}
