/**
 * Test fixtures for `reducer_reuse_test.ts` (private to `kernel/`): reducer modules that leave state behind
 * between calls, so a reused instance that is not reset gives different answers than a fresh one, and a
 * random call generator for the committed reducers.
 *
 * @module
 */
import fc from "npm:fast-check@4.11.0";
import { AosError, type CborValue, encodeCanonical } from "../air/mod.ts";
import { encodeSleb128 as sleb, encodeUleb128 as uleb } from "../air/mod.ts";
import { Code, I32, WasmModuleBuilder } from "./wasm_builder.ts";
import { decodeOutputEnvelope, encodeInputEnvelope } from "./envelope.ts";
import type { ReducerCallResult } from "./reducer_host.ts";

/** What the first input byte (mod 8) makes {@linkcode stateLeakModule} do after it changed its state. */
export const LeakOp = {
  Normal: 0,
  Trap: 1,
  Spin: 2,
  Grow: 3,
  GrowOverLimit: 4,
  BadOutput: 5,
  Store: 6,
  Abort: 7,
} as const;

/**
 * A result-pointer reducer that leaves garbage everywhere: a bump allocator (global 0, from 1024) that never
 * frees, a call counter (global 1), a counter in its data segment (address 512, from 5), the input length
 * stored at 4096 by {@linkcode LeakOp.Store}. Every call bumps the counters first, then does what its first
 * input byte says ({@linkcode LeakOp}), then outputs 20 bytes: the call counter, the data counter, the heap
 * pointer, the word at 4096 and the memory size in pages. A fresh instance always answers
 * `1, 6, 1032 + len, 0 or len, 1 or 2`.
 */
export function stateLeakModule(): Uint8Array {
  const b = new WasmModuleBuilder();
  const abort = b.importFunction("env", "abort", { params: [I32, I32, I32, I32], results: [] });
  const heap = b.addGlobalI32(1024);
  const calls = b.addGlobalI32(0);
  b.addGlobalI32(7, false);
  b.setMemory(1);
  b.exportMemory();
  b.addData(512, new Uint8Array([5, 0, 0, 0]));
  // An AssemblyScript string "hi" for the abort message: byte length, then UTF-16LE.
  b.addData(600, new Uint8Array([4, 0, 0, 0, 0x68, 0, 0x69, 0]));
  const alloc = b.addFunction(
    { params: [I32], results: [I32] },
    new Code().globalGet(heap).globalGet(heap).localGet(0).i32Add().globalSet(heap),
  );
  const op = 3; // local: params ret, ptr, len, then op
  const when = (code: Code, value: number, then: (c: Code) => Code) =>
    then(code.localGet(op).i32Const(value).i32Eq().if()).end();
  let step = new Code()
    .globalGet(calls).i32Const(1).i32Add().globalSet(calls)
    .i32Const(512).i32Const(512).i32Load().i32Const(1).i32Add().i32Store()
    .localGet(2).if(undefined, I32).localGet(1).i32Load8U().i32Const(7).i32And().else().i32Const(0).end()
    .localSet(op);
  step = when(step, LeakOp.Trap, (c) => c.unreachable());
  step = when(step, LeakOp.Spin, (c) => c.loop("spin").br("spin").end());
  step = when(step, LeakOp.Grow, (c) => c.i32Const(1).memoryGrow().drop());
  step = when(step, LeakOp.GrowOverLimit, (c) => c.i32Const(256).memoryGrow().drop());
  step = when(
    step,
    LeakOp.BadOutput,
    (c) => c.localGet(0).i32Const(0).i32Store().localGet(0).i32Const(-1).i32Store(4).return(),
  );
  step = when(step, LeakOp.Store, (c) => c.i32Const(4096).localGet(2).i32Store());
  step = when(step, LeakOp.Abort, (c) => c.i32Const(604).i32Const(0).i32Const(1).i32Const(2).call(abort));
  step = step
    .i32Const(256).globalGet(calls).i32Store()
    .i32Const(256).i32Const(512).i32Load().i32Store(4)
    .i32Const(256).globalGet(heap).i32Store(8)
    .i32Const(256).i32Const(4096).i32Load().i32Store(12)
    .i32Const(256).memorySize().i32Store(16)
    .localGet(0).i32Const(256).i32Store()
    .localGet(0).i32Const(20).i32Store(4);
  const stepIndex = b.addFunction({ params: [I32, I32, I32], results: [] }, step, [I32]);
  b.exportFunction("alloc", alloc);
  b.exportFunction("step", stepIndex);
  return b.build();
}

/** A global of {@linkcode rawModule}: value type byte, mutability, constant initializer (without `end`). */
export interface RawGlobal {
  type: number;
  mutable: boolean;
  init: number[];
}

/**
 * A multi-value reducer assembled byte by byte, for what the testkit assembler cannot express (tables,
 * i64/f32/f64 globals): `alloc` returns 0, `step(ptr, len)` runs `step` (which must leave out_ptr, out_len).
 */
export function rawModule(spec: {
  globals?: RawGlobal[];
  /** One funcref table of one element. */
  table?: boolean;
  step: number[];
  /** Extra exports of `alloc` under these names. */
  aliases?: string[];
  /** Initial memory pages (default 1). */
  pages?: number;
  /** One passive data segment (for `memory.init`). */
  passive?: Uint8Array;
  /** What `alloc` returns (default 0). */
  allocAt?: number;
}): Uint8Array {
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (text: string) => vec([...new TextEncoder().encode(text)].map((c) => [c]));
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const body = (code: number[]) => [...uleb(code.length + 2), 0x00, ...code, 0x0b];
  const exports = [
    [...name("memory"), 0x02, 0],
    [...name("alloc"), 0x00, 0],
    [...name("step"), 0x00, 1],
    ...(spec.aliases ?? []).map((alias) => [...name(alias), 0x00, 0]),
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 1, I32, 1, I32], [0x60, 2, I32, I32, 2, I32, I32]])),
    ...section(3, vec([[0], [1]])),
    ...(spec.table ? section(4, vec([[0x70, 0x00, 1]])) : []),
    ...section(5, vec([[0x00, ...uleb(spec.pages ?? 1)]])),
    ...section(6, vec((spec.globals ?? []).map((g) => [g.type, g.mutable ? 1 : 0, ...g.init, 0x0b]))),
    ...section(7, vec(exports)),
    ...(spec.passive ? section(12, uleb(1)) : []),
    ...section(10, vec([body([0x41, ...sleb(spec.allocAt ?? 0)]), body(spec.step)])),
    ...(spec.passive ? section(11, vec([[0x01, ...uleb(spec.passive.length), ...spec.passive]])) : []),
  ]);
}

/**
 * A reducer that scribbles over its memory with the kinds of write its input picks, at addresses its input
 * picks, then outputs 1 KiB of memory from another address its input picks: a reused instance that copies
 * back less than a call wrote (the guest's writes or the host's copy of the input) answers differently from
 * a fresh one. Input (copied by the host to `inputAt`, which `alloc` returns: 0, below every address the
 * guest writes, or 60,000, above them): byte 0 picks A = 4096 + 200 × b0, bytes 1–4 are the value V, byte 5 a fill length, byte 6 a
 * `memory.init` length (of at most 15), byte 7 picks the window W = 240 × b7 (0 or 250: the input's own bytes),
 * bytes 8 and 9 say which writes run (bit i of b8 | b9 << 8),
 * and b2 = 255 traps after them. The writes, at A: `i32.store` V (offset 0), `i64.store` (16), `f32.store`
 * (24), `f64.store` (32), `i32.store8` (40), `i32.store16` (42), `i64.store8` (44), `i64.store16` (46),
 * `i64.store32` (48), `memory.fill` of b5 bytes of V at A + 64, `memory.copy` of the input to A + 400,
 * `memory.init` of b6 bytes to A + 700. Inputs are 10 to 64 bytes long.
 */
export function scribbleModule(inputAt: number): Uint8Array {
  // The input is at `ptr` (local 0), which is `inputAt`.
  const a = [0x20, 0, 0x2d, 0, 0, 0x41, ...sleb(200), 0x6c, 0x41, ...sleb(4096), 0x6a]; // A
  const v = [0x20, 0, 0x28, 0, 1]; // i32.load offset=1
  const byte = (at: number) => [0x20, 0, 0x2d, 0, at]; // i32.load8_u offset=at
  const mask = [0x20, 0, 0x2f, 0, 8]; // i32.load16_u offset=8
  /** `if (mask & 1 << bit) { code }` */
  const when = (
    bit: number,
    code: number[],
  ) => [...mask, 0x41, ...sleb(1 << bit), 0x71, 0x04, 0x40, ...code, 0x0b];
  const store = (bit: number, opcode: number, align: number, offset: number, value: number[]) =>
    when(bit, [...a, ...value, opcode, align, ...uleb(offset)]);
  const v64 = [...v, 0xad]; // i64.extend_i32_u
  const step = [
    ...store(0, 0x36, 2, 0, v),
    ...store(1, 0x37, 3, 16, v64),
    ...store(2, 0x38, 2, 24, [...v, 0xbe]), // f32.reinterpret_i32
    ...store(3, 0x39, 3, 32, [...v64, 0xbf]), // f64.reinterpret_i64
    ...store(4, 0x3a, 0, 40, v),
    ...store(5, 0x3b, 1, 42, v),
    ...store(6, 0x3c, 0, 44, v64),
    ...store(7, 0x3d, 1, 46, v64),
    ...store(8, 0x3e, 2, 48, v64),
    ...when(9, [...a, 0x41, ...sleb(64), 0x6a, ...v, ...byte(5), 0xfc, 11, 0]), // memory.fill(A + 64, V, b5)
    ...when(10, [...a, 0x41, ...sleb(400), 0x6a, 0x20, 0, 0x20, 1, 0xfc, 10, 0, 0]), // memory.copy(A + 400, ptr, len)
    ...when(11, [...a, 0x41, ...sleb(700), 0x6a, 0x41, 0, ...byte(6), 0x41, 15, 0x71, 0xfc, 8, 0, 0]), // memory.init
    ...[...byte(2), 0x41, ...sleb(255), 0x46, 0x04, 0x40, 0x00, 0x0b], // if b2 == 255: unreachable
    ...[...byte(7), 0x41, ...sleb(240), 0x6c, 0x41, ...sleb(1024)], // out: W, 1024
  ];
  return rawModule({
    step,
    passive: new TextEncoder().encode("sixteen bytes ok"),
    allocAt: inputAt,
  });
}

const text = fc.constantFrom("a", "b", "alice", "https://example.test/");
const nat = fc.oneof(fc.nat({ max: 9 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const blobReceipt = fc.record({ blob_ref: hash32, size: nat });
/** Event schemas of the committed reducers, each with values of roughly the right shape. */
const EVENTS: ReadonlyMap<string, fc.Arbitrary<CborValue>> = new Map<string, fc.Arbitrary<CborValue>>([
  ["demo/Increment@1", fc.record({ by: nat })],
  ["demo/CellIncrement@1", fc.record({ by: nat, user: text })],
  ["demo/Configure@1", fc.record({ url: text })],
  // fetch-notify's {request_id, url}; the ladder's rung 03 {request_id}.
  ["demo/Notify@1", fc.record({ request_id: text, url: text }, { requiredKeys: ["request_id"] })],
  ["demo/FetchSucceeded@1", fc.record({ status: fc.integer({ min: 100, max: 599 }), request_id: text })],
  ["demo/FetchFailed@1", fc.record({ request_id: text })],
  ["demo/Job@1", fc.record({ id: text, attempts_max: fc.nat({ max: 3 }) })],
  [
    "sys/TimerFired@1",
    fc.record({
      effect_kind: fc.constant("timer.set"),
      requested: fc.record({ key: text, deliver_at_ns: nat }),
    }),
  ],
  ["test/Ping@1", fc.record({ n: nat })],
  // The example ladder's reducers (examples/ladder/NN-name/).
  ["demo/CounterStart@1", fc.record({ target: fc.nat({ max: 3 }) })],
  ["demo/CounterTick@1", fc.constant({})],
  ["demo/StartTimer@1", fc.record({ key: text, delay_ns: nat })],
  ["demo/Echo@1", fc.record({ namespace: text, blob_ref: hash32 })],
  ["sys/BlobPutResult@1", fc.record({ status: fc.constantFrom("ok", "error"), receipt: blobReceipt })],
  ["sys/BlobGetResult@1", fc.record({ status: fc.constantFrom("ok", "error"), receipt: blobReceipt })],
  ["demo/AggregateRequested@1", fc.record({ request_id: text, topic: text })],
  ["demo/AggregateComplete@1", fc.record({ request_id: text, topic: text })],
  ["demo/ChainStart@1", fc.record({ order_id: text, amount_cents: nat })],
  ["demo/ChargeResult@1", fc.record({ order_id: text, ok: fc.boolean() })],
  ["demo/ReserveResult@1", fc.record({ order_id: text, ok: fc.boolean() })],
  ["demo/FetchRequested@1", fc.record({ request_id: text, url: text })],
  ["demo/FetchDone@1", fc.record({ request_id: text, status: fc.integer({ min: -1, max: 599 }) })],
  ["demo/Summarize@1", fc.record({ request_id: text, url: text })],
  [
    "demo/DocFetched@1",
    fc.record({ request_id: text, status: fc.integer({ min: 100, max: 599 }), body_ref: hash32 }),
  ],
  ["demo/RetryStart@1", fc.record({ job_id: text, max_attempts: fc.nat({ max: 3 }) })],
  ["demo/WorkResult@1", fc.record({ job_id: text, attempt: fc.nat({ max: 3 }), ok: fc.boolean() })],
  ["demo/Unknown@1", fc.dictionary(text, fc.oneof(nat, text), { maxKeys: 2 })],
]);

/**
 * The events each committed reducer (by path, else by file name) handles; other schemas make it abort.
 */
export const MODULE_EVENTS: Readonly<Record<string, readonly string[]>> = {
  "counter.wasm": ["demo/Increment@1"],
  "multi_value.wasm": ["demo/Increment@1"],
  "bad_state.wasm": ["demo/Increment@1"],
  "garbage.wasm": ["demo/Increment@1"],
  "trap.wasm": ["demo/Increment@1"],
  "cell_counter.wasm": ["demo/CellIncrement@1"],
  "notifier.wasm": ["demo/Notify@1", "demo/FetchSucceeded@1", "demo/FetchFailed@1"],
  "retrier.wasm": ["demo/Job@1", "sys/TimerFired@1"],
  "relay.wasm": ["test/Ping@1"],
  // The ladder's, by path (`counter.wasm` and `notifier.wasm` are names the examples use too).
  "examples/ladder/00-counter/modules/counter.wasm": ["demo/CounterStart@1", "demo/CounterTick@1"],
  "examples/ladder/01-hello-timer/modules/timer.wasm": ["demo/StartTimer@1", "sys/TimerFired@1"],
  "examples/ladder/02-blob-echo/modules/blob_echo.wasm": [
    "demo/Echo@1",
    "sys/BlobPutResult@1",
    "sys/BlobGetResult@1",
  ],
  "examples/ladder/03-fetch-notify/modules/notifier.wasm": [
    "demo/Configure@1",
    "demo/Notify@1",
    "demo/FetchSucceeded@1",
    "demo/FetchFailed@1",
  ],
  "examples/ladder/04-aggregator/modules/aggregator.wasm": [
    "demo/AggregateRequested@1",
    "demo/AggregateComplete@1",
  ],
  "examples/ladder/05-chain-comp/modules/chain.wasm": [
    "demo/ChainStart@1",
    "demo/ChargeResult@1",
    "demo/ReserveResult@1",
  ],
  "examples/ladder/06-safe-upgrade/modules/upgrader.wasm": ["demo/FetchRequested@1", "demo/FetchDone@1"],
  "examples/ladder/07-llm-summarizer/modules/summarizer.wasm": ["demo/Summarize@1", "demo/DocFetched@1"],
  "examples/ladder/08-retry-backoff/modules/retry.wasm": [
    "demo/RetryStart@1",
    "demo/WorkResult@1",
    "sys/TimerFired@1",
  ],
};

/**
 * `ctx.key` as the canonical encoding of the event's `user` (cells) or `request_id` (fetch-notify) field:
 * what cell routing would give.
 */
const USER_KEY = "=user";

/** One call of a random sequence: an input envelope (or raw bytes), possibly chained to the last state. */
export type CallSpec =
  | { kind: "raw"; bytes: Uint8Array }
  | {
    kind: "envelope";
    schema: string;
    value: CborValue;
    state: "last" | "null" | Uint8Array;
    key: string | null;
    cellMode: boolean;
    nowNs: bigint | undefined;
    /** When not 0, ctx.key is this many bytes: big enough that the reducer's allocator grows memory. */
    pad: number;
  };

/**
 * Random calls for a committed reducer: mostly well-formed events of the schemas it handles (`own`), some of
 * other schemas, some garbage, some huge ones.
 */
export function callSpec(own: readonly string[]): fc.Arbitrary<CallSpec> {
  const schema = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...own) },
    { weight: 1, arbitrary: fc.constantFrom(...EVENTS.keys()) },
  );
  return fc.oneof(
    {
      weight: 12,
      arbitrary: schema.chain((name) =>
        fc.record({
          kind: fc.constant("envelope" as const),
          schema: fc.constant(name),
          value: EVENTS.get(name)!,
          state: fc.oneof(
            { weight: 4, arbitrary: fc.constant("last" as const) },
            { weight: 1, arbitrary: fc.constant("null" as const) },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
          ),
          key: fc.oneof(
            { weight: 1, arbitrary: fc.constant(null) },
            { weight: 2, arbitrary: fc.constant(USER_KEY) },
            { weight: 1, arbitrary: text },
          ),
          cellMode: fc.boolean(),
          nowNs: fc.option(fc.bigInt({ min: 0n, max: 2n ** 62n }), { nil: undefined }),
          pad: fc.oneof(
            { weight: 12, arbitrary: fc.constant(0) },
            { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 140_000 }) },
          ),
        })
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("raw" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
    },
  );
}

/** The input of a call: `last` is the state of the last successful call of the sequence (or null). */
export function callInput(spec: CallSpec, last: Uint8Array | null): Uint8Array {
  if (spec.kind === "raw") return spec.bytes;
  const state = spec.state === "last" ? last : spec.state === "null" ? null : spec.state;
  const value = spec.value as { [key: string]: CborValue };
  const key = spec.key === USER_KEY ? value.user ?? value.request_id ?? null : spec.key;
  return encodeInputEnvelope({
    state,
    event: { schema: spec.schema, value: encodeCanonical(spec.value) },
    ctx: {
      key: spec.pad !== 0 ? new Uint8Array(spec.pad).fill(0x2a) : key === null ? null : encodeCanonical(key),
      cellMode: spec.cellMode,
      ...(spec.nowNs === undefined ? {} : { nowNs: spec.nowNs }),
    },
  });
}

/** The state a successful call leaves for the next `last` (unchanged when the output is not an envelope). */
export function nextState(result: ReducerCallResult, last: Uint8Array | null): Uint8Array | null {
  if (!result.ok) return last;
  try {
    return decodeOutputEnvelope(result.output).state;
  } catch (error) {
    if (error instanceof AosError) return last;
    throw error;
  }
}
