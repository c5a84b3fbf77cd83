import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { AosError, type JsonValue, parseJson, toJsonValue } from "../base/mod.ts";
import { loadAirBundle } from "../bundle/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import {
  type AirNode,
  builtinCapHash,
  builtinEffectHash,
  builtinEffects,
  builtinSchemaHash,
  type Manifest,
  nodeBytes,
  nodeHash,
  parseAirNode,
} from "../nodes/mod.ts";
import {
  applyPatch,
  type NodeStore,
  parsePatchDocument,
  patchBytes,
  type PatchDocument,
  PatchError,
  patchHash,
  type PatchOp,
  type PatchResult,
} from "./patch.ts";

// ---------------------------------------------------------------------------------------------------------
// The counter world (examples/counter/air), loaded once.

const COUNTER_DIR = new URL("../../examples/counter/air/", import.meta.url);
const counterFiles = await Promise.all(
  ["manifest.air.json", "module.air.json", "schemas.air.json"].map(async (name) => ({
    path: `air/${name}`,
    text: await Deno.readTextFile(new URL(name, COUNTER_DIR)),
  })),
);
const counterBundle = (() => {
  const { bundle, diagnostics } = loadAirBundle(counterFiles);
  assert.deepEqual(diagnostics, []);
  assert.ok(bundle !== undefined);
  return bundle;
})();

type Current = { manifest: Manifest; manifestHash: HashRef };

/** An in-memory node store keyed by node hash. */
class MemoryNodeStore implements NodeStore {
  readonly nodes = new Map<HashRef, AirNode>();
  constructor(nodes: Iterable<AirNode> = []) {
    for (const node of nodes) this.put(node);
  }
  put(node: AirNode): HashRef {
    const hash = nodeHash(node);
    this.nodes.set(hash, node);
    return hash;
  }
  get(hash: HashRef): AirNode | undefined {
    return this.nodes.get(hash);
  }
  /** Stores a patch's new nodes, as the caller of `applyPatch` does. */
  with(result: PatchResult): MemoryNodeStore {
    const next = new MemoryNodeStore(this.nodes.values());
    for (const node of result.newNodes.values()) next.put(node);
    return next;
  }
}

function counterWorld(): { current: Current; store: MemoryNodeStore } {
  const current = structuredClone({
    manifest: counterBundle.manifest,
    manifestHash: counterBundle.manifestHash,
  });
  const store = new MemoryNodeStore([...counterBundle.nodes.values()].map((entry) => entry.node));
  return { current, store };
}

function refHash(manifest: Manifest, list: "schemas" | "modules", name: string): HashRef {
  const hash = manifest[list].find((ref) => ref.name === name)?.hash;
  assert.ok(hash !== undefined, `${list} lists "${name}"`);
  return hash;
}

function names(manifest: Manifest, list: "schemas" | "modules"): string[] {
  return manifest[list].map((ref) => ref.name);
}

function node(value: unknown): AirNode {
  const result = parseAirNode(toJsonValue(value));
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.issues));
  return result.node;
}

function schemaJson(name: string, type: unknown = { record: { note: { text: {} } } }): JsonValue {
  return toJsonValue({ $kind: "defschema", name, type });
}

const WASM = `sha256:${"c1".repeat(32)}` as HashRef;
const OTHER_HASH = `sha256:${"ab".repeat(32)}` as HashRef;

function moduleJson(abi: Record<string, unknown> = {}, wasmHash: string = WASM): JsonValue {
  return toJsonValue({
    $kind: "defmodule",
    name: "demo/Counter@1",
    module_kind: "reducer",
    wasm_hash: wasmHash,
    abi: { reducer: { state: "demo/CounterState@1", event: "demo/Increment@1", ...abi } },
  });
}

function patch(current: Current, ...patches: PatchOp[]): PatchDocument {
  return { base_manifest_hash: current.manifestHash, patches };
}

/** Runs `fn`, expects a PatchError with `code` (and `opIndex`), and checks `current` kept its exact bytes. */
function expectFailure(
  current: Current,
  fn: () => unknown,
  code: "AOS_PATCH_STALE" | "AOS_PATCH_INVALID",
  opIndex: number | undefined,
): PatchError {
  const before = nodeBytes(current.manifest);
  const hashBefore = current.manifestHash;
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof PatchError, `expected a PatchError, got ${String(caught)}`);
  assert.ok(caught instanceof AosError);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.opIndex, opIndex, caught.message);
  assert.ok(caught.diagnostics.length > 0, "a patch error carries diagnostics");
  assert.deepEqual(nodeBytes(current.manifest), before, "the current manifest is byte-identical");
  assert.equal(current.manifestHash, hashBefore);
  return caught;
}

/** Applies `patch(current, ...ops)` with `store`; expects it refused as {@linkcode expectFailure} checks. */
function expectRefused(
  current: Current,
  store: NodeStore,
  ops: PatchOp[],
  code: "AOS_PATCH_STALE" | "AOS_PATCH_INVALID",
  opIndex: number | undefined,
): PatchError {
  return expectFailure(current, () => applyPatch(current, patch(current, ...ops), store), code, opIndex);
}

function codes(error: PatchError): string[] {
  return error.diagnostics.map((d) => d.code);
}

// ---------------------------------------------------------------------------------------------------------
// Operations

Deno.test("applyPatch() add_def lists a fresh schema, sorted by name, and returns it as a new node", () => {
  const { current, store } = counterWorld();
  const added = schemaJson("demo/Aaa@1");
  const result = applyPatch(current, patch(current, { add_def: { kind: "defschema", node: added } }), store);
  const hash = nodeHash(node(added));
  assert.deepEqual(names(result.manifest, "schemas"), [
    "demo/Aaa@1",
    "demo/CounterState@1",
    "demo/Increment@1",
  ]);
  assert.equal(refHash(result.manifest, "schemas", "demo/Aaa@1"), hash);
  assert.deepEqual([...result.newNodes.keys()], [hash]);
  assert.equal(result.manifestHash, nodeHash(result.manifest));
  assert.notEqual(result.manifestHash, current.manifestHash);
  assert.deepEqual(result.diagnostics, []);
  // The rest of the manifest is untouched.
  assert.deepEqual(result.manifest.modules, current.manifest.modules);
  assert.deepEqual(result.manifest.routing, current.manifest.routing);
});

Deno.test("applyPatch() replace_def points the module ref at the new node", () => {
  const { current, store } = counterWorld();
  const newModule = moduleJson({}, OTHER_HASH);
  const preHash = refHash(current.manifest, "modules", "demo/Counter@1");
  const result = applyPatch(
    current,
    patch(current, {
      replace_def: { kind: "defmodule", name: "demo/Counter@1", new_node: newModule, pre_hash: preHash },
    }),
    store,
  );
  const hash = nodeHash(node(newModule));
  assert.notEqual(hash, preHash);
  assert.deepEqual(result.manifest.modules, [{ name: "demo/Counter@1", hash }]);
  assert.deepEqual([...result.newNodes.keys()], [hash]);
  assert.deepEqual(result.manifest.schemas, current.manifest.schemas);
});

Deno.test("applyPatch() replace_def of a schema keeps the module valid", () => {
  const { current, store } = counterWorld();
  const wider = schemaJson("demo/Increment@1", {
    record: { by: { nat: {} }, note: { option: { text: {} } } },
  });
  const result = applyPatch(
    current,
    patch(current, {
      replace_def: {
        kind: "defschema",
        name: "demo/Increment@1",
        new_node: wider,
        pre_hash: refHash(current.manifest, "schemas", "demo/Increment@1"),
      },
    }),
    store,
  );
  assert.equal(refHash(result.manifest, "schemas", "demo/Increment@1"), nodeHash(node(wider)));
});

Deno.test("applyPatch() remove_def drops the ref; the node stays in the store", () => {
  const { current, store } = counterWorld();
  const note = schemaJson("demo/Note@1");
  const added = applyPatch(current, patch(current, { add_def: { kind: "defschema", node: note } }), store);
  const next = { manifest: added.manifest, manifestHash: added.manifestHash };
  const noteHash = refHash(next.manifest, "schemas", "demo/Note@1");
  const nextStore = store.with(added);
  const removed = applyPatch(
    next,
    patch(next, { remove_def: { kind: "defschema", name: "demo/Note@1", pre_hash: noteHash } }),
    nextStore,
  );
  assert.deepEqual(names(removed.manifest, "schemas"), ["demo/CounterState@1", "demo/Increment@1"]);
  assert.equal(removed.manifestHash, current.manifestHash);
  assert.equal(removed.newNodes.size, 0);
  assert.ok(nextStore.get(noteHash) !== undefined);
});

Deno.test("applyPatch() set_manifest_refs lists stored nodes and built-ins, and removes refs", () => {
  const { current, store } = counterWorld();
  const extraHash = store.put(node(schemaJson("demo/Extra@1")));
  const timerFired = builtinSchemaHash("sys/TimerFired@1");
  assert.ok(timerFired !== undefined);
  const result = applyPatch(
    current,
    patch(current, {
      set_manifest_refs: {
        add: [
          { kind: "defschema", name: "demo/Extra@1", hash: extraHash },
          { kind: "defschema", name: "sys/TimerFired@1", hash: timerFired },
        ],
      },
    }),
    store,
  );
  // Sorted by name.
  assert.deepEqual(result.manifest.schemas, [
    current.manifest.schemas[0],
    { name: "demo/Extra@1", hash: extraHash },
    current.manifest.schemas[1],
    { name: "sys/TimerFired@1", hash: timerFired },
  ]);
  assert.equal(result.newNodes.size, 0);

  const next = { manifest: result.manifest, manifestHash: result.manifestHash };
  const back = applyPatch(
    next,
    patch(next, {
      set_manifest_refs: {
        remove: [{ kind: "defschema", name: "demo/Extra@1" }, {
          kind: "defschema",
          name: "sys/TimerFired@1",
        }],
      },
    }),
    store,
  );
  assert.equal(back.manifestHash, current.manifestHash);
});

Deno.test("applyPatch() set_manifest_refs removes before it adds, so one op can swap a ref's node", () => {
  const { current, store } = counterWorld();
  const other = store.put(node(moduleJson({}, OTHER_HASH)));
  const result = applyPatch(
    current,
    patch(current, {
      set_manifest_refs: {
        remove: [{ kind: "defmodule", name: "demo/Counter@1" }],
        add: [{ kind: "defmodule", name: "demo/Counter@1", hash: other }],
      },
    }),
    store,
  );
  assert.deepEqual(result.manifest.modules, [{ name: "demo/Counter@1", hash: other }]);
});

Deno.test("applyPatch() set_manifest_refs rejects a missing node, a wrong kind, a wrong name and a clash", () => {
  const { current, store } = counterWorld();
  const extra = store.put(node(schemaJson("demo/Extra@1")));
  const cases: Array<[PatchOp, string]> = [
    [
      { set_manifest_refs: { add: [{ kind: "defschema", name: "demo/Extra@1", hash: OTHER_HASH }] } },
      "AIR_PATCH_NODE_MISSING",
    ],
    [
      { set_manifest_refs: { add: [{ kind: "defmodule", name: "demo/Extra@1", hash: extra }] } },
      "AIR_PATCH_KIND_MISMATCH",
    ],
    [
      { set_manifest_refs: { add: [{ kind: "defschema", name: "demo/Other@1", hash: extra }] } },
      "AIR_PATCH_NAME_MISMATCH",
    ],
    [
      {
        set_manifest_refs: {
          add: [
            { kind: "defschema", name: "demo/Extra@1", hash: extra },
            { kind: "defschema", name: "demo/Extra@1", hash: extra },
          ],
        },
      },
      "AIR_PATCH_NAME_EXISTS",
    ],
    [
      { set_manifest_refs: { remove: [{ kind: "defschema", name: "demo/Nope@1" }] } },
      "AIR_PATCH_REF_MISSING",
    ],
  ];
  for (const [op, code] of cases) {
    const error = expectRefused(current, store, [op], "AOS_PATCH_INVALID", 0);
    assert.deepEqual(codes(error), [code], error.message);
    assert.match(error.message, /^Patch op #0 \(set_manifest_refs\): /);
  }
});

/** The counter module emitting timers through slot `timer`, bound to grant `timer_grant`. */
function timerWorld(): { current: Current; store: MemoryNodeStore; result: PatchResult } {
  const { current, store } = counterWorld();
  const result = applyPatch(
    current,
    patch(
      current,
      {
        replace_def: {
          kind: "defmodule",
          name: "demo/Counter@1",
          new_node: moduleJson({ effects_emitted: ["timer.set"], cap_slots: { timer: "timer" } }),
          pre_hash: refHash(current.manifest, "modules", "demo/Counter@1"),
        },
      },
      {
        set_defaults: {
          cap_grants: [{ name: "timer_grant", cap: "sys/timer@1", params: toJsonValue({ record: {} }) }],
        },
      },
      { set_module_bindings: { bindings: { "demo/Counter@1": { slots: { timer: "timer_grant" } } } } },
      {
        set_routing: {
          events: [
            { event: "demo/Increment@1", reducer: "demo/Counter@1" },
            { event: "sys/TimerFired@1", reducer: "demo/Counter@1" },
          ],
        },
      },
    ),
    store,
  );
  return { current, store, result };
}

Deno.test("applyPatch() set_defaults, set_module_bindings and set_routing wire a timer grant", () => {
  const { result } = timerWorld();
  const manifest = result.manifest;
  assert.deepEqual(manifest.defaults?.cap_grants?.map((grant) => [grant.name, grant.cap]), [[
    "timer_grant",
    "sys/timer@1",
  ]]);
  assert.deepEqual(manifest.module_bindings, { "demo/Counter@1": { slots: { timer: "timer_grant" } } });
  assert.deepEqual(manifest.routing?.events?.map((route) => route.event), [
    "demo/Increment@1",
    "sys/TimerFired@1",
  ]);
  assert.equal(result.manifestHash, nodeHash(manifest));
});

Deno.test("applyPatch() set_defaults and set_routing replace only the fields given", () => {
  const { store, result } = timerWorld();
  const current = { manifest: result.manifest, manifestHash: result.manifestHash };
  const next = applyPatch(
    current,
    patch(current, { set_defaults: {} }, {
      set_routing: { inboxes: [{ source: "mail", reducer: "demo/Counter@1" }] },
    }),
    store.with(result),
  );
  assert.deepEqual(next.manifest.defaults, current.manifest.defaults);
  assert.deepEqual(next.manifest.routing?.events, current.manifest.routing?.events);
  assert.deepEqual(next.manifest.routing?.inboxes, [{ source: "mail", reducer: "demo/Counter@1" }]);

  // A given field replaces the whole list: an empty one clears it.
  const cleared = applyPatch(current, patch(current, { set_routing: { events: [] } }), store.with(result));
  assert.equal(cleared.manifest.routing, undefined);

  // A given policy is set, the grants stay; the policy is not listed, so validation fails.
  const error = expectRefused(
    current,
    store.with(result),
    [{ set_defaults: { policy: "demo/policy@1" } }],
    "AOS_PATCH_INVALID",
    undefined,
  );
  assert.deepEqual(codes(error), ["AIR_REF_UNKNOWN"]);
  assert.match(error.diagnostics[0]!.message, /demo\/policy@1/);
});

Deno.test("applyPatch() set_module_bindings and set_triggers replace the whole field", () => {
  const { store, result } = timerWorld();
  const current = { manifest: result.manifest, manifestHash: result.manifestHash };
  const unbound = applyPatch(
    current,
    patch(current, { set_module_bindings: { bindings: {} } }),
    store.with(result),
  );
  assert.equal(unbound.manifest.module_bindings, undefined);
  assert.deepEqual(unbound.manifest.defaults, current.manifest.defaults);

  const { current: counter, store: counterStore } = counterWorld();
  const none = applyPatch(counter, patch(counter, { set_triggers: { triggers: [] } }), counterStore);
  assert.equal(none.manifestHash, counter.manifestHash);
  const error = expectRefused(
    counter,
    counterStore,
    [{ set_triggers: { triggers: [{ event: "demo/Increment@1", plan: "demo/plan@1" }] } }],
    "AOS_PATCH_INVALID",
    undefined,
  );
  assert.deepEqual(codes(error), ["AIR_REF_UNKNOWN"]);
  assert.match(error.diagnostics[0]!.message, /demo\/plan@1/);
});

const planJson = (name: string) =>
  toJsonValue({ $kind: "defplan", name, input: "demo/Increment@1", steps: [{ id: "done", op: "end" }] });
const policyJson = (rules: unknown[]) => toJsonValue({ $kind: "defpolicy", name: "demo/policy@1", rules });
const ALLOW_PLANS = [{ when: { origin_kind: "plan" }, decision: "allow" }];

/** The counter world plus plan `demo/p@1` triggered by increments and the default policy `demo/policy@1`. */
function planWorld(): { current: Current; store: MemoryNodeStore; result: PatchResult } {
  const { current, store } = counterWorld();
  const result = applyPatch(
    current,
    patch(
      current,
      { add_def: { kind: "defplan", node: planJson("demo/p@1") } },
      { add_def: { kind: "defpolicy", node: policyJson(ALLOW_PLANS) } },
      { set_triggers: { triggers: [{ event: "demo/Increment@1", plan: "demo/p@1" }] } },
      { set_defaults: { policy: "demo/policy@1" } },
    ),
    store,
  );
  return { current, store, result };
}

Deno.test("applyPatch() add_def of a plan and a policy, set_triggers and set_defaults wire them", () => {
  const { result } = planWorld();
  const manifest = result.manifest;
  assert.deepEqual(manifest.plans, [{ name: "demo/p@1", hash: nodeHash(node(planJson("demo/p@1"))) }]);
  assert.deepEqual(manifest.policies, [{
    name: "demo/policy@1",
    hash: nodeHash(node(policyJson(ALLOW_PLANS))),
  }]);
  assert.deepEqual(manifest.triggers, [{ event: "demo/Increment@1", plan: "demo/p@1" }]);
  assert.deepEqual(manifest.defaults, { policy: "demo/policy@1" });
  assert.equal(result.newNodes.size, 2);
});

Deno.test("applyPatch() set_triggers replaces the list and set_defaults keeps the fields not given", () => {
  const { store, result } = planWorld();
  const current = { manifest: result.manifest, manifestHash: result.manifestHash };
  const planStore = store.with(result);
  const second = planJson("demo/q@1");
  const next = applyPatch(
    current,
    patch(
      current,
      { add_def: { kind: "defplan", node: second } },
      { set_triggers: { triggers: [{ event: "demo/Increment@1", plan: "demo/q@1" }] } },
      {
        set_defaults: {
          cap_grants: [{ name: "t", cap: "sys/timer@1", params: toJsonValue({ record: {} }) }],
        },
      },
    ),
    planStore,
  );
  assert.deepEqual(next.manifest.triggers, [{ event: "demo/Increment@1", plan: "demo/q@1" }]);
  assert.deepEqual(next.manifest.plans.map((ref) => ref.name), ["demo/p@1", "demo/q@1"]);
  assert.equal(next.manifest.defaults?.policy, "demo/policy@1");
  assert.deepEqual(next.manifest.defaults?.cap_grants?.map((grant) => grant.name), ["t"]);

  const cleared = applyPatch(current, patch(current, { set_triggers: { triggers: [] } }), planStore);
  assert.equal(cleared.manifest.triggers, undefined);
  assert.deepEqual(cleared.manifest.plans, current.manifest.plans);
});

Deno.test("applyPatch() stores grant params given in the plain form in the canonical tagged form", () => {
  const { current, store } = counterWorld();
  const grant = (params: unknown) => ({
    set_defaults: { cap_grants: [{ name: "web", cap: "sys/http.out@1", params: toJsonValue(params) }] },
  });
  const plain = applyPatch(
    current,
    patch(current, grant({ hosts: ["b.com", "a.com", "b.com"], verbs: ["GET"] })),
    store,
  );
  const tagged = {
    record: { hosts: { set: [{ text: "a.com" }, { text: "b.com" }] }, verbs: { set: [{ text: "GET" }] } },
  };
  assert.deepEqual(plain.manifest.defaults?.cap_grants?.[0]?.params, tagged);
  const fromTagged = applyPatch(current, patch(current, grant(tagged)), store);
  assert.equal(fromTagged.manifestHash, plain.manifestHash);
  assert.equal(plain.manifestHash, nodeHash(plain.manifest));

  const error = expectRefused(current, store, [grant({ hosts: "a.com" })], "AOS_PATCH_INVALID", undefined);
  assert.ok(codes(error).includes("AIR_GRANT_PARAMS"), error.message);
});

Deno.test("applyPatch() lists a built-in defcap by its hash and returns validator warnings", () => {
  const { current, store } = counterWorld();
  const http = builtinCapHash("sys/http.out@1");
  assert.ok(http !== undefined);
  const result = applyPatch(
    current,
    patch(
      current,
      { set_manifest_refs: { add: [{ kind: "defcap", name: "sys/http.out@1", hash: http }] } },
      {
        add_def: {
          kind: "defpolicy",
          node: policyJson([{
            when: { origin_kind: "plan", origin_name: "demo/nowhere@1" },
            decision: "allow",
          }]),
        },
      },
    ),
    store,
  );
  assert.deepEqual(result.manifest.caps, [{ name: "sys/http.out@1", hash: http }]);
  assert.ok(result.diagnostics.length > 0, "the unknown origin_name is a warning");
  assert.ok(result.diagnostics.every((d) => d.severity === "warning"), JSON.stringify(result.diagnostics));
  assert.ok(result.diagnostics.some((d) => d.code === "AIR_POLICY_ORIGIN_UNKNOWN"));
});

// ---------------------------------------------------------------------------------------------------------
// Failures

Deno.test("applyPatch() rejects a stale pre_hash with AOS_PATCH_STALE naming the op", () => {
  const { current, store } = counterWorld();
  const actual = refHash(current.manifest, "schemas", "demo/Increment@1");
  const replace = expectRefused(
    current,
    store,
    [{
      replace_def: {
        kind: "defschema",
        name: "demo/Increment@1",
        new_node: schemaJson("demo/Increment@1"),
        pre_hash: OTHER_HASH,
      },
    }],
    "AOS_PATCH_STALE",
    0,
  );
  assert.equal(
    replace.message,
    `Patch op #0 (replace_def defschema demo/Increment@1): pre_hash "${OTHER_HASH}" does not match current "${actual}"`,
  );
  assert.deepEqual(codes(replace), ["AIR_PATCH_STALE"]);
  assert.equal(replace.diagnostics[0]!.path, "$.patches[0].replace_def.pre_hash");

  const remove = expectRefused(
    current,
    store,
    [{ remove_def: { kind: "defschema", name: "demo/Increment@1", pre_hash: OTHER_HASH } }],
    "AOS_PATCH_STALE",
    0,
  );
  assert.match(remove.message, /^Patch op #0 \(remove_def defschema demo\/Increment@1\): pre_hash/);
});

Deno.test("applyPatch() rejects a stale base manifest hash", () => {
  const { current, store } = counterWorld();
  const doc: PatchDocument = {
    base_manifest_hash: OTHER_HASH,
    patches: [{ add_def: { kind: "defschema", node: schemaJson("demo/Note@1") } }],
  };
  const error = expectFailure(current, () => applyPatch(current, doc, store), "AOS_PATCH_STALE", undefined);
  assert.match(error.message, /^Patch is stale: base_manifest_hash/);
  assert.equal(error.context.path, "$.base_manifest_hash");
});

Deno.test("applyPatch() rejects add_def of a name already listed", () => {
  const { current, store } = counterWorld();
  const error = expectRefused(
    current,
    store,
    [{ add_def: { kind: "defschema", node: schemaJson("demo/Increment@1") } }],
    "AOS_PATCH_INVALID",
    0,
  );
  assert.deepEqual(codes(error), ["AIR_PATCH_NAME_EXISTS"]);
  assert.match(
    error.message,
    /^Patch op #0 \(add_def defschema demo\/Increment@1\): the manifest already lists/,
  );
});

Deno.test("applyPatch() rejects replace_def whose new node has another name", () => {
  const { current, store } = counterWorld();
  const error = expectRefused(
    current,
    store,
    [{
      replace_def: {
        kind: "defschema",
        name: "demo/Increment@1",
        new_node: schemaJson("demo/Other@1"),
        pre_hash: refHash(current.manifest, "schemas", "demo/Increment@1"),
      },
    }],
    "AOS_PATCH_INVALID",
    0,
  );
  assert.deepEqual(codes(error), ["AIR_PATCH_NAME_MISMATCH"]);
  assert.match(error.message, /new_node\.name "demo\/Other@1" does not equal name "demo\/Increment@1"/);
});

Deno.test("applyPatch() rejects replace_def and remove_def of a name not listed", () => {
  const { current, store } = counterWorld();
  const error = expectRefused(
    current,
    store,
    [{ remove_def: { kind: "defmodule", name: "demo/Gone@1", pre_hash: OTHER_HASH } }],
    "AOS_PATCH_INVALID",
    0,
  );
  assert.deepEqual(codes(error), ["AIR_PATCH_REF_MISSING"]);
});

Deno.test("applyPatch() rejects an add_def node of another kind, in sys/, or malformed, with node paths", () => {
  const { current, store } = counterWorld();
  const kind = expectRefused(
    current,
    store,
    [{ add_def: { kind: "defmodule", node: schemaJson("demo/Note@1") } }],
    "AOS_PATCH_INVALID",
    0,
  );
  assert.deepEqual(codes(kind), ["AIR_PATCH_KIND_MISMATCH"]);

  const sys = expectRefused(
    current,
    store,
    [{ add_def: { kind: "defschema", node: schemaJson("sys/Mine@1") } }],
    "AOS_PATCH_INVALID",
    0,
  );
  assert.deepEqual(codes(sys), ["AIR_SYS_RESERVED"]);

  const bad = { $kind: "defschema", name: "demo/Bad@1", type: { float: {} }, extra: true };
  const shape = expectRefused(
    current,
    store,
    [{ add_def: { kind: "defschema", node: schemaJson("demo/Ok@1") } }, {
      add_def: { kind: "defschema", node: toJsonValue(bad) },
    }],
    "AOS_PATCH_INVALID",
    1,
  );
  const paths = shape.diagnostics.map((d) => d.path).sort();
  assert.deepEqual(paths, ["$.patches[1].add_def.node.extra", "$.patches[1].add_def.node.type.float"]);
  assert.match(shape.message, /^Patch op #1 \(add_def defschema demo\/Bad@1\): invalid node at /);
});

Deno.test("applyPatch() rejects a patch that breaks validation and leaves the manifest byte-identical", () => {
  const { current, store } = counterWorld();
  const error = expectRefused(
    current,
    store,
    [{
      remove_def: {
        kind: "defschema",
        name: "demo/CounterState@1",
        pre_hash: refHash(current.manifest, "schemas", "demo/CounterState@1"),
      },
    }],
    "AOS_PATCH_INVALID",
    undefined,
  );
  assert.ok(codes(error).includes("AIR_SCHEMA_UNKNOWN"), error.message);
  assert.ok(error.diagnostics.some((d) => d.message.includes("demo/CounterState@1")), error.message);
  assert.match(error.message, /^Patch is invalid: the resulting manifest fails validation: /);
});

Deno.test("applyPatch() applies nothing when op #2 of three fails", () => {
  const { current, store } = counterWorld();
  const before = structuredClone(current.manifest);
  const doc = patch(
    current,
    { add_def: { kind: "defschema", node: schemaJson("demo/Note@1") } },
    {
      replace_def: {
        kind: "defmodule",
        name: "demo/Counter@1",
        new_node: moduleJson({}, OTHER_HASH),
        pre_hash: refHash(current.manifest, "modules", "demo/Counter@1"),
      },
    },
    { remove_def: { kind: "defschema", name: "demo/Note@1", pre_hash: OTHER_HASH } },
  );
  const error = expectFailure(current, () => applyPatch(current, doc, store), "AOS_PATCH_STALE", 2);
  assert.match(error.message, /^Patch op #2 \(remove_def defschema demo\/Note@1\): /);
  assert.equal(error.diagnostics[0]!.path, "$.patches[2].remove_def.pre_hash");
  assert.deepEqual(current.manifest, before);
});

Deno.test("applyPatch() throws RangeError when the given manifest hash is not the manifest's", () => {
  const { current, store } = counterWorld();
  assert.throws(
    () => applyPatch({ manifest: current.manifest, manifestHash: OTHER_HASH }, patch(current), store),
    RangeError,
  );
});

Deno.test("applyPatch() results share nothing with the input or the document", () => {
  const { current, store } = counterWorld();
  const doc = patch(current, {
    set_routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
  });
  const docBytes = patchBytes(doc);
  const result = applyPatch(current, doc, store);
  result.manifest.schemas.pop();
  result.manifest.routing!.events!.pop();
  assert.equal(nodeHash(current.manifest), current.manifestHash);
  assert.deepEqual(patchBytes(doc), docBytes);
});

// ---------------------------------------------------------------------------------------------------------
// Properties

const fieldNameArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const primitiveArb = fc.constantFrom("nat", "int", "text", "bool", "hash", "time");
const freshSchemaArb = fc.record({
  name: fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,10}$/).map((base) => `demo/${base}@1`),
  fields: fc.dictionary(fieldNameArb, primitiveArb, { minKeys: 0, maxKeys: 4 }),
}).filter(({ name }) => name !== "demo/CounterState@1" && name !== "demo/Increment@1");

Deno.test("property: add_def of a fresh schema then remove_def of it restores the manifest hash", () => {
  const { current, store } = counterWorld();
  fc.assert(
    fc.property(freshSchemaArb, fc.boolean(), ({ name, fields }, together) => {
      const record: Record<string, unknown> = {};
      for (const [field, primitive] of Object.entries(fields)) record[field] = { [primitive]: {} };
      const json = schemaJson(name, { record });
      const hash = nodeHash(node(json));
      const add: PatchOp = { add_def: { kind: "defschema", node: json } };
      const remove: PatchOp = { remove_def: { kind: "defschema", name, pre_hash: hash } };
      if (together) {
        const result = applyPatch(current, patch(current, add, remove), store);
        assert.equal(result.manifestHash, current.manifestHash);
        assert.deepEqual([...result.newNodes.keys()], [hash]);
        return;
      }
      const added = applyPatch(current, patch(current, add), store);
      assert.equal(refHash(added.manifest, "schemas", name), hash);
      const next = { manifest: added.manifest, manifestHash: added.manifestHash };
      const removed = applyPatch(next, patch(next, remove), store.with(added));
      assert.equal(removed.manifestHash, current.manifestHash);
      assert.deepEqual(nodeBytes(removed.manifest), nodeBytes(current.manifest));
    }),
    { numRuns: 100 },
  );
});

/** Operations drawn from a small menu of valid and invalid ones against the counter world. */
function opArb(preHashes: { increment: HashRef; counter: HashRef }): fc.Arbitrary<PatchOp> {
  return fc.oneof(
    freshSchemaArb.map(({ name }): PatchOp => ({ add_def: { kind: "defschema", node: schemaJson(name) } })),
    fc.constant<PatchOp>({ add_def: { kind: "defschema", node: schemaJson("demo/Increment@1") } }),
    fc.constantFrom(preHashes.increment, OTHER_HASH).map((preHash): PatchOp => ({
      remove_def: { kind: "defschema", name: "demo/Increment@1", pre_hash: preHash },
    })),
    fc.constantFrom(preHashes.counter, OTHER_HASH).map((preHash): PatchOp => ({
      replace_def: {
        kind: "defmodule",
        name: "demo/Counter@1",
        new_node: moduleJson({}, OTHER_HASH),
        pre_hash: preHash,
      },
    })),
    fc.constant<PatchOp>({ set_routing: { events: [] } }),
    fc.constant<PatchOp>({ set_triggers: { triggers: [{ event: "demo/Increment@1", plan: "demo/p@1" }] } }),
  );
}

Deno.test("property: applyPatch() either fails leaving the input intact or returns a sorted, valid manifest", () => {
  const { current, store } = counterWorld();
  const preHashes = {
    increment: refHash(current.manifest, "schemas", "demo/Increment@1"),
    counter: refHash(current.manifest, "modules", "demo/Counter@1"),
  };
  const before = nodeBytes(current.manifest);
  fc.assert(
    fc.property(fc.array(opArb(preHashes), { maxLength: 5 }), (ops) => {
      let result: PatchResult;
      try {
        result = applyPatch(current, patch(current, ...ops), store);
      } catch (error) {
        assert.ok(error instanceof PatchError, String(error));
        assert.ok(error.opIndex === undefined || (error.opIndex >= 0 && error.opIndex < ops.length));
        assert.deepEqual(nodeBytes(current.manifest), before);
        return;
      }
      assert.deepEqual(nodeBytes(current.manifest), before);
      for (const list of ["schemas", "modules"] as const) {
        const listed = names(result.manifest, list);
        assert.deepEqual(listed, [...listed].sort());
      }
      assert.equal(result.manifestHash, nodeHash(result.manifest));
    }),
    { numRuns: 200 },
  );
});

Deno.test("a patch read from JSON text applies like the same patch built in code, and hashes alike", () => {
  const { current, store } = counterWorld();
  const text =
    `{"patches": [{"add_def": {"node": {"type": {"record": {"note": {"text": {}}}}, "name": "demo/Note@1",
    "$kind": "defschema"}, "kind": "defschema"}}], "base_manifest_hash": "${current.manifestHash}"}`;
  const fromText = parsePatchDocument(parseJson(text), "note.patch.json");
  const built = patch(current, { add_def: { kind: "defschema", node: schemaJson("demo/Note@1") } });
  assert.equal(patchHash(fromText), patchHash(built));
  assert.deepEqual(patchBytes(fromText), patchBytes(built));
  assert.equal(
    applyPatch(current, fromText, store).manifestHash,
    applyPatch(current, built, store).manifestHash,
  );
});

// ---------------------------------------------------------------------------------------------------------
// defsecret and defeffect (the original AgentOS's optional ref lists)

Deno.test("applyPatch() adds, replaces and removes a defsecret; the secrets list comes and goes with it", () => {
  const { current, store } = counterWorld();
  assert.equal(current.manifest.secrets, undefined);
  const secret = { $kind: "defsecret", name: "llm/api@1", binding_id: "env:LLM_API_KEY" };
  const added = applyPatch(
    current,
    patch(current, { add_def: { kind: "defsecret", node: toJsonValue(secret) } }),
    store,
  );
  const firstHash = nodeHash(node(secret));
  assert.deepEqual(added.manifest.secrets, [{ name: "llm/api@1", hash: firstHash }]);
  assert.deepEqual([...added.newNodes.keys()], [firstHash]);

  // Replace it with one restricted to a grant the same patch adds.
  const next = {
    current: { manifest: added.manifest, manifestHash: added.manifestHash },
    store: store.with(added),
  };
  const restricted = { ...secret, allowed_caps: ["llm_main"] };
  const grant = { name: "llm_main", cap: "sys/llm.basic@1", params: toJsonValue({ record: {} }) };
  const replaced = applyPatch(
    next.current,
    patch(
      next.current,
      { set_defaults: { cap_grants: [grant] } },
      {
        replace_def: {
          kind: "defsecret",
          name: "llm/api@1",
          new_node: toJsonValue(restricted),
          pre_hash: firstHash,
        },
      },
    ),
    next.store,
  );
  assert.deepEqual(replaced.manifest.secrets, [{ name: "llm/api@1", hash: nodeHash(node(restricted)) }]);
  // A grant the secret does not know is refused by validation of the result.
  const unknownGrant = { ...secret, allowed_caps: ["nope"] };
  const refused = expectRefused(
    next.current,
    next.store,
    [{
      replace_def: {
        kind: "defsecret",
        name: "llm/api@1",
        new_node: toJsonValue(unknownGrant),
        pre_hash: firstHash,
      },
    }],
    "AOS_PATCH_INVALID",
    undefined,
  );
  assert.deepEqual(codes(refused), ["AIR_REF_UNKNOWN"]);

  // Removing the only secret drops the list the patch created: back to the counter's manifest.
  const removed = applyPatch(
    next.current,
    patch(next.current, { remove_def: { kind: "defsecret", name: "llm/api@1", pre_hash: firstHash } }),
    next.store,
  );
  assert.equal(removed.manifest.secrets, undefined);
  assert.equal(removed.manifestHash, current.manifestHash);
});

Deno.test("applyPatch() adds a user defeffect and a built-in one by ref, and removes them", () => {
  const { current, store } = counterWorld();
  const timer = builtinEffects.get("sys/timer.set@1")!;
  const mine = { ...timer, name: "demo/timer@1", description: "timers of the demo" };
  const httpHash = builtinEffectHash("sys/http.request@1")!;
  const added = applyPatch(
    current,
    patch(
      current,
      { add_def: { kind: "defeffect", node: toJsonValue(mine) } },
      { set_manifest_refs: { add: [{ kind: "defeffect", name: "sys/http.request@1", hash: httpHash }] } },
    ),
    store,
  );
  const mineHash = nodeHash(node(mine));
  assert.deepEqual(added.manifest.effects, [
    { name: "demo/timer@1", hash: mineHash },
    { name: "sys/http.request@1", hash: httpHash },
  ]);
  // A defeffect that disagrees with the catalog is refused.
  const wrong = { ...mine, name: "demo/wrong@1", origin_scope: "reducer" };
  const refused = expectRefused(
    current,
    store,
    [{ add_def: { kind: "defeffect", node: toJsonValue(wrong) } }],
    "AOS_PATCH_INVALID",
    undefined,
  );
  assert.deepEqual(codes(refused), ["AIR_EFFECT_MISMATCH"]);

  const next = { manifest: added.manifest, manifestHash: added.manifestHash };
  const removed = applyPatch(
    next,
    patch(
      next,
      { remove_def: { kind: "defeffect", name: "demo/timer@1", pre_hash: mineHash } },
      { set_manifest_refs: { remove: [{ kind: "defeffect", name: "sys/http.request@1" }] } },
    ),
    store.with(added),
  );
  assert.equal(removed.manifest.effects, undefined);
  assert.equal(removed.manifestHash, current.manifestHash);
});
