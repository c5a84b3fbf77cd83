/**
 * Instruction decoder for the fuel rewriter (private to `kernel/`): walks one function body, decoding every
 * instruction with its immediates, and reports where the instructions start (after the locals) and where
 * each `loop` header ends. Supported: the MVP, sign extension, non-trapping float-to-int and bulk memory
 * (0xFC 0–17), reference types, typed `select`, multi-value block types, tail calls and multi-memory memargs.
 * Anything else (SIMD 0xFD, threads 0xFE, GC 0xFB, exception handling, typed function references) fails
 * with `AOS_WASM_INVALID` instead of being guessed at.
 *
 * @module
 */
import { wasmInvalid, WasmReader } from "./_wasm_bytes.ts";

/** How an opcode's immediates are encoded. 0 = unknown opcode. */
const Imm = {
  Unknown: 0,
  None: 1,
  BlockType: 2,
  U32: 3,
  U32x2: 4,
  BrTable: 5,
  MemArg: 6,
  I32: 7,
  I64: 8,
  F32: 9,
  F64: 10,
  HeapType: 11,
  SelectTypes: 12,
  PrefixFC: 13,
} as const;
type Imm = (typeof Imm)[keyof typeof Imm];

const OPCODES = new Uint8Array(256);
function define(kind: Imm, ...opcodes: number[]): void {
  for (const opcode of opcodes) OPCODES[opcode] = kind;
}
function defineRange(kind: Imm, first: number, last: number): void {
  for (let opcode = first; opcode <= last; opcode++) OPCODES[opcode] = kind;
}
define(Imm.None, 0x00, 0x01, 0x05, 0x0b, 0x0f, 0x1a, 0x1b, 0xd1);
define(Imm.BlockType, 0x02, 0x03, 0x04); // block, loop, if
define(Imm.U32, 0x0c, 0x0d, 0x10, 0x12, 0xd2); // br, br_if, call, return_call, ref.func
define(Imm.U32x2, 0x11, 0x13); // call_indirect, return_call_indirect: type index, table index
define(Imm.BrTable, 0x0e);
define(Imm.SelectTypes, 0x1c);
defineRange(Imm.U32, 0x20, 0x26); // local.get/set/tee, global.get/set, table.get/set
defineRange(Imm.MemArg, 0x28, 0x3e); // loads and stores
define(Imm.U32, 0x3f, 0x40); // memory.size, memory.grow: memory index
define(Imm.I32, 0x41);
define(Imm.I64, 0x42);
define(Imm.F32, 0x43);
define(Imm.F64, 0x44);
defineRange(Imm.None, 0x45, 0xc4); // numeric MVP (0x45–0xBF) and sign extension (0xC0–0xC4)
define(Imm.HeapType, 0xd0); // ref.null
define(Imm.PrefixFC, 0xfc);

/** Immediates of the 0xFC sub-opcodes 0–17 (saturating truncation, bulk memory, table ops). */
const FC_OPCODES: readonly Imm[] = [
  ...Array<Imm>(8).fill(Imm.None), // 0–7: i32/i64.trunc_sat_f32/f64_s/u
  Imm.U32x2, // 8 memory.init: data index, memory index
  Imm.U32, // 9 data.drop
  Imm.U32x2, // 10 memory.copy: memory, memory
  Imm.U32, // 11 memory.fill: memory
  Imm.U32x2, // 12 table.init: element index, table index
  Imm.U32, // 13 elem.drop
  Imm.U32x2, // 14 table.copy: table, table
  Imm.U32, // 15 table.grow
  Imm.U32, // 16 table.size
  Imm.U32, // 17 table.fill
];

const PREFIX_NAMES: ReadonlyMap<number, string> = new Map([
  [0xfb, "GC (0xFB prefix)"],
  [0xfd, "SIMD (0xFD prefix)"],
  [0xfe, "threads (0xFE prefix)"],
  [0x06, "exception handling (try)"],
  [0x1f, "exception handling (try_table)"],
  [0x14, "typed function references (call_ref)"],
]);

/** Value types encoded in one byte: i32, i64, f32, f64, v128, funcref, externref. */
const SIMPLE_VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

function valType(reader: WasmReader): void {
  const at = reader.pos;
  const type = reader.byte();
  if (!SIMPLE_VALTYPES.has(type)) wasmInvalid(`unsupported value type 0x${hex(type)}`, at);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0").toUpperCase();
}

/**
 * Instructions that change instance state other than memory and globals: tables (set, grow, fill, copy,
 * init) and dropped segments. 0xFC sub-opcode, or 0x26 for `table.set`.
 */
const TABLE_OR_SEGMENT_OPS: ReadonlyMap<number, string> = new Map([
  [9, "data.drop"],
  [12, "table.init"],
  [13, "elem.drop"],
  [14, "table.copy"],
  [15, "table.grow"],
  [17, "table.fill"],
]);

/** Where one body's instructions start and where each `loop` header (opcode + block type) ends. */
export interface BodyLayout {
  /** Offset of the first instruction, right after the locals declaration. */
  codeStart: number;
  /** Offsets right after each `loop` opcode and its block type, in order. */
  loopHeaderEnds: number[];
  /** The first instruction that mutates a table or drops a segment (e.g. "table.set"), if any. */
  tableOrSegmentOp: string | undefined;
  /** Offsets right after each `memory.grow` and its immediate, in order. */
  growEnds: number[];
  /** Every instruction that writes linear memory (stores, `memory.fill`, `.copy`, `.init`), in order. */
  memoryWrites: MemoryWrite[];
}

/**
 * An instruction that writes linear memory, `bytes[start, end)`: a store (opcode 0x36–0x3E) with its memarg's
 * offset (-1 when not a u32), or one of `memory.init`, `memory.copy`, `memory.fill` (0xFC 8, 10, 11;
 * `opcode` is the sub-opcode + 0xFC00, offset 0). `multiMemory` is set when its memarg names a memory.
 */
export interface MemoryWrite {
  start: number;
  end: number;
  opcode: number;
  offset: number;
  multiMemory: boolean;
}

/**
 * Decodes the function body `bytes[start, end)` (locals, then instructions up to the final `end`).
 * Fails with `AOS_WASM_INVALID` on an unknown opcode, a truncated immediate, or bytes after the final `end`.
 */
export function scanBody(bytes: Uint8Array, start: number, end: number): BodyLayout {
  const reader = new WasmReader(bytes, start, end);
  const groups = reader.u32();
  for (let i = 0; i < groups; i++) {
    reader.u32();
    valType(reader);
  }
  const codeStart = reader.pos;
  const loopHeaderEnds: number[] = [];
  const growEnds: number[] = [];
  const memoryWrites: MemoryWrite[] = [];
  let depth = 0; // open blocks, not counting the function's own
  let tableOrSegmentOp: string | undefined;
  for (;;) {
    const at = reader.pos;
    const opcode = reader.byte();
    const kind = OPCODES[opcode] as Imm;
    switch (kind) {
      case Imm.Unknown:
        return wasmInvalid(`unsupported instruction ${PREFIX_NAMES.get(opcode) ?? `0x${hex(opcode)}`}`, at);
      case Imm.None:
        if (opcode === 0x0b) {
          if (depth === 0) {
            if (!reader.done) wasmInvalid("bytes after the end of a function body", reader.pos);
            return { codeStart, loopHeaderEnds, tableOrSegmentOp, growEnds, memoryWrites };
          }
          depth--;
        }
        break;
      case Imm.BlockType:
        blockType(reader);
        depth++;
        if (opcode === 0x03) loopHeaderEnds.push(reader.pos);
        break;
      case Imm.PrefixFC: {
        const sub = reader.u32();
        const subKind = FC_OPCODES[sub];
        if (subKind === undefined) wasmInvalid(`unsupported instruction 0xFC ${sub}`, at);
        tableOrSegmentOp ??= TABLE_OR_SEGMENT_OPS.get(sub);
        immediates(reader, subKind);
        if (sub === 8 || sub === 10 || sub === 11) {
          memoryWrites.push({
            start: at,
            end: reader.pos,
            opcode: 0xfc00 + sub,
            offset: 0,
            multiMemory: false,
          });
        }
        break;
      }
      case Imm.MemArg:
        if (opcode >= 0x36) {
          const align = reader.u32();
          const multiMemory = (align & 0x40) !== 0;
          if (multiMemory) reader.u32();
          const offsetAt = reader.pos;
          reader.skipLeb(10);
          const offset = u32Value(bytes, offsetAt, reader.pos);
          memoryWrites.push({ start: at, end: reader.pos, opcode, offset, multiMemory });
        } else {
          immediates(reader, kind);
        }
        break;
      default:
        if (opcode === 0x26) tableOrSegmentOp ??= "table.set";
        immediates(reader, kind);
        if (opcode === 0x40) growEnds.push(reader.pos);
    }
  }
}

/**
 * The value of the LEB128 number `bytes[start, end)` when it is a u32, else -1 (a memory64 offset, or one the
 * engine refuses when it compiles the module).
 */
function u32Value(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value += (bytes[i]! & 0x7f) * 2 ** (7 * (i - start));
  return end - start <= 5 && value <= 0xffff_ffff ? value : -1;
}

/** A block type: 0x40 (empty), a one-byte value type, or a type index as a signed 33-bit LEB128. */
function blockType(reader: WasmReader): void {
  const at = reader.pos;
  const first = reader.byte();
  if (first === 0x40 || SIMPLE_VALTYPES.has(first)) return;
  if ((first & 0x40) !== 0 && (first & 0x80) === 0) wasmInvalid(`unsupported block type 0x${hex(first)}`, at);
  reader.pos = at;
  reader.skipLeb(5); // non-negative type index
}

function immediates(reader: WasmReader, kind: Imm): void {
  switch (kind) {
    case Imm.None:
      return;
    case Imm.U32:
      reader.u32();
      return;
    case Imm.U32x2:
      reader.u32();
      reader.u32();
      return;
    case Imm.BrTable: {
      const count = reader.u32();
      for (let i = 0; i <= count; i++) reader.u32(); // the labels, then the default
      return;
    }
    case Imm.MemArg: {
      const align = reader.u32();
      if ((align & 0x40) !== 0) reader.u32(); // multi-memory: an explicit memory index follows
      reader.skipLeb(10); // offset (u64 with memory64)
      return;
    }
    case Imm.I32:
      reader.skipLeb(5);
      return;
    case Imm.I64:
      reader.skipLeb(10);
      return;
    case Imm.F32:
      reader.skip(4);
      return;
    case Imm.F64:
      reader.skip(8);
      return;
    case Imm.HeapType:
      reader.skipLeb(5); // s33: an abstract heap type byte or a type index
      return;
    case Imm.SelectTypes: {
      const count = reader.u32();
      for (let i = 0; i < count; i++) valType(reader);
      return;
    }
    default:
      wasmInvalid(`unexpected immediate kind ${kind}`, reader.pos);
  }
}
