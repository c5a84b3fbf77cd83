/**
 * Runs the committed AssemblyScript reducers through the KERNEL §3 ABI with the plain `WebAssembly` API
 * (a fresh instance per call, as the kernel does) and checks that they match a fresh build.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AosError } from "../air/errors.ts";
import { type CborValue, Dec128Item, decodeCanonical, encodeCanonical, fromHex, toHex } from "../air/cbor.ts";
import { compileTarget, findStaleOutputs, ROOT_DIR, SDK_PROBE_TARGET, TARGETS } from "./build_examples.ts";

const U64_MAX = (1n << 64n) - 1n;

/** `env.abort` turned into an exception that carries the AssemblyScript message (for precise asserts). */
class ReducerAbort extends Error {}

interface Reducer {
  readonly module: WebAssembly.Module;
  readonly path: string;
}

const modules = new Map<string, WebAssembly.Module>();

function loadReducer(path: string): Reducer {
  let module = modules.get(path);
  if (module === undefined) {
    module = new WebAssembly.Module(Deno.readFileSync(`${ROOT_DIR}/${path}`));
    modules.set(path, module);
  }
  return { module, path };
}

/** Reads an AssemblyScript string: UTF-16LE, its byte length stored just before it. */
function readAsString(memory: WebAssembly.Memory, pointer: number): string {
  if (pointer === 0) return "";
  const byteLength = new DataView(memory.buffer).getUint32(pointer - 4, true);
  return new TextDecoder("utf-16le").decode(new Uint8Array(memory.buffer, pointer, byteLength));
}

function exportedFunction(instance: WebAssembly.Instance, name: string): (...args: number[]) => unknown {
  const value = instance.exports[name];
  assert.equal(typeof value, "function", `export "${name}" is a function`);
  return value as (...args: number[]) => unknown;
}

/** One reducer call: fresh instance, `alloc` + copy, `step` in whichever convention it exports. */
function callStep(reducer: Reducer, input: Uint8Array): Uint8Array {
  // Bound once the instance exists; abort can only run after that.
  const bound: { memory?: WebAssembly.Memory } = {};
  const imports = {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const text = bound.memory === undefined ? "" : readAsString(bound.memory, message);
        const where = bound.memory === undefined ? "" : readAsString(bound.memory, file);
        throw new ReducerAbort(`${text} (${where}:${line}:${column})`);
      },
    },
  };
  const instance = new WebAssembly.Instance(reducer.module, imports);
  const exported = instance.exports["memory"];
  assert.ok(exported instanceof WebAssembly.Memory);
  const memory = exported;
  bound.memory = memory;
  const alloc = exportedFunction(instance, "alloc");
  const step = exportedFunction(instance, "step");

  let outPointer: number;
  let outLength: number;
  if (step.length === 3) {
    const ret = alloc(8) as number;
    const pointer = alloc(input.length) as number;
    new Uint8Array(memory.buffer, pointer, input.length).set(input);
    step(ret, pointer, input.length);
    const view = new DataView(memory.buffer);
    outPointer = view.getInt32(ret, true);
    outLength = view.getInt32(ret + 4, true);
  } else {
    assert.equal(step.length, 2, "step takes (ret, ptr, len) or (ptr, len)");
    const pointer = alloc(input.length) as number;
    new Uint8Array(memory.buffer, pointer, input.length).set(input);
    const result = step(pointer, input.length);
    assert.ok(Array.isArray(result) && result.length === 2, "multi-value step returns two values");
    [outPointer, outLength] = result as [number, number];
  }
  assert.ok(outPointer >= 0 && outLength >= 0 && outPointer + outLength <= memory.buffer.byteLength);
  return new Uint8Array(memory.buffer.slice(outPointer, outPointer + outLength));
}

interface EnvelopeOptions {
  readonly version?: number;
  readonly ctx?: { [key: string]: CborValue };
  readonly eventKey?: Uint8Array;
}

function inputEnvelope(
  state: Uint8Array | null,
  schema: string,
  value: CborValue,
  options: EnvelopeOptions = {},
): Uint8Array {
  const event: { [key: string]: CborValue } = { schema, value: encodeCanonical(value) };
  if (options.eventKey !== undefined) event["key"] = options.eventKey;
  return encodeCanonical({
    version: options.version ?? 1,
    state,
    event,
    ctx: options.ctx ?? { key: null, cell_mode: false },
  });
}

/** Calls the reducer and returns the decoded output envelope (strictly canonical, or this throws). */
function stepOutput(reducer: Reducer, input: Uint8Array): { [key: string]: CborValue } {
  const output = decodeCanonical(callStep(reducer, input));
  assert.ok(typeof output === "object" && output !== null && !Array.isArray(output));
  assert.ok(!(output instanceof Uint8Array) && !(output instanceof Map));
  return output as { [key: string]: CborValue };
}

function stateOf(output: { [key: string]: CborValue }): Uint8Array {
  const state = output["state"];
  assert.ok(state instanceof Uint8Array, "state is a byte string");
  return state;
}

const counter = loadReducer("examples/counter/modules/counter.wasm");
const multiValue = loadReducer("kernel/testdata/multi_value.wasm");

for (const reducer of [counter, multiValue]) {
  Deno.test(`${reducer.path}: increments from null state and then from the previous state`, () => {
    const first = stepOutput(reducer, inputEnvelope(null, "demo/Increment@1", { by: 2 }));
    assert.deepEqual(Object.keys(first), ["state"], "no events, effects or annotation");
    assert.equal(toHex(stateOf(first)), "a165636f756e7402");
    const second = stepOutput(reducer, inputEnvelope(stateOf(first), "demo/Increment@1", { by: 3 }));
    assert.equal(toHex(stateOf(second)), "a165636f756e7405");
  });

  Deno.test(`${reducer.path}: the output envelope is exactly the canonical {state}`, () => {
    const bytes = callStep(reducer, inputEnvelope(null, "demo/Increment@1", { by: 2 }));
    assert.equal(toHex(bytes), toHex(encodeCanonical({ state: fromHex("a165636f756e7402") })));
  });
}

Deno.test("counter: the event value matches AIR §20's vector", () => {
  assert.equal(toHex(encodeCanonical({ by: 2 })), "a162627902");
});

Deno.test("counter: adds any two u64 whose sum fits, with shortest-form encodings", () => {
  const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
  // Bias towards the encoding boundaries (23/24, 255/256, 2^16, 2^32) where shortest form matters.
  const boundary = fc.constantFrom(
    0n,
    23n,
    24n,
    255n,
    256n,
    65535n,
    65536n,
    0xffffffffn,
    0x100000000n,
    U64_MAX,
  );
  fc.assert(
    fc.property(fc.oneof(u64, boundary), fc.oneof(u64, boundary), (count, by) => {
      fc.pre(count + by <= U64_MAX);
      const state = encodeCanonical({ count });
      const output = stepOutput(counter, inputEnvelope(state, "demo/Increment@1", { by }));
      assert.equal(toHex(stateOf(output)), toHex(encodeCanonical({ count: count + by })));
    }),
    { numRuns: 300 },
  );
});

Deno.test("counter: accepts keyed contexts, now_ns and an event key", () => {
  const input = inputEnvelope(null, "demo/Increment@1", { by: 1 }, {
    ctx: { key: encodeCanonical("cell"), cell_mode: true, now_ns: 1_700_000_000_000_000_000n },
    eventKey: encodeCanonical("cell"),
  });
  assert.equal(toHex(stateOf(stepOutput(counter, input))), "a165636f756e7401");
});

Deno.test("counter: aborts on u64 overflow", () => {
  const state = encodeCanonical({ count: U64_MAX });
  assert.throws(
    () => callStep(counter, inputEnvelope(state, "demo/Increment@1", { by: 1 })),
    (error: unknown) =>
      error instanceof ReducerAbort && error.message.startsWith("counter: count overflows u64"),
  );
});

Deno.test("counter: aborts on an unknown event schema", () => {
  assert.throws(
    () => callStep(counter, inputEnvelope(null, "demo/Decrement@1", { by: 1 })),
    (error: unknown) =>
      error instanceof ReducerAbort && error.message.startsWith("counter: unknown event schema"),
  );
});

Deno.test("counter: aborts on an envelope version other than 1", () => {
  assert.throws(
    () => callStep(counter, inputEnvelope(null, "demo/Increment@1", { by: 1 }, { version: 2 })),
    (error: unknown) =>
      error instanceof ReducerAbort && error.message.startsWith("envelope: unsupported version"),
  );
});

/** An abort raised by the SDK's CBOR reader with this reason. */
function cborAbort(reason: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ReducerAbort && error.message.startsWith(`CBOR: ${reason}`);
}

Deno.test("counter: aborts on state or event bytes that are not canonical CBOR", () => {
  const notCanonical: Array<[hex: string, reason: string]> = [
    ["a165636f756e741802", "non-shortest integer"],
    ["a165636f756e740200", "trailing bytes"],
    ["bf65636f756e7402ff", "reserved or indefinite-length"],
    ["a165636f756e74f93c00", "float or unsupported simple value"],
    ["a165636f756e74f7", "float or unsupported simple value"],
    ["a165636f756e74c102", "tag other than 2000"],
    ["a165636f756e", "string runs past the end"],
    ["a265636f756e740265636f756e7403", "map keys unsorted or duplicated"],
  ];
  for (const [hex, reason] of notCanonical) {
    const input = encodeCanonical({
      version: 1,
      state: fromHex(hex),
      event: { schema: "demo/Increment@1", value: encodeCanonical({ by: 1 }) },
      ctx: { key: null, cell_mode: false },
    });
    assert.throws(() => callStep(counter, input), cborAbort(reason), `state ${hex}`);
  }
  const badUtf8 = encodeCanonical({
    version: 1,
    state: null,
    event: { schema: "demo/Increment@1", value: fromHex("a16362c32802") },
    ctx: { key: null, cell_mode: false },
  });
  assert.throws(() => callStep(counter, badUtf8), cborAbort("invalid UTF-8"));
});

Deno.test("counter: aborts on unknown envelope keys and record fields", () => {
  const extraCtxKey = encodeCanonical({
    version: 1,
    state: null,
    event: { schema: "demo/Increment@1", value: encodeCanonical({ by: 1 }) },
    ctx: { key: null, cell_mode: false, extra: 1 },
  });
  assert.throws(() => callStep(counter, extraCtxKey), cborAbort("unexpected map key"));
  const extraField = inputEnvelope(null, "demo/Increment@1", { by: 1, x: 1 });
  assert.throws(() => callStep(counter, extraField), cborAbort("map has an unexpected number of entries"));
  assert.throws(() => callStep(counter, new Uint8Array(0)), cborAbort("unexpected end of input"));
});

Deno.test("counter: aborts on an input envelope with keys out of canonical order", () => {
  const good = inputEnvelope(null, "demo/Increment@1", { by: 1 });
  // Swap the first two ctx keys: {cell_mode, key} is valid CBOR but not canonical.
  const ctxGood = toHex(encodeCanonical({ key: null, cell_mode: false }));
  const ctxSwapped = "a2" + "69" + toHex(new TextEncoder().encode("cell_mode")) + "f4" + "63" +
    toHex(new TextEncoder().encode("key")) + "f6";
  const swapped = fromHex(toHex(good).replace(ctxGood, ctxSwapped));
  assert.notEqual(toHex(swapped), toHex(good));
  assert.throws(() => callStep(counter, swapped), cborAbort("map keys unsorted or duplicated"));
});

Deno.test("trap.wasm: every step traps", () => {
  const trap = loadReducer("kernel/testdata/trap.wasm");
  assert.throws(
    () => callStep(trap, inputEnvelope(null, "demo/Increment@1", { by: 1 })),
    WebAssembly.RuntimeError,
  );
});

Deno.test("garbage.wasm: the output is not CBOR", () => {
  const garbage = loadReducer("kernel/testdata/garbage.wasm");
  const bytes = callStep(garbage, inputEnvelope(null, "demo/Increment@1", { by: 1 }));
  assert.equal(toHex(bytes), "ffff00");
  assert.throws(
    () => decodeCanonical(bytes),
    (error: unknown) => error instanceof AosError && error.code === "AOS_CBOR_INVALID",
  );
});

Deno.test('bad_state.wasm: a canonical envelope whose state is {count: "x"}', () => {
  const badState = loadReducer("kernel/testdata/bad_state.wasm");
  const output = stepOutput(badState, inputEnvelope(null, "demo/Increment@1", { by: 1 }));
  assert.deepEqual(Object.keys(output), ["state"]);
  assert.deepEqual(decodeCanonical(stateOf(output)), { count: "x" });
});

Deno.test("relay.wasm: counts pings and re-emits Ping{n - 1} while n > 0", () => {
  const relay = loadReducer("kernel/testdata/relay.wasm");
  const first = stepOutput(relay, inputEnvelope(null, "test/Ping@1", { n: 2 }));
  assert.deepEqual(decodeCanonical(stateOf(first)), { seen: 1 });
  assert.deepEqual(first["domain_events"], [{ schema: "test/Ping@1", value: encodeCanonical({ n: 1 }) }]);

  const last = stepOutput(relay, inputEnvelope(stateOf(first), "test/Ping@1", { n: 0 }));
  assert.deepEqual(decodeCanonical(stateOf(last)), { seen: 2 });
  assert.deepEqual(Object.keys(last), ["state"], "no domain_events key when nothing is emitted");
});

Deno.test("multi_value.wasm: step uses the multi-value signature", () => {
  const instance = new WebAssembly.Instance(multiValue.module, { env: { abort: () => {} } });
  assert.equal(exportedFunction(instance, "step").length, 2);
  assert.equal(exportedFunction(loadInstance(counter), "step").length, 3);
});

Deno.test("bad_import.wasm: imports env.now besides env.abort", () => {
  const imports = WebAssembly.Module.imports(loadReducer("kernel/testdata/bad_import.wasm").module);
  assert.deepEqual(imports.map((entry) => `${entry.module}.${entry.name}`).sort(), ["env.abort", "env.now"]);
});

Deno.test("every other module imports at most env.abort and exports memory, alloc and step", () => {
  for (const target of TARGETS) {
    const { module } = loadReducer(target.output);
    const imports = WebAssembly.Module.imports(module).map((entry) => `${entry.module}.${entry.name}`);
    if (target.extraImports === undefined) {
      assert.ok(
        imports.every((name) => name === "env.abort"),
        `${target.output} imports ${imports.join(", ")}`,
      );
    }
    const exports = WebAssembly.Module.exports(module).map((entry) => `${entry.kind}:${entry.name}`).sort();
    assert.deepEqual(exports, ["function:alloc", "function:step", "memory:memory"], target.output);
  }
});

// The SDK probe (sdk/assemblyscript/test/probe.ts) is compiled here, once, and never committed.
let probePromise: Promise<Reducer> | undefined;
function loadProbe(): Promise<Reducer> {
  probePromise ??= compileTarget(ROOT_DIR, SDK_PROBE_TARGET).then((built) => ({
    module: new WebAssembly.Module(built.bytes),
    path: SDK_PROBE_TARGET.output,
  }));
  return probePromise;
}

/** Values of the generic CBOR model that AIR allows (integers within i64/u64, no floats). */
const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.bigInt({ min: -(1n << 63n), max: U64_MAX }),
    fc.integer({ min: -300, max: 70_000 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 12 }).filter((text) => text.isWellFormed()),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bits) => new Dec128Item(bits)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

Deno.test("SDK: reading then writing any canonical value through the typed calls gives the same bytes", async () => {
  const probe = await loadProbe();
  fc.assert(
    fc.property(cborValue, (value) => {
      const bytes = encodeCanonical(value);
      const output = stepOutput(probe, inputEnvelope(null, "probe/Transcode", value));
      assert.equal(toHex(stateOf(output)), toHex(bytes));
    }),
    { numRuns: 300 },
  );
});

Deno.test("SDK: an output with every optional part is encoded in canonical key order", async () => {
  const probe = await loadProbe();
  const value = { a: [1, -2, "x"], b: new Uint8Array([1, 2]) };
  const key = encodeCanonical("cell-1");
  const bytes = callStep(
    probe,
    inputEnvelope(null, "probe/Full", value, { ctx: { key, cell_mode: true } }),
  );
  const valueBytes = encodeCanonical(value);
  const expected = encodeCanonical({
    state: valueBytes,
    domain_events: [{ schema: "probe/Emitted@1", value: valueBytes, key }],
    effects: [
      { kind: "blob.put", params_cbor: valueBytes, cap_slot: "store" },
      { kind: "timer.set", params_cbor: valueBytes },
    ],
    ann: valueBytes,
  });
  assert.equal(toHex(bytes), toHex(expected));
});

Deno.test("SDK: ctx.now_ns reaches the reducer, and a null state is encoded as null", async () => {
  const probe = await loadProbe();
  const withNow = stepOutput(
    probe,
    inputEnvelope(null, "probe/Now", null, { ctx: { key: null, cell_mode: false, now_ns: U64_MAX } }),
  );
  assert.deepEqual(decodeCanonical(stateOf(withNow)), { now: U64_MAX });
  const withoutNow = callStep(probe, inputEnvelope(null, "probe/Now", null));
  assert.equal(toHex(withoutNow), toHex(encodeCanonical({ state: null })));
});

Deno.test("SDK: writer misuse aborts with the reason", async () => {
  const probe = await loadProbe();
  const cases: Array<[schema: string, reason: string]> = [
    ["probe/Unsorted", "CBOR writer: map keys unsorted or duplicated"],
    ["probe/Incomplete", "CBOR writer: item incomplete"],
    ["probe/TwoRoots", "CBOR writer: more than one top-level item"],
    ["probe/RawNotCanonical", "CBOR: non-shortest integer"],
    ["probe/StateNotCanonical", "CBOR: reserved or indefinite-length"],
  ];
  for (const [schema, reason] of cases) {
    assert.throws(
      () => callStep(probe, inputEnvelope(null, schema, null)),
      (error: unknown) => error instanceof ReducerAbort && error.message.startsWith(reason),
      schema,
    );
  }
  // A lone surrogate is not UTF-8; AssemblyScript's encoder throws, which aborts too.
  assert.throws(() => callStep(probe, inputEnvelope(null, "probe/LoneSurrogate", null)), ReducerAbort);
});

Deno.test("the committed .wasm files and module.air.json match a fresh build", async () => {
  assert.deepEqual(await findStaleOutputs(ROOT_DIR), []);
});

function loadInstance(reducer: Reducer): WebAssembly.Instance {
  return new WebAssembly.Instance(reducer.module, { env: { abort: () => {} } });
}
