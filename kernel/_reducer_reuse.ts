/**
 * Instance reuse for the reducer host (private to `kernel/`). A reused instance must behave exactly like a
 * fresh one, so at load time {@linkcode analyzeReuse} decides whether the host can reset all of an
 * instance's state from JavaScript: the one memory, and every mutable global once it is exported (the host
 * asks `instrumentFuel` to export them under the names chosen here). Modules with state JavaScript cannot
 * reset (several memories, tables mutated by `table.set`/`table.grow`/..., dropped data or element segments,
 * mutable globals of reference or vector type, initializers this decoder does not know) get fresh instances.
 *
 * After the first instantiation the host takes a {@linkcode Pristine} image (memory bytes, data segments and
 * start function effects included, and the mutable globals' values) and {@linkcode restore}s it before every
 * later call on the same instance.
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { WasmReader } from "./_wasm_bytes.ts";
import { scanBody } from "./_wasm_code.ts";
import {
  countImports,
  exportNames,
  functionBodies,
  readLimits,
  readSections,
  SECTION_CODE,
  SECTION_EXPORT,
  SECTION_GLOBAL,
  SECTION_IMPORT,
  SECTION_MEMORY,
} from "./_wasm_sections.ts";

/** Numeric value types: JavaScript reads and writes them exactly (NaN payloads aside, see {@linkcode capture}). */
const NUMERIC_TYPES: ReadonlyMap<number, GlobalType> = new Map([
  [0x7f, "i32"],
  [0x7e, "i64"],
  [0x7d, "f32"],
  [0x7c, "f64"],
]);

/** The value type of a mutable global the host can reset. */
export type GlobalType = "i32" | "i64" | "f32" | "f64";

/** A mutable global to export for reuse: its index, the export name chosen for it, its type. */
export interface ReusableGlobal {
  index: number;
  name: string;
  type: GlobalType;
}

/** Whether a module's instances can be reused, and the globals to export if so. */
export type ReuseAnalysis =
  | { reusable: true; globals: ReusableGlobal[] }
  | { reusable: false; reason: string };

/** The state of an instance right after instantiation. */
export interface Pristine {
  /** The whole linear memory. */
  image: Uint8Array;
  /** The mutable globals' values, in the order of the analysis. */
  globals: ReadonlyArray<number | bigint>;
}

/**
 * Decides whether instances of `wasm` (the module as uploaded, before fuel instrumentation) can be reused.
 * Never throws for a malformed module: that is "not reusable", and the instrumentation reports the error.
 */
export function analyzeReuse(wasm: Uint8Array): ReuseAnalysis {
  try {
    return analyze(wasm);
  } catch (cause) {
    if (cause instanceof AosError && cause.code === "AOS_WASM_INVALID") {
      return { reusable: false, reason: cause.message };
    }
    throw cause;
  }
}

function analyze(wasm: Uint8Array): ReuseAnalysis {
  const sections = readSections(wasm);
  const find = (id: number) => sections.find((s) => s.id === id);
  const imports = find(SECTION_IMPORT);
  if (imports && countImports(wasm, imports).some((count, kind) => kind !== 0 && count > 0)) {
    return { reusable: false, reason: "imports something other than functions" };
  }
  const memory = find(SECTION_MEMORY);
  if (!memory) return { reusable: false, reason: "defines no memory" };
  const memoryReader = new WasmReader(wasm, memory.contentStart, memory.end);
  if (memoryReader.u32() !== 1) return { reusable: false, reason: "defines more than one memory" };
  if ((readLimits(memoryReader) & 0x02) !== 0) return { reusable: false, reason: "has a shared memory" };

  const code = find(SECTION_CODE);
  for (const body of code === undefined ? [] : functionBodies(wasm, code)) {
    const op = scanBody(wasm, body.start, body.end).tableOrSegmentOp;
    if (op !== undefined) return { reusable: false, reason: `uses ${op}` };
  }

  const mutable: Array<{ index: number; type: GlobalType }> = [];
  const globals = find(SECTION_GLOBAL);
  if (globals) {
    const reader = new WasmReader(wasm, globals.contentStart, globals.end);
    const count = reader.u32();
    for (let index = 0; index < count; index++) {
      const typeByte = reader.byte();
      if (typeByte === 0x63 || typeByte === 0x64) reader.skipLeb(5); // (ref null? heaptype)
      const isMutable = reader.byte() === 0x01;
      if (!skipConstExpr(reader)) {
        return { reusable: false, reason: `global ${index} has an unknown initializer` };
      }
      if (!isMutable) continue;
      const type = NUMERIC_TYPES.get(typeByte);
      if (type === undefined) return { reusable: false, reason: `mutable global ${index} is not numeric` };
      mutable.push({ index, type });
    }
  }

  const names = exportNames(wasm, find(SECTION_EXPORT));
  let prefix = "__aos_global_";
  while (names.some((name) => name.startsWith(prefix))) prefix = `_${prefix}`;
  return { reusable: true, globals: mutable.map((g) => ({ ...g, name: `${prefix}${g.index}` })) };
}

/** Skips a constant expression up to its `end`; false on an instruction it does not know. */
function skipConstExpr(reader: WasmReader): boolean {
  for (;;) {
    const opcode = reader.byte();
    if (opcode === 0x0b) return true;
    if (opcode === 0x41 || opcode === 0xd0) reader.skipLeb(5); // i32.const, ref.null
    else if (opcode === 0x42) reader.skipLeb(10); // i64.const
    else if (opcode === 0x43) reader.skip(4); // f32.const
    else if (opcode === 0x44) reader.skip(8); // f64.const
    else if (opcode === 0x23 || opcode === 0xd2) reader.u32(); // global.get, ref.func
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(opcode)) return false; // extended-const add/sub/mul
  }
}

/**
 * Largest memory worth resetting: copying a bigger image before every call costs more than a new instance
 * (which maps zeroed pages lazily).
 */
export const REUSE_MEMORY_BYTES_MAX = 16 * 65_536;

/**
 * The state of a just-instantiated instance, or undefined when it should get fresh instances instead: its
 * memory is above {@linkcode REUSE_MEMORY_BYTES_MAX}, or a value would not survive the trip through
 * JavaScript (a NaN float global may lose its payload bits).
 */
export function capture(
  memory: WebAssembly.Memory,
  globals: readonly WebAssembly.Global[],
  types: readonly GlobalType[],
): Pristine | undefined {
  if (memory.buffer.byteLength > REUSE_MEMORY_BYTES_MAX) return undefined;
  const values: Array<number | bigint> = [];
  for (const [i, global] of globals.entries()) {
    const value = global.value as number | bigint;
    if ((types[i] === "f32" || types[i] === "f64") && Number.isNaN(value)) return undefined;
    values.push(value);
  }
  return { image: new Uint8Array(memory.buffer).slice(), globals: values };
}

/**
 * Puts an instance whose memory has not grown back into its {@linkcode Pristine} state; `memory` is a view of
 * its whole memory. With `written` (the range every write since it was pristine fell in, from write tracking)
 * only that range is copied back.
 */
export function restore(
  memory: Uint8Array,
  globals: readonly WebAssembly.Global[],
  pristine: Pristine,
  written?: { lo: number; hi: number },
): void {
  if (written === undefined) {
    memory.set(pristine.image);
  } else {
    // Only what was written since the instance was pristine (a module with write tracking).
    const end = Math.min(written.hi, pristine.image.length);
    if (written.lo < end) memory.set(pristine.image.subarray(written.lo, end), written.lo);
  }
  const values = pristine.globals;
  for (let i = 0; i < globals.length; i++) globals[i]!.value = values[i]!;
}
