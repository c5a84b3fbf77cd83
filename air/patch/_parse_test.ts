import assert from "node:assert/strict";
import { type JsonValue, parseJson, toJsonValue } from "../base/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import { parsePatchDocument, patchBytes, type PatchDocument, PatchError, patchHash } from "./patch.ts";

const OTHER_HASH = `sha256:${"ab".repeat(32)}` as HashRef;

const BASE = `sha256:${"0f".repeat(32)}`;
const hex = (text: string) =>
  Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("parsePatchDocument() accepts every operation and patchHash() ignores key order", () => {
  const text = `{
    "base_manifest_hash": "${BASE}",
    "patches": [
      {"add_def": {"kind": "defschema", "node": {"$kind": "defschema", "name": "demo/A@1", "type": {"nat": {}}}}},
      {"replace_def": {"kind": "defschema", "name": "demo/A@1", "pre_hash": "${OTHER_HASH}",
        "new_node": {"$kind": "defschema", "name": "demo/A@1", "type": {"int": {}}}}},
      {"remove_def": {"kind": "defmodule", "name": "demo/M@1", "pre_hash": "${OTHER_HASH}"}},
      {"set_manifest_refs": {"add": [{"kind": "defcap", "name": "demo/c@1", "hash": "${OTHER_HASH}"}],
        "remove": [{"kind": "defpolicy", "name": "demo/p@1"}]}},
      {"set_defaults": {"policy": "demo/p@1", "cap_grants": [{"name": "g", "cap": "sys/timer@1", "params": {"record": {}},
        "budget": {"cents": 5}}]}},
      {"set_routing": {"events": [{"event": "demo/A@1", "reducer": "demo/M@1", "key_field": "id"}], "inboxes": []}},
      {"set_triggers": {"triggers": [{"event": "demo/A@1", "plan": "demo/p@1", "correlate_by": "id"}]}},
      {"set_module_bindings": {"bindings": {"demo/M@1": {"slots": {"timer": "g"}}}}}
    ]
  }`;
  const doc = parsePatchDocument(parseJson(text), "proposal.json");
  assert.equal(doc.patches.length, 8);
  assert.deepEqual(doc.patches[4], {
    set_defaults: {
      policy: "demo/p@1",
      cap_grants: [{ name: "g", cap: "sys/timer@1", params: { record: {} }, budget: { cents: 5n } }],
    },
  });
  // Same document with every object's keys reversed.
  const reverse = (value: JsonValue): JsonValue =>
    Array.isArray(value)
      ? value.map(reverse)
      : value !== null && typeof value === "object"
      ? Object.fromEntries(Object.keys(value).reverse().map((key) => [key, reverse(value[key]!)]))
      : value;
  const reversed = parsePatchDocument(reverse(parseJson(text)));
  assert.equal(patchHash(reversed), patchHash(doc));
  assert.equal(patchHash(doc), patchHash(doc));
  assert.match(patchHash(doc), /^sha256:[0-9a-f]{64}$/);
  // Pinned: a change of the encoding is a change of every stored proposal's identity.
  const small = parsePatchDocument(parseJson(`{"base_manifest_hash":"${BASE}","patches":[]}`));
  assert.equal(
    Array.from(patchBytes(small), (b) => b.toString(16).padStart(2, "0")).join(""),
    // {"patches": [], "base_manifest_hash": text(71)}: shorter key first.
    "a2" + "67" + hex("patches") + "80" + "72" + hex("base_manifest_hash") + "7847" + hex(BASE),
  );
});

Deno.test("patchHash() tells apart documents that differ, including an empty list from an absent one", () => {
  const base = BASE as HashRef;
  const a: PatchDocument = { base_manifest_hash: base, patches: [{ set_routing: { events: [] } }] };
  const b: PatchDocument = { base_manifest_hash: base, patches: [{ set_routing: {} }] };
  const c: PatchDocument = { base_manifest_hash: OTHER_HASH, patches: [{ set_routing: { events: [] } }] };
  const hashes = new Set([patchHash(a), patchHash(b), patchHash(c)]);
  assert.equal(hashes.size, 3);
});

Deno.test("parsePatchDocument() rejects malformed documents with AOS_PATCH_INVALID and JSON paths", () => {
  const cases: Array<[unknown, string, string]> = [
    [{ patches: [] }, "$.base_manifest_hash", "Missing field"],
    [{ base_manifest_hash: "sha256:xyz", patches: [] }, "$.base_manifest_hash", "Invalid hash"],
    [{ base_manifest_hash: BASE, patches: [], extra: 1 }, "$.extra", "Unknown field"],
    [{ base_manifest_hash: BASE, patches: [[]] }, "$.patches[0]", "Expected an operation object"],
    [{ base_manifest_hash: BASE, patches: [{}] }, "$.patches[0]", "expected one key"],
    [
      { base_manifest_hash: BASE, patches: [{ set_triggers: { triggers: [] }, set_routing: {} }] },
      "$.patches[0]",
      "got 2 keys",
    ],
    [{ base_manifest_hash: BASE, patches: [{ move_def: {} }] }, "$.patches[0]", "Unknown operation"],
    [
      {
        base_manifest_hash: BASE,
        patches: [{ set_routing: {} }, { remove_def: { kind: "defschema", name: "demo/A@1" } }],
      },
      "$.patches[1].remove_def.pre_hash",
      "Missing field",
    ],
    [
      {
        base_manifest_hash: BASE,
        patches: [{ remove_def: { kind: "defmigration", name: "demo/A@1", pre_hash: BASE } }],
      },
      "$.patches[0].remove_def.kind",
      "",
    ],
    [
      {
        base_manifest_hash: BASE,
        patches: [{ remove_def: { kind: "defschema", name: "A", pre_hash: BASE, x: 1 } }],
      },
      "$.patches[0].remove_def.name",
      "Invalid name",
    ],
    [
      { base_manifest_hash: BASE, patches: [{ add_def: { kind: "defschema", node: [] } }] },
      "$.patches[0].add_def.node",
      "",
    ],
    [
      {
        base_manifest_hash: BASE,
        patches: [{ set_module_bindings: { bindings: { "demo/M@1": { slots: { "a b": "g" } } } } }],
      },
      '$.patches[0].set_module_bindings.bindings["demo/M@1"].slots["a b"]',
      "",
    ],
  ];
  for (const [json, path, message] of cases) {
    let caught: unknown;
    try {
      parsePatchDocument(toJsonValue(json), "p.json");
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof PatchError, `${JSON.stringify(json)}: ${String(caught)}`);
    assert.equal(caught.code, "AOS_PATCH_INVALID");
    assert.equal(caught.opIndex, undefined);
    assert.equal(caught.context.file, "p.json");
    assert.ok(caught.diagnostics.every((d) => d.code === "AIR_PATCH_SHAPE" && d.file === "p.json"));
    const paths = caught.diagnostics.map((d) => d.path);
    assert.ok(paths.includes(path), `${JSON.stringify(json)}: ${paths.join(", ")}`);
    assert.ok(caught.message.includes(message), caught.message);
  }
});

Deno.test("parsePatchDocument() enforces the operation limit", () => {
  const patches = Array.from({ length: 4_097 }, () => ({ set_triggers: { triggers: [] } }));
  assert.throws(
    () => parsePatchDocument(toJsonValue({ base_manifest_hash: BASE, patches })),
    (error: unknown) => error instanceof PatchError && error.code === "AOS_PATCH_INVALID",
  );
});
