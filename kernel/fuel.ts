/**
 * Deterministic fuel for reducer modules (KERNEL §3.6, choice (a)). JavaScript engines have no instruction
 * fuel, so {@linkcode instrumentFuel} rewrites a module once, at load time: it adds one mutable i32 global,
 * exported as `__aos_fuel`, and a check at every function entry and every `loop` header that decrements it
 * and traps (`unreachable`) once it drops below zero. The fuel a call consumes depends only on the
 * function entries and loop iterations it executes, so the same module and input run out of fuel at the
 * same point on every run and every machine.
 *
 * The host sets the budget before each call ({@linkcode setFuel}) and, after a trap, asks
 * {@linkcode outOfFuel} whether the trap was the fuel check (report `timeout`) or the guest's own (`trap`).
 *
 * @example Run a module with a budget of 1,000 units
 * ```ts
 * import { fuelLeft, instrumentFuel, setFuel } from "./fuel.ts";
 *
 * declare const wasm: Uint8Array;
 * const module = new WebAssembly.Module(instrumentFuel(wasm) as BufferSource);
 * const instance = new WebAssembly.Instance(module, {});
 * setFuel(instance, 1_000);
 * // ... call exports; a WebAssembly.RuntimeError with fuelLeft(instance) < 0 means "out of fuel".
 * console.log(1_000 - fuelLeft(instance), "units used");
 * ```
 *
 * @module
 */
import { InvariantError } from "../air/mod.ts";
import { ByteSink, sleb, uleb, wasmInvalid, WasmReader } from "./_wasm_bytes.ts";
import {
  countImports,
  functionBodies,
  HEADER,
  readSections,
  type Section,
  SECTION_CODE,
  SECTION_CUSTOM,
  SECTION_EXPORT,
  SECTION_FUNCTION,
  SECTION_GLOBAL,
  SECTION_IMPORT,
  SECTION_MEMORY,
  SECTION_RANK,
  SECTION_TYPE,
} from "./_wasm_sections.ts";
import { scanBody } from "./_wasm_code.ts";
import {
  functionSectionContent,
  helperCall,
  planWriteTracking,
  trackingGlobals,
  typeSectionContent,
  WRITE_HI_EXPORT,
  WRITE_LO_EXPORT,
  type WriteTracking,
} from "./_write_tracking.ts";

export { WRITE_HI_EXPORT, WRITE_LO_EXPORT };

/** Name of the exported fuel global added by {@linkcode instrumentFuel}. */
export const FUEL_EXPORT = "__aos_fuel";

/** Options of {@linkcode instrumentFuel}. */
export interface FuelOptions {
  /**
   * The fuel global's initial value, in [0, 2^31): the budget of code that runs before the host can set it
   * (a start function). Default 0: a module with a start function then traps at instantiation.
   */
  initialFuel?: number;
  /**
   * Existing globals to export as well, so a host can read and reset them (`ReducerHost` reuses an instance
   * this way). The caller picks names no export of the module already has; indices must be valid.
   */
  exportGlobals?: ReadonlyArray<{ name: string; index: number }>;
  /**
   * The most 64 KiB pages the module's memory may ever have. When set, a module with more than one memory,
   * an imported memory, a 64-bit memory, or a memory whose initial size or declared maximum exceeds it is
   * `AOS_WASM_INVALID`; a memory without a maximum gets this one, so `memory.grow` past it fails in the
   * guest (returns -1) instead of growing.
   */
  memoryPagesMax?: number;
  /**
   * Track the range of memory each call writes, for a host that resets reused instances: every memory write
   * goes through a helper that widens two exported globals ({@linkcode WRITE_LO_EXPORT},
   * {@linkcode WRITE_HI_EXPORT}) first. Fuel is unchanged. A module the rewrite cannot track exactly is
   * instrumented without it (the instance then exports neither global).
   */
  trackWrites?: boolean;
}

const EXPORT_KIND_GLOBAL = 0x03;
const I32 = 0x7f;

/**
 * Returns a copy of `wasm` with a deterministic fuel counter (see the module docs). Every section other than
 * global, export and code (and type and function, with `trackWrites`) is kept byte for byte, custom sections
 * included; the new globals, types and functions are appended after every existing one, so no index shifts.
 * Fails with `AOS_WASM_INVALID` on a malformed module, an instruction it does not know (SIMD, threads, GC,
 * exceptions), or an existing `__aos_fuel` export.
 */
export function instrumentFuel(wasm: Uint8Array, options: FuelOptions = {}): Uint8Array<ArrayBuffer> {
  const initialFuel = options.initialFuel ?? 0;
  if (!Number.isInteger(initialFuel) || initialFuel < 0 || initialFuel > 0x7fff_ffff) {
    throw new RangeError(`initialFuel "${initialFuel}" is not an integer in [0, 2^31)`);
  }
  const sections = readSections(wasm);
  const find = (id: number) => sections.find((s) => s.id === id);
  const importSection = find(SECTION_IMPORT);
  const globalSection = find(SECTION_GLOBAL);
  const exportSection = find(SECTION_EXPORT);
  const importCounts = importSection ? countImports(wasm, importSection) : [0, 0, 0, 0, 0];
  const importedGlobals = importCounts[3]!;
  if (options.memoryPagesMax !== undefined && importCounts[2]! > 0) {
    wasmInvalid("the module imports a memory: a reducer defines its one memory", importSection!.start);
  }
  const definedGlobals = globalSection ? new WasmReader(wasm, globalSection.contentStart).u32() : 0;
  const fuelIndex = importedGlobals + definedGlobals;
  const check = fuelCheck(fuelIndex);

  const out = new ByteSink();
  out.push(wasm.subarray(0, HEADER.length));
  let globalDone = false;
  let exportDone = false;
  const growCheck = options.memoryPagesMax === undefined
    ? undefined
    : failedGrowCheck(fuelIndex, fuelIndex + 1);
  const tracking = options.trackWrites === true
    ? planWriteTracking(wasm, sections, importCounts[0]!, fuelIndex + (growCheck === undefined ? 1 : 2))
    : undefined;
  const emitGlobal = () => {
    globalDone = true;
    out.push(withGlobal(wasm, globalSection, initialFuel, growCheck !== undefined, tracking));
  };
  const emitExport = () => {
    exportDone = true;
    const extra = [...options.exportGlobals ?? []];
    if (tracking !== undefined) {
      extra.push({ name: WRITE_LO_EXPORT, index: tracking.loIndex });
      extra.push({ name: WRITE_HI_EXPORT, index: tracking.hiIndex });
    }
    out.push(withExport(wasm, exportSection, fuelIndex, extra));
  };
  for (const section of sections) {
    const rank = SECTION_RANK.get(section.id) ?? 0;
    if (section.id !== SECTION_CUSTOM) {
      if (!globalDone && rank >= SECTION_RANK.get(SECTION_GLOBAL)!) emitGlobal();
      if (!exportDone && rank >= SECTION_RANK.get(SECTION_EXPORT)!) emitExport();
    }
    if (section.id === SECTION_GLOBAL || section.id === SECTION_EXPORT) continue;
    if (section.id === SECTION_CODE) out.push(instrumentCode(wasm, section, check, growCheck, tracking));
    else if (section.id === SECTION_TYPE && tracking !== undefined) {
      out.push(encodeSection(SECTION_TYPE, typeSectionContent(wasm, section)));
    } else if (section.id === SECTION_FUNCTION && tracking !== undefined) {
      out.push(encodeSection(SECTION_FUNCTION, functionSectionContent(wasm, section, tracking)));
    } else if (section.id === SECTION_MEMORY && options.memoryPagesMax !== undefined) {
      out.push(withMemoryLimit(wasm, section, options.memoryPagesMax));
    } else out.push(wasm.subarray(section.start, section.end));
  }
  if (!globalDone) emitGlobal();
  if (!exportDone) emitExport();
  return out.toBytes();
}

/** The fuel global of an instrumented instance. Throws `AOS_INVARIANT` when the module was not instrumented. */
export function fuelGlobal(instance: WebAssembly.Instance): WebAssembly.Global {
  const global = instance.exports[FUEL_EXPORT];
  if (!(global instanceof WebAssembly.Global)) {
    throw new InvariantError(`The instance exports no "${FUEL_EXPORT}" global: not instrumented`);
  }
  return global;
}

/** Gives an instance its budget for one call: the number of function entries plus loop iterations it may run. */
export function setFuel(instance: WebAssembly.Instance, units: number): void {
  if (!Number.isInteger(units) || units < 0 || units > 0x7fff_ffff) {
    throw new RangeError(`fuel "${units}" is not an integer in [0, 2^31)`);
  }
  fuelGlobal(instance).value = units;
}

/** The fuel left; negative (-1) once the module trapped for lack of fuel. */
export function fuelLeft(instance: WebAssembly.Instance): number {
  return fuelGlobal(instance).value as number;
}

/** True when the instance's last trap was the fuel check: the host reports `timeout`, not `trap`. */
export function outOfFuel(instance: WebAssembly.Instance): boolean {
  return fuelLeft(instance) < 0;
}

/** `global.get F; i32.const 1; i32.sub; global.set F; global.get F; i32.const 0; i32.lt_s; if unreachable end` */
function fuelCheck(index: number): Uint8Array {
  const f = uleb(index);
  return Uint8Array.from([
    ...[0x23, ...f, 0x41, 0x01, 0x6b, 0x24, ...f],
    ...[0x23, ...f, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b],
  ]);
}

function encodeSection(id: number, content: ByteSink): Uint8Array {
  const out = new ByteSink();
  out.push([id, ...uleb(content.length)]);
  out.push(content.toBytes());
  return out.toBytes();
}

/**
 * The fuel global's value after a `memory.grow` failed (past the memory's maximum, which `memoryPagesMax`
 * sets): the instrumented module stores it and traps, so the host reports the trap as a failed grow.
 */
export const GROW_FAILED_FUEL = -0x4000_0000;

/** True when the instance's last trap was a failed `memory.grow` (see {@linkcode GROW_FAILED_FUEL}). */
export function growFailed(fuel: WebAssembly.Global): boolean {
  return fuel.value === GROW_FAILED_FUEL;
}

/**
 * After `memory.grow` (its result on the stack): keep the result in the scratch global `S`, and when it is
 * -1 set the fuel global `F` to {@linkcode GROW_FAILED_FUEL} and trap. Leaves the result on the stack.
 * `global.set S; global.get S; global.get S; i32.const -1; i32.eq; if; i32.const G; global.set F; unreachable; end`
 */
function failedGrowCheck(fuelIndex: number, scratchIndex: number): Uint8Array {
  const f = uleb(fuelIndex);
  const s = uleb(scratchIndex);
  return Uint8Array.from([
    ...[0x24, ...s, 0x23, ...s, 0x23, ...s, 0x41, 0x7f, 0x46, 0x04, 0x40],
    ...[0x41, ...sleb(GROW_FAILED_FUEL), 0x24, ...f, 0x00, 0x0b],
  ]);
}

/**
 * The global section with one more entry, `(global (mut i32) (i32.const initialFuel))`, and with `scratch`
 * another, `(global (mut i32) (i32.const 0))`, for the failed-grow check.
 */
function withGlobal(
  wasm: Uint8Array,
  existing: Section | undefined,
  initialFuel: number,
  scratch: boolean,
  tracking: WriteTracking | undefined,
): Uint8Array {
  const content = new ByteSink();
  const reader = existing ? new WasmReader(wasm, existing.contentStart, existing.end) : undefined;
  content.push(uleb((reader?.u32() ?? 0) + (scratch ? 2 : 1) + (tracking === undefined ? 0 : 2)));
  if (existing && reader) content.push(wasm.subarray(reader.pos, existing.end));
  content.push([I32, 0x01, 0x41, ...sleb(initialFuel), 0x0b]);
  if (scratch) content.push([I32, 0x01, 0x41, 0x00, 0x0b]);
  if (tracking !== undefined) content.push(trackingGlobals());
  return encodeSection(SECTION_GLOBAL, content);
}

/** The export section with the extra global exports, then one more entry: the fuel global as `__aos_fuel`. */
function withExport(
  wasm: Uint8Array,
  existing: Section | undefined,
  fuelIndex: number,
  extra: ReadonlyArray<{ name: string; index: number }>,
): Uint8Array {
  const encoder = new TextEncoder();
  const name = encoder.encode(FUEL_EXPORT);
  const content = new ByteSink();
  let count = 0;
  if (existing) {
    const reader = new WasmReader(wasm, existing.contentStart, existing.end);
    count = reader.u32();
    const entriesStart = reader.pos;
    for (let i = 0; i < count; i++) {
      const at = reader.pos;
      const exported = reader.name();
      if (exported.length === name.length && exported.every((b, j) => b === name[j])) {
        wasmInvalid(`the module already exports "${FUEL_EXPORT}"`, at);
      }
      reader.byte();
      reader.u32();
    }
    if (!reader.done) wasmInvalid("bytes after the last export", reader.pos);
    content.push(uleb(count + extra.length + 1));
    content.push(wasm.subarray(entriesStart, existing.end));
  } else {
    content.push(uleb(extra.length + 1));
  }
  for (const global of extra) {
    const extraName = encoder.encode(global.name);
    content.push([...uleb(extraName.length), ...extraName, EXPORT_KIND_GLOBAL, ...uleb(global.index)]);
  }
  content.push([...uleb(name.length), ...name, EXPORT_KIND_GLOBAL, ...uleb(fuelIndex)]);
  return encodeSection(SECTION_EXPORT, content);
}

/** The memory section with its one memory's maximum set to at most `pagesMax` (see `memoryPagesMax`). */
function withMemoryLimit(wasm: Uint8Array, memory: Section, pagesMax: number): Uint8Array {
  const reader = new WasmReader(wasm, memory.contentStart, memory.end);
  const count = reader.u32();
  if (count > 1) wasmInvalid(`the module defines ${count} memories: a reducer has exactly one`, memory.start);
  const content = new ByteSink();
  content.push(uleb(count));
  if (count === 1) {
    const at = reader.pos;
    const flags = reader.byte();
    if ((flags & ~0x03) !== 0) wasmInvalid(`unsupported memory limits flags 0x${flags.toString(16)}`, at);
    const initial = reader.u32();
    const maximum = (flags & 0x01) !== 0 ? reader.u32() : undefined;
    if (initial > pagesMax) {
      wasmInvalid(
        `the memory's initial size of ${initial} pages exceeds reducerMemoryPagesMax ${pagesMax}`,
        at,
      );
    }
    if (maximum !== undefined && maximum > pagesMax) {
      wasmInvalid(`the memory's maximum of ${maximum} pages exceeds reducerMemoryPagesMax ${pagesMax}`, at);
    }
    content.push([flags | 0x01, ...uleb(initial), ...uleb(maximum ?? pagesMax)]);
  }
  if (!reader.done) wasmInvalid("bytes after the last memory", reader.pos);
  return encodeSection(SECTION_MEMORY, content);
}

/**
 * The code section with `check` after each body's locals and after each `loop` header, and `growCheck`
 * (when given) after each `memory.grow`.
 */
function instrumentCode(
  wasm: Uint8Array,
  code: Section,
  check: Uint8Array,
  growCheck: Uint8Array | undefined,
  tracking: WriteTracking | undefined,
): Uint8Array {
  const bodies = functionBodies(wasm, code);
  const content = new ByteSink();
  content.push(uleb(bodies.length + (tracking?.helpers.length ?? 0)));
  for (const body of bodies) {
    const { codeStart, loopHeaderEnds, growEnds, memoryWrites } = scanBody(wasm, body.start, body.end);
    // A cut inserts bytes at `at`, and with `to` replaces the instruction [at, to) by them.
    const cuts: Array<{ at: number; insert: Uint8Array; to?: number }> = [codeStart, ...loopHeaderEnds].map(
      (at) => ({ at, insert: check }),
    );
    if (growCheck !== undefined) cuts.push(...growEnds.map((at) => ({ at, insert: growCheck })));
    if (tracking !== undefined) {
      for (const write of memoryWrites) {
        const insert = helperCall(tracking, wasm.subarray(write.start, write.end));
        cuts.push({ at: write.start, insert, to: write.end });
      }
    }
    // Stable: at one offset, the fuel check after a loop header goes before the write it replaces.
    cuts.sort((a, b) => a.at - b.at);
    const size = body.end - body.start;
    content.push(
      uleb(size + cuts.reduce((n, cut) => n + cut.insert.length - ((cut.to ?? cut.at) - cut.at), 0)),
    );
    let from = body.start;
    for (const cut of cuts) {
      content.push(wasm.subarray(from, cut.at));
      content.push(cut.insert);
      from = cut.to ?? cut.at;
    }
    content.push(wasm.subarray(from, body.end));
  }
  for (const helper of tracking?.helpers ?? []) content.push(helper.body);
  return encodeSection(SECTION_CODE, content);
}
