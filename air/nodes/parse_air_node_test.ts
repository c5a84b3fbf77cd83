import assert from "node:assert/strict";
import { parseJson } from "../base/mod.ts";
import type { NodeIssue } from "./node_issue.ts";
import { parseAirNode } from "./parse_air_node.ts";

const WASM = `sha256:${"ab".repeat(32)}`;

function issuesOf(text: string): NodeIssue[] {
  const result = parseAirNode(parseJson(text));
  assert.equal(result.ok, false, "expected the node to be rejected");
  return result.ok ? [] : result.issues;
}

function only(issues: NodeIssue[], code: string, path: Array<string | number>): void {
  assert.deepEqual(issues.map((i) => [i.code, i.path]), [[code, path]], JSON.stringify(issues));
}

Deno.test("parseAirNode() accepts the counter world's nodes", () => {
  const texts = [
    `{"$kind":"defschema","name":"demo/CounterState@1","type":{"record":{"count":{"nat":{}}}}}`,
    `{"$kind":"defmodule","name":"demo/Counter@1","module_kind":"reducer","wasm_hash":"${WASM}",
      "abi":{"reducer":{"state":"demo/CounterState@1","event":"demo/Increment@1"}}}`,
    `{"$kind":"manifest","plans":[],"caps":[],"policies":[],"schemas":[{"name":"demo/CounterState@1"}],
      "modules":[{"name":"demo/Counter@1","hash":"sha256:${"0".repeat(64)}"}],
      "routing":{"events":[{"event":"demo/Increment@1","reducer":"demo/Counter@1"}]}}`,
  ];
  for (const text of texts) assert.ok(parseAirNode(parseJson(text)).ok, text);
});

Deno.test("parseAirNode() accepts every manifest field with bigint integers", () => {
  const text = `{"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[],"policies":[],
    "routing":{"events":[{"event":"demo/E@1","reducer":"demo/R@1","key_field":"id"}],
               "inboxes":[{"source":"mail","reducer":"demo/R@1"}]},
    "triggers":[{"event":"demo/E@1","plan":"demo/p@1","correlate_by":"id"}],
    "defaults":{"policy":"demo/policy@1","cap_grants":[{"name":"http_example","cap":"sys/http.out@1",
      "params":{"record":{"hosts":{"set":[{"text":"example.com"}]}}},"expiry_ns":18446744073709551615,
      "budget":{"tokens":1,"bytes":1048576,"cents":0}}]},
    "module_bindings":{"demo/R@1":{"slots":{"default":"http_example"}}}}`;
  const result = parseAirNode(parseJson(text));
  assert.ok(result.ok);
  assert.equal(result.node.$kind, "manifest");
  if (result.node.$kind !== "manifest") return;
  assert.equal(result.node.defaults?.cap_grants?.[0]?.expiry_ns, 18446744073709551615n);
});

Deno.test("parseAirNode() rejects unknown fields at their path", () => {
  only(issuesOf(`{"$kind":"defschema","name":"demo/A@1","type":{"nat":{}},"doc":"x"}`), "AIR_SHAPE", ["doc"]);
  only(
    issuesOf(`{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"${WASM}",
      "abi":{"reducer":{"state":"demo/S@1","event":"demo/E@1","extra":true}}}`),
    "AIR_SHAPE",
    ["abi", "reducer", "extra"],
  );
  only(
    issuesOf(`{"$kind":"manifest","schemas":[{"name":"demo/A@1","hash":"x","h":1}],"modules":[],"plans":[],
      "caps":[],"policies":[]}`).filter((i) => i.path.includes("h")),
    "AIR_SHAPE",
    ["schemas", 0, "h"],
  );
});

Deno.test("parseAirNode() reports missing required fields", () => {
  only(issuesOf(`{"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[]}`), "AIR_SHAPE", [
    "policies",
  ]);
  only(
    issuesOf(
      `{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"${WASM}","abi":{}}`,
    ),
    "AIR_SHAPE",
    ["abi", "reducer"],
  );
});

Deno.test("parseAirNode() reports invalid names and identifiers as AIR_NAME_INVALID", () => {
  only(issuesOf(`{"$kind":"defschema","name":"Demo/A@1","type":{"nat":{}}}`), "AIR_NAME_INVALID", ["name"]);
  only(issuesOf(`{"$kind":"defschema","name":"demo/A@0","type":{"nat":{}}}`), "AIR_NAME_INVALID", ["name"]);
  only(issuesOf(`{"$kind":"defschema","name":"demo/A@1","type":{"ref":"a@1"}}`), "AIR_NAME_INVALID", [
    "type",
    "ref",
  ]);
  only(
    issuesOf(`{"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[],"policies":[],
      "defaults":{"cap_grants":[{"name":"1bad","cap":"sys/timer@1","params":{}}]}}`),
    "AIR_NAME_INVALID",
    ["defaults", "cap_grants", 0, "name"],
  );
  only(
    issuesOf(`{"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[],"policies":[],
      "module_bindings":{"NotAName":{"slots":{}}}}`),
    "AIR_NAME_INVALID",
    ["module_bindings", "NotAName"],
  );
});

Deno.test("parseAirNode() rejects malformed hashes and integers", () => {
  only(
    issuesOf(`{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"sha256:AB",
      "abi":{"reducer":{"state":"demo/S@1","event":"demo/E@1"}}}`),
    "AIR_SHAPE",
    ["wasm_hash"],
  );
  only(
    issuesOf(`{"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[],"policies":[],
      "defaults":{"cap_grants":[{"name":"g","cap":"sys/timer@1","params":{},"expiry_ns":-1}]}}`),
    "AIR_SHAPE",
    ["defaults", "cap_grants", 0, "expiry_ns"],
  );
  only(
    issuesOf(`{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"${WASM}",
      "abi":{"reducer":{"state":"demo/S@1","event":"demo/E@1","effects_emitted":["payment.charge"]}}}`),
    "AIR_EFFECT_UNKNOWN",
    ["abi", "reducer", "effects_emitted", 0],
  );
});

Deno.test("parseAirNode() recognizes reserved and unknown kinds", () => {
  only(issuesOf(`{"$kind":"defmigration"}`), "AIR_KIND_RESERVED", ["$kind"]);
  only(issuesOf(`{"$kind":"defthing"}`), "AIR_KIND_UNKNOWN", ["$kind"]);
  only(issuesOf(`{"name":"demo/x@1"}`), "AIR_SHAPE", ["$kind"]);
  only(issuesOf(`[1]`), "AIR_SHAPE", []);
});

// --- defplan, defcap, defpolicy -------------------------------------------------------------------------

const FETCH_PLAN = `{"$kind":"defplan","name":"demo/fetch@1","input":"demo/FetchRequested@1",
 "steps":[
  {"id":"a_fetch","op":"emit_effect","kind":"http.request","cap":"http_example","bind":{"effect_id_as":"req"},
   "params":{"record":{"method":{"text":"GET"},"url":{"ref":"@plan.input.url"},"headers":{"map":[]}}}},
  {"id":"b_wait","op":"await_receipt","for":{"ref":"@var:req"},"bind":{"as":"resp"}},
  {"id":"c_check","op":"assign","bind":{"as":"ok"},"expr":{"op":"and","args":[
     {"op":"eq","args":[{"ref":"@step:b_wait.status"},{"text":"ok"}]},
     {"op":"lt","args":[{"ref":"@var:resp.status"},{"int":400}]}]}},
  {"id":"d_ok","op":"raise_event","reducer":"demo/Fetcher@1","event":{"record":{
     "$schema":{"text":"demo/FetchSucceeded@1"},"request_id":{"ref":"@plan.input.request_id"},
     "body_ref":{"ref":"@var:resp.body_ref"}}}},
  {"id":"d_fail","op":"raise_event","reducer":"demo/Fetcher@1","event":{"record":{
     "$schema":{"text":"demo/FetchFailed@1"},"request_id":{"ref":"@plan.input.request_id"}}}},
  {"id":"e_end","op":"end"}],
 "edges":[{"from":"a_fetch","to":"b_wait"},{"from":"b_wait","to":"c_check"},
  {"from":"c_check","to":"d_ok","when":{"ref":"@var:ok"}},
  {"from":"c_check","to":"d_fail","when":{"op":"not","args":[{"ref":"@var:ok"}]}},
  {"from":"d_ok","to":"e_end"},{"from":"d_fail","to":"e_end"}],
 "required_caps":["http_example"],"allowed_effects":["http.request"]}`;

function plan(fields: string): string {
  return `{"$kind":"defplan","name":"demo/p@1","input":"demo/In@1",${fields}}`;
}

Deno.test("parseAirNode() accepts the fetch plan of AIR §20 with every step op", () => {
  const result = parseAirNode(parseJson(FETCH_PLAN));
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
  assert.equal(result.node.$kind, "defplan");
  if (result.node.$kind !== "defplan") return;
  assert.deepEqual(result.node.steps.map((s) => s.op), [
    "emit_effect",
    "await_receipt",
    "assign",
    "raise_event",
    "raise_event",
    "end",
  ]);
  assert.deepEqual(result.node.edges?.[2]?.when, { ref: "@var:ok" });
  const full = plan(`"output":"demo/Out@1","locals":{"n":"demo/N@1"},
    "steps":[{"id":"w","op":"await_event","event":"demo/E@1","where":{"bool":true},"bind":{"as":"e"}},
             {"id":"r","op":"raise_event","reducer":"demo/R@1","event":{"ref":"@var:e"},"key":{"text":"k"}},
             {"id":"x","op":"end","result":{"nat":1}}],
    "invariants":[{"bool":true}],"edges":[],"required_caps":[],"allowed_effects":[]`);
  assert.ok(parseAirNode(parseJson(full)).ok);
});

Deno.test("parseAirNode() rejects malformed plans at the path of the problem", () => {
  only(issuesOf(plan(`"steps":[]`)), "AIR_SHAPE", ["steps"]);
  only(issuesOf(plan(`"steps":[{"op":"end"}]`)), "AIR_SHAPE", ["steps", 0, "id"]);
  only(issuesOf(plan(`"steps":[{"id":"a","op":"jump"}]`)), "AIR_SHAPE", ["steps", 0, "op"]);
  only(issuesOf(plan(`"steps":[{"id":"a"}]`)), "AIR_SHAPE", ["steps", 0, "op"]);
  only(issuesOf(plan(`"steps":[{"id":"a","op":"end","extra":1}]`)), "AIR_SHAPE", ["steps", 0, "extra"]);
  only(issuesOf(plan(`"steps":[{"id":"a","op":"assign","expr":{"bool":true}}]`)), "AIR_SHAPE", [
    "steps",
    0,
    "bind",
  ]);
  only(
    issuesOf(plan(`"steps":[{"id":"a","op":"emit_effect","kind":"payment.charge","params":{"record":{}},
      "cap":"c","bind":{"effect_id_as":"h"}}]`)),
    "AIR_EFFECT_UNKNOWN",
    ["steps", 0, "kind"],
  );
  only(issuesOf(plan(`"steps":[{"id":"a","op":"end"}],"allowed_effects":["x.y"]`)), "AIR_EFFECT_UNKNOWN", [
    "allowed_effects",
    0,
  ]);
  only(issuesOf(plan(`"steps":[{"id":"a","op":"end"}],"edges":[{"from":"a"}]`)), "AIR_SHAPE", [
    "edges",
    0,
    "to",
  ]);
  only(issuesOf(plan(`"steps":[{"id":"a","op":"end"}],"invariants":{"bool":true}`)), "AIR_SHAPE", [
    "invariants",
  ]);
});

Deno.test("parseAirNode() rejects a '.' in step ids and variable names (AIR §1 Choice)", () => {
  only(issuesOf(plan(`"steps":[{"id":"a.b","op":"end"}]`)), "AIR_NAME_INVALID", ["steps", 0, "id"]);
  only(
    issuesOf(plan(`"steps":[{"id":"a","op":"assign","expr":{"bool":true},"bind":{"as":"x.y"}}]`)),
    "AIR_NAME_INVALID",
    ["steps", 0, "bind", "as"],
  );
  only(issuesOf(plan(`"steps":[{"id":"a","op":"end"}],"locals":{"x.y":"demo/N@1"}`)), "AIR_NAME_INVALID", [
    "locals",
    "x.y",
  ]);
  only(
    issuesOf(plan(`"steps":[{"id":"a","op":"end"}],"edges":[{"from":"a","to":"b.c"}]`)),
    "AIR_NAME_INVALID",
    [
      "edges",
      0,
      "to",
    ],
  );
  // Grant names may contain '.'.
  assert.ok(
    parseAirNode(parseJson(plan(`"steps":[{"id":"a","op":"end"}],"required_caps":["http.example"]`))).ok,
  );
});

Deno.test("parseAirNode() accepts defcaps and rejects unknown cap types and malformed schemas", () => {
  assert.ok(
    parseAirNode(
      parseJson(`{"$kind":"defcap","name":"demo/timer@1","cap_type":"timer","schema":{"record":{}}}`),
    )
      .ok,
  );
  only(
    issuesOf(`{"$kind":"defcap","name":"demo/c@1","cap_type":"payment","schema":{"record":{}}}`),
    "AIR_CAP_TYPE_UNKNOWN",
    ["cap_type"],
  );
  only(
    issuesOf(
      `{"$kind":"defcap","name":"demo/c@1","cap_type":"timer","schema":{"record":{"a":{"float":{}}}}}`,
    ),
    "AIR_SHAPE",
    ["schema", "record", "a", "float"],
  );
  only(issuesOf(`{"$kind":"defcap","name":"demo/c@1","cap_type":"timer"}`), "AIR_SHAPE", ["schema"]);
  only(
    issuesOf(`{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"${WASM}",
      "abi":{"reducer":{"state":"demo/S@1","event":"demo/E@1","cap_slots":{"t":"clock"}}}}`),
    "AIR_CAP_TYPE_UNKNOWN",
    ["abi", "reducer", "cap_slots", "t"],
  );
});

Deno.test("parseAirNode() accepts defpolicies and checks rule shapes", () => {
  const policy = (rules: string) => `{"$kind":"defpolicy","name":"demo/policy@1","rules":${rules}}`;
  const result = parseAirNode(parseJson(policy(`[
    {"when":{"effect_kind":"http.request","cap_name":"http_example","host":"*.example.com","method":"GET",
             "origin_kind":"plan","origin_name":"demo/fetch@1"},"decision":"allow"},
    {"when":{},"decision":"deny"}]`)));
  assert.ok(result.ok);
  assert.ok(parseAirNode(parseJson(policy("[]"))).ok);
  only(issuesOf(policy(`[{"when":{},"decision":"require_approval"}]`)), "AIR_SHAPE", [
    "rules",
    0,
    "decision",
  ]);
  only(issuesOf(policy(`[{"decision":"deny"}]`)), "AIR_SHAPE", ["rules", 0, "when"]);
  only(issuesOf(policy(`[{"when":{"origin_kind":"user"},"decision":"deny"}]`)), "AIR_SHAPE", [
    "rules",
    0,
    "when",
    "origin_kind",
  ]);
  only(issuesOf(policy(`[{"when":{"rpm":10},"decision":"deny"}]`)), "AIR_SHAPE", ["rules", 0, "when", "rpm"]);
  only(issuesOf(policy(`[{"when":{"effect_kind":"email.send"},"decision":"deny"}]`)), "AIR_EFFECT_UNKNOWN", [
    "rules",
    0,
    "when",
    "effect_kind",
  ]);
  only(issuesOf(policy(`[{"when":{"origin_name":"fetch"},"decision":"deny"}]`)), "AIR_NAME_INVALID", [
    "rules",
    0,
    "when",
    "origin_name",
  ]);
  only(issuesOf(`{"$kind":"defpolicy","name":"demo/policy@1"}`), "AIR_SHAPE", ["rules"]);
});
