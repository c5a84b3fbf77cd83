/**
 * Test fixtures for `fuel_test.ts` (private to `kernel/`): a reducer harness that runs a module the way the
 * `ReducerHost` does (fresh instance, `alloc` + copy, `step` in either convention) with a fuel budget, and
 * hand-assembled modules for what the testkit assembler cannot express.
 *
 * @module
 */
import { sleb, uleb } from "./_wasm_bytes.ts";
import { fuelLeft, outOfFuel, setFuel } from "./fuel.ts";

/** The outcome of one harness call; `fuelUsed` only when the module was run with a budget. */
export type HarnessOutcome =
  | { ok: true; output: Uint8Array; fuelUsed: number | undefined }
  | { ok: false; code: "trap" | "timeout"; message: string };

class GuestAbort extends Error {}

/**
 * One reducer call as `ReducerHost.call` makes it (and as the integration does when `fuel` is given: set
 * the budget right after instantiation; after a trap, fuel < 0 means `timeout`). `env.now` is stubbed so
 * `bad_import.wasm` can run too.
 */
export function runReducer(module: WebAssembly.Module, input: Uint8Array, fuel?: number): HarnessOutcome {
  let instance: WebAssembly.Instance | undefined;
  try {
    instance = new WebAssembly.Instance(module, {
      env: {
        abort: (message: number, _file: number, line: number, column: number) => {
          throw new GuestAbort(`abort ${message} at ${line}:${column}`);
        },
        now: () => 0n,
      },
    });
    if (fuel !== undefined) setFuel(instance, fuel);
    const memory = instance.exports.memory as WebAssembly.Memory;
    const alloc = instance.exports.alloc as (len: number) => number;
    const step = instance.exports.step as (...args: number[]) => unknown;
    let outPtr: number;
    let outLen: number;
    if (step.length === 3) {
      const ret = alloc(8);
      const ptr = alloc(input.length);
      new Uint8Array(memory.buffer, ptr, input.length).set(input);
      step(ret, ptr, input.length);
      const view = new DataView(memory.buffer, ret, 8);
      outPtr = view.getInt32(0, true);
      outLen = view.getInt32(4, true);
    } else {
      const ptr = alloc(input.length);
      new Uint8Array(memory.buffer, ptr, input.length).set(input);
      const [p, l] = step(ptr, input.length) as [number, number];
      outPtr = p;
      outLen = l;
    }
    const output = new Uint8Array(memory.buffer, outPtr, outLen).slice();
    return { ok: true, output, fuelUsed: fuel === undefined ? undefined : fuel - fuelLeft(instance) };
  } catch (cause) {
    if (cause instanceof WebAssembly.RuntimeError || cause instanceof GuestAbort) {
      if (fuel !== undefined && instance !== undefined && outOfFuel(instance)) {
        return { ok: false, code: "timeout", message: `reducer ran out of fuel (${fuel} units)` };
      }
      return { ok: false, code: "trap", message: cause.message };
    }
    throw cause;
  }
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: readonly number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** A function body: no locals, `instructions`, `end`. */
function body(instructions: readonly number[], locals: readonly number[] = [0x00]): number[] {
  const bytes = [...locals, ...instructions, 0x0b];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * `() -> ()` with the given instructions, exported as `run` (for opcodes the decoder must refuse), and
 * optionally also the module's start function.
 */
export function moduleWithBody(instructions: readonly number[], start = false): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("run"), 0x00, 0]),
    ...(start ? section(8, [0]) : []),
    ...section(10, [1, ...body(instructions)]),
  ]);
}

/** Imports an immutable i32 global `env.g` and exports `get() -> global.get 0`, between two custom sections. */
export function moduleWithImportedGlobal(): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...section(0, [...name("first"), 1, 2, 3]),
    ...section(1, [1, 0x60, 0, 1, 0x7f]),
    ...section(2, [1, ...name("env"), ...name("g"), 0x03, 0x7f, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("get"), 0x00, 0]),
    ...section(10, [1, ...body([0x23, 0x00])]),
    ...section(0, [...name("last"), 4, 5]),
  ]);
}

/**
 * A module whose `main() -> i32` uses an immediate of every kind the decoder knows, with float constants
 * made of 0x03 (`loop`) bytes, and one loop with a type-index block type (a parameter) run 5 times. It calls
 * `one()` through a table, so one call costs 1 (entry) + 5 (loop) + 1 (`one`) = 7 units and returns
 * 0x03030303 + 1.
 */
export function coverageModule(): Uint8Array {
  const drop = 0x1a;
  const i32 = (n: number) => [0x41, ...sleb(n)];
  const main = [
    ...[0x44, 3, 3, 3, 3, 3, 3, 3, 3, drop], // f64.const
    ...[0x43, 3, 3, 3, 3, drop], // f32.const
    ...[0x42, 0x03, drop, 0x42, 0x83, 0x83, 0x03, drop], // i64.const
    ...i32(0),
    ...i32(3),
    ...i32(4),
    0xfc,
    11,
    0x00, // memory.fill
    ...i32(8),
    ...i32(0),
    ...i32(4),
    0xfc,
    10,
    0x00,
    0x00, // memory.copy
    ...i32(0),
    0x28,
    0x02,
    0x03,
    drop, // i32.load align=4 offset=3
    ...i32(0),
    ...i32(0),
    0x36,
    0x02,
    0x83,
    0x01, // i32.store offset=131 (a two-byte offset)
    0x3f,
    0x00,
    drop, // memory.size
    ...i32(1),
    ...i32(2),
    ...i32(1),
    0x1c,
    0x01,
    0x7f,
    drop, // select (result i32)
    ...[0xd0, 0x70, 0xd1, drop, 0xd2, 0x00, 0xd1, drop], // ref.null func, ref.is_null, ref.func 0
    ...i32(0x7f),
    0xc0,
    drop, // i32.extend8_s
    ...[0x43, 0, 0, 0, 0, 0xfc, 0x00, drop], // i32.trunc_sat_f32_s
    ...[0xfc, 16, 0x00, drop], // table.size
    ...[0x02, 0x40, ...i32(1), 0x0e, 0x01, 0x00, 0x00, 0x0b], // block { br_table [0] 0 }
    ...[0x02, 0x7f, ...i32(3), 0x0b, drop], // block (result i32)
    ...[...i32(1), 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b], // if nop else nop end
    ...i32(5), // loop parameter
    ...[0x03, 0x01, ...i32(1), 0x6b, 0x22, 0x00, 0x20, 0x00, 0x0d, 0x00, 0x0b, drop], // loop (type 1)
    ...i32(0),
    0x28,
    0x02,
    0x00, // i32.load (0x03030303)
    ...i32(0),
    0x11,
    0x00,
    0x00, // call_indirect type 0 table 0 -> one()
    0x6a, // i32.add
  ];
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f]), // () -> i32, (i32) -> i32
    ...section(3, [2, 0, 0]),
    ...section(4, [1, 0x70, 0x00, 0x01]), // funcref table, min 1
    ...section(5, [1, 0x00, 0x01]),
    ...section(7, [1, ...name("main"), 0x00, 0]),
    ...section(9, [1, 0x00, ...i32(0), 0x0b, 1, 1]), // table[0] = one
    ...section(10, [2, ...body(main, [1, 1, 0x7f]), ...body(i32(1))]),
  ]);
}
