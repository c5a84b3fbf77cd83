/**
 * Runs the committed AssemblyScript reducers through the KERNEL §3 ABI with the plain `WebAssembly` API
 * (a fresh instance per call, as the kernel does) and checks that they match a fresh build.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import {
  type AirFile,
  AosError,
  type CborValue,
  Dec128Item,
  decodeCanonical,
  decodeTyped,
  type DefSchema,
  encodeCanonical,
  encodeTyped,
  formatDiagnostic,
  fromHex,
  type JsonValue,
  loadAirBundle,
  SchemaIndex,
  toHex,
  validateTypedBytes,
  valueFromJson,
  valueToPlainJson,
} from "../air/mod.ts";
import {
  BUILD_STAMP_PATH,
  type BuildStamp,
  checkBuildStamp,
  findStaleOutputs,
  MODULE_STAMPS,
  ROOT_DIR,
  SDK_PROBE_TARGET,
  sha256Hex,
  stampWasmHash,
  TARGETS,
} from "./build_examples.ts";

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
  // The SDK reads the envelope in its one canonical layout (CborReader.fixedLayout): a key out of order is
  // a key it does not expect there.
  assert.throws(() => callStep(counter, swapped), cborAbort("unexpected map key"));
});

Deno.test("counter: the envelope, read as it is decoded, is as strict as a validated one", () => {
  const good = toHex(inputEnvelope(null, "demo/Increment@1", { by: 1 }));
  const text = (s: string) => toHex(encodeCanonical(s));
  const schema = text("demo/Increment@1");
  const version = text("version") + "01";
  assert.ok(good.includes(schema) && good.endsWith(version));
  const damaged: Array<[hex: string, reason: string]> = [
    [good + "00", "item not fully read"],
    [good.slice(0, -2), "unexpected end of input"],
    [good.slice(0, -2) + "1801", "non-shortest integer"],
    [good.replace(schema, "70" + toHex(new TextEncoder().encode("demo/Increment@")) + "ff"), "invalid UTF-8"],
    [
      good.replace(text("cell_mode") + "f4", text("cell_mode") + "f93c00"),
      "float or unsupported simple value",
    ],
    [good.replace(text("key") + "f6", text("key") + "f7"), "float or unsupported simple value"],
    ["bf" + good.slice(2) + "ff", "reserved or indefinite-length"],
    ["b804" + good.slice(2), "non-shortest integer"],
    [good.replace(schema, "71" + schema.slice(2)), "string runs past the end"],
    [good.replace(text("key") + "f6", text("key") + "c1f6"), "expected a byte string"],
  ];
  for (const [hex, reason] of damaged) {
    assert.notEqual(hex, good);
    assert.throws(() => callStep(counter, fromHex(hex)), cborAbort(reason), `${reason}: ${hex}`);
  }
  // Undamaged, it still steps.
  assert.equal(toHex(stateOf(stepOutput(counter, fromHex(good)))), "a165636f756e7401");
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

// ---------------------------------------------------------------------------------------------------------
// Example worlds (examples/timer-retry, examples/fetch-notify, examples/cells): each world's AIR loads, and
// each reducer, driven directly through the ABI, does what its README says. Values are checked against the
// world's own schemas (and the built-in sys/* ones) with the typed codec, not only as generic CBOR.

/**
 * The AIR files of an example world, as `aos init --from` reads them: `examples/WORLD/air/`, or the AIR
 * folder `airDir` (relative to the repository root) when given.
 */
function exampleAirFiles(world: string, airDir = `examples/${world}/air`): AirFile[] {
  const dir = `${ROOT_DIR}/${airDir}`;
  const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) =>
    name.endsWith(".air.json")
  );
  return names.sort().map((name) => ({
    path: `${airDir}/${name}`,
    text: Deno.readTextFileSync(`${dir}/${name}`),
  }));
}

/** The world's user schemas plus the built-ins (read from its files, independent of the validator). */
function exampleSchemas(world: string): SchemaIndex {
  const schemas: DefSchema[] = [];
  for (const file of exampleAirFiles(world)) {
    const parsed: unknown = JSON.parse(file.text);
    for (const node of Array.isArray(parsed) ? parsed : [parsed]) {
      if ((node as { $kind?: unknown }).$kind === "defschema") schemas.push(node as DefSchema);
    }
  }
  return new SchemaIndex(schemas);
}

/** Canonical bytes of a value of `schema` given in plain JSON (AIR §3). */
function typed(index: SchemaIndex, schema: string, json: JsonValue): Uint8Array {
  return encodeTyped({ ref: schema }, valueFromJson({ ref: schema }, json, index), index);
}

/** Plain JSON of canonical bytes of `schema`; throws unless they are strictly valid for it. */
function plainOf(index: SchemaIndex, schema: string, bytes: Uint8Array): JsonValue {
  validateTypedBytes({ ref: schema }, bytes, index);
  return valueToPlainJson({ ref: schema }, decodeTyped({ ref: schema }, bytes, index), index);
}

function abortsWith(prefix: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ReducerAbort && error.message.startsWith(prefix);
}

for (const stamp of MODULE_STAMPS) {
  // `examples/NAME/air/…` or `examples/ladder/NN-name/air.v2/…`: the folder of the stamped file.
  const airDir = stamp.air.replace(/\/[^/]+$/, "");
  Deno.test(`${airDir}: the AIR loads without diagnostics and names the built module`, () => {
    const { bundle, diagnostics } = loadAirBundle(exampleAirFiles("", airDir));
    assert.deepEqual(diagnostics.map((d) => formatDiagnostic(d)), []);
    assert.ok(bundle !== undefined);
    const module = bundle.nodes.get(`defmodule:${stamp.name}`);
    assert.ok(module?.kind === "defmodule", `${stamp.name} is in the bundle`);
    const wasm = Deno.readFileSync(`${ROOT_DIR}/${stamp.wasm}`);
    assert.equal(module.node.wasm_hash, `sha256:${sha256Hex(wasm)}`);
  });
}

Deno.test("stampWasmHash: replaces only the hash of the named module's node, and checks the name", () => {
  const retrierStamp = MODULE_STAMPS.find((stamp) => stamp.name === "demo/Retrier@1")!;
  const text = Deno.readTextFileSync(`${ROOT_DIR}/${retrierStamp.air}`);
  const hash = `sha256:${"0f".repeat(32)}`;
  const stamped = stampWasmHash(text, hash, retrierStamp);
  assert.equal(JSON.parse(stamped).wasm_hash, hash);
  assert.equal(stamped.replace(hash, ""), text.replace(/sha256:[0-9a-f]{64}/, ""));
  // Without a stamp the node must be the counter's.
  assert.throws(() => stampWasmHash(text, hash), /expected the defmodule node "demo\/Counter@1"/);
});

// --- timer-retry -------------------------------------------------------------------------------------------

const retrier = loadReducer("examples/timer-retry/modules/retrier.wasm");
const retrySchemas = exampleSchemas("timer-retry");
const MS = 1_000_000n;
const NOW = 1_700_000_000_000_000_000n;

/** `nowNs` null: a host that sends no `ctx.now_ns`. */
function retrierCtx(nowNs: bigint | null): { [key: string]: CborValue } {
  return nowNs === null ? { key: null, cell_mode: false } : { key: null, cell_mode: false, now_ns: nowNs };
}

function retrierState(output: { [key: string]: CborValue }): JsonValue {
  return plainOf(retrySchemas, "demo/RetrierState@1", stateOf(output));
}

/** The only effect of an output, checked to be a canonical `timer.set` on the default slot. */
function timerEffect(output: { [key: string]: CborValue }): JsonValue {
  const effects = output["effects"];
  assert.ok(Array.isArray(effects) && effects.length === 1, "exactly one effect");
  const effect = effects[0] as { [key: string]: CborValue };
  assert.deepEqual(Object.keys(effect).sort(), ["kind", "params_cbor"], "no cap_slot: the default slot");
  assert.equal(effect["kind"], "timer.set");
  const params = effect["params_cbor"];
  assert.ok(params instanceof Uint8Array);
  return plainOf(retrySchemas, "sys/TimerSetParams@1", params);
}

/** A `sys/TimerFired@1` as the kernel builds it (KERNEL §4) for a timer the retrier set. */
function timerFired(
  requested: JsonValue,
  options: { status?: string; deliveredAtNs?: bigint } = {},
): Uint8Array {
  const status = options.status ?? "ok";
  const key = (requested as { key?: JsonValue }).key ?? null;
  return typed(retrySchemas, "sys/TimerFired@1", {
    intent_hash: `sha256:${"ab".repeat(32)}`,
    reducer: "demo/Retrier@1",
    effect_kind: "timer.set",
    adapter_id: "timer.local",
    status,
    requested,
    // A receipt that is not ok carries no payload: the kernel passes the zero value (AIR §9.5).
    receipt: status === "ok"
      ? { delivered_at_ns: options.deliveredAtNs ?? NOW, key }
      : { delivered_at_ns: 0n, key: null },
    cost_cents: null,
    signature: "AAE=",
  });
}

function retrierStep(
  state: Uint8Array | null,
  schema: string,
  value: Uint8Array,
  nowNs: bigint | null = NOW,
): { [key: string]: CborValue } {
  const input = encodeCanonical({ version: 1, state, event: { schema, value }, ctx: retrierCtx(nowNs) });
  return stepOutput(retrier, input);
}

Deno.test("timer-retry: a Job sets a canonical timer.set 10 ms after ctx.now_ns, keyed by the job id", () => {
  const job = typed(retrySchemas, "demo/Job@1", { id: "job-1", attempts_max: 3n });
  const output = retrierStep(null, "demo/Job@1", job);
  assert.deepEqual(Object.keys(output).sort(), ["effects", "state"]);
  assert.deepEqual(retrierState(output), {
    id: "job-1",
    done: false,
    attempts: 0n,
    next_at_ns: NOW + 10n * MS,
    attempts_max: 3n,
  });
  assert.deepEqual(timerEffect(output), { deliver_at_ns: NOW + 10n * MS, key: "job-1" });
  const effect = (output["effects"] as Array<{ [key: string]: CborValue }>)[0]!;
  // The exact bytes: the canonical TimerSetParams (AIR §9.4's vector has the same shape).
  assert.equal(
    toHex(effect["params_cbor"] as Uint8Array),
    toHex(encodeCanonical({ key: "job-1", deliver_at_ns: NOW + 10n * MS })),
  );
});

Deno.test("timer-retry: each TimerFired counts an attempt and backs off 20 ms, 40 ms until done", () => {
  const job = typed(retrySchemas, "demo/Job@1", { id: "job-1", attempts_max: 3n });
  let output = retrierStep(null, "demo/Job@1", job);
  const expected: Array<[attempts: bigint, delay: bigint | null]> = [[1n, 20n * MS], [2n, 40n * MS], [
    3n,
    null,
  ]];
  let now = NOW;
  for (const [attempts, delay] of expected) {
    const requested = timerEffect(output);
    now += 15n * MS;
    output = retrierStep(stateOf(output), "sys/TimerFired@1", timerFired(requested), now);
    const state = retrierState(output) as { [key: string]: JsonValue };
    assert.equal(state["attempts"], attempts);
    if (delay === null) {
      assert.deepEqual(Object.keys(output), ["state"], "done: no more timers");
      assert.deepEqual(state, { id: "job-1", done: true, attempts: 3n, attempts_max: 3n });
    } else {
      assert.equal(state["done"], false);
      assert.equal(state["next_at_ns"], now + delay);
      assert.deepEqual(timerEffect(output), { deliver_at_ns: now + delay, key: "job-1" });
    }
  }
  // A late timer after the job is done changes nothing.
  const done = stateOf(output);
  const late = retrierStep(done, "sys/TimerFired@1", timerFired({ deliver_at_ns: now, key: "job-1" }), now);
  assert.deepEqual(Object.keys(late), ["state"]);
  assert.equal(toHex(stateOf(late)), toHex(done));
});

Deno.test("timer-retry: the backoff doubles from 10 ms and stops growing at 1 s", () => {
  for (let attempts = 1n; attempts <= 10n; attempts++) {
    const state = typed(retrySchemas, "demo/RetrierState@1", {
      id: "j",
      done: false,
      attempts: attempts - 1n,
      next_at_ns: NOW,
      attempts_max: 100n,
    });
    const output = retrierStep(state, "sys/TimerFired@1", timerFired({ deliver_at_ns: NOW, key: "j" }));
    const delay = 10n * MS << attempts;
    const expected = NOW + (delay < 1000n * MS ? delay : 1000n * MS);
    assert.deepEqual(timerEffect(output), { deliver_at_ns: expected, key: "j" }, `attempt ${attempts}`);
  }
});

Deno.test("timer-retry: a timer that did not fire ok still counts, and a foreign key is ignored", () => {
  const job = typed(retrySchemas, "demo/Job@1", { id: "job-1", attempts_max: 2n });
  const started = retrierStep(null, "demo/Job@1", job);
  const failed = retrierStep(
    stateOf(started),
    "sys/TimerFired@1",
    timerFired(timerEffect(started), { status: "timeout" }),
  );
  assert.equal((retrierState(failed) as { attempts: JsonValue }).attempts, 1n);

  for (const requested of [{ deliver_at_ns: NOW, key: "other" }, { deliver_at_ns: NOW }]) {
    const ignored = retrierStep(stateOf(started), "sys/TimerFired@1", timerFired(requested));
    assert.deepEqual(Object.keys(ignored), ["state"]);
    assert.equal(toHex(stateOf(ignored)), toHex(stateOf(started)));
  }
  const noJob = retrierStep(null, "sys/TimerFired@1", timerFired({ deliver_at_ns: NOW, key: "job-1" }));
  assert.deepEqual(noJob, { state: null });
});

Deno.test("timer-retry: attempts_max 0 is done at once; a new Job waits until the current one is done", () => {
  const none = retrierStep(
    null,
    "demo/Job@1",
    typed(retrySchemas, "demo/Job@1", { id: "a", attempts_max: 0n }),
  );
  assert.deepEqual(Object.keys(none), ["state"]);
  assert.deepEqual(retrierState(none), {
    id: "a",
    done: true,
    attempts: 0n,
    attempts_max: 0n,
  });

  const restarted = retrierStep(
    stateOf(none),
    "demo/Job@1",
    typed(retrySchemas, "demo/Job@1", { id: "b", attempts_max: 1n }),
  );
  assert.deepEqual(timerEffect(restarted), { deliver_at_ns: NOW + 10n * MS, key: "b" });
  assert.throws(
    () =>
      retrierStep(
        stateOf(restarted),
        "demo/Job@1",
        typed(retrySchemas, "demo/Job@1", { id: "c", attempts_max: 1n }),
      ),
    abortsWith("retrier: a job is already running"),
  );
});

Deno.test("timer-retry: aborts without ctx.now_ns and on an unknown event schema", () => {
  const job = typed(retrySchemas, "demo/Job@1", { id: "job-1", attempts_max: 3n });
  assert.throws(
    () => retrierStep(null, "demo/Job@1", job, null),
    abortsWith("retrier: the host sent no"),
  );
  assert.throws(() => retrierStep(null, "demo/Other@1", job), abortsWith("retrier: unknown event schema"));
});

// --- fetch-notify ------------------------------------------------------------------------------------------

const notifier = loadReducer("examples/fetch-notify/modules/notifier.wasm");
const fetchSchemas = exampleSchemas("fetch-notify");
const LOCAL_URL = "http://127.0.0.1:8080/status";
const BODY_REF = `sha256:${"cd".repeat(32)}`;

/** One event for the cell of `requestId`: the key is the canonical demo/RequestId@1, as the kernel derives it. */
function notifierStep(
  state: Uint8Array | null,
  schema: string,
  json: JsonValue,
  requestId = (json as { request_id: string }).request_id,
): { [key: string]: CborValue } {
  const key = typed(fetchSchemas, "demo/RequestId@1", requestId);
  return stepOutput(
    notifier,
    inputEnvelope(state, schema, decodeCanonical(typed(fetchSchemas, schema, json)), {
      ctx: { key, cell_mode: true },
    }),
  );
}

function notifierState(output: { [key: string]: CborValue }): JsonValue {
  return plainOf(fetchSchemas, "demo/NotifierState@1", stateOf(output));
}

Deno.test("fetch-notify: Notify creates the request's cell as Pending and emits FetchRequested with its URL", () => {
  const notified = notifierStep(null, "demo/Notify@1", { request_id: "r1", url: LOCAL_URL });
  assert.deepEqual(Object.keys(notified).sort(), ["domain_events", "state"]);
  const events = notified["domain_events"] as Array<{ [key: string]: CborValue }>;
  assert.equal(events.length, 1);
  assert.deepEqual(
    Object.keys(events[0]!).sort(),
    ["schema", "value"],
    "no key: the plan input is not keyed",
  );
  assert.equal(events[0]!["schema"], "demo/FetchRequested@1");
  const value = events[0]!["value"] as Uint8Array;
  assert.deepEqual(plainOf(fetchSchemas, "demo/FetchRequested@1", value), {
    request_id: "r1",
    url: LOCAL_URL,
  });
  assert.equal(
    toHex(value),
    toHex(typed(fetchSchemas, "demo/FetchRequested@1", { request_id: "r1", url: LOCAL_URL })),
  );
  assert.deepEqual(notifierState(notified), { url: LOCAL_URL, result: { Pending: null } });
  assert.equal(
    toHex(stateOf(notified)),
    toHex(typed(fetchSchemas, "demo/NotifierState@1", { url: LOCAL_URL, result: { Pending: null } })),
    "the cell state is canonical",
  );
});

Deno.test("fetch-notify: FetchSucceeded and FetchFailed from the plan record the outcome in the request's cell", () => {
  const pending = stateOf(notifierStep(null, "demo/Notify@1", { request_id: "r1", url: LOCAL_URL }));
  const ok = notifierStep(pending, "demo/FetchSucceeded@1", {
    request_id: "r1",
    status: 200n,
    body_ref: BODY_REF,
  });
  assert.deepEqual(Object.keys(ok), ["state"]);
  assert.deepEqual(notifierState(ok), {
    url: LOCAL_URL,
    result: { Succeeded: { status: 200n, body_ref: BODY_REF } },
  });
  const noBody = notifierStep(pending, "demo/FetchSucceeded@1", { request_id: "r1", status: 204n });
  assert.deepEqual(notifierState(noBody), { url: LOCAL_URL, result: { Succeeded: { status: 204n } } });
  const failed = notifierStep(pending, "demo/FetchFailed@1", { request_id: "r1" });
  assert.deepEqual(Object.keys(failed), ["state"]);
  assert.deepEqual(notifierState(failed), { url: LOCAL_URL, result: { Failed: null } });
});

Deno.test("fetch-notify: refuses a reused request_id, a result nobody asked for, a misrouted event and non-cell mode", () => {
  const notified = stateOf(notifierStep(null, "demo/Notify@1", { request_id: "r1", url: LOCAL_URL }));
  assert.throws(
    () => notifierStep(notified, "demo/Notify@1", { request_id: "r1", url: LOCAL_URL }),
    abortsWith("notifier: request_id already used"),
  );
  assert.throws(
    () => notifierStep(null, "demo/FetchFailed@1", { request_id: "r9" }),
    abortsWith("notifier: result for an unknown request_id"),
  );
  assert.throws(
    () => notifierStep(notified, "demo/FetchFailed@1", { request_id: "r2" }, "r1"),
    abortsWith("notifier: the cell key is not the event's request_id"),
  );
  assert.throws(
    () => notifierStep(notified, "demo/FetchRequested@1", { request_id: "r1", url: "x" }),
    abortsWith("notifier: unknown event schema"),
  );
  const notify = decodeCanonical(typed(fetchSchemas, "demo/Notify@1", { request_id: "r1", url: LOCAL_URL }));
  assert.throws(
    () => stepOutput(notifier, inputEnvelope(null, "demo/Notify@1", notify)),
    abortsWith("notifier: not in cell mode"),
  );
});

// --- cells -------------------------------------------------------------------------------------------------

const cellCounter = loadReducer("examples/cells/modules/cell_counter.wasm");
const cellSchemas = exampleSchemas("cells");

/** One CellIncrement for `user`'s cell: the key is the canonical demo/UserId@1, as the kernel derives it. */
function cellInput(
  state: Uint8Array | null,
  user: string,
  by: bigint,
  ctx?: { [key: string]: CborValue },
): Uint8Array {
  const key = typed(cellSchemas, "demo/UserId@1", user);
  const value = decodeCanonical(typed(cellSchemas, "demo/CellIncrement@1", { user, by }));
  return inputEnvelope(state, "demo/CellIncrement@1", value, {
    ctx: ctx ?? { key, cell_mode: true, now_ns: NOW },
  });
}

Deno.test("cells: each user's cell counts its own increments", () => {
  const alice1 = stepOutput(cellCounter, cellInput(null, "alice", 2n));
  assert.deepEqual(Object.keys(alice1), ["state"]);
  assert.deepEqual(plainOf(cellSchemas, "demo/CellCounterState@1", stateOf(alice1)), { count: 2n });
  const alice2 = stepOutput(cellCounter, cellInput(stateOf(alice1), "alice", 3n));
  assert.deepEqual(plainOf(cellSchemas, "demo/CellCounterState@1", stateOf(alice2)), { count: 5n });
  // Bob's first event gets his own (null) state.
  const bob = stepOutput(cellCounter, cellInput(null, "bob", 7n));
  assert.deepEqual(plainOf(cellSchemas, "demo/CellCounterState@1", stateOf(bob)), { count: 7n });
});

Deno.test("cells: refuses non-cell mode, a missing key and a key that is not the event's user", () => {
  assert.throws(
    () => stepOutput(cellCounter, cellInput(null, "alice", 1n, { key: null, cell_mode: false })),
    abortsWith("cells: not in cell mode"),
  );
  assert.throws(
    () => stepOutput(cellCounter, cellInput(null, "alice", 1n, { key: null, cell_mode: true })),
    abortsWith("cells: cell mode without a key"),
  );
  const bobKey = typed(cellSchemas, "demo/UserId@1", "bob");
  assert.throws(
    () => stepOutput(cellCounter, cellInput(null, "alice", 1n, { key: bobKey, cell_mode: true })),
    abortsWith("cells: the cell key is not the event's user"),
  );
  assert.throws(
    () => stepOutput(cellCounter, cellInput(encodeCanonical({ count: U64_MAX }), "alice", 1n)),
    abortsWith("cells: count overflows u64"),
  );
});

// The SDK probe (sdk/assemblyscript/test/probe.ts) is built and committed like the other modules; the
// build stamp test below proves the committed module is the probe's current source.
function loadProbe(): Promise<Reducer> {
  return Promise.resolve(loadReducer(SDK_PROBE_TARGET.output));
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

/** The names probe/Keys compares a key with (as in sdk/assemblyscript/test/probe.ts). */
const KEY_CANDIDATES = ["", "a", "ab", "ba", "é", "aé", "日本", "\u{1F600}"];

Deno.test("SDK: peekKey and expectKey match a text key exactly, ASCII or not", async () => {
  const probe = await loadProbe();
  const key = fc.oneof(
    fc.constantFrom(...KEY_CANDIDATES),
    fc.string({ unit: "binary", maxLength: 4 }).filter((text) => text.isWellFormed()),
  );
  fc.assert(
    fc.property(key, (text) => {
      const output = stepOutput(probe, inputEnvelope(null, "probe/Keys", { [text]: null }));
      assert.deepEqual(
        decodeCanonical(stateOf(output)),
        KEY_CANDIDATES.map((candidate) => candidate === text),
      );
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
    ["probe/Unsorted", 'CBOR writer: map keys unsorted or duplicated: "a" written after "b" (write a map\'s'],
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

Deno.test("the committed .wasm files and module AIR files are what the stamped build of today's sources wrote", async () => {
  assert.deepEqual(await checkBuildStamp(ROOT_DIR), []);
});

Deno.test("the build stamp check catches an edited source, an edited module and a module AIR out of step", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_build_stamp_" });
  try {
    const copy = async (path: string): Promise<void> => {
      await Deno.mkdir(`${root}/${path.replace(/\/[^/]*$/, "")}`, { recursive: true });
      await Deno.copyFile(`${ROOT_DIR}/${path}`, `${root}/${path}`);
    };
    const stamp = JSON.parse(await Deno.readTextFile(`${ROOT_DIR}/${BUILD_STAMP_PATH}`)) as BuildStamp;
    const paths = new Set<string>([BUILD_STAMP_PATH, ...MODULE_STAMPS.map((moduleStamp) => moduleStamp.air)]);
    for (const target of stamp.targets) {
      paths.add(target.output);
      for (const input of Object.keys(target.inputs)) paths.add(input);
    }
    for (const path of paths) await copy(path);
    assert.deepEqual(await checkBuildStamp(root), [], "a faithful copy passes");

    const source = `${root}/examples/counter/reducer/counter.ts`;
    await Deno.writeTextFile(source, (await Deno.readTextFile(source)) + "\n// edited\n");
    const wasm = `${root}/kernel/testdata/trap.wasm`;
    const bytes = await Deno.readFile(wasm);
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
    await Deno.writeFile(wasm, bytes);
    const air = `${root}/${MODULE_STAMPS[1]!.air}`;
    await Deno.writeTextFile(
      air,
      (await Deno.readTextFile(air)).replace(/sha256:[0-9a-f]{64}/, `sha256:${"0".repeat(64)}`),
    );
    assert.deepEqual(await checkBuildStamp(root), [
      "examples/counter/reducer/counter.ts changed since examples/counter/modules/counter.wasm was built",
      "kernel/testdata/trap.wasm is not the module the build wrote",
      `${MODULE_STAMPS[1]!.air} does not name the built ${MODULE_STAMPS[1]!.wasm}`,
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// The full rebuild compiles every module (about ten seconds of CPU): run it with AOS_FULL_BUILD_CHECK=1
// (`deno task test:long`) or `deno task build:examples --check`.
Deno.test({
  name: "the committed .wasm files, module AIR files and build stamp match a fresh build",
  ignore: Deno.env.get("AOS_FULL_BUILD_CHECK") !== "1",
  fn: async () => {
    assert.deepEqual(await findStaleOutputs(ROOT_DIR), []);
  },
});

function loadInstance(reducer: Reducer): WebAssembly.Instance {
  return new WebAssembly.Instance(reducer.module, { env: { abort: () => {} } });
}
