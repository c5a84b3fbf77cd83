import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, bytesEqual, encodeCanonical as cbor, toHex } from "../air/mod.ts";
import {
  decodeOutputEnvelope,
  encodeInputEnvelope,
  type InputEnvelope,
  type ReducerCallResult,
  ReducerHost,
} from "../kernel/mod.ts";
import {
  encodeScriptedOutput,
  type ReducerScript,
  type ScriptedOutput,
  scriptedReducer,
  type ScriptWhen,
  whenPatterns,
} from "./scripted_reducer.ts";

function run(script: ReducerScript, input: Uint8Array): ReducerCallResult {
  const { wasm, hash } = scriptedReducer(script);
  const host = new ReducerHost();
  assert.equal(host.load(hash, wasm), "result_pointer");
  return host.call(hash, input);
}

function envelope(overrides: Partial<InputEnvelope> = {}): Uint8Array {
  return encodeInputEnvelope({
    state: null,
    event: { schema: "demo/Ping@1", value: cbor({ n: 1 }) },
    ctx: { key: null, cellMode: false },
    ...overrides,
  });
}

function outputOf(result: ReducerCallResult): Uint8Array {
  if (!result.ok) assert.fail(`expected an output, got ${result.code}: ${result.message}`);
  return result.output;
}

/** Each rule answers with its own index as the state, so a test can see which rule won. */
function chosen(result: ReducerCallResult): number | string {
  if (!result.ok) return result.code;
  const state = decodeOutputEnvelope(result.output).state;
  assert.ok(state !== null);
  return state[0] ?? -1;
}

/** `AOS_FUZZ_RUNS=<n>` runs each property at least `n` times. */
const runs = (fallback: number) => Math.max(fallback, Number(Deno.env.get("AOS_FUZZ_RUNS") ?? "0") || 0);

const ruleState = (index: number): ScriptedOutput => ({ state: new Uint8Array([index]) });

Deno.test("scriptedReducer() builds a deterministic module that ReducerHost accepts", () => {
  const script: ReducerScript = { rules: [{ when: { schema: "demo/Ping@1" }, then: { state: null } }] };
  const first = scriptedReducer(script);
  const second = scriptedReducer(script);
  assert.deepEqual(first.wasm, second.wasm);
  assert.equal(first.hash, second.hash);
  const module = new WebAssembly.Module(first.wasm);
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "abort", kind: "function" }]);
  assert.deepEqual(WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort(), [
    "function alloc",
    "function step",
    "memory memory",
  ]);
});

Deno.test("whenPatterns() are the key and value bytes as they appear in the canonical envelope", () => {
  const [schema, state, cellMode] = whenPatterns({ schema: "demo/Ping@1", state: null, cellMode: false });
  assert.ok(schema && state && cellMode);
  assert.equal(toHex(schema), "66736368656d61" + "6b" + toHex(new TextEncoder().encode("demo/Ping@1")));
  assert.equal(toHex(state), "657374617465f6");
  assert.equal(toHex(cellMode), "6963656c6c5f6d6f6465f4");
  const input = toHex(envelope());
  for (const pattern of [schema, state, cellMode]) assert.ok(input.includes(toHex(pattern)));
});

Deno.test("the first rule whose patterns all occur wins", () => {
  const script: ReducerScript = {
    rules: [
      { when: { schema: "demo/Ping@1", value: cbor({ n: 2 }) }, then: ruleState(0) },
      { when: { schema: "demo/Ping@1" }, then: ruleState(1) },
      { when: {}, then: ruleState(2) },
    ],
  };
  assert.equal(chosen(run(script, envelope())), 1);
  assert.equal(chosen(run(script, envelope({ event: { schema: "demo/Ping@1", value: cbor({ n: 2 }) } }))), 0);
  assert.equal(
    chosen(run(script, envelope({ event: { schema: "demo/Other@1", value: cbor({ n: 2 }) } }))),
    2,
  );
});

Deno.test("patterns match on state bytes, null state, key, cell mode and now_ns", () => {
  const key = cbor("cell-7");
  const script: ReducerScript = {
    rules: [
      { when: { state: cbor({ seen: 1 }) }, then: ruleState(0) },
      { when: { state: null, key, cellMode: true }, then: ruleState(1) },
      { when: { state: null, nowNs: 5n }, then: ruleState(2) },
      { when: { state: null }, then: ruleState(3) },
    ],
  };
  assert.equal(chosen(run(script, envelope({ state: cbor({ seen: 1 }) }))), 0);
  assert.equal(chosen(run(script, envelope({ ctx: { key, cellMode: true } }))), 1);
  assert.equal(chosen(run(script, envelope({ ctx: { key: null, cellMode: false, nowNs: 5n } }))), 2);
  assert.equal(chosen(run(script, envelope())), 3);
  // a state other than the scripted one is not null either: nothing matches, so the module traps
  assert.equal(chosen(run(script, envelope({ state: cbor({ seen: 2 }) }))), "trap");
});

Deno.test("raw byte patterns must all occur", () => {
  const script: ReducerScript = {
    rules: [{
      when: { bytes: [new TextEncoder().encode("Ping"), new Uint8Array([0xff])] },
      then: ruleState(0),
    }],
    otherwise: ruleState(1),
  };
  assert.equal(chosen(run(script, envelope())), 1);
  assert.equal(chosen(run(script, envelope({ state: new Uint8Array([0xff]) }))), 0);
});

Deno.test("a trap rule traps with its message; no match traps unless otherwise is given", () => {
  const trap = run({ rules: [{ when: {}, then: { trap: true, message: "boom" } }] }, envelope());
  assert.deepEqual(trap.ok ? undefined : [trap.code, trap.message.startsWith("rule 0: boom")], [
    "trap",
    true,
  ]);
  const none = run({ rules: [{ when: { schema: "x/Y@1" }, then: ruleState(0) }] }, envelope());
  assert.ok(!none.ok && none.code === "trap" && none.message.includes("no scripted rule matched"));
  const custom = run({ rules: [], otherwise: { trap: true, message: "unscripted" } }, envelope());
  assert.ok(!custom.ok && custom.code === "trap" && custom.message.startsWith("otherwise: unscripted"));
  assert.equal(chosen(run({ rules: [], otherwise: ruleState(9) }, envelope())), 9);
});

Deno.test("raw garbage output is returned verbatim and fails decodeOutputEnvelope", () => {
  for (const raw of [new Uint8Array([0xff, 0x00]), cbor(42), cbor({ status: 1 }), new Uint8Array()]) {
    const output = outputOf(run({ rules: [{ when: {}, then: { raw } }] }, envelope()));
    assert.deepEqual(output, raw);
    assert.throws(
      () => decodeOutputEnvelope(output),
      (e) => e instanceof AosError && e.code === "AOS_CBOR_INVALID",
    );
  }
});

Deno.test("an output with events, an effect and ann decodes to exactly the scripted envelope", () => {
  const scripted = {
    state: cbor({ seen: 2 }),
    domainEvents: [
      { schema: "demo/Pong@1", value: cbor({ n: 1 }) },
      { schema: "demo/Keyed@1", value: cbor({ id: "a" }), key: cbor("a") },
    ],
    effects: [{ kind: "http.request", paramsCbor: cbor({ url: "https://example.com" }), capSlot: "http" }],
    ann: cbor("note"),
  };
  const output = outputOf(run({ rules: [{ when: { schema: "demo/Ping@1" }, then: scripted }] }, envelope()));
  assert.deepEqual(output, encodeScriptedOutput(scripted));
  assert.deepEqual(decodeOutputEnvelope(output), scripted);
  const minimal = outputOf(run({ rules: [{ when: {}, then: { state: null } }] }, envelope()));
  assert.deepEqual(decodeOutputEnvelope(minimal), { state: null, domainEvents: [], effects: [], ann: null });
  assert.equal(toHex(minimal), "a1657374617465f6");
});

Deno.test("outputs and inputs above 64 KiB work (data segment pages and memory growth)", () => {
  const bigState = cbor({ blob: new Uint8Array(200_000).fill(7) });
  const bigValue = cbor({ blob: new Uint8Array(300_000).fill(9) });
  const script: ReducerScript = {
    rules: [{ when: { value: bigValue }, then: { state: bigState } }, { when: {}, then: ruleState(1) }],
  };
  const big = outputOf(run(script, envelope({ event: { schema: "demo/Big@1", value: bigValue } })));
  assert.ok(bytesEqual(decodeOutputEnvelope(big).state ?? new Uint8Array(), bigState));
  assert.equal(chosen(run(script, envelope())), 1);
});

Deno.test("every call gets a fresh instance: the bump allocator never accumulates across calls", () => {
  const { wasm, hash } = scriptedReducer({ rules: [{ when: {}, then: ruleState(0) }] });
  // One instance: alloc bumps (8-byte aligned); a new instance starts over at the same address.
  const module = new WebAssembly.Module(wasm);
  const fresh = () =>
    new WebAssembly.Instance(module, { env: { abort: () => {} } }).exports.alloc as (n: number) => number;
  const alloc = fresh();
  const [a, b, c] = [alloc(3), alloc(8), alloc(0)];
  assert.deepEqual([b - a, c - b, a % 8], [8, 8, 0]);
  assert.equal(fresh()(3), a);
  // Through the host: 300 calls with a 64 KiB input would need far more than the 256-page limit if the
  // heap survived between calls.
  const host = new ReducerHost();
  host.load(hash, wasm);
  const input = envelope({ event: { schema: "demo/Big@1", value: new Uint8Array(65_536) } });
  for (let i = 0; i < 300; i += 1) assert.equal(chosen(host.call(hash, input)), 0);
});

Deno.test("a script larger than the reducer memory limit is refused", () => {
  const raw = new Uint8Array(16 * 1024 * 1024);
  assert.throws(() => scriptedReducer({ rules: [{ when: {}, then: { raw } }] }), RangeError);
});

// --- Property tests: the module's choice equals a TypeScript reference of the same matching rule. ---

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i += 1) {
    for (let j = 0; j < needle.length; j += 1) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const smallBytes = (maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength }).map((a) => new Uint8Array(a));

Deno.test("property: with raw patterns, the first rule whose patterns are all substrings wins", () => {
  const rule = fc.record({ patterns: fc.array(smallBytes(3), { maxLength: 3 }), trap: fc.boolean() });
  fc.assert(
    fc.property(
      fc.array(rule, { maxLength: 6 }),
      smallBytes(24),
      fc.boolean(),
      (rules, input, hasOtherwise) => {
        const script: ReducerScript = {
          rules: rules.map((r, i) => ({
            when: { bytes: r.patterns },
            then: r.trap ? { trap: true } : { raw: new Uint8Array([i]) },
          })),
          ...(hasOtherwise ? { otherwise: { raw: new Uint8Array([255]) } } : {}),
        };
        const index = rules.findIndex((r) => r.patterns.every((p) => containsBytes(input, p)));
        const expected = index < 0
          ? (hasOtherwise
            ? { ok: true, output: [255] }
            : { ok: false, message: "no scripted rule matched the input" })
          : rules[index]?.trap
          ? { ok: false, message: `rule ${index}: scripted trap` }
          : { ok: true, output: [index] };
        const result = run(script, input);
        const actual = result.ok
          ? { ok: true, output: [...result.output] }
          : { ok: false, message: result.message.split(" (")[0] };
        assert.deepEqual(actual, expected);
      },
    ),
    { numRuns: runs(200) },
  );
});

const schemas = ["a/A@1", "b/B@1"];
const keys = [cbor("k1"), cbor("k2")];
const someSchema = fc.constantFrom(...schemas);
const someValue = fc.integer({ min: 0, max: 2 }).map((n) => cbor({ n }));
const someState = fc.option(fc.integer({ min: 0, max: 2 }).map((s) => cbor({ s })));
const someKey = fc.constantFrom(...keys);

/** Each `when` field is taken from the input (so rules match often), drawn at random, or left out. */
function pickWhen(env: InputEnvelope, random: Required<ScriptWhen>, sources: readonly string[]): ScriptWhen {
  const pick = <T>(i: number, fromInput: T | undefined, fromRandom: T): T | undefined =>
    sources[i] === "input" ? fromInput : sources[i] === "random" ? fromRandom : undefined;
  const schema = pick(0, env.event.schema, random.schema);
  const value = pick(1, env.event.value, random.value);
  const state = pick(2, env.state, random.state);
  const key = pick(3, env.event.key ?? env.ctx.key, random.key);
  const cellMode = pick(4, env.ctx.cellMode, random.cellMode);
  const nowNs = pick(5, env.ctx.nowNs, random.nowNs);
  return {
    ...(schema === undefined ? {} : { schema }),
    ...(value === undefined ? {} : { value }),
    ...(state === undefined ? {} : { state }),
    ...(key === undefined ? {} : { key }),
    ...(cellMode === undefined ? {} : { cellMode }),
    ...(nowNs === undefined ? {} : { nowNs }),
  };
}

Deno.test("property: with envelope fields, the module picks the first rule whose fields all equal", () => {
  const randomWhen = fc.record({
    schema: someSchema,
    value: someValue,
    state: someState,
    key: fc.option(someKey),
    cellMode: fc.boolean(),
    nowNs: fc.bigInt({ min: 0n, max: 2n }),
    bytes: fc.constant([]),
  });
  const sources = fc.array(fc.constantFrom("none", "none", "input", "input", "random"), {
    minLength: 6,
    maxLength: 6,
  });
  const input = fc.record({
    state: someState,
    event: fc.record({ schema: someSchema, value: someValue, key: someKey }, {
      requiredKeys: ["schema", "value"],
    }),
    ctx: fc.record({
      key: fc.option(someKey),
      cellMode: fc.boolean(),
      nowNs: fc.bigInt({ min: 0n, max: 2n }),
    }, {
      requiredKeys: ["key", "cellMode"],
    }),
  });
  const same = (a: Uint8Array | null | undefined, b: Uint8Array | null | undefined) =>
    a === b || (a instanceof Uint8Array && b instanceof Uint8Array && bytesEqual(a, b));
  const outcomes = new Set<number | string>();
  fc.assert(
    fc.property(fc.array(fc.tuple(randomWhen, sources), { maxLength: 5 }), input, (rules, env) => {
      const whens = rules.map(([random, from]) => pickWhen(env, random, from));
      const index = whens.findIndex((w) =>
        (w.schema === undefined || w.schema === env.event.schema) &&
        (w.value === undefined || same(w.value, env.event.value)) &&
        (w.state === undefined || same(w.state, env.state)) &&
        (w.key === undefined || same(w.key, env.ctx.key) || (w.key !== null && same(w.key, env.event.key))) &&
        (w.cellMode === undefined || w.cellMode === env.ctx.cellMode) &&
        (w.nowNs === undefined || w.nowNs === env.ctx.nowNs)
      );
      const script: ReducerScript = { rules: whens.map((w, i) => ({ when: w, then: ruleState(i) })) };
      const expected = index < 0 ? "trap" : index;
      assert.equal(chosen(run(script, encodeInputEnvelope(env))), expected);
      outcomes.add(expected);
    }),
    { numRuns: runs(200) },
  );
  // the generator is not vacuous: no match and wins by later rules all occur (misses are ~1e-6 likely)
  for (const outcome of ["trap", 0, 1, 2]) assert.ok(outcomes.has(outcome), `never saw outcome ${outcome}`);
});
