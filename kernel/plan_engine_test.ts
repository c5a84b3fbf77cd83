import assert from "node:assert/strict";
import { decodeCanonical, encodeCanonical, toHex } from "../air/mod.ts";
import { externalEvent, hasCode } from "./_test_fixtures.ts";
import {
  assertRecords,
  cancelEntry,
  endedError,
  endedOk,
  givenPlanWorld,
  planStarted,
  type PlanWorldSpec,
  RESULT,
  START,
  startRequest,
} from "./_plan_test_world.ts";
import { Kernel } from "./kernel.ts";
import { checkPlanStart } from "./plan_engine.ts";

function raiseTo(reducer: string, event: unknown): { op: string; reducer: string; event: unknown } {
  return { op: "raise_event", reducer, event };
}

const SUM = {
  $kind: "defplan",
  name: "test/sum@1",
  input: START,
  output: RESULT,
  locals: { y: "test/Nat@1" },
  // Declared end first: scheduling follows step ids, not declaration order.
  steps: [
    { id: "b_end", op: "end", result: { record: { total: { ref: "@var:x" } } } },
    {
      id: "a_calc",
      op: "assign",
      bind: { as: "x" },
      expr: { op: "add", args: [{ ref: "@plan.input.n" }, { nat: 1 }] },
    },
  ],
  edges: [{ from: "a_calc", to: "b_end" }],
};

// The validator does not count locals bound at a manual start as bound, so this plan bypasses it.
const LOCALS = {
  $kind: "defplan",
  name: "test/locals@1",
  input: START,
  output: RESULT,
  locals: { y: "test/Nat@1" },
  steps: [{ id: "a_end", op: "end", result: { record: { total: { ref: "@var:y" } } } }],
};

Deno.test("run() executes assign then end and ends ok with the result", () => {
  const { kernel, defs } = givenPlanWorld({ plans: [SUM] });
  const derived = kernel.apply(startRequest(1, "test/sum@1", { id: "r", n: 41 }));
  assertRecords(derived, [
    planStarted(defs, 2, 1n, "test/sum@1", { id: "r", n: 41 }, { request_seq: 1 }),
    endedOk(3, 1n, { total: 42 }),
  ]);
  assert.deepEqual(kernel.plans(), [{
    id: 1n,
    plan: "test/sum@1",
    manifestHash: defs.manifestHash,
    status: "ok",
    steps: [{ id: "a_calc", state: "completed" }, { id: "b_end", state: "completed" }],
    result: encodeCanonical({ total: 42 }),
  }]);
});

Deno.test("startRequested() binds the locals of a manual start", () => {
  const { kernel, defs } = givenPlanWorld({ rawPlans: [LOCALS] });
  assertRecords(kernel.apply(startRequest(1, "test/locals@1", { id: "r", n: 1 }, { y: 7 })), [
    planStarted(defs, 2, 1n, "test/locals@1", { id: "r", n: 1 }, { request_seq: 1 }),
    endedOk(3, 1n, { total: 7 }),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/locals@1", { id: "r", n: 1 })), [
    planStarted(defs, 5, 2n, "test/locals@1", { id: "r", n: 1 }, { request_seq: 4 }),
    endedError(6, 2n, "eval_error", /^Step "a_end" result: .*"y"/, "a_end"),
  ]);
});

Deno.test("startRequested() of an unknown plan, a bad input or an unknown local ends the instance with bad_input", () => {
  const { kernel, defs } = givenPlanWorld({ plans: [SUM] });
  assertRecords(kernel.apply(startRequest(1, "test/nope@1", { id: "r", n: 1 })), [
    planStarted(defs, 2, 1n, "test/nope@1", { id: "r", n: 1 }, { request_seq: 1 }),
    endedError(3, 1n, "bad_input", 'Cannot start plan "test/nope@1": it is not in the manifest'),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/sum@1", { id: "r" })), [
    planStarted(defs, 5, 2n, "test/sum@1", { id: "r" }, { request_seq: 4 }),
    endedError(6, 2n, "bad_input", /"n"/),
  ]);
  assertRecords(kernel.apply(startRequest(7, "test/sum@1", { id: "r", n: 1 }, { z: 1 })), [
    planStarted(defs, 8, 3n, "test/sum@1", { id: "r", n: 1 }, { request_seq: 7 }),
    endedError(9, 3n, "bad_input", 'Cannot start plan "test/sum@1": "z" is not one of its locals'),
  ]);
  assert.deepEqual(kernel.plans().map((p) => [p.id, p.status, p.error?.code]), [
    [1n, "error", "bad_input"],
    [2n, "error", "bad_input"],
    [3n, "error", "bad_input"],
  ]);
});

Deno.test("checkPlanStart() lets the driver reject a start before journaling it, with precise codes", () => {
  const { defs } = givenPlanWorld({ plans: [SUM] });
  const input = encodeCanonical({ id: "r", n: 1 });
  assert.throws(() => checkPlanStart(defs, { plan: "test/nope@1", input, locals: [] }), hasCode("AOS_USAGE"));
  assert.throws(
    () => checkPlanStart(defs, { plan: "test/sum@1", input: encodeCanonical({ id: 1 }), locals: [] }),
    hasCode("AOS_TYPE_MISMATCH"),
  );
  assert.throws(
    () => checkPlanStart(defs, { plan: "test/sum@1", input, locals: [["y", encodeCanonical("x")]] }),
    hasCode("AOS_TYPE_MISMATCH"),
  );
  const ok = checkPlanStart(defs, { plan: "test/sum@1", input, locals: [["y", encodeCanonical(2)]] });
  assert.deepEqual(ok.locals, new Map([["y", { kind: "nat", value: 2n }]]));
});

Deno.test("apply() rejects a plan_start_requested body of the wrong shape as a corrupt journal", () => {
  const { kernel } = givenPlanWorld({ plans: [SUM] });
  const entry = startRequest(1, "test/sum@1", { id: "r", n: 1 });
  entry.body.plan = 7;
  assert.throws(() => kernel.apply(entry), hasCode("AOS_JOURNAL_CORRUPT"));
});

Deno.test("run() ends with bad_event when a raised event does not conform or a key is given to an unkeyed reducer", () => {
  const plan = (name: string, step: unknown) => ({ $kind: "defplan", name, input: START, steps: [step] });
  const { kernel, defs } = givenPlanWorld({
    rawPlans: [
      plan("test/badvalue@1", { id: "a", ...raiseTo("demo/Counter@1", { record: { by: { text: "x" } } }) }),
      plan("test/badkey@1", {
        id: "a",
        ...raiseTo("demo/Counter@1", { record: { by: { nat: 1 } } }),
        key: { text: "k" },
      }),
    ],
  });
  const input = { id: "r", n: 1 };
  assertRecords(kernel.apply(startRequest(1, "test/badvalue@1", input)), [
    planStarted(defs, 2, 1n, "test/badvalue@1", input, { request_seq: 1 }),
    endedError(3, 1n, "bad_event", /^Event of step "a" as demo\/Increment@1: /, "a"),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/badkey@1", input)), [
    planStarted(defs, 5, 2n, "test/badkey@1", input, { request_seq: 4 }),
    endedError(6, 2n, "bad_event", 'Step "a" gives a key but "demo/Counter@1" is not keyed', "a"),
  ]);
  assert.equal(kernel.reducerState("demo/Counter@1"), null);
});

function branchPlan(name: string, guards: [unknown, unknown], output?: string): unknown {
  return {
    $kind: "defplan",
    name,
    input: START,
    ...(output === undefined ? {} : { output }),
    steps: [
      {
        id: "a_check",
        op: "assign",
        bind: { as: "big" },
        expr: { op: "gt", args: [{ ref: "@plan.input.n" }, { nat: 10 }] },
      },
      { id: "b_big", ...raiseTo("demo/Counter@1", { record: { by: { ref: "@plan.input.n" } } }) },
      { id: "b_small", ...raiseTo("demo/Counter@1", { record: { by: { nat: 1 } } }) },
      output === undefined
        ? { id: "c_end", op: "end" }
        : { id: "c_end", op: "end", result: { record: { total: { ref: "@plan.input.n" } } } },
    ],
    edges: [
      { from: "a_check", to: "b_big", when: guards[0] },
      { from: "a_check", to: "b_small", when: guards[1] },
      { from: "b_big", to: "c_end" },
      { from: "b_small", to: "c_end" },
    ],
  };
}

const BIG = { ref: "@var:big" };
const SMALL = { op: "not", args: [{ ref: "@var:big" }] };
const isN = (n: number) => ({ op: "eq", args: [{ ref: "@plan.input.n" }, { nat: n }] });

Deno.test("run() skips the join when both branches are skipped: ok without result, or no_end with an output", () => {
  const { kernel, defs } = givenPlanWorld({
    plans: [
      branchPlan("test/none@1", [isN(0), isN(1)]),
      branchPlan("test/noneout@1", [isN(0), isN(1)], RESULT),
    ],
  });
  const input = { id: "r", n: 5 };
  assertRecords(kernel.apply(startRequest(1, "test/none@1", input)), [
    planStarted(defs, 2, 1n, "test/none@1", input, { request_seq: 1 }),
    endedOk(3, 1n),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/noneout@1", input)), [
    planStarted(defs, 5, 2n, "test/noneout@1", input, { request_seq: 4 }),
    endedError(
      6,
      2n,
      "no_end",
      'Plan "test/noneout@1" finished without running an end step but declares output "test/Result@1"',
    ),
  ]);
  const states = kernel.plans()[1]!.steps.map((s) => `${s.id}:${s.state}`);
  assert.deepEqual(states, ["a_check:completed", "b_big:skipped", "b_small:skipped", "c_end:skipped"]);
  assert.equal(kernel.reducerState("demo/Counter@1"), null);
});

Deno.test("run() fails the instance with eval_error when a guard errors or is not a bool", () => {
  const divByZero = {
    op: "eq",
    args: [{ op: "div", args: [{ ref: "@plan.input.n" }, { nat: 0 }] }, { nat: 1 }],
  };
  const { kernel, defs } = givenPlanWorld({
    plans: [branchPlan("test/guard@1", [divByZero, SMALL])],
    rawPlans: [branchPlan("test/nonbool@1", [BIG, { ref: "@plan.input.n" }])],
  });
  const input = { id: "r", n: 5 };
  assertRecords(kernel.apply(startRequest(1, "test/guard@1", input)), [
    planStarted(defs, 2, 1n, "test/guard@1", input, { request_seq: 1 }),
    endedError(3, 1n, "eval_error", /^Guard of edge 0 \(a_check → b_big\): .*zero/, "a_check"),
  ]);
  assertRecords(kernel.apply(startRequest(4, "test/nonbool@1", input)), [
    planStarted(defs, 5, 2n, "test/nonbool@1", input, { request_seq: 4 }),
    endedError(
      6,
      2n,
      "eval_error",
      "Guard of edge 1 (a_check → b_small): expected a bool, got a nat",
      "a_check",
    ),
  ]);
});

Deno.test("run() checks invariants after every step and ends with invariant_violation at the first false one", () => {
  const plan = {
    $kind: "defplan",
    name: "test/inv@1",
    input: START,
    invariants: [{ op: "lt", args: [{ ref: "@var:x" }, { nat: 50 }] }],
    steps: [
      { id: "a", op: "assign", bind: { as: "x" }, expr: { ref: "@plan.input.n" } },
      {
        id: "b",
        op: "assign",
        bind: { as: "x" },
        expr: { op: "add", args: [{ ref: "@var:x" }, { nat: 100 }] },
      },
      { id: "c", op: "end" },
    ],
    edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }],
  };
  const { kernel, defs } = givenPlanWorld({ plans: [plan] });
  assertRecords(kernel.apply(startRequest(1, "test/inv@1", { id: "r", n: 10 })), [
    planStarted(defs, 2, 1n, "test/inv@1", { id: "r", n: 10 }, { request_seq: 1 }),
    endedError(3, 1n, "invariant_violation", 'Invariant 0 is false after step "b"', "b"),
  ]);
  assert.deepEqual(kernel.plans()[0]!.steps.map((s) => s.state), ["completed", "completed", "ready"]);
});

function waitPlan(where: unknown): unknown {
  return {
    $kind: "defplan",
    name: "test/wait@1",
    input: START,
    output: RESULT,
    steps: [
      { id: "a_wait", op: "await_event", event: "test/Reply@1", where, bind: { as: "reply" } },
      { id: "b_end", op: "end", result: { record: { total: { ref: "@var:reply.n" } } } },
    ],
    edges: [{ from: "a_wait", to: "b_end" }],
  };
}

function waitWorld(where: unknown): ReturnType<typeof givenPlanWorld> {
  const spec: PlanWorldSpec = {
    plans: [waitPlan(where)],
    triggers: [{ event: START, plan: "test/wait@1", correlate_by: "id" }],
  };
  return givenPlanWorld(spec);
}

Deno.test("onEvent() ends the instance with eval_error when where fails to evaluate", () => {
  const divByZero = {
    op: "gt",
    args: [{ op: "div", args: [{ ref: "@var:reply.n" }, { nat: 0 }] }, { nat: 1 }],
  };
  const { kernel, defs } = waitWorld(divByZero);
  assertRecords(kernel.apply(externalEvent(1, START, { id: "x", n: 0 })), [
    planStarted(defs, 2, 1n, "test/wait@1", { id: "x", n: 0 }, { trigger_seq: 1 }, "x"),
  ]);
  assertRecords(kernel.apply(externalEvent(3, "test/Reply@1", { id: "x", n: 1 })), [
    endedError(4, 1n, "eval_error", /^Step "a_wait" where: .*zero/, "a_wait"),
  ]);
});

Deno.test("cancel() ends a live instance with cancelled and ignores unknown or ended ids", () => {
  const { kernel } = waitWorld({ bool: true });
  kernel.apply(externalEvent(1, START, { id: "x", n: 0 }));
  assert.deepEqual(kernel.apply(cancelEntry(3, 99)), []);
  assertRecords(kernel.apply(cancelEntry(4, 1, "operator says stop")), [
    endedError(5, 1n, "cancelled", "operator says stop"),
  ]);
  assert.deepEqual(kernel.apply(cancelEntry(6, 1)), []);
  assert.deepEqual(
    kernel.apply(externalEvent(7, "test/Reply@1", { id: "x", n: 1 })),
    [],
    "ended instances take nothing",
  );
  assert.equal(kernel.plans()[0]!.status, "error");
});

Deno.test("snapshot() writes each instance as it is now: a waiting one, then ended (its encoding kept once ended)", () => {
  const { kernel, defs, host } = waitWorld({ bool: true });
  kernel.apply(externalEvent(1, START, { id: "x", n: 0 }));
  kernel.apply(externalEvent(3, START, { id: "y", n: 0 }));
  const statuses = (bytes: Uint8Array) =>
    (decodeCanonical(bytes) as { plans: Array<{ status: string }> }).plans.map((p) => p.status);
  const waiting = kernel.snapshot();
  assert.deepEqual(statuses(waiting), ["waiting", "waiting"]);
  kernel.apply(cancelEntry(5, 1));
  const ended = kernel.snapshot();
  assert.deepEqual(statuses(ended), ["error", "waiting"]);
  // The same bytes again (the ended instance from its kept encoding), canonical as a whole, and restored.
  assert.equal(toHex(kernel.snapshot()), toHex(ended));
  assert.equal(toHex(encodeCanonical(decodeCanonical(ended))), toHex(ended));
  assert.equal(toHex(Kernel.restore(defs, host, ended).snapshot()), toHex(ended));
  kernel.apply(cancelEntry(7, 2));
  assert.deepEqual(statuses(kernel.snapshot()), ["error", "error"]);
});
