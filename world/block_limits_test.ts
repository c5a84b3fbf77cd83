/**
 * Defect 2 of issue 13: a reducer that emits `eventsPerReducerStepMax` events routed back to itself grows a
 * block geometrically (1,024 events, then 1,024² …) and ran out of memory long before the tick limit, so
 * the world could not even reopen (reopening re-ran the block). The per-block bounds end the block with one
 * `reducer_error` code `block_limit`; the world reopens and replays.
 */
import assert from "node:assert/strict";
import { encodeCanonical, hashRefOf, limits } from "../air/mod.ts";
import { Code, I32, VirtualClock, WasmModuleBuilder } from "../kernel/mod.ts";
import { T0_NS, tempDir } from "../kernel/_test_fixtures.ts";
import { readJournalDir } from "../journal/mod.ts";
import { realLimits } from "../journal/testing/mod.ts";
import { initWorld } from "./init_world.ts";
import { worldPaths } from "./paths.ts";
import { verifyWorld } from "./verify.ts";
import { World } from "./world.ts";

const PING = "test/Ping@1";
const FAN_OUT = "test/FanOut@1";

/** A reducer that ignores its input and returns `{state: null, domain_events: [Ping{n: 1} × count]}`. */
function fanOutWasm(count: number): Uint8Array {
  const event = { schema: PING, value: encodeCanonical({ n: 1 }) };
  const output = encodeCanonical({ state: null, domain_events: Array(count).fill(event) });
  const inputAt = Math.ceil(output.length / 65_536) * 65_536;
  const builder = new WasmModuleBuilder().setMemory(inputAt / 65_536 + 64).addData(0, output);
  const alloc = builder.addFunction({ params: [I32], results: [I32] }, new Code().i32Const(inputAt));
  const step = builder.addFunction(
    { params: [I32, I32], results: [I32, I32] },
    new Code().i32Const(0).i32Const(output.length),
  );
  return builder.exportMemory().exportFunction("alloc", alloc).exportFunction("step", step).build();
}

function airFiles(wasmHash: string) {
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  return [
    {
      path: "manifest.air.json",
      text: json({
        $kind: "manifest",
        schemas: [{ name: "test/FanOutState@1" }, { name: PING }],
        modules: [{ name: FAN_OUT }],
        plans: [],
        caps: [],
        policies: [],
        routing: { events: [{ event: PING, reducer: FAN_OUT }] },
      }),
    },
    {
      path: "schemas.air.json",
      text: json([
        { $kind: "defschema", name: "test/FanOutState@1", type: { record: { seen: { nat: {} } } } },
        { $kind: "defschema", name: PING, type: { record: { n: { nat: {} } } } },
      ]),
    },
    {
      path: "modules.air.json",
      text: json([{
        $kind: "defmodule",
        name: FAN_OUT,
        module_kind: "reducer",
        wasm_hash: wasmHash,
        abi: { reducer: { state: "test/FanOutState@1", event: PING } },
      }]),
    },
  ];
}

/**
 * The bound on a block's derived events the first test runs under: the real one (16,384: two blocks of
 * 16k events, journaled, reopened and replayed, about 5 s of CPU) with `AOS_REAL_LIMITS=1` (`deno task
 * test:long`), else 4,096 (four steps of the reducer's 1,024 events): the same geometric growth, stopped
 * by the same check.
 */
const EVENTS_PER_BLOCK = realLimits() ? limits.derivedEventsPerBlockMax : 4_096;

Deno.test("the bound on a block's derived events is 16,384, and on one step's events 1,024", () => {
  assert.equal(limits.derivedEventsPerBlockMax, 16_384);
  assert.equal(limits.eventsPerReducerStepMax, 1_024);
});

Deno.test(`a reducer emitting 1,024 events routed to itself ends its block with block_limit at ${EVENTS_PER_BLOCK} events; the world reopens and replays`, async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/w`;
  const wasm = fanOutWasm(limits.eventsPerReducerStepMax);
  const clock = new VirtualClock(T0_NS);
  const mutable = limits as { derivedEventsPerBlockMax: number };
  const saved = mutable.derivedEventsPerBlockMax;
  mutable.derivedEventsPerBlockMax = EVENTS_PER_BLOCK;
  using _restore = { [Symbol.dispose]: () => void (mutable.derivedEventsPerBlockMax = saved) };
  const world = await initWorld(dir, airFiles(hashRefOf(wasm)), [{ path: "fan_out.wasm", bytes: wasm }], {
    clock,
  });
  let heightAfter: number;
  try {
    const report = await world.send([{ schema: PING, value: { n: 1n } }]);
    assert.equal(report.reducerErrors.length, 1);
    const [error] = report.reducerErrors;
    assert.equal(error!.reducer, FAN_OUT);
    assert.equal(error!.code, "block_limit");
    assert.match(error!.message, new RegExp(`derivedEventsPerBlockMax \\(${EVENTS_PER_BLOCK}\\)`));
    // The block holds every event committed before the bound, and nothing after the failure record.
    const kinds = report.entries.map((e) => e.kind);
    const events = kinds.filter((k) => k === "domain_event").length;
    assert.ok(events <= limits.derivedEventsPerBlockMax + 1, `${events} events in the block`);
    assert.equal(
      events,
      1 + Math.floor(limits.derivedEventsPerBlockMax / limits.eventsPerReducerStepMax) * 1_024,
    );
    assert.equal(kinds[kinds.length - 1], "reducer_error");
    // The next input runs normally (a fresh block), and fails the same way.
    const next = await world.send([{ schema: PING, value: { n: 2n } }]);
    assert.deepEqual(next.reducerErrors.map((e) => e.code), ["block_limit"]);
    heightAfter = world.height;
  } finally {
    world.close();
  }
  const reopened = await World.open(dir, { clock });
  try {
    assert.equal(reopened.height, heightAfter);
  } finally {
    reopened.close();
  }
  const verified = await verifyWorld(dir);
  assert.equal(verified.ok, true, JSON.stringify(verified.error));
  const { entries } = await readJournalDir(worldPaths(dir).journal);
  assert.equal(entries.filter((e) => e.kind === "reducer_error").length, 2);
});

Deno.test("the bytes of a block's derived events are bounded too: block_limit names derivedEventBytesPerBlockMax", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/w`;
  const wasm = fanOutWasm(8);
  const mutable = limits as { derivedEventBytesPerBlockMax: number };
  const saved = mutable.derivedEventBytesPerBlockMax;
  // Each emitted event is 11 bytes of schema and 4 of value: three steps of 8 fit in 400 bytes, a fourth not.
  mutable.derivedEventBytesPerBlockMax = 400;
  const world = await initWorld(dir, airFiles(hashRefOf(wasm)), [{ path: "fan_out.wasm", bytes: wasm }], {
    clock: new VirtualClock(T0_NS),
  });
  try {
    const report = await world.send([{ schema: PING, value: { n: 1n } }]);
    assert.deepEqual(report.reducerErrors.map((e) => [e.reducer, e.code]), [[FAN_OUT, "block_limit"]]);
    assert.match(
      report.reducerErrors[0]!.message,
      /480 bytes of derived events, above derivedEventBytesPerBlockMax \(400\)/,
    );
    assert.equal(report.entries.filter((e) => e.kind === "domain_event").length, 1 + 3 * 8);
    world.close();
    // Replay runs under the same bound (a kernel limit: replay with another value would diverge).
    const verified = await verifyWorld(dir);
    assert.equal(verified.ok, true, JSON.stringify(verified.error));
  } finally {
    world.close();
    mutable.derivedEventBytesPerBlockMax = saved;
  }
});
