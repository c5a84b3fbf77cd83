import assert from "node:assert/strict";
import { toHex } from "./cbor.ts";
import { hashRefOf } from "./hash.ts";
import { parseJson } from "./json.ts";
import { nodeBytes, nodeHash, normalizeNode } from "./node_hash.ts";
import { type AirNode, type DefModule, type Manifest, parseAirNode } from "./nodes.ts";

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
