/**
 * Section-level reading of a WebAssembly module for the load-time rewriters (private to `kernel/`): the
 * section list in order, the import section's shape, and where the code section's function bodies are.
 *
 * @module
 */
import { wasmInvalid, WasmReader } from "./_wasm_bytes.ts";

export const SECTION_CUSTOM = 0;
export const SECTION_TYPE = 1;
export const SECTION_IMPORT = 2;
export const SECTION_FUNCTION = 3;
export const SECTION_MEMORY = 5;
export const SECTION_GLOBAL = 6;
export const SECTION_EXPORT = 7;
export const SECTION_CODE = 10;
/** Position of each known section id in the required order (tag 13 and data count 12 are out of id order). */
export const SECTION_RANK: ReadonlyMap<number, number> = new Map([
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
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** One section of a module, located by byte offsets. */
export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  contentStart: number;
  end: number;
}

/** The sections of a module in file order; fails with `AOS_WASM_INVALID` on a bad header or order. */
export function readSections(wasm: Uint8Array): Section[] {
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

/** How many imports of each kind (0 function, 1 table, 2 memory, 3 global, 4 tag) the import section holds. */
export function countImports(wasm: Uint8Array, section: Section): number[] {
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  const kinds = [0, 0, 0, 0, 0];
  for (let i = 0; i < count; i++) {
    reader.name();
    reader.name();
    const at = reader.pos;
    const kind = reader.byte();
    if (kind === 0x00) reader.u32(); // function: type index
    else if (kind === 0x01) { // table: reference type, limits
      reader.byte();
      readLimits(reader);
    } else if (kind === 0x02) readLimits(reader); // memory
    else if (kind === 0x03) { // global: value type, mutability
      reader.byte();
      reader.byte();
    } else if (kind === 0x04) { // tag: attribute, type index
      reader.byte();
      reader.u32();
    } else wasmInvalid(`unknown import kind ${kind}`, at);
    kinds[kind]!++;
  }
  return kinds;
}

/** Reads table or memory limits; returns the flags byte (0x01 has a maximum, 0x02 shared, 0x04 64-bit). */
export function readLimits(reader: WasmReader): number {
  const at = reader.pos;
  const flags = reader.byte();
  if (flags > 0x07) wasmInvalid(`unsupported limits flags 0x${flags.toString(16)}`, at);
  reader.skipLeb(10);
  if ((flags & 0x01) !== 0) reader.skipLeb(10);
  return flags;
}

/** Where one function body is: `[start, end)`, its locals and instructions. */
export interface FunctionBody {
  start: number;
  end: number;
}

/**
 * The function bodies of the code section, in order; fails with `AOS_WASM_INVALID` on a truncated body or
 * bytes after the last one.
 */
export function functionBodies(wasm: Uint8Array, code: Section): FunctionBody[] {
  const reader = new WasmReader(wasm, code.contentStart, code.end);
  const count = reader.u32();
  const bodies: FunctionBody[] = [];
  for (let i = 0; i < count; i++) {
    const size = reader.u32();
    const start = reader.pos;
    reader.skip(size);
    bodies.push({ start, end: reader.pos });
  }
  if (!reader.done) wasmInvalid("bytes after the last function body", reader.pos);
  return bodies;
}

/** The names the export section exports, in order (none without one). */
export function exportNames(wasm: Uint8Array, section: Section | undefined): string[] {
  if (!section) return [];
  const reader = new WasmReader(wasm, section.contentStart, section.end);
  const count = reader.u32();
  const decoder = new TextDecoder();
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(decoder.decode(reader.name()));
    reader.byte();
    reader.u32();
  }
  return names;
}
