import assert from "node:assert/strict";
import { type CborValue, encodeCanonical, fromHex, hashRefOf, sha256, toHex } from "../air/mod.ts";
import {
  buildDefs,
  counterLikeSpec,
  externalEvent,
  genesisEntry,
  givenKernel,
  givenKernelWithStates,
  hasCode,
  relaySpec,
  stateValue,
  T0_NS,
  type WorldSpec,
} from "./_test_fixtures.ts";
import { type DerivedRecord, Kernel } from "./kernel.ts";

const COUNTER = "demo/Counter@1";
const RELAY = "test/Relay@1";

function increment(seq: number, by: number, ingressNs?: bigint) {
  return externalEvent(seq, "demo/Increment@1", { by }, ingressNs);
}

function ping(seq: number, n: number) {
  return externalEvent(seq, "test/Ping@1", { n });
}

function pingEmitted(seq: number, n: number, reducer: string, eventSeq: number): DerivedRecord {
  return {
    seq,
    kind: "domain_event",
    body: {
      schema: "test/Ping@1",
      value: encodeCanonical({ n }),
      origin: { kind: "reducer", name: reducer, event_seq: eventSeq },
    },
  };
}

/** The one reducer_error in `derived`, with its message checked to be text and dropped. */
function onlyReducerError(derived: DerivedRecord[]): { seq: number; body: { [key: string]: CborValue } } {
  assert.equal(derived.length, 1, `expected one reducer_error, got ${derived.map((d) => d.kind).join(", ")}`);
  const [record] = derived;
  assert.equal(record!.kind, "reducer_error");
  const { message, ...body } = record!.body;
  assert.equal(typeof message, "string");
  assert.notEqual(message, "");
  return { seq: record!.seq, body };
}

Deno.test("reducerState() and cellsOf() are copies: a later event, whose state is written in place, leaves them", () => {
  const { kernel } = givenKernel(counterLikeSpec("counter"));
  kernel.apply(increment(1, 2));
  const state = kernel.reducerState(COUNTER)!;
  const [cell] = kernel.cellsOf(COUNTER);
  kernel.apply(increment(2, 3)); // "count": 2 -> 5, a state as long: the cell store overwrites its bytes
  assert.equal(toHex(state), "a165636f756e7402");
  assert.equal(toHex(cell!.state), "a165636f756e7402");
  assert.equal(toHex(kernel.reducerState(COUNTER)!), "a165636f756e7405");
  // Restored from a snapshot, then stepped: the snapshot's bytes are not written to either.
  const snapshot = kernel.snapshot();
  const copy = snapshot.slice();
  const { defs, host } = buildDefs(counterLikeSpec("counter"));
  const restored = Kernel.restore(defs, host, snapshot);
  restored.apply(increment(3, 1));
  assert.equal(toHex(restored.reducerState(COUNTER)!), "a165636f756e7406");
  assert.deepEqual(snapshot, copy);
});

Deno.test("apply() steps the counter on external events with no derived entries and time from ingress", () => {
  // Given
  const { kernel } = givenKernel(counterLikeSpec("counter"));
  assert.equal(kernel.height, 1);
  assert.equal(kernel.nowNs, T0_NS);
  assert.equal(kernel.reducerState(COUNTER), null);
  // When / then
  const expected: Array<[by: number, ingressNs: bigint, stateHex: string]> = [
    [2, T0_NS + 10n, "a165636f756e7402"],
    [3, T0_NS + 25n, "a165636f756e7405"],
    [0, T0_NS + 99n, "a165636f756e7405"],
  ];
  for (const [i, [by, ingressNs, stateHex]] of expected.entries()) {
    const seq = i + 1;
    assert.deepEqual(kernel.apply(increment(seq, by, ingressNs)), [], `derived entries of seq ${seq}`);
    assert.equal(kernel.height, seq + 1);
    assert.equal(kernel.nowNs, ingressNs);
    assert.equal(toHex(kernel.reducerState(COUNTER)!), stateHex);
  }
  assert.deepEqual(kernel.reducersWithState(), [COUNTER]);
  assert.deepEqual(kernel.stateHashes(), [{
    reducer: COUNTER,
    hash: hashRefOf(fromHex("a165636f756e7405")),
  }]);
});

Deno.test("apply() ignores an event of a schema that no reducer is routed to", () => {
  const spec = counterLikeSpec("counter");
  spec.routes = [];
  const { kernel } = givenKernel(spec);
  assert.deepEqual(kernel.apply(increment(1, 2)), []);
  assert.equal(kernel.reducerState(COUNTER), null);
  assert.equal(kernel.height, 2);
});

Deno.test("apply() journals reducer-emitted events after the input, each pointing at the event that caused it", () => {
  // Given a relay world
  const { kernel } = givenKernel(relaySpec());
  // When Ping{3} is admitted at seq 1
  const derived = kernel.apply(ping(1, 3));
  // Then Ping{2}, Ping{1}, Ping{0} follow with consecutive seqs, each caused by the one before
  assert.deepEqual(derived, [
    pingEmitted(2, 2, RELAY, 1),
    pingEmitted(3, 1, RELAY, 2),
    pingEmitted(4, 0, RELAY, 3),
  ]);
  assert.equal(kernel.height, 5);
  assert.deepEqual(stateValue(kernel, RELAY), { seen: 4 });
  // And the next input continues from the relay's state
  assert.deepEqual(kernel.apply(ping(5, 0)), []);
  assert.deepEqual(stateValue(kernel, RELAY), { seen: 5 });
});

Deno.test("apply() calls reducers routed to one schema in manifest order, not name order", () => {
  // Given B routed before A on test/Ping@1
  const { kernel } = givenKernel(relaySpec(["test/RelayB@1", "test/RelayA@1"]));
  // When Ping{1} is admitted
  const derived = kernel.apply(ping(1, 1));
  // Then B's emitted event comes first; the emitted events run through both reducers in queue order
  assert.deepEqual(derived, [
    pingEmitted(2, 0, "test/RelayB@1", 1),
    pingEmitted(3, 0, "test/RelayA@1", 1),
  ]);
  assert.deepEqual(stateValue(kernel, "test/RelayA@1"), { seen: 3 });
  assert.deepEqual(stateValue(kernel, "test/RelayB@1"), { seen: 3 });
  assert.deepEqual(kernel.reducersWithState(), ["test/RelayA@1", "test/RelayB@1"]);
});

const failing: Array<[wasm: "trap" | "garbage" | "bad_state", code: string]> = [
  ["trap", "trap"],
  ["garbage", "bad_output"],
  ["bad_state", "bad_state"],
];

for (const [wasm, code] of failing) {
  Deno.test(`apply() discards a ${wasm}.wasm step, keeps the previous state and journals reducer_error ${code}`, () => {
    // Given the reducer at height 4 with state {count: 5}
    const reducer = `test/Failing@1`;
    const { kernel } = givenKernelWithStates(counterLikeSpec(wasm, reducer), 4, { [reducer]: { count: 5 } });
    assert.equal(kernel.height, 4);
    // When an Increment arrives at seq 4
    const derived = kernel.apply(increment(4, 1));
    // Then exactly one reducer_error at seq 5 names the reducer, the event and the code
    assert.deepEqual(onlyReducerError(derived), { seq: 5, body: { reducer, event_seq: 4, code } });
    assert.equal(kernel.height, 6);
    assert.deepEqual(stateValue(kernel, reducer), { count: 5 });
  });
}

Deno.test("apply() keeps a reducer with no state at none when its first step fails", () => {
  const { kernel } = givenKernel(counterLikeSpec("bad_state", "test/BadState@1"));
  const derived = kernel.apply(increment(1, 1));
  assert.deepEqual(onlyReducerError(derived), {
    seq: 2,
    body: { reducer: "test/BadState@1", event_seq: 1, code: "bad_state" },
  });
  assert.equal(kernel.reducerState("test/BadState@1"), null);
  assert.deepEqual(kernel.reducersWithState(), []);
});

Deno.test("apply() still runs the next routed reducer after one fails", () => {
  // Given a trapping reducer routed before the counter on the same event
  const spec: WorldSpec = {
    schemas: counterLikeSpec("counter").schemas,
    modules: [
      { name: "test/Trap@1", wasm: "trap", state: "demo/CounterState@1", event: "demo/Increment@1" },
      { name: COUNTER, wasm: "counter", state: "demo/CounterState@1", event: "demo/Increment@1" },
    ],
    routes: [
      { event: "demo/Increment@1", reducer: "test/Trap@1" },
      { event: "demo/Increment@1", reducer: COUNTER },
    ],
  };
  const { kernel } = givenKernel(spec);
  // When
  const derived = kernel.apply(increment(1, 2));
  // Then the trap is journaled and the counter committed
  assert.deepEqual(onlyReducerError(derived), {
    seq: 2,
    body: { reducer: "test/Trap@1", event_seq: 1, code: "trap" },
  });
  assert.equal(toHex(kernel.reducerState(COUNTER)!), "a165636f756e7402");
  assert.equal(kernel.reducerState("test/Trap@1"), null);
});

Deno.test("apply() refuses an entry whose seq is not the kernel height with AOS_INVARIANT", () => {
  const { kernel } = givenKernel(counterLikeSpec("counter"));
  assert.throws(() => kernel.apply(increment(2, 1)), hasCode("AOS_INVARIANT"));
  assert.throws(() => kernel.apply(increment(0, 1)), hasCode("AOS_INVARIANT"));
  assert.equal(kernel.height, 1, "a refused entry leaves the height alone");
  assert.deepEqual(kernel.apply(increment(1, 1)), []);
  assert.equal(toHex(kernel.reducerState(COUNTER)!), "a165636f756e7401");
});

Deno.test("apply() refuses a derived reducer_error fed as an input with AOS_JOURNAL_CORRUPT", () => {
  const { kernel } = givenKernel(counterLikeSpec("counter"));
  const entry = {
    seq: 1,
    kind: "reducer_error",
    body: { reducer: COUNTER, event_seq: 0, code: "trap", message: "forged" },
  };
  assert.throws(() => kernel.apply(entry), hasCode("AOS_JOURNAL_CORRUPT"));
});

Deno.test("apply() refuses a reducer-origin domain_event fed as an input with AOS_JOURNAL_CORRUPT", () => {
  const { kernel } = givenKernel(relaySpec());
  assert.throws(() => kernel.apply(pingEmitted(1, 0, RELAY, 0)), hasCode("AOS_JOURNAL_CORRUPT"));
  assert.equal(kernel.reducerState(RELAY), null);
});

Deno.test("apply() refuses an event before genesis with AOS_JOURNAL_CORRUPT", () => {
  const { defs, host } = buildDefs(counterLikeSpec("counter"));
  const kernel = new Kernel(defs, host);
  assert.equal(kernel.started, false);
  assert.throws(() => kernel.apply(increment(0, 1)), hasCode("AOS_JOURNAL_CORRUPT"));
});

Deno.test("apply() refuses a genesis naming another manifest with AOS_JOURNAL_CORRUPT", () => {
  const { defs, host } = buildDefs(counterLikeSpec("counter"));
  const { defs: otherDefs } = buildDefs(relaySpec());
  const kernel = new Kernel(defs, host);
  assert.throws(() => kernel.apply(genesisEntry(otherDefs)), hasCode("AOS_JOURNAL_CORRUPT"));
  assert.equal(kernel.started, false);
});

Deno.test("apply() refuses a second genesis with AOS_JOURNAL_CORRUPT", () => {
  const { kernel, defs } = givenKernel(counterLikeSpec("counter"));
  assert.throws(() => kernel.apply({ ...genesisEntry(defs), seq: 1 }), hasCode("AOS_JOURNAL_CORRUPT"));
});

Deno.test("snapshot() then restore() gives the same state hashes, height, time and snapshot bytes", () => {
  // Given a relay world after two blocks
  const { kernel, defs, host } = givenKernel(relaySpec(["test/RelayB@1", "test/RelayA@1"]));
  kernel.apply(ping(1, 2));
  const next = kernel.height;
  kernel.apply(ping(next, 0));
  // When
  const bytes = kernel.snapshot();
  const restored = Kernel.restore(defs, host, bytes);
  // Then
  assert.deepEqual(restored.stateHashes(), kernel.stateHashes());
  assert.equal(restored.stateHashes().length, 2);
  assert.equal(restored.height, kernel.height);
  assert.equal(restored.nowNs, kernel.nowNs);
  assert.equal(restored.started, true);
  assert.equal(toHex(restored.snapshot()), toHex(bytes));
  // And both continue identically
  const seq = kernel.height;
  assert.deepEqual(restored.apply(ping(seq, 1)), kernel.apply(ping(seq, 1)));
  assert.equal(toHex(restored.snapshot()), toHex(kernel.snapshot()));
});

Deno.test("restore() refuses a snapshot taken under another manifest with AOS_JOURNAL_CORRUPT", () => {
  const { kernel } = givenKernel(counterLikeSpec("counter"));
  const { defs: otherDefs, host: otherHost } = buildDefs(relaySpec());
  assert.throws(
    () => Kernel.restore(otherDefs, otherHost, kernel.snapshot()),
    hasCode("AOS_JOURNAL_CORRUPT"),
  );
});

Deno.test("apply() of a snapshot marker derives nothing and changes no state", () => {
  const { kernel, defs, host } = givenKernel(counterLikeSpec("counter"));
  kernel.apply(increment(1, 2));
  const before = kernel.snapshot();
  const marker = { seq: 2, kind: "snapshot", body: { height: 2, snapshot_hash: new Uint8Array(32) } };
  assert.deepEqual(kernel.apply(marker), []);
  assert.equal(kernel.height, 3);
  assert.deepEqual(kernel.stateHashes(), Kernel.restore(defs, host, before).stateHashes());
});

Deno.test("Kernel.rollBack() restores the snapshot at to_height, bumps the generation, and refuses a bad rollback", () => {
  // Given a counter kernel: two increments, a snapshot marker at seq 3, then another increment
  const { kernel, defs } = givenKernel(counterLikeSpec("counter"));
  kernel.apply(increment(1, 2));
  kernel.apply(increment(2, 3));
  const snapshot = kernel.snapshot();
  kernel.apply({ seq: 3, kind: "snapshot", body: { height: 3, snapshot_hash: sha256(snapshot) } });
  kernel.apply(increment(4, 10));
  assert.deepEqual(stateValue(kernel, COUNTER), { count: 15 });
  const rollback = (body: Partial<{ to_height: number; generation: bigint; snapshot_hash: Uint8Array }>) => ({
    seq: 5,
    kind: "rollback",
    body: { to_height: 3, snapshot_hash: sha256(snapshot), generation: 1n, ingress_ns: T0_NS + 5n, ...body },
  });
  // When a rollback is applied with its snapshot
  const next = kernel.rollBack(rollback({}), snapshot, defs);
  // Then the state is the snapshot's, at the height after the rollback, in the next generation
  assert.deepEqual(stateValue(next, COUNTER), { count: 5 });
  assert.equal(next.height, 6);
  assert.equal(next.generation, 1n);
  assert.equal(next.nowNs, T0_NS + 5n);
  assert.deepEqual(stateValue(kernel, COUNTER), { count: 15 }, "the abandoned kernel is left as it was");
  // And a generation that is not the next one, a snapshot that does not match, or a height at or after the
  // rollback are corruption
  for (
    const [body, message] of [
      [{ generation: 2n }, /generation 2, expected 1/],
      [{ generation: 0n }, /generation 0, expected 1/],
      [{ snapshot_hash: new Uint8Array(32) }, /does not hash to the rollback's snapshot_hash/],
      [{ to_height: 5 }, /not a height before it/],
      [{ to_height: 2 }, /the snapshot it names is at height 3, not 2/],
    ] as const
  ) {
    assert.throws(() => kernel.rollBack(rollback(body), snapshot, defs), (error: unknown) => {
      assert.ok(hasCode("AOS_JOURNAL_CORRUPT")(error));
      assert.match((error as Error).message, message);
      return true;
    });
  }
  // And a plain apply() refuses it: it needs the snapshot
  assert.throws(() => kernel.apply(rollback({})), /applied with Kernel\.rollBack/);
});
