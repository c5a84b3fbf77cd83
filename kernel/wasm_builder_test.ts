import assert from "node:assert/strict";
import { Code, I32, WasmModuleBuilder } from "./wasm_builder.ts";

type Fn = (...args: number[]) => number;

function instantiate(builder: WasmModuleBuilder, imports: WebAssembly.Imports = {}): WebAssembly.Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(builder.build()), imports).exports;
}

Deno.test("a module with an add function compiles and runs, wrapping at 32 bits", () => {
  const builder = new WasmModuleBuilder();
  const add = builder.addFunction(
    { params: [I32, I32], results: [I32] },
    new Code().localGet(0).localGet(1).i32Add(),
  );
  builder.exportFunction("add", add);
  const exports = instantiate(builder);
  const fn = exports.add as Fn;
  assert.equal(fn(2, 3), 5);
  assert.equal(fn(0x7fff_ffff, 1), -0x8000_0000);
  assert.equal(WebAssembly.validate(builder.build()), true);
});

Deno.test("labelled and depth-addressed branches build a loop (sum 1..n)", () => {
  const builder = new WasmModuleBuilder();
  const [n, sum] = [0, 1];
  const byLabel = new Code()
    .block("done").loop("again")
    .localGet(n).i32Eqz().brIf("done")
    .localGet(sum).localGet(n).i32Add().localSet(sum)
    .localGet(n).i32Const(1).i32Sub().localSet(n)
    .br("again")
    .end().end()
    .localGet(sum);
  const byDepth = new Code()
    .block().loop()
    .localGet(n).i32Eqz().brIf(1)
    .localGet(sum).localGet(n).i32Add().localSet(sum)
    .localGet(n).i32Const(1).i32Sub().localSet(n)
    .br(0)
    .end().end()
    .localGet(sum);
  assert.deepEqual(byLabel.bytes(), byDepth.bytes());
  const sig = { params: [I32], results: [I32] } as const;
  builder.exportFunction("sum", builder.addFunction(sig, byLabel, [I32]));
  assert.equal((instantiate(builder).sum as Fn)(100), 5050);
});

Deno.test("if/else with a result, comparisons and unsigned constants", () => {
  const builder = new WasmModuleBuilder();
  // max_u(a, b)
  const body = new Code().localGet(0).localGet(1).i32GeU().if(undefined, I32).localGet(0).else().localGet(1)
    .end();
  builder.exportFunction("max", builder.addFunction({ params: [I32, I32], results: [I32] }, body));
  const allOnes = new Code().i32Const(0xffff_ffff).i32Const(-1).i32Eq();
  builder.exportFunction("allOnes", builder.addFunction({ params: [], results: [I32] }, allOnes));
  const exports = instantiate(builder);
  assert.equal((exports.max as Fn)(3, 9), 9);
  assert.equal((exports.max as Fn)(-1, 9), -1); // 0xffffffff is the larger unsigned
  assert.equal((exports.allOnes as Fn)(), 1);
});

Deno.test("memory, data segments, globals, loads, stores, growth and imported calls", () => {
  const builder = new WasmModuleBuilder();
  const seen: number[] = [];
  const log = builder.importFunction("env", "log", { params: [I32], results: [] });
  builder.setMemory(1).exportMemory();
  builder.addData(100, new Uint8Array([7, 8, 9]));
  const counter = builder.addGlobalI32(40);
  // bump() -> counter += 2, returns the new value
  const bump = new Code().globalGet(counter).i32Const(2).i32Add().globalSet(counter).globalGet(counter);
  builder.exportFunction("bump", builder.addFunction({ params: [], results: [I32] }, bump));
  // readByte(address) -> byte, also logged through the import
  const readByte = new Code().localGet(0).i32Load8U().localTee(1).call(log).localGet(1);
  builder.exportFunction("readByte", builder.addFunction({ params: [I32], results: [I32] }, readByte, [I32]));
  // storeWord(address, value) -> stores little-endian, returns the word read back at address + 0 via offset 4
  const storeWord = new Code().localGet(0).localGet(1).i32Store(4).localGet(0).i32Load(4);
  builder.exportFunction("storeWord", builder.addFunction({ params: [I32, I32], results: [I32] }, storeWord));
  // grow(pages) -> old size in pages; size() -> pages
  builder.exportFunction(
    "grow",
    builder.addFunction({ params: [I32], results: [I32] }, new Code().localGet(0).memoryGrow()),
  );
  builder.exportFunction(
    "size",
    builder.addFunction({ params: [], results: [I32] }, new Code().memorySize()),
  );
  builder.exportFunction("trap", builder.addFunction({ params: [], results: [] }, new Code().unreachable()));
  const exports = instantiate(builder, { env: { log: (v: number) => void seen.push(v) } });
  const memory = exports.memory as WebAssembly.Memory;
  assert.deepEqual([...new Uint8Array(memory.buffer, 100, 3)], [7, 8, 9]);
  assert.equal((exports.readByte as Fn)(101), 8);
  assert.deepEqual(seen, [8]);
  assert.equal((exports.bump as Fn)(), 42);
  assert.equal((exports.bump as Fn)(), 44);
  assert.equal((exports.storeWord as Fn)(200, 0x0102_0304), 0x0102_0304);
  assert.deepEqual([...new Uint8Array(memory.buffer, 204, 4)], [4, 3, 2, 1]);
  assert.equal((exports.grow as Fn)(2), 1);
  assert.equal((exports.size as Fn)(), 3);
  assert.throws(() => (exports.trap as Fn)(), WebAssembly.RuntimeError);
});

Deno.test("types are shared between functions of one signature and locals are run-length encoded", () => {
  const builder = new WasmModuleBuilder();
  const sig = { params: [I32], results: [I32] } as const;
  builder.addFunction(sig, new Code().localGet(0), [I32, I32, I32]);
  builder.addFunction(sig, new Code().localGet(0));
  const bytes = builder.build();
  // type section: id 1, size 6, one type: 0x60, 1 param i32, 1 result i32
  assert.deepEqual([...bytes.slice(8, 16)], [0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]);
  // code section: two bodies — (size 6: one run of 3 i32 locals, local.get 0, end), (size 4: no locals, …)
  const code = [0x0a, 0x0d, 0x02, 0x06, 0x01, 0x03, 0x7f, 0x20, 0x00, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x0b];
  assert.deepEqual([...bytes.slice(bytes.length - code.length)], code);
  const module = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.exports(module), []);
});

Deno.test("the builder rejects misuse before the engine sees it", () => {
  assert.throws(() => new Code().end(), RangeError);
  assert.throws(() => new Code().else(), RangeError);
  assert.throws(() => new Code().block("a").br("b"), RangeError);
  assert.throws(() => new Code().block().br(1), RangeError);
  const builder = new WasmModuleBuilder();
  assert.throws(() => builder.addFunction({ params: [], results: [] }, new Code().block()), RangeError);
  builder.addFunction({ params: [], results: [] }, new Code());
  assert.throws(() => builder.importFunction("env", "abort", { params: [], results: [] }), RangeError);
  assert.throws(() => builder.exportFunction("missing", 1), RangeError);
  assert.throws(() => builder.exportMemory(), RangeError);
  assert.throws(() => builder.setMemory(2, 1), RangeError);
  assert.throws(() => new WasmModuleBuilder().addData(0, new Uint8Array(1)).build(), RangeError);
});
