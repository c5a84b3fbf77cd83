import assert from "node:assert/strict";
import { parseJson } from "./json.ts";
import { type NodeIssue, parseAirNode, typeExprIssues } from "./nodes.ts";

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
    "AIR_SHAPE",
    ["abi", "reducer", "effects_emitted", 0],
  );
});

Deno.test("parseAirNode() recognizes unsupported, reserved and unknown kinds", () => {
  for (const kind of ["defplan", "defcap", "defpolicy"]) {
    only(issuesOf(`{"$kind":"${kind}","name":"demo/x@1"}`), "AIR_KIND_UNSUPPORTED", ["$kind"]);
  }
  only(issuesOf(`{"$kind":"defmigration"}`), "AIR_KIND_RESERVED", ["$kind"]);
  only(issuesOf(`{"$kind":"defthing"}`), "AIR_KIND_UNKNOWN", ["$kind"]);
  only(issuesOf(`{"name":"demo/x@1"}`), "AIR_SHAPE", ["$kind"]);
  only(issuesOf(`[1]`), "AIR_SHAPE", []);
});

Deno.test("typeExprIssues() accepts every form of AIR §2", () => {
  const types = [
    { bool: {} },
    { dec128: {} },
    { unit: {} },
    { record: {} },
    { record: { a: { int: {} }, b: { option: { text: {} } } } },
    { variant: { Reset: { unit: {} }, Add: { nat: {} } } },
    { list: { bytes: {} } },
    { set: { uuid: {} } },
    { map: { key: { hash: {} }, value: { list: { time: {} } } } },
    { map: { key: { ref: "demo/Key@1" }, value: { duration: {} } } },
    { ref: "com.acme/rss_fetch@12" },
  ];
  for (const type of types) assert.deepEqual(typeExprIssues(type), [], JSON.stringify(type));
});

Deno.test("typeExprIssues() reports malformed types at their path", () => {
  const cases: Array<[unknown, string, Array<string | number>]> = [
    [{ nat: {}, int: {} }, "AIR_SHAPE", []],
    [{}, "AIR_SHAPE", []],
    [[], "AIR_SHAPE", []],
    [{ float: {} }, "AIR_SHAPE", ["float"]],
    [{ nat: { max: 3n } }, "AIR_SHAPE", ["nat"]],
    [{ record: { a: { list: "text" } } }, "AIR_SHAPE", ["record", "a", "list"]],
    [{ map: { key: { text: {} } } }, "AIR_SHAPE", ["map", "value"]],
    [{ map: { key: { text: {} }, value: { text: {} }, extra: {} } }, "AIR_SHAPE", ["map", "extra"]],
    [{ variant: { A: { ref: 3n } } }, "AIR_NAME_INVALID", ["variant", "A", "ref"]],
  ];
  for (const [type, code, path] of cases) only(typeExprIssues(type), code, path);
});

Deno.test("typeExprIssues() bounds the nesting depth", () => {
  let type: unknown = { nat: {} };
  for (let i = 0; i < 100; i++) type = { list: type };
  const issues = typeExprIssues(type);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.code, "AIR_SHAPE");
  assert.match(issues[0]?.message ?? "", /deeper/);
});
