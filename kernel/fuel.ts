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
  HEADER,
  readSections,
  type Section,
  SECTION_CODE,
  SECTION_CUSTOM,
  SECTION_EXPORT,
  SECTION_GLOBAL,
  SECTION_IMPORT,
  SECTION_RANK,
} from "./_wasm_sections.ts";
import { scanBody } from "./_wasm_code.ts";

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
}

const EXPORT_KIND_GLOBAL = 0x03;
const I32 = 0x7f;

/**
 * Returns a copy of `wasm` with a deterministic fuel counter (see the module docs). Every section other than
 * global, export and code is kept byte for byte, custom sections included; the new global is appended after
 * every existing one, so no global index shifts. Fails with `AOS_WASM_INVALID` on a malformed module, an
 * instruction it does not know (SIMD, threads, GC, exceptions), or an existing `__aos_fuel` export.
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
  const importedGlobals = importSection ? countImports(wasm, importSection)[3]! : 0;
  const definedGlobals = globalSection ? new WasmReader(wasm, globalSection.contentStart).u32() : 0;
  const fuelIndex = importedGlobals + definedGlobals;
  const check = fuelCheck(fuelIndex);

  const out = new ByteSink();
  out.push(wasm.subarray(0, HEADER.length));
  let globalDone = false;
  let exportDone = false;
  const emitGlobal = () => {
    globalDone = true;
    out.push(withGlobal(wasm, globalSection, initialFuel));
  };
  const emitExport = () => {
    exportDone = true;
    out.push(withExport(wasm, exportSection, fuelIndex, options.exportGlobals ?? []));
  };
  for (const section of sections) {
    const rank = SECTION_RANK.get(section.id) ?? 0;
    if (section.id !== SECTION_CUSTOM) {
      if (!globalDone && rank >= SECTION_RANK.get(SECTION_GLOBAL)!) emitGlobal();
      if (!exportDone && rank >= SECTION_RANK.get(SECTION_EXPORT)!) emitExport();
    }
    if (section.id === SECTION_GLOBAL || section.id === SECTION_EXPORT) continue;
    if (section.id === SECTION_CODE) out.push(instrumentCode(wasm, section, check));
    else out.push(wasm.subarray(section.start, section.end));
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

function section(id: number, content: ByteSink): Uint8Array {
  const out = new ByteSink();
  out.push([id, ...uleb(content.length)]);
  out.push(content.toBytes());
  return out.toBytes();
}

/** The global section with one more entry: `(global (mut i32) (i32.const initialFuel))`. */
function withGlobal(wasm: Uint8Array, existing: Section | undefined, initialFuel: number): Uint8Array {
  const content = new ByteSink();
  const reader = existing ? new WasmReader(wasm, existing.contentStart, existing.end) : undefined;
  content.push(uleb((reader?.u32() ?? 0) + 1));
  if (existing && reader) content.push(wasm.subarray(reader.pos, existing.end));
  content.push([I32, 0x01, 0x41, ...sleb(initialFuel), 0x0b]);
  return section(SECTION_GLOBAL, content);
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
  return section(SECTION_EXPORT, content);
}

/** The code section with `check` after each body's locals and after each `loop` header. */
function instrumentCode(wasm: Uint8Array, code: Section, check: Uint8Array): Uint8Array {
  const reader = new WasmReader(wasm, code.contentStart, code.end);
  const count = reader.u32();
  const content = new ByteSink();
  content.push(wasm.subarray(code.contentStart, reader.pos));
  for (let i = 0; i < count; i++) {
    const size = reader.u32();
    const bodyStart = reader.pos;
    reader.skip(size);
    const { codeStart, loopHeaderEnds } = scanBody(wasm, bodyStart, reader.pos);
    const cuts = [codeStart, ...loopHeaderEnds];
    content.push(uleb(size + check.length * cuts.length));
    let from = bodyStart;
    for (const cut of cuts) {
      content.push(wasm.subarray(from, cut));
      content.push(check);
      from = cut;
    }
    content.push(wasm.subarray(from, reader.pos));
  }
  if (!reader.done) wasmInvalid("bytes after the last function body", reader.pos);
  return section(SECTION_CODE, content);
}
