import assert from "node:assert/strict";
import { parseJson } from "../base/mod.ts";
import { hashRefOf, toHex } from "../cbor/mod.ts";
import type { AirNode } from "./air_node.ts";
import type { DefModule } from "./def_module.ts";
import type { Manifest } from "./manifest.ts";
import { canonicalTaggedJson, nodeBytes, nodeHash, normalizeNode } from "./node_hash.ts";
import { parseAirNode } from "./parse_air_node.ts";

function node(text: string): AirNode {
  const result = parseAirNode(parseJson(text));
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
  return result.node;
}

const EMPTY_MANIFEST = `"$kind":"manifest","schemas":[],"modules":[],"plans":[],"caps":[],"policies":[]`;

Deno.test("nodeHash() of a manifest with empty routing.events equals the one without routing", () => {
  const bare = node(`{${EMPTY_MANIFEST}}`);
  for (
    const extra of [
      `"routing":{"events":[]}`,
      `"routing":{}`,
      `"routing":{"events":[],"inboxes":[]}`,
      `"triggers":[]`,
      `"module_bindings":{}`,
      `"defaults":{}`,
      `"defaults":{"cap_grants":[]}`,
    ]
  ) {
    assert.equal(nodeHash(node(`{${EMPTY_MANIFEST},${extra}}`)), nodeHash(bare), extra);
  }
});

Deno.test("normalizeNode() keeps the five ref lists and $kind even when empty", () => {
  assert.deepEqual(normalizeNode(node(`{${EMPTY_MANIFEST},"routing":{"events":[]}}`)), {
    $kind: "manifest",
    schemas: [],
    modules: [],
    plans: [],
    caps: [],
    policies: [],
  });
});

Deno.test("normalizeNode() drops empty optional lists and objects of a module and a grant", () => {
  const module = node(
    `{"$kind":"defmodule","name":"demo/M@1","module_kind":"reducer","wasm_hash":"sha256:${
      "ab".repeat(32)
    }","abi":{"reducer":{"state":"demo/S@1","event":"demo/E@1","effects_emitted":[],"cap_slots":{}}}}`,
  ) as DefModule;
  assert.deepEqual(normalizeNode(module), {
    $kind: "defmodule",
    name: "demo/M@1",
    module_kind: "reducer",
    wasm_hash: `sha256:${"ab".repeat(32)}`,
    abi: { reducer: { state: "demo/S@1", event: "demo/E@1" } },
  });
  const manifest = node(`{${EMPTY_MANIFEST},"defaults":{"cap_grants":[{"name":"t","cap":"sys/timer@1",
    "params":{"record":{}},"budget":{}}]},"module_bindings":{"demo/M@1":{"slots":{}}}}`) as Manifest;
  assert.deepEqual(normalizeNode(manifest), {
    $kind: "manifest",
    schemas: [],
    modules: [],
    plans: [],
    caps: [],
    policies: [],
    // `params` is a value ({"record":{}} is meaningful) and `slots` is required: both stay.
    defaults: { cap_grants: [{ name: "t", cap: "sys/timer@1", params: { record: {} } }] },
    module_bindings: { "demo/M@1": { slots: {} } },
  });
});

Deno.test("normalizeNode() keeps empty objects inside type expressions", () => {
  const schema = node(`{"$kind":"defschema","name":"demo/Empty@1","type":{"record":{}}}`);
  assert.deepEqual(normalizeNode(schema), { $kind: "defschema", name: "demo/Empty@1", type: { record: {} } });
});

Deno.test("nodeHash() ignores field order and whitespace of the text", () => {
  const a = node(`{"$kind":"defschema","name":"demo/CounterState@1","type":{"record":{"count":{"nat":{}}}}}`);
  const b = node(`{ "type": { "record": { "count": { "nat": {} } } },
                    "name": "demo/CounterState@1", "$kind": "defschema" }`);
  assert.equal(nodeHash(a), nodeHash(b));
});

Deno.test("nodeHash() is the SHA-256 of nodeBytes() (golden vector)", () => {
  const schema = node(
    `{"$kind":"defschema","name":"demo/CounterState@1","type":{"record":{"count":{"nat":{}}}}}`,
  );
  const bytes = nodeBytes(schema);
  // {"name": …, "type": {"record": {"count": {"nat": {}}}}, "$kind": "defschema"}, keys in canonical order.
  assert.equal(
    toHex(bytes),
    "a3" + "646e616d65" + "7364656d6f2f436f756e746572537461746540" + "31" + "6474797065" +
      "a1667265636f7264a165636f756e74a1636e6174a0" + "65246b696e64" + "69646566736368656d61",
  );
  assert.equal(nodeHash(schema), hashRefOf(bytes));
  assert.equal(nodeHash(schema), "sha256:734d1d05744323e3712dd3fe33bf07c29b87378c51c99ba9ad4136837d902faf");
});

Deno.test("nodeHash() keeps bigints exact", () => {
  const manifest = (expiry: string) =>
    node(`{${EMPTY_MANIFEST},"defaults":{"cap_grants":[{"name":"t","cap":"sys/timer@1","params":{},
      "expiry_ns":${expiry}}]}}`);
  assert.notEqual(nodeHash(manifest("9007199254740993")), nodeHash(manifest("9007199254740992")));
});

const PLAN_HEAD = `"$kind":"defplan","name":"demo/p@1","input":"demo/In@1"`;

Deno.test("nodeHash() of a plan ignores empty optional lists and objects (AIR §5.1)", () => {
  const bare = node(`{${PLAN_HEAD},"steps":[{"id":"a","op":"end"}]}`);
  for (
    const extra of [
      `"edges":[]`,
      `"locals":{}`,
      `"required_caps":[]`,
      `"allowed_effects":[]`,
      `"invariants":[]`,
      `"edges":[],"locals":{},"required_caps":[],"allowed_effects":[],"invariants":[]`,
    ]
  ) {
    assert.equal(
      nodeHash(node(`{${PLAN_HEAD},"steps":[{"id":"a","op":"end"}],${extra}}`)),
      nodeHash(bare),
      extra,
    );
  }
  assert.deepEqual(normalizeNode(bare), {
    $kind: "defplan",
    name: "demo/p@1",
    input: "demo/In@1",
    steps: [{ id: "a", op: "end" }],
  });
  // Non-empty lists, a guard and an output change the hash.
  const two = `"steps":[{"id":"a","op":"end"},{"id":"b","op":"end"}]`;
  const edge = node(`{${PLAN_HEAD},${two},"edges":[{"from":"a","to":"b"}]}`);
  const guarded = node(`{${PLAN_HEAD},${two},"edges":[{"from":"a","to":"b","when":{"bool":true}}]}`);
  assert.notEqual(nodeHash(edge), nodeHash(guarded));
  assert.notEqual(nodeHash(node(`{${PLAN_HEAD},${two}}`)), nodeHash(edge));
  assert.notEqual(
    nodeHash(node(`{${PLAN_HEAD},"output":"demo/Out@1","steps":[{"id":"a","op":"end"}]}`)),
    nodeHash(bare),
  );
});

Deno.test("normalizeNode() keeps every step field and Exprs as written, empty records included", () => {
  const plan = node(`{${PLAN_HEAD},"steps":[
    {"id":"s1","op":"assign","expr":{"record":{}},"bind":{"as":"x"}},
    {"id":"s2","op":"emit_effect","kind":"timer.set","params":{"record":{"deliver_at_ns":{"nat":5}}},"cap":"t",
     "bind":{"effect_id_as":"h"}},
    {"id":"s3","op":"await_receipt","for":{"ref":"@var:h"},"bind":{"as":"r"}},
    {"id":"s4","op":"await_event","event":"demo/E@1","bind":{"as":"e"}},
    {"id":"s5","op":"raise_event","reducer":"demo/R@1","event":{"record":{}},"key":{"text":"k"}},
    {"id":"s6","op":"end","result":{"nat":1}}]}`);
  assert.deepEqual((normalizeNode(plan) as { steps: unknown[] }).steps, [
    { id: "s1", op: "assign", expr: { record: {} }, bind: { as: "x" } },
    {
      id: "s2",
      op: "emit_effect",
      kind: "timer.set",
      params: { record: { deliver_at_ns: { nat: 5n } } },
      cap: "t",
      bind: { effect_id_as: "h" },
    },
    { id: "s3", op: "await_receipt", for: { ref: "@var:h" }, bind: { as: "r" } },
    { id: "s4", op: "await_event", event: "demo/E@1", bind: { as: "e" } },
    { id: "s5", op: "raise_event", reducer: "demo/R@1", event: { record: {} }, key: { text: "k" } },
    { id: "s6", op: "end", result: { nat: 1n } },
  ]);
});

Deno.test("nodeHash() of a policy keeps empty rules and an empty when; of a defcap its empty record", () => {
  const policy = (rules: string) => node(`{"$kind":"defpolicy","name":"demo/policy@1","rules":${rules}}`);
  assert.deepEqual(normalizeNode(policy(`[{"when":{},"decision":"deny"}]`)), {
    $kind: "defpolicy",
    name: "demo/policy@1",
    rules: [{ when: {}, decision: "deny" }],
  });
  assert.deepEqual(normalizeNode(policy("[]")), { $kind: "defpolicy", name: "demo/policy@1", rules: [] });
  assert.notEqual(nodeHash(policy("[]")), nodeHash(policy(`[{"when":{},"decision":"deny"}]`)));
  const cap = node(`{"$kind":"defcap","name":"demo/timer@1","cap_type":"timer","schema":{"record":{}}}`);
  assert.deepEqual(normalizeNode(cap), {
    $kind: "defcap",
    name: "demo/timer@1",
    cap_type: "timer",
    schema: { record: {} },
  });
});

Deno.test("nodeHash() brings tagged grant params to their canonical form (sets sorted, deduplicated)", () => {
  const manifest = (params: string) =>
    node(
      `{${EMPTY_MANIFEST},"defaults":{"cap_grants":[{"name":"h","cap":"sys/http.out@1","params":${params}}]}}`,
    );
  const canonical = manifest(
    `{"record":{"hosts":{"set":[{"text":"a.com"},{"text":"b.com"}]},"verbs":{"set":[{"text":"GET"}]}}}`,
  );
  const messy = manifest(
    `{"record":{"verbs":{"set":[{"text":"GET"},{"text":"GET"}]},"hosts":{"set":[{"text":"b.com"},{"text":"a.com"}]},
      "path_prefixes":{"null":{}}}}`,
  );
  assert.equal(nodeHash(messy), nodeHash(canonical));
  assert.deepEqual(
    canonicalTaggedJson({
      map: [{ key: { text: "b" }, value: { nat: 1n } }, { key: { text: "a" }, value: { nat: 2n } }],
    }),
    {
      map: [{ key: { text: "a" }, value: { nat: 2n } }, { key: { text: "b" }, value: { nat: 1n } }],
    },
  );
  // Plain params cannot be canonicalized without the schema: they are hashed as written.
  assert.equal(canonicalTaggedJson({ hosts: ["a.com"] }), undefined);
  assert.notEqual(nodeHash(manifest(`{"hosts":["a.com","b.com"],"verbs":["GET"]}`)), nodeHash(canonical));
});
