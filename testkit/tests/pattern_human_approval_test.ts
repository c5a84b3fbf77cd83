/**
 * PATTERNS §7–8, human approval as an event: the approval plan raises a request for the inbox reducer,
 * sets a deadline timer, and `await_event`s the operator's `ApprovalDecided` whose `where` checks the
 * request id. Approval runs the expensive `llm.generate`; denial ends at once; the deadline ends with
 * `timed_out`. A trigger on `ApprovalDecided` (a requester notification, here a plan that only ends) and the
 * inbox's own `DecisionLogged` show the fixed order of KERNEL §2.3 for one event: its reducers' events,
 * then triggered starts, then wakeups. Adapted to v1: the policy allows `timer.set` from this plan.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeCanonical as cbor, hashRefOf } from "../../air/mod.ts";
import {
  e,
  edge,
  grant,
  grants,
  plan,
  policy,
  reducer,
  route,
  rule,
  schema,
  scriptedReducer,
  step,
  t,
  TEST_EPOCH_NS,
  TestWorld,
  trigger,
  type TypedEntry,
  world,
} from "../mod.ts";
import { entryLine } from "./_journal.ts";
import { pair, SECOND_NS } from "./_shop.ts";

const REQUESTS = ["r-1", "r-2"];
const PROMPT = hashRefOf(new TextEncoder().encode("Summarise the contract"));

const status = (name: string) => cbor({ status: name });

/** The inbox, one cell per request: pending → approved | denied, logging each decision it records. */
const inbox = scriptedReducer({
  rules: [
    { when: { schema: "demo/ApprovalRequested@1", state: null }, then: { state: status("pending") } },
    ...REQUESTS.flatMap((id) =>
      [true, false].map((approved) => ({
        when: {
          schema: "demo/ApprovalDecided@1",
          state: status("pending"),
          bytes: [pair("request_id", id), pair("approved", approved)],
        },
        then: {
          state: status(approved ? "approved" : "denied"),
          domainEvents: [{ schema: "demo/DecisionLogged@1", value: cbor({ request_id: id, approved }) }],
        },
      }))
    ),
    // A decision for a request the inbox does not hold (yet) changes nothing.
    { when: { schema: "demo/ApprovalDecided@1", state: null }, then: { state: null } },
    ...["approved", "denied"].map((s) => ({ when: { state: status(s) }, then: { state: status(s) } })),
  ],
});

const input = (path: string) => e.ref(`@plan.input.${path}`);

const approvalPlan = plan("demo/approval@1", {
  input: "demo/ApprovalNeeded@1",
  output: "demo/ApprovalOutcome@1",
  steps: [
    step.raise(
      "a_ask",
      "demo/Inbox@1",
      e.record({
        $schema: e.text("demo/ApprovalRequested@1"),
        request_id: input("request_id"),
        summary: input("summary"),
      }),
      input("request_id"),
    ),
    step.emit(
      "a_timer",
      "timer.set",
      "timer",
      e.record({ deliver_at_ns: input("deadline_ns"), key: input("request_id") }),
      "deadline",
    ),
    step.awaitEvent(
      "b_decision",
      "demo/ApprovalDecided@1",
      "d",
      e.op("eq", e.ref("@var:d.request_id"), input("request_id")),
    ),
    step.awaitReceipt("b_timeout", "deadline", "t"),
    step.emit(
      "c_go",
      "llm.generate",
      "llm",
      e.record({
        provider: e.text("mock"),
        model: e.text("small"),
        temperature: { dec128: "0.2" },
        max_tokens: e.nat(400),
        input_ref: input("prompt_ref"),
      }),
      "gen",
    ),
    step.awaitReceipt("d_wait", "gen", "out"),
    step.end("e_approved", e.text("approved")),
    step.end("e_denied", e.text("denied")),
    step.end("e_timed_out", e.text("timed_out")),
  ],
  edges: [
    edge("a_ask", "b_decision"),
    edge("a_timer", "b_timeout"),
    edge("b_decision", "c_go", e.ref("@var:d.approved")),
    edge("b_decision", "e_denied", e.op("not", e.ref("@var:d.approved"))),
    edge("c_go", "d_wait"),
    edge("d_wait", "e_approved"),
    edge("b_timeout", "e_timed_out"),
  ],
  requiredCaps: ["timer", "llm"],
  allowedEffects: ["timer.set", "llm.generate"],
});

const definition = world({
  schemas: [
    schema(
      "demo/ApprovalNeeded@1",
      t.record({ request_id: t.text, summary: t.text, deadline_ns: t.time, prompt_ref: t.hash }),
    ),
    schema("demo/ApprovalRequested@1", t.record({ request_id: t.text, summary: t.text })),
    schema("demo/ApprovalDecided@1", t.record({ request_id: t.text, approved: t.bool, approver: t.text })),
    schema("demo/DecisionLogged@1", t.record({ request_id: t.text, approved: t.bool })),
    schema("demo/ApprovalOutcome@1", t.text),
    schema(
      "demo/InboxEvent@1",
      t.variant({ Requested: t.ref("demo/ApprovalRequested@1"), Decided: t.ref("demo/ApprovalDecided@1") }),
    ),
    schema("demo/InboxState@1", t.record({ status: t.text })),
    schema("demo/RequestId@1", t.text),
  ],
  reducers: [
    reducer("demo/Inbox@1", {
      state: "demo/InboxState@1",
      event: "demo/InboxEvent@1",
      keySchema: "demo/RequestId@1",
      wasm: inbox.wasm,
    }),
  ],
  plans: [
    approvalPlan,
    // Stands for any plan the decision triggers. Two ticks (assign, end), so that its ticks interleave
    // with the woken instance's and the journal shows which of the two was queued first.
    plan("demo/notify_requester@1", {
      input: "demo/ApprovalDecided@1",
      steps: [step.assign("a_who", "who", e.ref("@plan.input.approver")), step.end("b_end")],
      edges: [edge("a_who", "b_end")],
    }),
  ],
  grants: [grants.timer("timer"), grant("llm", "sys/llm.basic@1", { record: {} })],
  policies: [
    policy("demo/policy@1", [
      rule("allow", { effect_kind: "llm.generate", origin_kind: "plan" }),
      rule("allow", { effect_kind: "timer.set", origin_kind: "plan", origin_name: "demo/approval@1" }),
    ]),
  ],
  policy: "demo/policy@1",
  routing: [
    route("demo/ApprovalRequested@1", "demo/Inbox@1", "request_id"),
    route("demo/ApprovalDecided@1", "demo/Inbox@1", "request_id"),
  ],
  triggers: [
    trigger("demo/ApprovalNeeded@1", "demo/approval@1", "request_id"),
    trigger("demo/ApprovalDecided@1", "demo/notify_requester@1", "request_id"),
  ],
});

const needed = (requestId: string) => ({
  request_id: requestId,
  summary: `Approve ${requestId}`,
  deadline_ns: TEST_EPOCH_NS + 60n * SECOND_NS,
  prompt_ref: PROMPT,
});
const decided = (requestId: string, approved: boolean) => ({
  request_id: requestId,
  approved,
  approver: "ada",
});

/** {@linkcode entryLine}, with the effect kind of each `effect_queued`. */
function line(x: TypedEntry): string {
  return x.kind === "effect_queued" ? `effect_queued ${x.body.kind}` : entryLine(x);
}

const effectKinds = (w: TestWorld) =>
  w.journal().filter((x) => x.kind === "effect_queued").map((x) => String(x.body.kind));
const resultOf = (w: TestWorld, id: bigint) => w.plans().find((p) => p.id === id)?.result;

Deno.test("approval: approve before the deadline → one LLM call, approved; the later timer changes nothing", async () => {
  await using w = await TestWorld.create(definition);
  await w.send("demo/ApprovalNeeded@1", needed("r-1"));
  assert.deepEqual(w.journal(1).map(line), [
    "demo/ApprovalNeeded@1 (external)",
    "plan_started #1",
    "demo/ApprovalRequested@1 (plan)", // tick a_ask
    "policy_decision", // tick a_timer (the inbox ran on the request in between: no entries)
    "effect_queued timer.set",
  ]);
  assert.deepEqual(w.state("demo/Inbox@1", "r-1"), { status: "pending" });
  await w.runToIdle({ timers: false });

  const height = w.journal().length;
  await w.send("demo/ApprovalDecided@1", decided("r-1", true));
  assert.deepEqual(w.journal(height).map(line), [
    "demo/ApprovalDecided@1 (external)",
    "demo/DecisionLogged@1 (reducer)", // 1. its reducers' emitted events
    "plan_started #2", // 2. the plans it triggers
    // 3. the wakeup. Queue: #2 (a_who), #1 (b_decision), #2 (b_end), #1 (c_go), so #2 ends before
    // instance #1 reaches c_go; had the wakeup been queued before the start, c_go would come first.
    "plan_ended #2",
    "policy_decision",
    "effect_queued llm.generate",
  ]);
  await w.runToIdle({ timers: false });
  assert.deepEqual(resultOf(w, 1n), cbor("approved"));
  assert.deepEqual(effectKinds(w), ["timer.set", "llm.generate"]);

  const ended = w.journal().length;
  const snapshot = w.plans();
  await w.runToIdle(); // now the deadline passes
  assert.deepEqual(w.journal(ended).map(line), ["receipt_appended"]);
  assert.deepEqual(w.plans(), snapshot);
  assert.equal(w.clock.nowNs(), TEST_EPOCH_NS + 60n * SECOND_NS);
  assert.deepEqual(w.state("demo/Inbox@1", "r-1"), { status: "approved" });
  await w.assertReplay();
});

Deno.test("approval: deny → denied at once, no LLM intent", async () => {
  await using w = await TestWorld.create(definition);
  await w.send("demo/ApprovalNeeded@1", needed("r-1"));
  await w.send("demo/ApprovalDecided@1", decided("r-1", false));
  assert.deepEqual(resultOf(w, 1n), cbor("denied"));
  assert.deepEqual(effectKinds(w), ["timer.set"]);
  const instance = w.plans()[0]!;
  assert.deepEqual(
    instance.steps.filter((s) => s.state === "skipped").map((s) => s.id),
    ["c_go", "d_wait", "e_approved"],
  );
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Inbox@1", "r-1"), { status: "denied" });
  await w.assertReplay();
});

Deno.test("approval: no decision → the deadline timer ends it timed_out; a late decision wakes nothing", async () => {
  await using w = await TestWorld.create(definition);
  await w.send("demo/ApprovalNeeded@1", needed("r-1"));
  await w.runToIdle();
  assert.deepEqual(w.journal(6).map(line), ["receipt_appended", "plan_ended #1"]);
  assert.deepEqual(resultOf(w, 1n), cbor("timed_out"));
  const height = w.journal().length;
  await w.send("demo/ApprovalDecided@1", decided("r-1", true));
  assert.deepEqual(w.journal(height).map(line), [
    "demo/ApprovalDecided@1 (external)",
    "demo/DecisionLogged@1 (reducer)",
    "plan_started #2",
    "plan_ended #2",
  ]);
  assert.deepEqual(effectKinds(w), ["timer.set"]);
  await w.assertReplay();
});

Deno.test("approval: a decision for another request does not wake the instance (where, no correlation)", async () => {
  await using w = await TestWorld.create(definition);
  // Started by hand, the instance has no correlation value: only `where` tells the requests apart.
  const id = await w.startPlan("demo/approval@1", needed("r-1"));
  await w.send("demo/ApprovalNeeded@1", needed("r-2")); // instance #2, correlated
  await w.send("demo/ApprovalDecided@1", decided("r-2", true));
  assert.equal(w.plans().find((p) => p.id === id)?.status, "waiting");
  assert.equal(
    w.plans().find((p) => p.id === id)?.steps.find((s) => s.id === "b_decision")?.state,
    "waiting_event",
  );
  await w.runToIdle({ timers: false });
  assert.deepEqual(resultOf(w, 2n), cbor("approved"));
  assert.equal(resultOf(w, id), undefined);

  await w.send("demo/ApprovalDecided@1", decided("r-1", false));
  assert.deepEqual(resultOf(w, id), cbor("denied"));
  assert.deepEqual(effectKinds(w), ["timer.set", "timer.set", "llm.generate"]);
  await w.assertReplay();
});

Deno.test("approval: a decision sent before the plan awaits it is not seen", async () => {
  await using w = await TestWorld.create(definition);
  await w.send("demo/ApprovalDecided@1", decided("r-1", true));
  await w.send("demo/ApprovalNeeded@1", needed("r-1"));
  const approval = w.plans().find((p) => p.plan === "demo/approval@1")!;
  assert.equal(approval.status, "waiting");
  await w.runToIdle();
  assert.deepEqual(resultOf(w, approval.id), cbor("timed_out"));
  assert.deepEqual(effectKinds(w), ["timer.set"]);
  await w.assertReplay();
});
