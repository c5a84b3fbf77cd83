/**
 * The fetch world of AIR §20 as plain JSON nodes, shared by the bundle tests (`_world_test.ts`)
 * and the plan validator tests (`validate_plan_test.ts`). Private to tests: no non-test module imports it.
 *
 * @module
 */
import type { TypeExpr } from "../value/mod.ts";

/** A `defschema` node as JSON. */
export type SchemaJson = { $kind: "defschema"; name: string; type: TypeExpr };

const text: TypeExpr = { text: {} };
const schema = (name: string, type: TypeExpr): SchemaJson => ({ $kind: "defschema", name, type });

/** The fetch world's events: `FetchRequested`, `FetchSucceeded`, `FetchFailed`, variant `FetchEvent`. */
export const FETCH_EVENT_SCHEMAS: SchemaJson[] = [
  schema("demo/FetchRequested@1", { record: { request_id: text, url: text } }),
  schema("demo/FetchSucceeded@1", { record: { request_id: text, body_ref: { option: { hash: {} } } } }),
  schema("demo/FetchFailed@1", { record: { request_id: text } }),
  schema("demo/FetchEvent@1", {
    variant: { Succeeded: { ref: "demo/FetchSucceeded@1" }, Failed: { ref: "demo/FetchFailed@1" } },
  }),
];

/** The plan `demo/fetch@1` of AIR §20, verbatim (numbers as JS numbers). */
export const FETCH_PLAN = {
  $kind: "defplan",
  name: "demo/fetch@1",
  input: "demo/FetchRequested@1",
  steps: [
    {
      id: "a_fetch",
      op: "emit_effect",
      kind: "http.request",
      cap: "http_example",
      bind: { effect_id_as: "req" },
      params: {
        record: { method: { text: "GET" }, url: { ref: "@plan.input.url" }, headers: { map: [] } },
      },
    },
    { id: "b_wait", op: "await_receipt", for: { ref: "@var:req" }, bind: { as: "resp" } },
    {
      id: "c_check",
      op: "assign",
      bind: { as: "ok" },
      expr: {
        op: "and",
        args: [
          { op: "eq", args: [{ ref: "@step:b_wait.status" }, { text: "ok" }] },
          { op: "lt", args: [{ ref: "@var:resp.status" }, { int: 400 }] },
        ],
      },
    },
    {
      id: "d_ok",
      op: "raise_event",
      reducer: "demo/Fetcher@1",
      event: {
        record: {
          $schema: { text: "demo/FetchSucceeded@1" },
          request_id: { ref: "@plan.input.request_id" },
          body_ref: { ref: "@var:resp.body_ref" },
        },
      },
    },
    {
      id: "d_fail",
      op: "raise_event",
      reducer: "demo/Fetcher@1",
      event: {
        record: { $schema: { text: "demo/FetchFailed@1" }, request_id: { ref: "@plan.input.request_id" } },
      },
    },
    { id: "e_end", op: "end" },
  ],
  edges: [
    { from: "a_fetch", to: "b_wait" },
    { from: "b_wait", to: "c_check" },
    { from: "c_check", to: "d_ok", when: { ref: "@var:ok" } },
    { from: "c_check", to: "d_fail", when: { op: "not", args: [{ ref: "@var:ok" }] } },
    { from: "d_ok", to: "e_end" },
    { from: "d_fail", to: "e_end" },
  ],
  required_caps: ["http_example"],
  allowed_effects: ["http.request"],
};
