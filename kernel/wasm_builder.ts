/**
 * A tiny WebAssembly binary assembler for tests: just enough of the core format (types, function imports,
 * functions, one memory, i32 globals, exports, active data segments) and of the i32 instruction set to
 * hand-write small reducer modules, so tests need no compiler. Blocks may be labelled, and branches name
 * their target by label or by relative depth.
 *
 * The builder checks only what it cannot leave to the engine (index spaces, balanced blocks, LEB128
 * ranges); `new WebAssembly.Module(bytes)` does the real validation.
 *
 * @example A function that adds two i32s
 * ```ts
 * import { Code, I32, WasmModuleBuilder } from "./wasm_builder.ts";
 *
 * const builder = new WasmModuleBuilder();
 * const add = builder.addFunction(
 *   { params: [I32, I32], results: [I32] },
 *   new Code().localGet(0).localGet(1).i32Add(),
 * );
 * builder.exportFunction("add", add);
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(builder.build()));
 * const sum = (instance.exports.add as (a: number, b: number) => number)(2, 3);
 * if (sum !== 5) throw new Error("expected 5");
 * ```
 *
 * @module
 */

/** The i32 value type. */
export const I32 = 0x7f;
/** The i64 value type (accepted in signatures; this assembler emits no i64 instructions). */
export const I64 = 0x7e;
/** A value type byte. */
export type ValType = typeof I32 | typeof I64;

/** A function signature. */
export interface FuncSig {
  params: readonly ValType[];
  results: readonly ValType[];
}

import { encodeSleb128, encodeUleb128 } from "../air/mod.ts";

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const WASM_VERSION = [0x01, 0x00, 0x00, 0x00];
const PAGES_MAX = 65_536;
/** The block type "no result". */
const BLOCK_VOID = 0x40;

function encodeName(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...encodeUleb128(bytes.length), ...bytes];
}

function encodeVector(items: readonly (readonly number[])[]): number[] {
  return [...encodeUleb128(items.length), ...items.flat()];
}

function encodeSection(id: number, content: readonly number[]): number[] {
  return [id, ...encodeUleb128(content.length), ...content];
}

function checkIndex(kind: string, index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`Unknown ${kind} index "${index}": ${count} defined`);
  }
}

/**
 * A function body under construction: each method appends one instruction and returns `this`. Memory
 * instructions take a constant byte `offset` (default 0) and use their natural alignment. The final `end`
 * of the body is added by {@linkcode WasmModuleBuilder.addFunction}.
 */
export class Code {
  readonly #bytes: number[] = [];
  /** One entry per open block, innermost last; `undefined` for an unlabelled block. */
  readonly #labels: (string | undefined)[] = [];

  #op(...bytes: number[]): this {
    this.#bytes.push(...bytes);
    return this;
  }

  #open(opcode: number, label: string | undefined, result: ValType | undefined): this {
    this.#labels.push(label);
    return this.#op(opcode, result ?? BLOCK_VOID);
  }

  /** Relative branch depth of a label (innermost block = 0), or the depth itself. */
  #depth(target: string | number): number {
    if (typeof target === "number") {
      checkIndex("branch depth", target, this.#labels.length);
      return target;
    }
    const index = this.#labels.lastIndexOf(target);
    if (index < 0) throw new RangeError(`Unknown label "${target}": not an enclosing block`);
    return this.#labels.length - 1 - index;
  }

  /** `i32.const value` (an i32, or a u32 taken as its two's complement). */
  i32Const(value: number): this {
    return this.#op(0x41, ...encodeSleb128(value));
  }
  /** `i32.add` */
  i32Add(): this {
    return this.#op(0x6a);
  }
  /** `i32.sub` */
  i32Sub(): this {
    return this.#op(0x6b);
  }
  /** `i32.mul` */
  i32Mul(): this {
    return this.#op(0x6c);
  }
  /** `i32.and` */
  i32And(): this {
    return this.#op(0x71);
  }
  /** `i32.shl` */
  i32Shl(): this {
    return this.#op(0x74);
  }
  /** `i32.shr_u` */
  i32ShrU(): this {
    return this.#op(0x76);
  }
  /** `i32.eqz` */
  i32Eqz(): this {
    return this.#op(0x45);
  }
  /** `i32.eq` */
  i32Eq(): this {
    return this.#op(0x46);
  }
  /** `i32.ne` */
  i32Ne(): this {
    return this.#op(0x47);
  }
  /** `i32.lt_u` */
  i32LtU(): this {
    return this.#op(0x49);
  }
  /** `i32.gt_u` */
  i32GtU(): this {
    return this.#op(0x4b);
  }
  /** `i32.le_u` */
  i32LeU(): this {
    return this.#op(0x4d);
  }
  /** `i32.ge_u` */
  i32GeU(): this {
    return this.#op(0x4f);
  }
  /** `i32.load offset` (alignment 4). */
  i32Load(offset = 0): this {
    return this.#op(0x28, 2, ...encodeUleb128(offset));
  }
  /** `i32.load8_u offset` */
  i32Load8U(offset = 0): this {
    return this.#op(0x2d, 0, ...encodeUleb128(offset));
  }
  /** `i32.store offset` (alignment 4). */
  i32Store(offset = 0): this {
    return this.#op(0x36, 2, ...encodeUleb128(offset));
  }
  /** `i32.store8 offset` */
  i32Store8(offset = 0): this {
    return this.#op(0x3a, 0, ...encodeUleb128(offset));
  }
  /** `local.get index` (parameters first, then declared locals). */
  localGet(index: number): this {
    return this.#op(0x20, ...encodeUleb128(index));
  }
  /** `local.set index` */
  localSet(index: number): this {
    return this.#op(0x21, ...encodeUleb128(index));
  }
  /** `local.tee index` */
  localTee(index: number): this {
    return this.#op(0x22, ...encodeUleb128(index));
  }
  /** `global.get index` */
  globalGet(index: number): this {
    return this.#op(0x23, ...encodeUleb128(index));
  }
  /** `global.set index` */
  globalSet(index: number): this {
    return this.#op(0x24, ...encodeUleb128(index));
  }
  /** `block`, optionally labelled and with one result. A branch to it jumps past its `end`. */
  block(label?: string, result?: ValType): this {
    return this.#open(0x02, label, result);
  }
  /** `loop`, optionally labelled and with one result. A branch to it jumps back to its start. */
  loop(label?: string, result?: ValType): this {
    return this.#open(0x03, label, result);
  }
  /** `if` (pops the condition), optionally labelled and with one result. */
  if(label?: string, result?: ValType): this {
    return this.#open(0x04, label, result);
  }
  /** `else` of the innermost `if`. */
  else(): this {
    if (this.#labels.length === 0) throw new RangeError("Cannot emit else: no open block");
    return this.#op(0x05);
  }
  /** `end` of the innermost open block. */
  end(): this {
    if (this.#labels.length === 0) throw new RangeError("Cannot emit end: no open block");
    this.#labels.pop();
    return this.#op(0x0b);
  }
  /** `br` to a label or relative depth. */
  br(target: string | number): this {
    return this.#op(0x0c, ...encodeUleb128(this.#depth(target)));
  }
  /** `br_if` to a label or relative depth (pops the condition). */
  brIf(target: string | number): this {
    return this.#op(0x0d, ...encodeUleb128(this.#depth(target)));
  }
  /** `call index` (imports come first in the function index space). */
  call(funcIndex: number): this {
    return this.#op(0x10, ...encodeUleb128(funcIndex));
  }
  /** `return` */
  return(): this {
    return this.#op(0x0f);
  }
  /** `drop` */
  drop(): this {
    return this.#op(0x1a);
  }
  /** `memory.size` in pages. */
  memorySize(): this {
    return this.#op(0x3f, 0x00);
  }
  /** `memory.grow` by the popped page count; pushes the old size, or -1 on failure. */
  memoryGrow(): this {
    return this.#op(0x40, 0x00);
  }
  /** `unreachable` (traps). */
  unreachable(): this {
    return this.#op(0x00);
  }

  /** Number of blocks opened and not yet ended. */
  get openBlocks(): number {
    return this.#labels.length;
  }

  /** The instruction bytes so far (without the body's final `end`). */
  bytes(): number[] {
    return [...this.#bytes];
  }
}

interface FunctionEntry {
  typeIndex: number;
  locals: readonly ValType[];
  body: number[];
}

interface ImportEntry {
  module: string;
  name: string;
  typeIndex: number;
}

/** Assembles one module. Function imports must be added before functions (they come first in the index space). */
export class WasmModuleBuilder {
  readonly #types: FuncSig[] = [];
  readonly #imports: ImportEntry[] = [];
  readonly #functions: FunctionEntry[] = [];
  readonly #globals: { mutable: boolean; init: number }[] = [];
  readonly #exports: { name: string; kind: number; index: number }[] = [];
  readonly #data: { offset: number; bytes: Uint8Array }[] = [];
  #memory: { minPages: number; maxPages: number | undefined } | undefined;
  #start: number | undefined;

  #typeIndex(sig: FuncSig): number {
    const same = (a: readonly ValType[], b: readonly ValType[]) =>
      a.length === b.length && a.every((t, i) => t === b[i]);
    const known = this.#types.findIndex((t) => same(t.params, sig.params) && same(t.results, sig.results));
    if (known >= 0) return known;
    this.#types.push({ params: [...sig.params], results: [...sig.results] });
    return this.#types.length - 1;
  }

  /** Imports a function; returns its function index. */
  importFunction(module: string, name: string, sig: FuncSig): number {
    if (this.#functions.length > 0) throw new RangeError("Cannot import a function after defining functions");
    this.#imports.push({ module, name, typeIndex: this.#typeIndex(sig) });
    return this.#imports.length - 1;
  }

  /** Defines a function from its body (the final `end` is appended); returns its function index. */
  addFunction(sig: FuncSig, body: Code, locals: readonly ValType[] = []): number {
    if (body.openBlocks !== 0) {
      throw new RangeError(`Cannot add a function: ${body.openBlocks} blocks not ended`);
    }
    this.#functions.push({
      typeIndex: this.#typeIndex(sig),
      locals: [...locals],
      body: [...body.bytes(), 0x0b],
    });
    return this.#imports.length + this.#functions.length - 1;
  }

  /** Defines the module's one memory (not exported unless {@linkcode exportMemory} is called). */
  setMemory(minPages: number, maxPages?: number): this {
    checkIndex("memory page count", minPages, PAGES_MAX + 1);
    if (maxPages !== undefined) checkIndex("memory page count", maxPages, PAGES_MAX + 1);
    if (maxPages !== undefined && maxPages < minPages) {
      throw new RangeError("Memory maximum is below its minimum");
    }
    this.#memory = { minPages, maxPages };
    return this;
  }

  /** Defines an i32 global with a constant initial value; returns its global index. */
  addGlobalI32(init: number, mutable = true): number {
    encodeSleb128(init); // range check now, not at build time
    this.#globals.push({ mutable, init });
    return this.#globals.length - 1;
  }

  /** Adds an active data segment copied to `offset` at instantiation. */
  addData(offset: number, bytes: Uint8Array): this {
    encodeSleb128(offset);
    this.#data.push({ offset, bytes: bytes.slice() });
    return this;
  }

  /** Exports a function (import or defined) by index. */
  exportFunction(name: string, funcIndex: number): this {
    checkIndex("function", funcIndex, this.#imports.length + this.#functions.length);
    this.#exports.push({ name, kind: 0x00, index: funcIndex });
    return this;
  }

  /** Makes a `() -> ()` function (import or defined) the module's start function, run at instantiation. */
  setStart(funcIndex: number): this {
    checkIndex("function", funcIndex, this.#imports.length + this.#functions.length);
    this.#start = funcIndex;
    return this;
  }

  /** Exports the memory (call {@linkcode setMemory} first). */
  exportMemory(name = "memory"): this {
    if (this.#memory === undefined) throw new RangeError("Cannot export memory: none defined");
    this.#exports.push({ name, kind: 0x02, index: 0 });
    return this;
  }

  /** The module's binary encoding. */
  build(): Uint8Array<ArrayBuffer> {
    if (this.#data.length > 0 && this.#memory === undefined) {
      throw new RangeError("Data segments need a memory");
    }
    const out = [...WASM_MAGIC, ...WASM_VERSION];
    const section = (id: number, items: readonly (readonly number[])[]) => {
      // A loop, not push(...): a large data segment would exceed the engine's argument limit.
      if (items.length > 0) { for (const byte of encodeSection(id, encodeVector(items))) out.push(byte); }
    };
    section(
      1,
      this.#types.map((
        t,
      ) => [0x60, ...encodeVector(t.params.map((p) => [p])), ...encodeVector(t.results.map((r) => [r]))]),
    );
    section(
      2,
      this.#imports.map((
        i,
      ) => [...encodeName(i.module), ...encodeName(i.name), 0x00, ...encodeUleb128(i.typeIndex)]),
    );
    section(3, this.#functions.map((f) => encodeUleb128(f.typeIndex)));
    const memory = this.#memory;
    if (memory !== undefined) {
      const limits = memory.maxPages === undefined
        ? [0x00, ...encodeUleb128(memory.minPages)]
        : [0x01, ...encodeUleb128(memory.minPages), ...encodeUleb128(memory.maxPages)];
      section(5, [limits]);
    }
    section(6, this.#globals.map((g) => [I32, g.mutable ? 1 : 0, 0x41, ...encodeSleb128(g.init), 0x0b]));
    section(7, this.#exports.map((e) => [...encodeName(e.name), e.kind, ...encodeUleb128(e.index)]));
    if (this.#start !== undefined) {
      for (const byte of encodeSection(8, encodeUleb128(this.#start))) out.push(byte);
    }
    section(
      10,
      this.#functions.map((f) => {
        // Locals are declared as runs of one type: (count, type) pairs.
        const runs: { count: number; type: ValType }[] = [];
        for (const type of f.locals) {
          const last = runs[runs.length - 1];
          if (last !== undefined && last.type === type) last.count += 1;
          else runs.push({ count: 1, type });
        }
        const body = [...encodeVector(runs.map((r) => [...encodeUleb128(r.count), r.type])), ...f.body];
        return [...encodeUleb128(body.length), ...body];
      }),
    );
    section(
      11,
      this.#data.map((
        d,
      ) => [0x00, 0x41, ...encodeSleb128(d.offset), 0x0b, ...encodeUleb128(d.bytes.length), ...d.bytes]),
    );
    return new Uint8Array(out);
  }
}
