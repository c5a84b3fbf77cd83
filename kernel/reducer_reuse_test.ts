import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, hashRefOf } from "../air/mod.ts";
import { ROOT_DIR } from "./_test_fixtures.ts";
import { analyzeReuse, REUSE_MEMORY_BYTES_MAX } from "./_reducer_reuse.ts";
import {
  callInput,
  type CallSpec,
  callSpec,
  LeakOp,
  MODULE_EVENTS,
  nextState,
  type RawGlobal,
  rawModule,
  scribbleModule,
  stateLeakModule,
} from "./_reuse_test_fixtures.ts";
import { instrumentFuel, WRITE_HI_EXPORT, WRITE_LO_EXPORT } from "./fuel.ts";
import { type ReducerCallResult, ReducerHost } from "./reducer_host.ts";

/**
 * Every `modules/` folder under `dir` (relative to the repository root): `examples/NAME/modules`, and
 * `examples/ladder/NN-name/modules`.
 */
function modulesDirs(dir: string): string[] {
  return [...Deno.readDirSync(`${ROOT_DIR}/${dir}`)].filter((entry) => entry.isDirectory).flatMap((entry) =>
    entry.name === "modules" ? [`${dir}/modules`] : modulesDirs(`${dir}/${entry.name}`)
  );
}

/** The committed reducers that load: the examples' modules and kernel/testdata (bad_import does not load). */
const COMMITTED = [
  ...modulesDirs("examples").flatMap((dir) =>
    [...Deno.readDirSync(`${ROOT_DIR}/${dir}`)].map((f) => `${dir}/${f.name}`)
  ),
  ...[...Deno.readDirSync(`${ROOT_DIR}/kernel/testdata`)].filter((f) => f.name.endsWith(".wasm"))
    .map((f) => `kernel/testdata/${f.name}`).filter((path) => !path.endsWith("bad_import.wasm")),
].sort();

/**
 * Fuel per call in these tests: ample for every committed reducer's step, and a runaway call stops in
 * milliseconds instead of most of a second.
 */
const TEST_FUEL_MAX = 5_000_000;

/** A reusing host and a fresh-instance host with the same module loaded. */
function hosts(bytes: Uint8Array): { reuse: ReducerHost; fresh: ReducerHost; hash: string } {
  const hash = hashRefOf(bytes);
  const reuse = new ReducerHost({ fuelMax: TEST_FUEL_MAX });
  const fresh = new ReducerHost({ reuseInstances: false, fuelMax: TEST_FUEL_MAX });
  reuse.load(hash, bytes);
  fresh.load(hash, bytes);
  return { reuse, fresh, hash };
}

/** Runs the inputs through both hosts, asserting equal results call by call; returns the reusing host. */
function assertSameAsFresh(bytes: Uint8Array, inputs: Iterable<Uint8Array>): ReducerHost {
  const { reuse, fresh, hash } = hosts(bytes);
  let i = 0;
  for (const input of inputs) {
    assert.deepEqual(reuse.call(hash, input), fresh.call(hash, input), `call ${i++}`);
  }
  return reuse;
}

const leakInput = (op: number, extra: Uint8Array = new Uint8Array()) => new Uint8Array([op, ...extra]);

/** The 20 output bytes of the state-leak module as five little-endian i32s. */
function leakWords(result: ReducerCallResult): number[] {
  assert.ok(result.ok, `call failed: ${JSON.stringify(result)}`);
  const view = new DataView(result.output.buffer, result.output.byteOffset, result.output.byteLength);
  return [0, 4, 8, 12, 16].map((at) => view.getInt32(at, true));
}

Deno.test("every committed reducer is reusable", () => {
  assert.ok(COMMITTED.length >= 9, `found ${COMMITTED.join(", ")}`);
  for (const path of COMMITTED) {
    const { reuse, hash } = hosts(Deno.readFileSync(`${ROOT_DIR}/${path}`));
    assert.equal(reuse.reusesInstances(hash), true, path);
  }
});

Deno.test("reused instances give the committed reducers' results of fresh instances, for random call sequences", () => {
  let calls = 0;
  let instantiations = 0;
  for (const path of COMMITTED) {
    const bytes = Deno.readFileSync(`${ROOT_DIR}/${path}`);
    const own = MODULE_EVENTS[path] ?? MODULE_EVENTS[path.slice(path.lastIndexOf("/") + 1)];
    assert.ok(own, `no events listed for ${path}`);
    // The fresh-instance host keeps nothing between calls, so one serves every run; the reusing host is new.
    const { fresh, hash } = hosts(bytes);
    fc.assert(
      fc.property(fc.array(callSpec(own), { minLength: 1, maxLength: 12 }), (specs: CallSpec[]) => {
        const reuse = new ReducerHost({ fuelMax: TEST_FUEL_MAX });
        reuse.load(hash, bytes);
        let last: Uint8Array | null = null;
        for (const [i, spec] of specs.entries()) {
          const input = callInput(spec, last);
          const expected = fresh.call(hash, input);
          assert.deepEqual(reuse.call(hash, input), expected, `${path}, call ${i}`);
          last = nextState(expected, last);
        }
        calls += specs.length;
        instantiations += reuse.instantiations;
      }),
      { numRuns: Number(Deno.env.get("AOS_FUZZ_RUNS") ?? 15) },
    );
  }
  assert.ok(
    calls - instantiations > calls / 4,
    `${instantiations} instantiations for ${calls} calls: little reuse`,
  );
});

const leakOp = fc.oneof(
  { weight: 6, arbitrary: fc.constant(LeakOp.Normal) },
  { weight: 3, arbitrary: fc.constant(LeakOp.Store) },
  ...[LeakOp.Trap, LeakOp.Grow, LeakOp.GrowOverLimit, LeakOp.BadOutput, LeakOp.Abort].map((op) => ({
    weight: 1,
    arbitrary: fc.constant(op),
  })),
);
/** Calls of the state-leak module; at most one runs out of fuel (that takes most of a second per host). */
const leakCalls = fc.record({
  calls: fc.array(fc.tuple(leakOp, fc.uint8Array({ maxLength: 8 })), { maxLength: 16 }),
  spinAt: fc.oneof(
    { weight: 14, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.nat({ max: 16 }) },
  ),
});

Deno.test("reused instances give a state-leaking module's results of fresh instances, traps, timeouts and growth included", () => {
  const bytes = stateLeakModule();
  fc.assert(
    fc.property(leakCalls, ({ calls, spinAt }) => {
      const inputs = calls.map(([op, extra]) => leakInput(op, extra));
      if (spinAt !== undefined) inputs.splice(Math.min(spinAt, inputs.length), 0, leakInput(LeakOp.Spin));
      const reuse = assertSameAsFresh(bytes, inputs);
      assert.ok(reuse.reusesInstances(hashRefOf(bytes)));
    }),
    {
      numRuns: 30,
      examples: [[{
        calls: [[LeakOp.Normal, new Uint8Array()], [LeakOp.Store, new Uint8Array([1])]],
        spinAt: 1,
      }]],
    },
  );
});

Deno.test("the state-leak module answers as a fresh instance on every call, and fails where expected", () => {
  const { reuse, fresh, hash } = hosts(stateLeakModule());
  const ok = (op: number, extra?: Uint8Array) => leakWords(reuse.call(hash, leakInput(op, extra)));
  assert.deepEqual(ok(LeakOp.Normal), [1, 6, 1024 + 8 + 1, 0, 1]);
  assert.deepEqual(ok(LeakOp.Store, new Uint8Array([9, 9])), [1, 6, 1024 + 8 + 3, 3, 1]);
  assert.deepEqual(ok(LeakOp.Normal), [1, 6, 1024 + 8 + 1, 0, 1]);
  assert.equal(reuse.instantiations, 1, "three clean calls on one instance");
  assert.deepEqual(ok(LeakOp.Grow), [1, 6, 1024 + 8 + 1, 0, 2]);
  assert.deepEqual(ok(LeakOp.Normal), [1, 6, 1024 + 8 + 1, 0, 1]);
  assert.equal(reuse.instantiations, 2, "a grown memory is not reused");
  const failures: Array<[number, string, RegExp]> = [
    [LeakOp.Trap, "trap", /unreachable/],
    [LeakOp.GrowOverLimit, "trap", /^memory\.grow past the limit of 256 pages \(at 1\)$/],
    [LeakOp.BadOutput, "bad_output", /^output range \[0, \+-1\) is outside memory$/],
    [LeakOp.Abort, "trap", /^hi \(line 1, column 2\)$/],
  ];
  for (const [op, code, message] of failures) {
    const before: number = reuse.instantiations;
    const result = reuse.call(hash, leakInput(op));
    assert.deepEqual(result, fresh.call(hash, leakInput(op)));
    assert.ok(!result.ok && result.code === code && message.test(result.message), JSON.stringify(result));
    assert.deepEqual(ok(LeakOp.Normal), [1, 6, 1024 + 8 + 1, 0, 1]);
    assert.equal(reuse.instantiations, before + 1, `op ${op}: a failed call's instance is not reused`);
  }
});

Deno.test("reused instances of a module scribbling with every kind of write answer as fresh instances", () => {
  // The host copies the input below every guest write, then above: a range too short at either end shows.
  for (const inputAt of [0, 60_000]) {
    const bytes = scribbleModule(inputAt);
    const tracked = new WebAssembly.Module(instrumentFuel(bytes, { trackWrites: true, initialFuel: 1_000 }));
    const exported = WebAssembly.Module.exports(tracked).map((e) => e.name);
    assert.ok(exported.includes(WRITE_LO_EXPORT) && exported.includes(WRITE_HI_EXPORT), "writes are tracked");
    // Input bytes: A, V (4), fill length, init length, window, which writes (2): see scribbleModule.
    const only = (bit: number, b0: number, v: number[], window: number) =>
      new Uint8Array([b0, ...v, 200, 15, window, (1 << bit) & 0xff, (1 << bit) >> 8]);
    const nan = [0x01, 0x00, 0x80, 0x7f]; // a signaling NaN as f32 (and the low half of an f64)
    // Each write alone at A = 4096 + 200 × 4, then a call without writes whose window (from 240 × 20) shows it.
    const eachAlone = Array.from({ length: 12 }, (_, bit) => [
      only(bit, 4, [0xfe, 0xfe, 0xfe, 0xfe], 0), // (b2 = 255 would trap)
      only(12, 0, [0, 0, 0, 0], 20),
    ]);
    // No guest write: the host's copy of a long input, then a shorter one with a window on the input.
    const inputWindow = inputAt / 240;
    const hostOnly = [new Uint8Array(64).fill(7).fill(0, 8, 10), new Uint8Array(10).fill(inputWindow, 7, 8)];
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 10, maxLength: 64 }), { minLength: 1, maxLength: 12 }),
        (inputs) => {
          const reuse = assertSameAsFresh(bytes, inputs);
          assert.ok(reuse.reusesInstances(hashRefOf(bytes)));
          // A trapped instance is dropped: the call after it gets a new one.
          const traps = inputs.slice(0, -1).filter((input) => input[2] === 255).length;
          assert.equal(reuse.instantiations, 1 + traps, "one instance, and one more after each trap");
        },
      ),
      {
        numRuns: 40,
        examples: [
          ...eachAlone.map((calls) => [calls] as [Uint8Array[]]),
          [[only(2, 9, nan, 0), only(3, 9, nan, 0)]],
          [hostOnly],
        ],
      },
    );
  }
});

// --- Modules the host cannot reset from JavaScript get fresh instances ---

const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const FUNCREF = 0x70;
const mutable = (type: number, init: number[]): RawGlobal => ({ type, mutable: true, init });
/** `i32.const 256; i32.const len`: the output is `len` bytes at 256. */
const out = (len: number) => [0x41, ...[0x80, 0x02], 0x41, len];
const f64Bits = (hex: string) => [...Array(8)].map((_, i) => parseInt(hex.slice(14 - 2 * i, 16 - 2 * i), 16));

Deno.test("i64 and f32 globals are reset: g64 += 1, g32 += 1.5, output both", () => {
  const step = [
    ...[0x23, 0, 0x42, 1, 0x7c, 0x24, 0], // g0 = g0 + 1 (i64)
    ...[0x23, 1, 0x43, 0, 0, 0xc0, 0x3f, 0x92, 0x24, 1], // g1 = g1 + 1.5 (f32)
    ...[0x41, 0x80, 0x02, 0x23, 0, 0x37, 3, 0], // i64.store at 256
    ...[0x41, 0x80, 0x02, 0x23, 1, 0x38, 2, 8], // f32.store at 264
    ...out(12),
  ];
  const bytes = rawModule({
    globals: [mutable(I64, [0x42, 41]), mutable(F32, [0x43, 0, 0, 0x80, 0xbf])],
    step,
  });
  const reuse = assertSameAsFresh(bytes, Array(4).fill(new Uint8Array()));
  assert.equal(reuse.reusesInstances(hashRefOf(bytes)), true);
  assert.equal(reuse.instantiations, 1);
});

Deno.test("a module exporting a name the reuse exports would take still gets its globals reset", () => {
  const step = [0x23, 0, 0x41, 1, 0x6a, 0x24, 0, 0x41, 0x80, 0x02, 0x23, 0, 0x36, 2, 0, ...out(4)];
  const bytes = rawModule({ globals: [mutable(0x7f, [0x41, 0])], step, aliases: ["__aos_global_0"] });
  const reuse = assertSameAsFresh(bytes, Array(3).fill(new Uint8Array()));
  assert.equal(reuse.reusesInstances(hashRefOf(bytes)), true);
});

Deno.test("a module already exporting a write mark's name is reused without write tracking, resetting all its memory", () => {
  // g0 += 1; store g0 at 256 + 4 × len: calls of different lengths write to different words, and a word a
  // call before wrote shows in the output unless the whole memory (or the range written) was reset.
  const step = [
    ...[0x23, 0, 0x41, 1, 0x6a, 0x24, 0], // g0 += 1
    ...[0x41, 0x80, 0x02, 0x20, 1, 0x41, 4, 0x6c, 0x6a, 0x23, 0, 0x36, 2, 0], // i32.store(256 + 4 × len, g0)
    ...out(48),
  ];
  const bytes = rawModule({ globals: [mutable(0x7f, [0x41, 0])], step, aliases: [WRITE_HI_EXPORT] });
  const tracked = new WebAssembly.Module(instrumentFuel(bytes, { trackWrites: true, initialFuel: 1_000 }));
  const names = WebAssembly.Module.exports(tracked).map((e) => e.name);
  assert.ok(!names.includes(WRITE_LO_EXPORT), "no tracking: the module has an export of that name");
  const reuse = assertSameAsFresh(bytes, [1, 3, 2, 5, 1].map((len) => new Uint8Array(len)));
  assert.equal(reuse.reusesInstances(hashRefOf(bytes)), true);
  assert.equal(reuse.instantiations, 1);
});

Deno.test("a module growing its table gets a fresh instance per call", () => {
  // table.grow(ref.null func, 1); store table.size at 256.
  const step = [
    0xd0,
    FUNCREF,
    0x41,
    1,
    0xfc,
    15,
    0,
    0x1a,
    0x41,
    0x80,
    0x02,
    0xfc,
    16,
    0,
    0x36,
    2,
    0,
    ...out(4),
  ];
  const bytes = rawModule({ table: true, step });
  assert.deepEqual(analyzeReuse(bytes), { reusable: false, reason: "uses table.grow" });
  const reuse = assertSameAsFresh(bytes, Array(3).fill(new Uint8Array()));
  assert.equal(reuse.reusesInstances(hashRefOf(bytes)), false);
  assert.equal(reuse.instantiations, 3);
});

Deno.test("a mutable funcref global or a NaN float global means fresh instances", () => {
  const funcref = rawModule({ globals: [mutable(FUNCREF, [0xd0, FUNCREF])], step: out(0) });
  assert.deepEqual(analyzeReuse(funcref), { reusable: false, reason: "mutable global 0 is not numeric" });
  // A NaN with a payload: JavaScript may not give its bits back, so the host does not try.
  const step = [0x23, 0, 0x44, ...f64Bits("3ff0000000000000"), 0xa0, 0x24, 0, ...out(0)];
  const nan = rawModule({ globals: [mutable(F64, [0x44, ...f64Bits("7ff4000000000001")])], step });
  assert.equal(analyzeReuse(nan).reusable, true);
  const reuse = assertSameAsFresh(nan, Array(3).fill(new Uint8Array()));
  assert.equal(reuse.reusesInstances(hashRefOf(nan)), false);
  assert.equal(reuse.instantiations, 3);
});

Deno.test("analyzeReuse() calls a module it cannot read not reusable instead of throwing", () => {
  const analysis = analyzeReuse(new TextEncoder().encode("not wasm"));
  assert.equal(analysis.reusable, false);
});

Deno.test("load() fails with the same message with and without reuse (engine offsets included)", () => {
  const failures = [
    rawModule({ globals: [mutable(0x7f, [0x41, 0])], step: [0x6a] }), // i32.add on an empty stack
    rawModule({ globals: [mutable(0x7f, [0x41, 0])], step: [0xfd, 0x0f] }), // SIMD: not decodable
    new TextEncoder().encode("not wasm"),
  ];
  for (const bytes of failures) {
    const messages = [true, false].map((reuseInstances) => {
      try {
        new ReducerHost({ reuseInstances }).load(hashRefOf(bytes), bytes);
      } catch (error) {
        assert.ok(error instanceof AosError && error.code === "AOS_WASM_INVALID");
        return error.message;
      }
      assert.fail("load() accepted an invalid module");
    });
    assert.equal(messages[0], messages[1]);
  }
});

Deno.test("a module with a memory above REUSE_MEMORY_BYTES_MAX gets fresh instances; one at the limit is reused", () => {
  const step = [0x41, 0x80, 0x02, 0x41, 0x80, 0x02, 0x28, 2, 0, 0x41, 1, 0x6a, 0x36, 2, 0, ...out(4)]; // [256]++
  const limit = REUSE_MEMORY_BYTES_MAX / 65_536;
  for (const pages of [limit, limit + 1]) {
    const reused = pages === limit;
    const bytes = rawModule({ step, pages });
    const reuse = assertSameAsFresh(bytes, Array(3).fill(new Uint8Array()));
    assert.equal(reuse.reusesInstances(hashRefOf(bytes)), reused, `${pages} pages`);
    assert.equal(reuse.instantiations, reused ? 1 : 3);
  }
});
