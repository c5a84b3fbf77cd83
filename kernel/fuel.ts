/**
 * Deterministic fuel for reducer modules (KERNEL §3.6, choice (a)). JavaScript engines have no instruction
 * fuel, so {@linkcode instrumentFuel} rewrites a module once, at load time: it adds one mutable i32 global,
 * exported as `__aos_fuel`, and a check at every function entry and every `loop` header that decrements it
 * and traps (`unreachable`) once it drops below zero. The fuel a call consumes depends only on the
 * function entries and loop iterations it executes, so the same module and input run out of fuel at the
 * same point on every run and every machine.
 *
 * The host sets the budget on each fresh instance ({@linkcode setFuel}) and, after a trap, asks
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
}

const SECTION_CUSTOM = 0;
const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_CODE = 10;
/** Position of each known section id in the required order (tag 13 and data count 12 are out of id order). */
const SECTION_RANK: ReadonlyMap<number, number> = new Map([
  [1, 1], // type
  [2, 2], // import
  [3, 3], // function
  [4, 4], // table
  [5, 5], // memory
  [13, 6], // tag
  [6, 7], // global
  [7, 8], // export
  [8, 9], // start
  [9, 10], // element
  [12, 11], // data count
  [10, 12], // code
  [11, 13], // data
]);
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const EXPORT_KIND_GLOBAL = 0x03;
const I32 = 0x7f;

interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  contentStart: number;
  end: number;
}

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
  const importedGlobals = importSection ? countGlobalImports(wasm, importSection) : 0;
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
    out.push(withExport(wasm, exportSection, fuelIndex));
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

/** Gives a fresh instance its budget: the number of function entries plus loop iterations it may run. */
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

function readSections(wasm: Uint8Array): Section[] {
  for (const [i, byte] of HEADER.entries()) {
    if (wasm[i] !== byte) wasmInvalid("not a WebAssembly version 1 module", i);
  }
  const reader = new WasmReader(wasm, HEADER.length);
  const sections: Section[] = [];
  let lastRank = 0;
  while (!reader.done) {
    const start = reader.pos;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.pos;
    reader.skip(size);
    if (id !== SECTION_CUSTOM) {
      const rank = SECTION_RANK.get(id);
      if (rank === undefined) wasmInvalid(`unknown section id ${id}`, start);
      if (rank <= lastRank) wasmInvalid(`section id ${id} is duplicated or out of order`, start);
      lastRank = rank;
    }
    sections.push({ id, start, contentStart, end: reader.pos });
  }
  return sections;
}

function countGlobalImports(wasm: Uint8Array, section: Section): number {
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  let globals = 0;
  for (let i = 0; i < count; i++) {
    reader.name();
    reader.name();
    const at = reader.pos;
    const kind = reader.byte();
    if (kind === 0x00) reader.u32(); // function: type index
    else if (kind === 0x01) { // table: reference type, limits
      reader.byte();
      limits(reader);
    } else if (kind === 0x02) limits(reader); // memory
    else if (kind === 0x03) { // global: value type, mutability
      reader.byte();
      reader.byte();
      globals++;
    } else if (kind === 0x04) { // tag: attribute, type index
      reader.byte();
      reader.u32();
    } else wasmInvalid(`unknown import kind ${kind}`, at);
  }
  return globals;
}

function limits(reader: WasmReader): void {
  const at = reader.pos;
  const flags = reader.byte();
  if (flags > 0x07) wasmInvalid(`unsupported limits flags 0x${flags.toString(16)}`, at);
  reader.skipLeb(10);
  if ((flags & 0x01) !== 0) reader.skipLeb(10);
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

/** The export section with one more entry: the fuel global as `__aos_fuel`. */
function withExport(wasm: Uint8Array, existing: Section | undefined, fuelIndex: number): Uint8Array {
  const name = new TextEncoder().encode(FUEL_EXPORT);
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
    content.push(uleb(count + 1));
    content.push(wasm.subarray(entriesStart, existing.end));
  } else {
    content.push(uleb(1));
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
