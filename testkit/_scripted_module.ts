/**
 * The fixed code of a scripted reducer (private to `testkit/`): a bump allocator, a substring search and
 * a `step` that walks a rule table held in a data segment. `scripted_reducer.ts` lays out the table.
 *
 * Rule table at `tableAddress`: `count: i32`, then `count` records of {@linkcode RULE_RECORD_BYTES}:
 * `kind` ({@linkcode RULE_OUTPUT} or {@linkcode RULE_TRAP}), `a`, `b`, `patternCount`, `patternsAddress`.
 * For an output rule `a`/`b` are the output's address and length; for a trap rule `a` is the address of an
 * AssemblyScript-style string (UTF-16LE, byte length in the u32 before it) passed to `env.abort`.
 * Patterns are `patternCount` pairs of (address, length), each an i32.
 *
 * @module
 */
import { Code, I32, WasmModuleBuilder } from "../kernel/mod.ts";

/** Bytes per rule record. */
export const RULE_RECORD_BYTES = 20;
/** Bytes per pattern (address, length) pair. */
export const PATTERN_PAIR_BYTES = 8;
/** Rule kind: return the output bytes. */
export const RULE_OUTPUT = 0;
/** Rule kind: call `env.abort` with the rule's message, then trap. */
export const RULE_TRAP = 1;

const PAGE_BYTES = 65_536;

/** Where the pieces of a scripted module's memory image are. */
export interface ScriptedLayout {
  /** Address the image is copied to. */
  imageAddress: number;
  /** The memory image: rule table, patterns, outputs, messages. */
  image: Uint8Array;
  /** Address of the rule table inside memory. */
  tableAddress: number;
  /** Address of the abort message used when no rule matches. */
  noMatchMessageAddress: number;
}

/** Assembles the reducer module around a memory image. */
export function assembleScriptedModule(layout: ScriptedLayout): Uint8Array<ArrayBuffer> {
  const imageEnd = layout.imageAddress + layout.image.length;
  const heapStart = Math.ceil(imageEnd / 8) * 8;
  const builder = new WasmModuleBuilder();
  const abort = builder.importFunction("env", "abort", { params: [I32, I32, I32, I32], results: [] });
  builder.setMemory(Math.max(1, Math.ceil(heapStart / PAGE_BYTES))).exportMemory("memory");
  builder.addData(layout.imageAddress, layout.image);
  const heap = builder.addGlobalI32(heapStart);

  // alloc(len) -> ptr: bump allocation, 8-byte aligned, growing memory as needed; traps when it cannot.
  const [len, ptr, end] = [0, 1, 2];
  const alloc = builder.addFunction(
    { params: [I32], results: [I32] },
    new Code()
      .globalGet(heap).localTee(ptr).localGet(len).i32Add().i32Const(7).i32Add().i32Const(-8).i32And()
      .localTee(end).localGet(ptr).i32LtU().if().unreachable().end() // address space overflow
      .localGet(end).memorySize().i32Const(16).i32Shl().i32GtU().if()
      // pages needed = ceil(end / 64 KiB), computed without overflowing: (end - 1) >> 16 + 1
      .localGet(end).i32Const(1).i32Sub().i32Const(16).i32ShrU().i32Const(1).i32Add()
      .memorySize().i32Sub().memoryGrow().i32Const(-1).i32Eq().if().unreachable().end()
      .end()
      .localGet(end).globalSet(heap)
      .localGet(ptr),
    [I32, I32],
  );

  // contains(hay, hayLen, pat, patLen) -> 0 | 1: naive substring search; the empty pattern always occurs.
  const [hay, hayLen, pat, patLen, i, j, last] = [0, 1, 2, 3, 4, 5, 6];
  const contains = builder.addFunction(
    { params: [I32, I32, I32, I32], results: [I32] },
    new Code()
      .localGet(hayLen).localGet(patLen).i32LtU().if().i32Const(0).return().end()
      .localGet(hayLen).localGet(patLen).i32Sub().localSet(last)
      .block("done").loop("at")
      .i32Const(0).localSet(j)
      .block("mismatch").loop("compare")
      .localGet(j).localGet(patLen).i32Eq().if().i32Const(1).return().end()
      .localGet(hay).localGet(i).i32Add().localGet(j).i32Add().i32Load8U()
      .localGet(pat).localGet(j).i32Add().i32Load8U()
      .i32Ne().brIf("mismatch")
      .localGet(j).i32Const(1).i32Add().localSet(j)
      .br("compare")
      .end().end()
      .localGet(i).localGet(last).i32Eq().brIf("done")
      .localGet(i).i32Const(1).i32Add().localSet(i)
      .br("at")
      .end().end()
      .i32Const(0),
    [I32, I32, I32],
  );

  // step(ret, ptr, len): the first rule whose patterns all occur in the input decides.
  const [ret, input, inputLen, rule, rulesLeft, pair, pairsLeft] = [0, 1, 2, 3, 4, 5, 6];
  const step = builder.addFunction(
    { params: [I32, I32, I32], results: [] },
    new Code()
      .i32Const(layout.tableAddress).i32Load().localSet(rulesLeft)
      .i32Const(layout.tableAddress + 4).localSet(rule)
      .block("none").loop("rules")
      .localGet(rulesLeft).i32Eqz().brIf("none")
      .localGet(rule).i32Load(12).localSet(pairsLeft)
      .localGet(rule).i32Load(16).localSet(pair)
      .block("matched").block("next").loop("patterns")
      .localGet(pairsLeft).i32Eqz().brIf("matched")
      .localGet(input).localGet(inputLen).localGet(pair).i32Load(0).localGet(pair).i32Load(4)
      .call(contains).i32Eqz().brIf("next")
      .localGet(pair).i32Const(PATTERN_PAIR_BYTES).i32Add().localSet(pair)
      .localGet(pairsLeft).i32Const(1).i32Sub().localSet(pairsLeft)
      .br("patterns")
      .end().end()
      .localGet(rule).i32Const(RULE_RECORD_BYTES).i32Add().localSet(rule)
      .localGet(rulesLeft).i32Const(1).i32Sub().localSet(rulesLeft)
      .br("rules")
      .end()
      // matched: trap, or write (out_ptr, out_len) at ret
      .localGet(rule).i32Load(0).i32Const(RULE_TRAP).i32Eq().if()
      .localGet(rule).i32Load(4).i32Const(0).i32Const(0).i32Const(0).call(abort).unreachable()
      .end()
      .localGet(ret).localGet(rule).i32Load(4).i32Store(0)
      .localGet(ret).localGet(rule).i32Load(8).i32Store(4)
      .return()
      .end().end()
      .i32Const(layout.noMatchMessageAddress).i32Const(0).i32Const(0).i32Const(0).call(abort).unreachable(),
    [I32, I32, I32, I32],
  );

  builder.exportFunction("alloc", alloc).exportFunction("step", step);
  return builder.build();
}
