import assert from "node:assert/strict";
import {
  AosError,
  decodeCanonical,
  encodeCanonical,
  encodeUleb128,
  fromHex,
  hashRefOf,
  limits,
  toHex,
} from "../air/mod.ts";
import { hasCode, wasmBytes, wasmHash } from "./_test_fixtures.ts";
import { decodeOutputEnvelope, encodeInputEnvelope } from "./envelope.ts";
import {
  LOADED_MODULES_MAX,
  loadedModuleCount,
  type ReducerCallResult,
  ReducerHost,
  type ReducerHostOptions,
} from "./reducer_host.ts";

// --- A tiny WebAssembly binary builder, for modules the toolchain would never produce. ---

const I32 = 0x7f;

const uleb = encodeUleb128;

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

interface HandModule {
  funcs: Array<{ params: number; results: number; body: number[] }>;
  /** Initial pages of the exported memory; omitted = no memory. */
  memoryPages?: number;
  /** The memory's declared maximum; omitted = none. */
  memoryMaxPages?: number;
  /** How many memories the module defines (only the first is exported); default 1. */
  memories?: number;
  /** Mutable i32 globals, all starting at 0. */
  globals?: number;
  exports: Array<{ name: string; func: number } | { name: string; memory: true }>;
  /** The index of the module's start function; omitted = none. */
  start?: number;
}

/** Encodes a module whose functions take and return only i32s; each function gets its own type. */
function handModule(spec: HandModule): Uint8Array {
  const types = spec.funcs.map((
    f,
  ) => [0x60, ...vec(Array(f.params).fill([I32])), ...vec(Array(f.results).fill([I32]))]);
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, vec(types)));
  bytes.push(...section(3, vec(spec.funcs.map((_, i) => uleb(i)))));
  if (spec.memoryPages !== undefined) {
    const limits = spec.memoryMaxPages === undefined
      ? [0x00, ...uleb(spec.memoryPages)]
      : [0x01, ...uleb(spec.memoryPages), ...uleb(spec.memoryMaxPages)];
    bytes.push(...section(5, vec(Array(spec.memories ?? 1).fill(limits))));
  }
  if (spec.globals) {
    bytes.push(...section(6, vec(Array(spec.globals).fill([I32, 0x01, 0x41, 0x00, 0x0b]))));
  }
  bytes.push(...section(
    7,
    vec(
      spec.exports.map((e) =>
        "func" in e ? [...name(e.name), 0x00, ...uleb(e.func)] : [...name(e.name), 0x02, 0x00]
      ),
    ),
  ));
  if (spec.start !== undefined) bytes.push(...section(8, uleb(spec.start)));
  bytes.push(...section(
    10,
    vec(spec.funcs.map((f) => {
      const body = [0x00, ...f.body, 0x0b]; // no locals; end
      return [...uleb(body.length), ...body];
    })),
  ));
  return new Uint8Array(bytes);
}

const i32Const = (n: number) => [0x41, ...sleb(n)];
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
const GLOBAL_GET_0 = [0x23, 0x00];
const GLOBAL_SET_0 = [0x24, 0x00];
const I32_ADD = [0x6a];

/** `alloc(len) -> 0`: every buffer at address 0 (enough for modules that never read their input). */
const ALLOC_ZERO = { params: 1, results: 1, body: i32Const(0) };

/** A multi-value module whose `step` returns `(out_ptr, out_len)` after running `prelude`. */
function multiValueModule(
  prelude: number[],
  outPtr: number[],
  outLen: number[],
  globals = 0,
  memory: Pick<HandModule, "memoryPages" | "memoryMaxPages" | "memories"> = {},
): Uint8Array {
  return handModule({
    funcs: [ALLOC_ZERO, { params: 2, results: 2, body: [...prelude, ...outPtr, ...outLen] }],
    memoryPages: 1,
    ...memory,
    globals,
    exports: [{ name: "memory", memory: true }, { name: "alloc", func: 0 }, { name: "step", func: 1 }],
  });
}

// --- Helpers ---

function loaded(
  bytes: Uint8Array,
  options: ReducerHostOptions = {},
): { host: ReducerHost; hash: ReturnType<typeof hashRefOf> } {
  const host = new ReducerHost(options);
  const hash = hashRefOf(bytes);
  host.load(hash, bytes);
  return { host, hash };
}

function incrementInput(by: number, state: Uint8Array | null = null): Uint8Array {
  return encodeInputEnvelope({
    state,
    event: { schema: "demo/Increment@1", value: encodeCanonical({ by }) },
    ctx: { key: null, cellMode: false },
  });
}

function okOutput(result: ReducerCallResult): Uint8Array {
  assert.ok(result.ok, `call failed: ${result.ok ? "" : `${result.code}: ${result.message}`}`);
  return result.output;
}

function failure(result: ReducerCallResult): { code: string; message: string } {
  assert.equal(result.ok, false, "call succeeded but should have failed");
  return result as { ok: false; code: string; message: string };
}

// --- Tests ---

Deno.test("load() detects the result-pointer convention and call() steps the counter from null", () => {
  const host = new ReducerHost();
  assert.equal(host.load(wasmHash("counter"), wasmBytes("counter")), "result_pointer");
  const output = okOutput(host.call(wasmHash("counter"), incrementInput(2)));
  assert.equal(toHex(output), toHex(encodeCanonical({ state: fromHex("a165636f756e7402") })));
  assert.equal(toHex(decodeOutputEnvelope(output).state!), "a165636f756e7402");
});

Deno.test("hosts share a loaded module only for the very same bytes: a hash claimed for other bytes is loaded anew", () => {
  const first = loaded(wasmBytes("counter"));
  const before = loadedModuleCount();
  const again = loaded(wasmBytes("counter"));
  assert.equal(loadedModuleCount(), before, "the second host compiled the counter again");
  assert.equal(
    toHex(okOutput(again.host.call(again.hash, incrementInput(2)))),
    toHex(okOutput(first.host.call(first.hash, incrementInput(2)))),
  );
  // Other bytes under the counter's hash: the host runs what it was given, never the cached counter.
  const other = new ReducerHost();
  other.load(first.hash, wasmBytes("trap"));
  assert.equal(failure(other.call(first.hash, incrementInput(1))).code, "trap");
  assert.ok(loadedModuleCount() <= LOADED_MODULES_MAX);
});

Deno.test("call() passes the previous state into the counter", () => {
  const { host, hash } = loaded(wasmBytes("counter"));
  const first = decodeOutputEnvelope(okOutput(host.call(hash, incrementInput(2)))).state;
  const second = decodeOutputEnvelope(okOutput(host.call(hash, incrementInput(3, first)))).state;
  assert.equal(toHex(second!), "a165636f756e7405");
});

Deno.test("callLent() gives call()'s output as a view of the instance's memory, valid until the next call", () => {
  const { host, hash } = loaded(wasmBytes("counter"));
  const copied = okOutput(host.call(hash, incrementInput(2)));
  const lent = okOutput(host.callLent(hash, incrementInput(2)));
  assert.equal(toHex(lent), toHex(copied));
  const before = toHex(lent);
  // The next call puts the memory back and writes its own output where this one was: the view changes, the
  // copy does not.
  okOutput(host.callLent(hash, incrementInput(3, fromHex("a165636f756e7405"))));
  assert.notEqual(toHex(lent), before);
  assert.equal(toHex(copied), before);
  assert.equal(
    toHex(decodeOutputEnvelope(okOutput(host.call(hash, incrementInput(2)))).state!),
    "a165636f756e7402",
  );
});

Deno.test("load() detects the multi-value convention and gives the counter's output byte for byte", () => {
  const host = new ReducerHost();
  assert.equal(host.load(wasmHash("multi_value"), wasmBytes("multi_value")), "multi_value");
  host.load(wasmHash("counter"), wasmBytes("counter"));
  const viaMultiValue = okOutput(host.call(wasmHash("multi_value"), incrementInput(2)));
  const viaResultPointer = okOutput(host.call(wasmHash("counter"), incrementInput(2)));
  assert.equal(toHex(decodeOutputEnvelope(viaMultiValue).state!), "a165636f756e7402");
  assert.equal(toHex(viaMultiValue), toHex(viaResultPointer));
});

Deno.test("call() reports a trapping module as code trap", () => {
  const { host, hash } = loaded(wasmBytes("trap"));
  assert.equal(failure(host.call(hash, incrementInput(1))).code, "trap");
});

Deno.test("call() turns env.abort into code trap", () => {
  const { host, hash } = loaded(wasmBytes("counter"));
  // The counter aborts on an unknown event schema.
  const input = encodeInputEnvelope({
    state: null,
    event: { schema: "demo/Decrement@1", value: encodeCanonical({ by: 1 }) },
    ctx: { key: null, cellMode: false },
  });
  assert.equal(failure(host.call(hash, input)).code, "trap");
});

Deno.test("call() returns garbage output as ok bytes that fail envelope decoding", () => {
  const { host, hash } = loaded(wasmBytes("garbage"));
  const output = okOutput(host.call(hash, incrementInput(1)));
  assert.equal(toHex(output), "ffff00");
  assert.throws(() => decodeOutputEnvelope(output), hasCode("AOS_CBOR_INVALID"));
});

Deno.test("load() rejects a module importing env.now with AOS_WASM_INVALID", () => {
  const host = new ReducerHost();
  assert.throws(
    () => host.load(wasmHash("bad_import"), wasmBytes("bad_import")),
    (error: unknown) =>
      error instanceof AosError && error.code === "AOS_WASM_INVALID" && error.message.includes("env.now"),
  );
  assert.equal(host.has(wasmHash("bad_import")), false, "a rejected module is not kept");
});

Deno.test("load() rejects a module that does not export alloc with AOS_WASM_INVALID", () => {
  const bytes = handModule({
    funcs: [{ params: 3, results: 0, body: [] }],
    memoryPages: 1,
    exports: [{ name: "memory", memory: true }, { name: "step", func: 0 }],
  });
  assert.ok(WebAssembly.validate(bytes as BufferSource), "the hand-built module is valid wasm");
  assert.throws(
    () => new ReducerHost().load(hashRefOf(bytes), bytes),
    (error: unknown) =>
      error instanceof AosError && error.code === "AOS_WASM_INVALID" && error.message.includes('"alloc"'),
  );
});

Deno.test("load() rejects a module that does not export memory with AOS_WASM_INVALID", () => {
  const bytes = handModule({
    funcs: [ALLOC_ZERO, { params: 3, results: 0, body: [] }],
    exports: [{ name: "alloc", func: 0 }, { name: "step", func: 1 }],
  });
  assert.throws(
    () => new ReducerHost().load(hashRefOf(bytes), bytes),
    (error: unknown) =>
      error instanceof AosError && error.code === "AOS_WASM_INVALID" && error.message.includes('"memory"'),
  );
});

Deno.test("load() rejects a step of neither signature with AOS_WASM_INVALID", () => {
  const bytes = handModule({
    funcs: [ALLOC_ZERO, { params: 1, results: 0, body: [] }],
    memoryPages: 1,
    exports: [{ name: "memory", memory: true }, { name: "alloc", func: 0 }, { name: "step", func: 1 }],
  });
  assert.throws(() => new ReducerHost().load(hashRefOf(bytes), bytes), hasCode("AOS_WASM_INVALID"));
});

Deno.test("load() rejects bytes that are not wasm with AOS_WASM_INVALID", () => {
  const bytes = new TextEncoder().encode("not wasm");
  assert.throws(() => new ReducerHost().load(hashRefOf(bytes), bytes), hasCode("AOS_WASM_INVALID"));
});

Deno.test("call() runs every call as a fresh instance would, so no global survives", () => {
  // step: g += 1; return (0, g). A reused instance would answer 1 byte, then 2.
  const bytes = multiValueModule(
    [...GLOBAL_GET_0, ...i32Const(1), ...I32_ADD, ...GLOBAL_SET_0],
    i32Const(0),
    GLOBAL_GET_0,
    1,
  );
  const { host, hash } = loaded(bytes);
  const input = incrementInput(1);
  assert.equal(okOutput(host.call(hash, input)).length, 1);
  assert.equal(okOutput(host.call(hash, input)).length, 1);
});

Deno.test("call() gives the same bytes for the same input twice", () => {
  const { host, hash } = loaded(wasmBytes("relay"));
  const input = encodeInputEnvelope({
    state: encodeCanonical({ seen: 7 }),
    event: { schema: "test/Ping@1", value: encodeCanonical({ n: 3 }) },
    ctx: { key: null, cellMode: false, nowNs: 5n },
  });
  const first = okOutput(host.call(hash, input));
  const second = okOutput(host.call(hash, input));
  assert.equal(toHex(second), toHex(first));
  assert.deepEqual(decodeCanonical(decodeOutputEnvelope(first).state!), { seen: 8 });
});

Deno.test("load() compiles once per hash: a second load under the same hash keeps the first module", () => {
  const host = new ReducerHost();
  const hash = wasmHash("counter");
  assert.equal(host.load(hash, wasmBytes("counter")), "result_pointer");
  // Bytes that would not even compile: the host never looks at them again.
  assert.equal(host.load(hash, new Uint8Array([0, 1, 2])), "result_pointer");
  assert.equal(host.has(hash), true);
  assert.equal(
    toHex(decodeOutputEnvelope(okOutput(host.call(hash, incrementInput(2)))).state!),
    "a165636f756e7402",
  );
});

Deno.test("call() of a hash that was never loaded throws AOS_INVARIANT", () => {
  const host = new ReducerHost();
  assert.equal(host.has(wasmHash("counter")), false);
  assert.throws(() => host.call(wasmHash("counter"), incrementInput(1)), hasCode("AOS_INVARIANT"));
});

Deno.test("call() reports an output range outside memory as bad_output", () => {
  const bytes = multiValueModule([], i32Const(65_530), i32Const(10)); // one page = 65,536 bytes
  const { host, hash } = loaded(bytes);
  const { code, message } = failure(host.call(hash, incrementInput(1)));
  assert.equal(code, "bad_output");
  assert.match(message, /outside memory/);
});

Deno.test("call() reports a negative output length as bad_output", () => {
  const { host, hash } = loaded(multiValueModule([], i32Const(0), i32Const(-1)));
  assert.equal(failure(host.call(hash, incrementInput(1))).code, "bad_output");
});

Deno.test("call() reports memory.grow above reducerMemoryPagesMax as trap, without growing the memory", () => {
  // memory.grow(limit) from 1 page would leave limit + 1 pages; memory.grow(32768) 2 GiB.
  for (const pages of [limits.reducerMemoryPagesMax, 32_768]) {
    const grow = [...i32Const(pages), 0x40, 0x00, 0x1a];
    const { host, hash } = loaded(multiValueModule(grow, i32Const(0), i32Const(0)));
    const { code, message } = failure(host.call(hash, incrementInput(1)));
    assert.equal(code, "trap");
    assert.equal(message, `memory.grow past the limit of ${limits.reducerMemoryPagesMax} pages (at 1)`);
  }
});

Deno.test("load() refuses a second memory, or a memory whose initial size or maximum exceeds reducerMemoryPagesMax, with AOS_WASM_INVALID", () => {
  const pages = limits.reducerMemoryPagesMax;
  for (
    const memory of [
      { memories: 2 },
      { memoryPages: pages + 1 },
      { memoryPages: 1, memoryMaxPages: pages + 1 },
      { memoryPages: 1, memoryMaxPages: 65_536 },
    ]
  ) {
    const bytes = multiValueModule([], i32Const(0), i32Const(0), 0, memory);
    assert.throws(() => loaded(bytes), hasCode("AOS_WASM_INVALID"), JSON.stringify(memory));
  }
  const exact = loaded(
    multiValueModule([], i32Const(0), i32Const(0), 0, { memoryPages: pages, memoryMaxPages: pages }),
  );
  assert.equal(okOutput(exact.host.call(exact.hash, incrementInput(1))).length, 0);
});

Deno.test("call() accepts memory grown exactly to reducerMemoryPagesMax", () => {
  const grow = [...i32Const(limits.reducerMemoryPagesMax - 1), 0x40, 0x00, 0x1a];
  const { host, hash } = loaded(multiValueModule(grow, i32Const(0), i32Const(0)));
  assert.equal(okOutput(host.call(hash, incrementInput(1))).length, 0);
});

Deno.test("call() refuses an input envelope above envelopeSizeBytesMax without running the module", () => {
  const { host, hash } = loaded(wasmBytes("counter"));
  const input = encodeInputEnvelope({
    state: new Uint8Array(limits.envelopeSizeBytesMax),
    event: { schema: "demo/Increment@1", value: encodeCanonical({ by: 1 }) },
    ctx: { key: null, cellMode: false },
  });
  assert.ok(input.length > limits.envelopeSizeBytesMax);
  assert.equal(failure(host.call(hash, input)).code, "bad_output");
});

// A world's fuel is the default everywhere but in tests of runaway code; 2,000,000 units run out in
// milliseconds where the default takes most of a second (the CLI tests keep one runaway on the default).
const TEST_FUEL = 2_000_000;

Deno.test("call() reports an infinite loop as timeout once the reducer's fuel runs out", () => {
  const spin = [0x03, 0x40, 0x0c, 0x00, 0x0b]; // loop br 0 end
  const { host, hash } = loaded(multiValueModule(spin, i32Const(0), i32Const(0)), { fuelMax: TEST_FUEL });
  assert.deepEqual(failure(host.call(hash, incrementInput(1))), {
    ok: false,
    code: "timeout",
    message: `reducer ran out of fuel (${TEST_FUEL} units)`,
  });
});

Deno.test("load() rejects a module the fuel instrumentation cannot decode with AOS_WASM_INVALID", () => {
  const simd = multiValueModule([0xfd, 0x0f], i32Const(0), i32Const(0)); // i8x16.splat: not decodable
  assert.throws(() => new ReducerHost().load(hashRefOf(simd), simd), hasCode("AOS_WASM_INVALID"));
});

Deno.test("load() stops a start function that loops forever with its fuel and reports AOS_WASM_INVALID", () => {
  const LOOP_FOREVER = [0x03, 0x40, 0x0c, 0x00, 0x0b]; // loop; br 0; end
  const bytes = handModule({
    funcs: [ALLOC_ZERO, { params: 2, results: 2, body: [...i32Const(0), ...i32Const(0)] }, {
      params: 0,
      results: 0,
      body: LOOP_FOREVER,
    }],
    memoryPages: 1,
    exports: [{ name: "memory", memory: true }, { name: "alloc", func: 0 }, { name: "step", func: 1 }],
    start: 2,
  });
  const host = new ReducerHost({ fuelMax: TEST_FUEL });
  const error = assertThrowsAos(() => host.load(hashRefOf(bytes), bytes), "AOS_WASM_INVALID");
  assert.match(error.message, /start function/);
  assert.match(error.message, new RegExp(`at most ${TEST_FUEL} fuel units`));
  assert.equal(host.has(hashRefOf(bytes)), false);
});

Deno.test("load() reports a start function that traps as AOS_WASM_INVALID", () => {
  const bytes = handModule({
    funcs: [ALLOC_ZERO, { params: 2, results: 2, body: [...i32Const(0), ...i32Const(0)] }, {
      params: 0,
      results: 0,
      body: [0x00], // unreachable
    }],
    memoryPages: 1,
    exports: [{ name: "memory", memory: true }, { name: "alloc", func: 0 }, { name: "step", func: 1 }],
    start: 2,
  });
  const error = assertThrowsAos(() => new ReducerHost().load(hashRefOf(bytes), bytes), "AOS_WASM_INVALID");
  assert.match(error.message, /start function/);
});

function assertThrowsAos(fn: () => unknown, code: string): AosError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AosError, `expected an AosError, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}`);
}
