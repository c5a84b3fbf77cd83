import assert from "node:assert/strict";
import { type CborValue, encodeCanonical, hashRefOf, toHex } from "../air/mod.ts";
import { Code, I32, WasmModuleBuilder } from "./wasm_builder.ts";
import { WasmReader } from "./_wasm_bytes.ts";
import {
  coverageModule,
  type HarnessOutcome,
  moduleWithBody,
  moduleWithImportedGlobal,
  runReducer,
} from "./_wasm_fuel_fixtures.ts";
import { hasCode, ROOT_DIR } from "./_test_fixtures.ts";
import { decodeOutputEnvelope, encodeInputEnvelope } from "./envelope.ts";
import {
  FUEL_EXPORT,
  fuelLeft,
  instrumentFuel,
  outOfFuel,
  setFuel,
  WRITE_HI_EXPORT,
  WRITE_LO_EXPORT,
} from "./fuel.ts";
import { ReducerHost } from "./reducer_host.ts";

/** The budget the round trips run with (the suggested `limits.reducerFuelMax`). */
const BUDGET = 50_000_000;

function committedModules(): Array<{ path: string; bytes: Uint8Array }> {
  const paths: string[] = [];
  for (const example of Deno.readDirSync(`${ROOT_DIR}/examples`)) {
    const dir = `examples/${example.name}/modules`;
    try {
      for (const f of Deno.readDirSync(`${ROOT_DIR}/${dir}`)) {
        if (f.name.endsWith(".wasm")) paths.push(`${dir}/${f.name}`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  for (const f of Deno.readDirSync(`${ROOT_DIR}/kernel/testdata`)) {
    if (f.name.endsWith(".wasm")) paths.push(`kernel/testdata/${f.name}`);
  }
  return paths.sort().map((path) => ({ path, bytes: Deno.readFileSync(`${ROOT_DIR}/${path}`) }));
}

function input(
  schema: string,
  value: CborValue,
  options: { state?: CborValue; key?: string; now?: bigint } = {},
) {
  const key = options.key === undefined ? null : encodeCanonical(options.key);
  return encodeInputEnvelope({
    state: options.state === undefined ? null : encodeCanonical(options.state),
    event: { schema, value: encodeCanonical(value) },
    ctx: options.now === undefined
      ? { key, cellMode: key !== null }
      : { key, cellMode: key !== null, nowNs: options.now },
  });
}

/** Real inputs for the committed reducers; each module accepts some and aborts on the others. */
const INPUTS: ReadonlyArray<[string, Uint8Array]> = [
  ["counter {by:2} from null", input("demo/Increment@1", { by: 2 })],
  ["counter {by:3} from 2", input("demo/Increment@1", { by: 3 }, { state: { count: 2 } })],
  ["unknown schema", input("demo/Decrement@1", { by: 1 })],
  ["relay ping", input("test/Ping@1", { n: 3 }, { state: { seen: 7 }, now: 5n })],
  ["cell increment", input("demo/CellIncrement@1", { by: 2, user: "alice" }, { key: "alice", now: 9n })],
  ["notifier configure (ladder 03)", input("demo/Configure@1", { url: "http://127.0.0.1:8080/status" })],
  [
    "notifier notify in cell r1",
    input("demo/Notify@1", { request_id: "r1", url: "http://127.0.0.1:8080/status" }, { key: "r1" }),
  ],
  ["retrier job", input("demo/Job@1", { attempts_max: 3, id: "job-1" }, { now: 1_000_000n })],
  ["not CBOR", new Uint8Array([0xff, 0x00])],
];

const summary = (o: HarnessOutcome) => o.ok ? `ok ${toHex(o.output)}` : `${o.code}: ${o.message}`;

Deno.test("instrumentFuel() keeps the outputs of every committed module byte for byte", () => {
  const modules = committedModules();
  assert.ok(modules.length >= 10, `found ${modules.length} committed modules`);
  for (const { path, bytes } of modules) {
    // Every AssemblyScript module has a start function: it runs on the initial fuel.
    const instrumented = new WebAssembly.Module(instrumentFuel(bytes, { initialFuel: BUDGET }));
    const original = new WebAssembly.Module(bytes as BufferSource);
    assert.deepEqual(WebAssembly.Module.imports(instrumented), WebAssembly.Module.imports(original), path);
    assert.deepEqual(
      WebAssembly.Module.exports(instrumented),
      [...WebAssembly.Module.exports(original), { name: FUEL_EXPORT, kind: "global" }],
      path,
    );
    let oks = 0;
    for (const [label, bytesIn] of INPUTS) {
      const before = runReducer(original, bytesIn);
      const after = runReducer(instrumented, bytesIn, BUDGET);
      assert.equal(summary(after), summary(before), `${path}: ${label}`);
      if (after.ok) {
        oks++;
        assert.ok(after.fuelUsed! > 0 && after.fuelUsed! < BUDGET, `${path}: ${label} used fuel`);
      }
    }
    if (!path.endsWith("/trap.wasm")) assert.ok(oks > 0, `${path} answers at least one input`);
  }
});

Deno.test("write tracking changes no committed module's outputs or fuel, and adds exactly its two marks", () => {
  for (const { path, bytes } of committedModules()) {
    if (path.endsWith("bad_import.wasm")) continue;
    const plain = new WebAssembly.Module(instrumentFuel(bytes, { initialFuel: BUDGET }));
    const tracked = new WebAssembly.Module(instrumentFuel(bytes, { initialFuel: BUDGET, trackWrites: true }));
    assert.deepEqual(
      WebAssembly.Module.exports(tracked),
      [
        ...WebAssembly.Module.exports(plain).filter((e) => e.name !== FUEL_EXPORT),
        { name: WRITE_LO_EXPORT, kind: "global" },
        { name: WRITE_HI_EXPORT, kind: "global" },
        { name: FUEL_EXPORT, kind: "global" },
      ],
      path,
    );
    for (const [label, bytesIn] of INPUTS) {
      const before = runReducer(plain, bytesIn, BUDGET);
      const after = runReducer(tracked, bytesIn, BUDGET);
      assert.equal(summary(after), summary(before), `${path}: ${label}`);
      if (after.ok && before.ok) assert.equal(after.fuelUsed, before.fuelUsed, `${path}: ${label}: fuel`);
    }
  }
});

Deno.test("an instrumented counter gives the state the ReducerHost gives for the original module", () => {
  const bytes = Deno.readFileSync(`${ROOT_DIR}/examples/counter/modules/counter.wasm`);
  const instrumented = new WebAssembly.Module(instrumentFuel(bytes, { initialFuel: BUDGET }));
  const host = new ReducerHost();
  host.load(hashRefOf(bytes), bytes);
  let state: Uint8Array | null = null;
  for (const [by, expected] of [[2, "a165636f756e7402"], [3, "a165636f756e7405"]] as const) {
    const envelope = encodeInputEnvelope({
      state,
      event: { schema: "demo/Increment@1", value: encodeCanonical({ by }) },
      ctx: { key: null, cellMode: false },
    });
    const viaHost = host.call(hashRefOf(bytes), envelope);
    const viaFuel = runReducer(instrumented, envelope, BUDGET);
    assert.ok(viaHost.ok && viaFuel.ok);
    assert.equal(toHex(viaFuel.output), toHex(viaHost.output));
    state = decodeOutputEnvelope(viaFuel.output).state;
    assert.equal(toHex(state!), expected);
  }
});

Deno.test("the fuel a counter call consumes is the same on every run and every instrumentation", () => {
  const bytes = Deno.readFileSync(`${ROOT_DIR}/examples/counter/modules/counter.wasm`);
  const options = { initialFuel: BUDGET };
  const first = instrumentFuel(bytes, options);
  assert.equal(toHex(instrumentFuel(bytes, options)), toHex(first), "instrumentation is deterministic");
  const used = new Set<number | undefined>();
  const second = instrumentFuel(bytes, options);
  for (const module of [new WebAssembly.Module(first), new WebAssembly.Module(second)]) {
    for (let i = 0; i < 3; i++) {
      const outcome = runReducer(module, INPUTS[0]![1], BUDGET);
      assert.ok(outcome.ok);
      used.add(outcome.fuelUsed);
    }
  }
  assert.equal(used.size, 1, `fuel used: ${[...used].join(", ")}`);
  console.log(`counter {by:2}: ${[...used][0]} fuel units`);
});

/** `count(n)`: a do-while loop of `n` iterations; costs 1 (entry) + n (loop headers). */
function countingModule(): WebAssembly.Exports {
  const builder = new WasmModuleBuilder();
  const body = new Code()
    .loop("again")
    .localGet(1).i32Const(1).i32Add().localTee(1)
    .localGet(0).i32LtU().brIf("again")
    .end()
    .localGet(1);
  builder.exportFunction("count", builder.addFunction({ params: [I32], results: [I32] }, body, [I32]));
  const module = new WebAssembly.Module(instrumentFuel(builder.build()));
  return new WebAssembly.Instance(module).exports;
}

Deno.test("a loop of N iterations consumes exactly 1 + N units, and N + 1 units are just enough", () => {
  const exports = countingModule();
  const instance = { exports } as WebAssembly.Instance;
  const count = exports.count as (n: number) => number;
  for (const n of [1, 2, 10, 1_000, 123_457]) {
    setFuel(instance, BUDGET);
    assert.equal(count(n), n);
    assert.equal(BUDGET - fuelLeft(instance), 1 + n, `n = ${n}`);
    setFuel(instance, 1 + n);
    assert.equal(count(n), n, `a budget of exactly ${1 + n} suffices`);
    assert.equal(fuelLeft(instance), 0);
    setFuel(instance, n);
    assert.throws(() => count(n), WebAssembly.RuntimeError);
    assert.equal(fuelLeft(instance), -1, "the check traps as soon as the fuel drops below zero");
    assert.ok(outOfFuel(instance));
  }
});

Deno.test("an infinite loop runs out of fuel and the host reports timeout", () => {
  // Guard: a long but finite loop must time out first, so a missing loop check fails here, not hangs below.
  const counting = countingModule();
  setFuel({ exports: counting } as WebAssembly.Instance, 100_000);
  assert.throws(() => (counting.count as (n: number) => number)(10_000_000), WebAssembly.RuntimeError);
  const builder = new WasmModuleBuilder().setMemory(1);
  builder.exportMemory();
  builder.exportFunction(
    "alloc",
    builder.addFunction({ params: [I32], results: [I32] }, new Code().i32Const(0)),
  );
  const spin = new Code().loop("forever").br("forever").end();
  builder.exportFunction("step", builder.addFunction({ params: [I32, I32, I32], results: [] }, spin));
  const module = new WebAssembly.Module(instrumentFuel(builder.build()));
  const outcome = runReducer(module, INPUTS[0]![1], 100_000);
  assert.deepEqual(outcome, {
    ok: false,
    code: "timeout",
    message: "reducer ran out of fuel (100000 units)",
  });
  // A guest trap with fuel left stays a trap.
  const trap = new WasmModuleBuilder().setMemory(1);
  trap.exportMemory();
  trap.exportFunction("alloc", trap.addFunction({ params: [I32], results: [I32] }, new Code().i32Const(0)));
  trap.exportFunction(
    "step",
    trap.addFunction({ params: [I32, I32, I32], results: [] }, new Code().unreachable()),
  );
  const trapped = runReducer(new WebAssembly.Module(instrumentFuel(trap.build())), INPUTS[0]![1], 100_000);
  assert.equal(trapped.ok ? "ok" : trapped.code, "trap");
});

Deno.test("deep recursion runs out of fuel at function entries, before the stack overflows", () => {
  const builder = new WasmModuleBuilder();
  // rec(n) = n == 0 ? 0 : rec(n - 1) + 1
  const body = new Code()
    .localGet(0).i32Eqz().if(undefined, I32).i32Const(0)
    .else().localGet(0).i32Const(1).i32Sub().call(0).i32Const(1).i32Add().end();
  builder.exportFunction("rec", builder.addFunction({ params: [I32], results: [I32] }, body));
  const exports = new WebAssembly.Instance(new WebAssembly.Module(instrumentFuel(builder.build()))).exports;
  const instance = { exports } as WebAssembly.Instance;
  const rec = exports.rec as (n: number) => number;
  setFuel(instance, 1_000);
  assert.equal(rec(500), 500);
  assert.equal(fuelLeft(instance), 1_000 - 501);
  setFuel(instance, 1_000);
  assert.throws(() => rec(1_000_000), WebAssembly.RuntimeError);
  assert.equal(fuelLeft(instance), -1);
});

Deno.test("the decoder reads every immediate kind and counts only real loop headers", () => {
  const bytes = coverageModule();
  const main = (wasm: Uint8Array) => {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource));
    return { instance, main: instance.exports.main as () => number };
  };
  assert.equal(main(bytes).main(), 0x03030304);
  const { instance, main: instrumented } = main(instrumentFuel(bytes));
  setFuel(instance, 100);
  assert.equal(instrumented(), 0x03030304);
  assert.equal(100 - fuelLeft(instance), 7, "entry + 5 loop headers + one()");
});

Deno.test("instrumentFuel() refuses unknown instructions and malformed modules with AOS_WASM_INVALID", () => {
  const refused: Array<[string, number[]]> = [
    ["SIMD", [0xfd, 0x0c, ...Array<number>(16).fill(0), 0x1a]],
    ["threads", [0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a]],
    ["GC", [0xfb, 0x01, 0x00, 0x1a]],
    ["try", [0x06, 0x40, 0x0b]],
    ["0x27", [0x27]],
    ["0xFC 18", [0xfc, 18, 0x00]],
    ["truncated", [0x41]],
  ];
  for (const [label, instructions] of refused) {
    assert.throws(() => instrumentFuel(moduleWithBody(instructions)), hasCode("AOS_WASM_INVALID"), label);
  }
  assert.throws(() => instrumentFuel(moduleWithBody([0x0b, 0x01])), hasCode("AOS_WASM_INVALID"));
  assert.throws(() => instrumentFuel(new TextEncoder().encode("not wasm")), hasCode("AOS_WASM_INVALID"));
  assert.throws(() => instrumentFuel(instrumentFuel(moduleWithBody([]))), hasCode("AOS_WASM_INVALID"));
  assert.throws(
    () => instrumentFuel(moduleWithBody([0xfd, 0x0c])),
    (error: unknown) => error instanceof Error && error.message.includes("SIMD"),
  );
  assert.throws(() => instrumentFuel(moduleWithBody([]), { initialFuel: -1 }), RangeError);
});

function sections(wasm: Uint8Array): Array<{ id: number; hex: string }> {
  const reader = new WasmReader(wasm, 8);
  const out: Array<{ id: number; hex: string }> = [];
  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    out.push({ id, hex: toHex(wasm.subarray(reader.pos, reader.pos + size)) });
    reader.skip(size);
  }
  return out;
}

Deno.test("sections other than global, export and code are byte-identical, custom sections in place", () => {
  const changed = new Set([6, 7, 10]);
  const modules = [...committedModules().map((m) => m.bytes), moduleWithImportedGlobal(), coverageModule()];
  for (const bytes of modules) {
    const before = sections(bytes);
    const after = sections(instrumentFuel(bytes));
    assert.deepEqual(after.filter((s) => !changed.has(s.id)), before.filter((s) => !changed.has(s.id)));
    assert.deepEqual(
      after.map((s) => s.id).filter((id) => id !== 6 && id !== 7),
      before.map((s) => s.id).filter((id) => id !== 6 && id !== 7),
    );
  }
  const imported = sections(instrumentFuel(moduleWithImportedGlobal()));
  assert.deepEqual(imported.map((s) => s.id), [0, 1, 2, 3, 6, 7, 10, 0]);
  assert.deepEqual(sections(moduleWithImportedGlobal()).map((s) => s.id), [0, 1, 2, 3, 7, 10, 0]);
});

Deno.test("the fuel global comes after imported and defined globals, so no global index shifts", () => {
  const g = new WebAssembly.Global({ value: "i32", mutable: false }, 42);
  const module = new WebAssembly.Module(instrumentFuel(moduleWithImportedGlobal(), { initialFuel: 9 }));
  const instance = new WebAssembly.Instance(module, { env: { g } });
  assert.equal(fuelLeft(instance), 9, "initialFuel");
  assert.equal((instance.exports.get as () => number)(), 42);
  assert.equal(fuelLeft(instance), 8);

  const builder = new WasmModuleBuilder();
  const own = builder.addGlobalI32(41);
  builder.exportFunction(
    "get",
    builder.addFunction({ params: [], results: [I32] }, new Code().globalGet(own)),
  );
  const defined = new WebAssembly.Instance(new WebAssembly.Module(instrumentFuel(builder.build()))).exports;
  setFuel({ exports: defined } as WebAssembly.Instance, 1);
  assert.equal((defined.get as () => number)(), 41);
});

Deno.test("a start function is metered from initialFuel, before the host can set the budget", () => {
  const startModule = moduleWithBody([], true);
  assert.throws(() => new WebAssembly.Instance(new WebAssembly.Module(instrumentFuel(startModule))));
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(instrumentFuel(startModule, { initialFuel: 1 })),
  );
  assert.equal(fuelLeft(instance), 0);
});
