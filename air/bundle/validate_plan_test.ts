import { deepStrictEqual } from "node:assert/strict";
import { toJsonValue } from "../base/mod.ts";
import type { DefModule, DefPlan, DefSchema, Manifest, PlanStep } from "../nodes/mod.ts";
import type { TypeExpr } from "../value/mod.ts";
import { FETCH_EVENT_SCHEMAS, FETCH_PLAN } from "./_test_fetch_world.ts";
import type { Diagnostic } from "./bundle.ts";
import { SchemaIndex } from "./schema_index.ts";
import { type PlanContext, validatePlan } from "./validate_plan.ts";

const text: TypeExpr = { text: {} };
const schema = (name: string, type: TypeExpr): DefSchema => ({ $kind: "defschema", name, type });
const SCHEMAS = new SchemaIndex([
  ...FETCH_EVENT_SCHEMAS,
  schema("demo/FetcherState@1", { record: {} }),
  schema("demo/Count@1", { nat: {} }),
  schema("demo/Id@1", text),
]);
const HASH = `sha256:${"0".repeat(64)}` as const;
const module = (name: string, event: string, keySchema?: string): DefModule => ({
  $kind: "defmodule",
  name,
  module_kind: "reducer",
  wasm_hash: HASH,
  ...(keySchema === undefined ? {} : { key_schema: keySchema }),
  abi: { reducer: { state: "demo/FetcherState@1", event } },
});
const MODULES = new Map<string, DefModule>([
  ["demo/Fetcher@1", module("demo/Fetcher@1", "demo/FetchEvent@1")],
  ["demo/Cells@1", module("demo/Cells@1", "demo/FetchFailed@1", "demo/Id@1")],
]);
const MANIFEST: Manifest = {
  $kind: "manifest",
  schemas: [],
  modules: [{ name: "demo/Fetcher@1" }, { name: "demo/Cells@1" }],
  plans: [{ name: "demo/fetch@1" }],
  caps: [],
  policies: [],
  routing: {
    events: [
      { event: "demo/FetchSucceeded@1", reducer: "demo/Fetcher@1" },
      { event: "demo/FetchFailed@1", reducer: "demo/Fetcher@1" },
      { event: "demo/FetchFailed@1", reducer: "demo/Cells@1", key_field: "request_id" },
    ],
  },
  defaults: {
    cap_grants: [
      { name: "http_example", cap: "sys/http.out@1", params: null },
      { name: "timer_cap", cap: "sys/timer@1", params: null },
      { name: "my_http", cap: "demo/http@1", params: null },
    ],
  },
};

/** The §20 example plan `demo/fetch@1`, written as in AIR.md. */
function fetchPlan(): DefPlan {
  return toJsonValue(FETCH_PLAN) as unknown as DefPlan;
}

function context(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    schemas: SCHEMAS,
    modules: MODULES,
    manifest: MANIFEST,
    file: "air/plans.air.json",
    path: [2],
    capTypeOf: (defcap) => (defcap === "demo/http@1" ? "http.out" : undefined),
    ...overrides,
  };
}

type Found = Array<[code: string, path: string | undefined, step: string | undefined]>;

function found(plan: DefPlan, overrides: Partial<PlanContext> = {}): Found {
  return validatePlan(plan, context(overrides)).map((d) => [d.code, d.path, d.step]);
}

/** The plan after `edit` (a structuredClone of the §20 plan). */
function edited(edit: (plan: DefPlan) => void): DefPlan {
  const plan = structuredClone(fetchPlan());
  edit(plan);
  return plan;
}

function step<Op extends PlanStep["op"]>(plan: DefPlan, id: string): Extract<PlanStep, { op: Op }> {
  return plan.steps.find((s) => s.id === id) as Extract<PlanStep, { op: Op }>;
}

const json = (value: unknown) => toJsonValue(value);

Deno.test("validatePlan() accepts the AIR §20 example demo/fetch@1", () => {
  deepStrictEqual(found(fetchPlan()), []);
});

Deno.test("validatePlan() fills file, path, def and step", () => {
  const plan = edited((p) => step<"assign">(p, "c_check").expr = json({ op: "not", args: [{ nat: 1 }] }));
  const diagnostics = validatePlan(plan, context());
  deepStrictEqual(
    diagnostics,
    [{
      code: "AIR_PLAN_EXPR_TYPE",
      message: diagnostics[0]!.message,
      file: "air/plans.air.json",
      path: "$[2].steps[2].expr.args[0]",
      def: "demo/fetch@1",
      step: "c_check",
    }] satisfies Diagnostic[],
  );
});

Deno.test("validatePlan(): a plan has 1 to limits.planStepsMax steps", () => {
  deepStrictEqual(found(edited((p) => [p.steps, p.edges] = [[], []])), [[
    "AIR_PLAN_EMPTY",
    "$[2].steps",
    undefined,
  ]]);
  const ends = (n: number): PlanStep[] => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, op: "end" }));
  const many = (n: number) => ({ ...fetchPlan(), steps: ends(n), edges: [], required_caps: [] });
  deepStrictEqual(found(many(1024)), []);
  deepStrictEqual(found(many(1025)), [["AIR_PLAN_TOO_MANY_STEPS", "$[2].steps", undefined]]);
});

Deno.test("validatePlan(): step ids are unique", () => {
  const plan = edited((p) => p.steps.push({ id: "e_end", op: "end" }));
  deepStrictEqual(found(plan), [["AIR_PLAN_STEP_DUPLICATE", "$[2].steps[6].id", "e_end"]]);
});

Deno.test("validatePlan(): step ids and variable names have no '.'", () => {
  const plan = edited((p) => {
    p.steps.push({ id: "x.y", op: "end" });
    p.locals = { "a.b": "demo/Count@1" };
    step<"assign">(p, "c_check").bind.as = "o.k";
    p.edges!.forEach((e) => delete e.when);
  });
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_IDENTIFIER", '$[2].locals["a.b"]', undefined],
    ["AIR_PLAN_IDENTIFIER", "$[2].steps[2].bind.as", "c_check"],
    ["AIR_PLAN_IDENTIFIER", "$[2].steps[6].id", "x.y"],
  ]);
});

Deno.test("validatePlan(): edges join existing steps", () => {
  const plan = edited((p) => p.edges!.push({ from: "e_end", to: "ghost" }, { from: "nope", to: "e_end" }));
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_EDGE_UNKNOWN_STEP", "$[2].edges[6].to", undefined],
    ["AIR_PLAN_EDGE_UNKNOWN_STEP", "$[2].edges[7].from", undefined],
  ]);
});

Deno.test("validatePlan(): the steps form a DAG", () => {
  const plan = edited((p) => p.edges!.push({ from: "e_end", to: "c_check" }));
  deepStrictEqual(found(plan), [["AIR_PLAN_CYCLE", "$[2].edges[6]", "e_end"]]);
});

Deno.test("validatePlan(): input, output and locals name known schemas", () => {
  const plan = edited((p) => {
    p.input = "demo/Nope@1";
    p.output = "demo/Out@1";
    p.locals = { n: "demo/Gone@1" };
    step<"end">(p, "e_end").result = json({ nat: 1 });
  });
  deepStrictEqual(found(plan).filter(([code]) => code === "AIR_PLAN_SCHEMA_UNKNOWN"), [
    ["AIR_PLAN_SCHEMA_UNKNOWN", "$[2].input", undefined],
    ["AIR_PLAN_SCHEMA_UNKNOWN", "$[2].output", undefined],
    ["AIR_PLAN_SCHEMA_UNKNOWN", "$[2].locals.n", undefined],
  ]);
  // References to an input of unknown type are not reported again.
  deepStrictEqual(found(plan).filter(([code]) => code !== "AIR_PLAN_SCHEMA_UNKNOWN"), []);
});

Deno.test("validatePlan(): expressions are well-formed", () => {
  const plan = edited((p) => {
    step<"assign">(p, "c_check").expr = json({ op: "pow", args: [{ nat: 1 }] });
    p.edges![2]!.when = json({ ref: "@var:ok", extra: 1 });
  });
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_EXPR", "$[2].steps[2].expr.op", "c_check"],
    ["AIR_PLAN_EXPR", "$[2].edges[2].when", "c_check"],
  ]);
});

Deno.test("validatePlan(): effect params are typed by the kind's params schema", () => {
  const plan = edited((p) => {
    step<"emit_effect">(p, "a_fetch").params = json({
      record: { method: { text: "GET" }, url: { nat: 1 }, headers: { map: [] }, port: { nat: 80 } },
    });
  });
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_EXPR_TYPE", "$[2].steps[0].params.record.url", "a_fetch"],
    ["AIR_PLAN_EXPR_TYPE", "$[2].steps[0].params.record.port", "a_fetch"],
  ]);
});

Deno.test("validatePlan(): guards and invariants are bool", () => {
  const plan = edited((p) => {
    p.edges![2]!.when = json({ ref: "@var:resp.status" });
    p.invariants = [json({ op: "ne", args: [{ ref: "@var:ok" }, { bool: false }] }), json({ text: "x" })];
  });
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_EXPR_TYPE", "$[2].edges[2].when", "c_check"],
    ["AIR_PLAN_EXPR_TYPE", "$[2].invariants[1]", undefined],
  ]);
});

Deno.test("validatePlan(): a reference is bound by a DAG ancestor (for a guard: its source or above)", () => {
  const plan = edited((p) => {
    p.steps.push({ id: "f_late", op: "assign", expr: json({ bool: true }), bind: { as: "late" } });
    p.edges!.push({ from: "d_ok", to: "f_late" });
    step<"raise_event">(p, "d_fail").event = json({
      record: { $schema: { text: "demo/FetchFailed@1" }, request_id: { ref: "@var:nope" } },
    });
    step<"assign">(p, "c_check").expr = json({ ref: "@var:late" });
    p.edges![0]!.when = json({ ref: "@var:resp.status" }); // a_fetch → b_wait: resp is bound by b_wait
  });
  deepStrictEqual(found(plan), [
    ["AIR_PLAN_REF_UNBOUND", "$[2].steps[2].expr", "c_check"], // bound only by a later step
    ["AIR_PLAN_REF_UNBOUND", "$[2].steps[4].event.record.request_id", "d_fail"], // never bound
    ["AIR_PLAN_REF_UNBOUND", "$[2].edges[0].when", "a_fetch"], // bound by the edge's target
  ]);
});

Deno.test("validatePlan(): a guard sees the variables of its source step", () => {
  const plan = edited((p) =>
    p.edges![1]!.when = json({ op: "lt", args: [{ ref: "@var:resp.status" }, { int: 500 }] })
  );
  deepStrictEqual(found(plan), []);
});

Deno.test("validatePlan(): every binding of a variable has the same type", () => {
  const plan = edited((p) => {
    p.steps.push(
      { id: "f_a", op: "assign", expr: json({ nat: 1 }), bind: { as: "n" } },
      { id: "f_b", op: "assign", expr: json({ text: "x" }), bind: { as: "n" } },
    );
    p.edges!.push({ from: "d_ok", to: "f_a" }, { from: "d_fail", to: "f_b" });
  });
  deepStrictEqual(found(plan), [["AIR_PLAN_VAR_TYPE_CONFLICT", "$[2].steps[7].bind.as", "f_b"]]);
  const declared = edited((p) => p.locals = { resp: "demo/Count@1" });
  deepStrictEqual(found(declared).slice(0, 1), [[
    "AIR_PLAN_VAR_TYPE_CONFLICT",
    "$[2].steps[1].bind.as",
    "b_wait",
  ]]);
  const local = edited((p) => {
    p.locals = { n: "demo/Count@1" };
    p.steps.push({ id: "f_a", op: "assign", expr: json({ text: "x" }), bind: { as: "n" } });
    p.edges!.push({ from: "e_end", to: "f_a" });
  });
  deepStrictEqual(found(local), [["AIR_PLAN_EXPR_TYPE", "$[2].steps[6].expr", "f_a"]]);
});

Deno.test("validatePlan(): emit_effect.kind is in allowed_effects (absent = none)", () => {
  deepStrictEqual(found(edited((p) => delete p.allowed_effects)), [
    ["AIR_PLAN_EFFECT_NOT_ALLOWED", "$[2].steps[0].kind", "a_fetch"],
  ]);
});

Deno.test("validatePlan(): emit_effect.cap is in required_caps, which name known grants of the right type", () => {
  deepStrictEqual(found(edited((p) => delete p.required_caps)), [
    ["AIR_PLAN_CAP_NOT_REQUIRED", "$[2].steps[0].cap", "a_fetch"],
  ]);
  deepStrictEqual(found(edited((p) => p.required_caps!.push("ghost"))), [
    ["AIR_PLAN_CAP_UNKNOWN", "$[2].required_caps[1]", undefined],
  ]);
  const timer = edited((p) => {
    p.required_caps = ["timer_cap"];
    step<"emit_effect">(p, "a_fetch").cap = "timer_cap";
  });
  deepStrictEqual(found(timer), [["AIR_PLAN_CAP_TYPE", "$[2].steps[0].cap", "a_fetch"]]);
  const user = edited((p) => {
    p.required_caps = ["my_http"];
    step<"emit_effect">(p, "a_fetch").cap = "my_http";
  });
  deepStrictEqual(found(user), []);
  deepStrictEqual(found(user, { capTypeOf: () => "blob" }), [[
    "AIR_PLAN_CAP_TYPE",
    "$[2].steps[0].cap",
    "a_fetch",
  ]]);
});

Deno.test("validatePlan(): await_receipt.for is @var: of an ancestor emit", () => {
  const notRef = edited((p) =>
    step<"await_receipt">(p, "b_wait").for = json({ hash: `sha256:${"1".repeat(64)}` })
  );
  deepStrictEqual(found(notRef).slice(0, 1), [["AIR_PLAN_AWAIT_RECEIPT_FOR", "$[2].steps[1].for", "b_wait"]]);
  const notEmit = edited((p) => {
    p.steps.unshift({
      id: "a_0",
      op: "assign",
      expr: json({ hash: `sha256:${"1".repeat(64)}` }),
      bind: { as: "h" },
    });
    p.edges!.push({ from: "a_0", to: "b_wait" });
    step<"await_receipt">(p, "b_wait").for = json({ ref: "@var:h" });
  });
  deepStrictEqual(found(notEmit).slice(0, 1), [[
    "AIR_PLAN_AWAIT_RECEIPT_FOR",
    "$[2].steps[2].for",
    "b_wait",
  ]]);
});

Deno.test("validatePlan(): await_receipt.for names emits of one kind", () => {
  const plan = edited((p) => {
    p.allowed_effects!.push("timer.set");
    p.required_caps!.push("timer_cap");
    p.steps.unshift({
      id: "a_timer",
      op: "emit_effect",
      kind: "timer.set",
      cap: "timer_cap",
      bind: { effect_id_as: "req" },
      params: json({ record: { deliver_at_ns: { nat: 5 } } }),
    });
    p.edges!.push({ from: "a_timer", to: "b_wait" });
  });
  deepStrictEqual(found(plan).slice(0, 1), [["AIR_PLAN_AWAIT_RECEIPT_FOR", "$[2].steps[2].for", "b_wait"]]);
});

Deno.test('validatePlan() reads a raised event\'s schema only from a "$schema" text literal', () => {
  const plan = edited((p) => {
    step<"raise_event">(p, "d_fail").event = json({
      record: { $schema: { ref: "@plan.input.url" }, request_id: { ref: "@plan.input.request_id" } },
    });
  });
  deepStrictEqual(found(plan), [["AIR_PLAN_EXPR_TYPE", "$[2].steps[4].event.record.$schema", "d_fail"]]);
});

Deno.test("validatePlan(): the receipt variable is typed by the emitting kind's receipt schema", () => {
  const plan = edited((p) => step<"assign">(p, "c_check").expr = json({ ref: "@var:resp.timings.nope" }));
  deepStrictEqual(found(plan), [["AIR_PLAN_EXPR_TYPE", "$[2].steps[2].expr", "c_check"]]);
});

Deno.test("validatePlan(): await_event names a known event; where is bool and sees @var:<bind.as>", () => {
  const wait = (event: string, where: unknown): PlanStep =>
    ({ id: "f_wait", op: "await_event", event, where: json(where), bind: { as: "done" } }) as PlanStep;
  const plan = (event: string, where: unknown) =>
    edited((p) => {
      p.steps.push(wait(event, where));
      p.edges!.push({ from: "e_end", to: "f_wait" });
    });
  const matches = { op: "eq", args: [{ ref: "@var:done.request_id" }, { ref: "@plan.input.request_id" }] };
  deepStrictEqual(found(plan("demo/FetchFailed@1", matches)), []);
  deepStrictEqual(found(plan("demo/Nope@1", matches)), [[
    "AIR_PLAN_EVENT_UNKNOWN",
    "$[2].steps[6].event",
    "f_wait",
  ]]);
  deepStrictEqual(found(plan("demo/FetchFailed@1", { ref: "@var:done.request_id" })), [
    ["AIR_PLAN_EXPR_TYPE", "$[2].steps[6].where", "f_wait"],
  ]);
});

Deno.test("validatePlan(): raise_event targets a known reducer", () => {
  const plan = edited((p) => step<"raise_event">(p, "d_fail").reducer = "demo/Nope@1");
  deepStrictEqual(found(plan), [["AIR_PLAN_RAISE_TARGET", "$[2].steps[4].reducer", "d_fail"]]);
});

Deno.test("validatePlan(): raise_event's schema is known, routed to the reducer, and the value conforms", () => {
  const unknown = edited((p) => {
    step<"raise_event">(p, "d_fail").event = json({ record: { $schema: { text: "demo/Gone@1" } } });
  });
  deepStrictEqual(found(unknown), [[
    "AIR_PLAN_EVENT_UNKNOWN",
    "$[2].steps[4].event.record.$schema",
    "d_fail",
  ]]);
  const notRouted = edited((p) => {
    step<"raise_event">(p, "d_fail").event = json({ record: { $schema: { text: "demo/Id@1" } } });
  });
  deepStrictEqual(found(notRouted).slice(0, 1), [
    ["AIR_PLAN_RAISE_NOT_ROUTED", "$[2].steps[4].event.record.$schema", "d_fail"],
  ]);
  const badValue = edited((p) => {
    step<"raise_event">(p, "d_fail").event = json({
      record: { $schema: { text: "demo/FetchFailed@1" }, request_id: { nat: 1 } },
    });
  });
  deepStrictEqual(found(badValue), [[
    "AIR_PLAN_EXPR_TYPE",
    "$[2].steps[4].event.record.request_id",
    "d_fail",
  ]]);
  // Without $schema the event is the module's abi event, here a variant.
  const abiEvent = edited((p) => {
    step<"raise_event">(p, "d_fail").event = json({
      variant: { tag: "Failed", value: { record: { request_id: { ref: "@plan.input.request_id" } } } },
    });
  });
  deepStrictEqual(found(abiEvent), [["AIR_PLAN_RAISE_NOT_ROUTED", "$[2].steps[4].event", "d_fail"]]);
});

Deno.test("validatePlan(): a keyed reducer needs a conforming key, a non-keyed one forbids it", () => {
  const raise = (key?: unknown): PlanStep => ({
    id: "f_cell",
    op: "raise_event",
    reducer: "demo/Cells@1",
    event: json({ record: { request_id: { ref: "@plan.input.request_id" } } }),
    ...(key === undefined ? {} : { key: json(key) }),
  });
  const plan = (s: PlanStep) =>
    edited((p) => {
      p.steps.push(s);
      p.edges!.push({ from: "e_end", to: s.id });
    });
  deepStrictEqual(found(plan(raise({ ref: "@plan.input.request_id" }))), []);
  deepStrictEqual(found(plan(raise())), [["AIR_PLAN_RAISE_KEY", "$[2].steps[6]", "f_cell"]]);
  deepStrictEqual(found(plan(raise({ nat: 1 }))), [["AIR_PLAN_EXPR_TYPE", "$[2].steps[6].key", "f_cell"]]);
  const keyed = edited((p) => step<"raise_event">(p, "d_fail").key = json({ text: "k" }));
  deepStrictEqual(found(keyed), [["AIR_PLAN_RAISE_KEY", "$[2].steps[4].key", "d_fail"]]);
});

Deno.test("validatePlan(): end.result is present iff output is declared, and conforms to it", () => {
  deepStrictEqual(found(edited((p) => p.output = "demo/Count@1")), [
    ["AIR_PLAN_END_RESULT", "$[2].steps[5]", "e_end"],
  ]);
  deepStrictEqual(found(edited((p) => step<"end">(p, "e_end").result = json({ nat: 1 }))), [
    ["AIR_PLAN_END_RESULT", "$[2].steps[5].result", "e_end"],
  ]);
  const typed = (result: unknown) =>
    edited((p) => {
      p.output = "demo/Count@1";
      step<"end">(p, "e_end").result = json(result);
    });
  deepStrictEqual(found(typed({ op: "len", args: [{ ref: "@plan.input.url" }] })), []);
  deepStrictEqual(found(typed({ text: "x" })), [["AIR_PLAN_EXPR_TYPE", "$[2].steps[5].result", "e_end"]]);
});

Deno.test("validatePlan() reports unrelated problems in one pass", () => {
  const plan = edited((p) => {
    delete p.allowed_effects;
    p.edges!.push({ from: "e_end", to: "ghost" });
    step<"raise_event">(p, "d_ok").reducer = "demo/Nope@1";
  });
  deepStrictEqual(found(plan).map(([code]) => code).sort(), [
    "AIR_PLAN_EDGE_UNKNOWN_STEP",
    "AIR_PLAN_EFFECT_NOT_ALLOWED",
    "AIR_PLAN_RAISE_TARGET",
  ]);
});

Deno.test("validatePlan(): a declared local is visible everywhere (it may be given at manual start)", () => {
  const plan = edited((p) => {
    p.locals = { note: "demo/FetchRequested@1" };
    step<"assign">(p, "c_check").expr = json({
      op: "eq",
      args: [{ ref: "@var:note.request_id" }, { text: "x" }],
    });
  });
  deepStrictEqual(found(plan), []);
  // An undeclared name is still unbound.
  const undeclared = edited((p) => {
    step<"assign">(p, "c_check").expr = json({
      op: "eq",
      args: [{ ref: "@var:note.request_id" }, { text: "x" }],
    });
  });
  deepStrictEqual(found(undeclared).map(([code]) => code), ["AIR_PLAN_REF_UNBOUND"]);
});
