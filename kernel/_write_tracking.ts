/**
 * Write tracking for reused reducer instances (private to `kernel/`, applied by `instrumentFuel`). A reused
 * instance is put back into its pristine state before every call; copying the whole memory image back (64 KiB
 * for a typical AssemblyScript reducer, 1.4–1.7 µs) was the largest single cost of a counter event, while a
 * call writes a few KiB. So every instruction that writes linear memory (the stores, `memory.fill`,
 * `memory.copy`, `memory.init`) is replaced by a call to a helper that widens two new globals, the lowest
 * address written and the end of the highest, before doing the very same write; the host then copies back
 * only that range (see `restore` in `_reducer_reuse.ts`).
 *
 * The range can only be too wide, never too narrow: a helper widens it before it writes; a write whose
 * address wraps past 2^32 traps, and a trapped instance is never reused; `memory.grow` discards the instance
 * as well. The helpers are appended after every existing function and type, so no index shifts, and they
 * have no fuel check: the fuel a call consumes is what it was without tracking. A module this cannot
 * rewrite exactly (type section with anything but plain function types, a memarg naming a memory, an offset
 * that is not a u32, an export already named like the globals) is left untracked: the host copies the whole
 * image back, as before.
 *
 * @module
 */
import { toHex } from "../air/mod.ts";
import { ByteSink, sleb, uleb, WasmReader } from "./_wasm_bytes.ts";
import { type MemoryWrite, scanBody } from "./_wasm_code.ts";
import {
  exportNames,
  functionBodies,
  type Section,
  SECTION_CODE,
  SECTION_EXPORT,
  SECTION_FUNCTION,
  SECTION_TYPE,
} from "./_wasm_sections.ts";

/** Export name of the lowest address written since the host last reset it (i32, read unsigned). */
export const WRITE_LO_EXPORT = "__aos_write_lo";
/** Export name of the end of the highest write since the host last reset it (i32, read unsigned). */
export const WRITE_HI_EXPORT = "__aos_write_hi";

/** What the rewrite of one module adds, and where. */
export interface WriteTracking {
  /** Global indices of the low and high marks (appended after the fuel globals). */
  loIndex: number;
  hiIndex: number;
  /** Types appended to the type section, in order; the first gets index `typeBase`. */
  typeBase: number;
  /** Helper functions in index order: the type index each has and its body (locals and code). */
  helpers: Array<{ type: number; body: Uint8Array }>;
  /** The helper index of each distinct write instruction (its bytes, as hex). */
  helperOf: Map<string, number>;
  /** The first helper's function index (imported + defined functions). */
  functionBase: number;
}

const TYPE_I32 = 0x7f;
const TYPE_I64 = 0x7e;
const TYPE_F32 = 0x7d;
const TYPE_F64 = 0x7c;
/** The appended types: `(i32, T) -> ()` for T = i32, i64, f32, f64, then `(i32, i32, i32) -> ()`. */
const HELPER_TYPES: readonly (readonly number[])[] = [
  [0x60, 0x02, TYPE_I32, TYPE_I32, 0x00],
  [0x60, 0x02, TYPE_I32, TYPE_I64, 0x00],
  [0x60, 0x02, TYPE_I32, TYPE_F32, 0x00],
  [0x60, 0x02, TYPE_I32, TYPE_F64, 0x00],
  [0x60, 0x03, TYPE_I32, TYPE_I32, TYPE_I32, 0x00],
];
const BULK_TYPE = 4;

/** Each store opcode's value type (index into the helper types) and width in bytes. */
const STORES: ReadonlyMap<number, { type: number; width: number }> = new Map([
  [0x36, { type: 0, width: 4 }], // i32.store
  [0x37, { type: 1, width: 8 }], // i64.store
  [0x38, { type: 2, width: 4 }], // f32.store
  [0x39, { type: 3, width: 8 }], // f64.store
  [0x3a, { type: 0, width: 1 }], // i32.store8
  [0x3b, { type: 0, width: 2 }], // i32.store16
  [0x3c, { type: 1, width: 1 }], // i64.store8
  [0x3d, { type: 1, width: 2 }], // i64.store16
  [0x3e, { type: 1, width: 4 }], // i64.store32
]);

/** One-byte value types a plain function type may use. */
const PLAIN_VALTYPES = new Set([TYPE_I32, TYPE_I64, TYPE_F32, TYPE_F64, 0x7b, 0x70, 0x6f]);

/**
 * Plans the rewrite of `wasm`: the helpers its writes need and the indices they get. Undefined when the
 * module cannot be tracked exactly (see the module docs); throws only what the decoder throws for a
 * malformed body.
 */
export function planWriteTracking(
  wasm: Uint8Array,
  sections: readonly Section[],
  importedFunctions: number,
  firstFreeGlobal: number,
): WriteTracking | undefined {
  const find = (id: number) => sections.find((s) => s.id === id);
  const typeSection = find(SECTION_TYPE);
  const functionSection = find(SECTION_FUNCTION);
  const code = find(SECTION_CODE);
  if (typeSection === undefined || functionSection === undefined || code === undefined) return undefined;
  const typeCount = plainTypeCount(wasm, typeSection);
  if (typeCount === undefined) return undefined;
  const exported = exportNames(wasm, find(SECTION_EXPORT));
  if (exported.includes(WRITE_LO_EXPORT) || exported.includes(WRITE_HI_EXPORT)) return undefined;
  const definedFunctions = new WasmReader(wasm, functionSection.contentStart, functionSection.end).u32();

  const loIndex = firstFreeGlobal;
  const hiIndex = firstFreeGlobal + 1;
  const tracking: WriteTracking = {
    loIndex,
    hiIndex,
    typeBase: typeCount,
    helpers: [],
    helperOf: new Map(),
    functionBase: importedFunctions + definedFunctions,
  };
  for (const body of functionBodies(wasm, code)) {
    for (const write of scanBody(wasm, body.start, body.end).memoryWrites) {
      if (write.multiMemory || write.offset < 0) return undefined;
      const key = toHex(wasm.subarray(write.start, write.end));
      if (tracking.helperOf.has(key)) continue;
      tracking.helperOf.set(key, tracking.helpers.length);
      tracking.helpers.push(helper(wasm, write, tracking));
    }
  }
  return tracking;
}

/** The type section's entries followed by the helper types (the first at `WriteTracking.typeBase`). */
export function typeSectionContent(wasm: Uint8Array, section: Section): ByteSink {
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  const content = new ByteSink();
  content.push(uleb(count + HELPER_TYPES.length));
  content.push(wasm.subarray(reader.pos, section.end));
  for (const type of HELPER_TYPES) content.push(type);
  return content;
}

/** The function section's entries followed by each helper's type index. */
export function functionSectionContent(
  wasm: Uint8Array,
  section: Section,
  tracking: WriteTracking,
): ByteSink {
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  const content = new ByteSink();
  content.push(uleb(count + tracking.helpers.length));
  content.push(wasm.subarray(reader.pos, section.end));
  for (const helper of tracking.helpers) content.push(uleb(tracking.typeBase + helper.type));
  return content;
}

/** The call that replaces the write instruction `bytes` (one of the planned ones). */
export function helperCall(tracking: WriteTracking, bytes: Uint8Array): Uint8Array {
  const helper = tracking.helperOf.get(toHex(bytes));
  if (helper === undefined) throw new RangeError("a memory write the plan did not see");
  return Uint8Array.from([0x10, ...uleb(tracking.functionBase + helper)]);
}

/** The two globals' initializers: the low mark at 2^32 - 1, the high at 0 (nothing written). */
export function trackingGlobals(): number[] {
  return [TYPE_I32, 0x01, 0x41, ...sleb(-1), 0x0b, TYPE_I32, 0x01, 0x41, 0x00, 0x0b];
}

/**
 * A helper's body. A store `(addr, value)`: start = addr + offset, end = start + width; lower the low mark
 * to start, raise the high mark to end (unsigned), then the store itself. A bulk write `(dest, x, n)`: the
 * same for [dest, dest + n), then the instruction itself.
 */
function helper(
  wasm: Uint8Array,
  write: MemoryWrite,
  tracking: WriteTracking,
): { type: number; body: Uint8Array } {
  const lo = uleb(tracking.loIndex);
  const hi = uleb(tracking.hiIndex);
  const instruction = wasm.subarray(write.start, write.end);
  const store = STORES.get(write.opcode);
  const code: number[] = [];
  const widen = (start: number[], end: number[], scratch: number) => {
    // start; global.get lo; i32.lt_u; if; start; global.set lo; end
    code.push(...start, 0x23, ...lo, 0x49, 0x04, 0x40, ...start, 0x24, ...lo, 0x0b);
    // end; local.tee scratch; global.get hi; i32.gt_u; if; local.get scratch; global.set hi; end
    code.push(...end, 0x22, scratch, 0x23, ...hi, 0x4b, 0x04, 0x40, 0x20, scratch, 0x24, ...hi, 0x0b);
  };
  if (store !== undefined) {
    // Locals: 0 addr, 1 value, 2 start (i32).
    code.push(0x20, 0x00, 0x41, ...sleb(write.offset | 0), 0x6a, 0x21, 0x02);
    widen([0x20, 0x02], [0x20, 0x02, 0x41, ...sleb(store.width), 0x6a], 0x02);
    code.push(0x20, 0x00, 0x20, 0x01, ...instruction, 0x0b);
    return { type: store.type, body: body([0x01, 0x01, TYPE_I32], code) };
  }
  // Locals: 0 dest, 1 value or source, 2 length, 3 end (i32).
  widen([0x20, 0x00], [0x20, 0x00, 0x20, 0x02, 0x6a], 0x03);
  code.push(0x20, 0x00, 0x20, 0x01, 0x20, 0x02, ...instruction, 0x0b);
  return { type: BULK_TYPE, body: body([0x01, 0x01, TYPE_I32], code) };
}

function body(locals: number[], code: number[]): Uint8Array {
  return Uint8Array.from([...uleb(locals.length + code.length), ...locals, ...code]);
}

/** How many types the type section defines, when every one is a plain function type; else undefined. */
function plainTypeCount(wasm: Uint8Array, section: Section): number | undefined {
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) return undefined;
    for (let list = 0; list < 2; list++) {
      const n = reader.u32();
      for (let j = 0; j < n; j++) if (!PLAIN_VALTYPES.has(reader.byte())) return undefined;
    }
  }
  return reader.done ? count : undefined;
}
