/**
 * Worlds written for the original AgentOS (issue 15): `air_version`, built-ins listed or restated, narrower
 * defcaps, `defeffect` nodes.
 */
import assert from "node:assert/strict";
import { hashRefOf } from "../cbor/mod.ts";
import {
  builtinCapHash,
  builtinCaps,
  builtinEffectHash,
  builtinEffects,
  builtinSchemaHash,
  builtinSchemas,
  nodeHash,
} from "../nodes/mod.ts";
import { expectErrors } from "./_test_assert.ts";
import { type AirFile, formatDiagnostic, loadAirBundle } from "./bundle.ts";

type Node = Record<string, unknown>;

const FILE = "air/world.air.json";
const MANIFEST_FILE = "air/zz_manifest.air.json";
const WASM = hashRefOf(new TextEncoder().encode("counter.wasm"));

const stateSchema: Node = {
  $kind: "defschema",
  name: "demo/CounterState@1",
  type: { record: { count: { nat: {} } } },
};
const incrementSchema: Node = {
  $kind: "defschema",
  name: "demo/Increment@1",
  type: { record: { by: { nat: {} } } },
};
const counterModule: Node = {
  $kind: "defmodule",
  name: "demo/Counter@1",
  module_kind: "reducer",
  wasm_hash: WASM,
  abi: { reducer: { state: "demo/CounterState@1", event: "demo/Increment@1" } },
};
const counterManifest: Node = {
  $kind: "manifest",
  plans: [],
  caps: [],
  policies: [],
  schemas: [{ name: "demo/CounterState@1" }, { name: "demo/Increment@1" }],
  modules: [{ name: "demo/Counter@1" }],
  routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
};

/** The counter world, with `extra` nodes and manifest fields added. */
function world(manifestFields: Node = {}, extra: Node[] = []): AirFile[] {
  return [
    { path: FILE, text: JSON.stringify([stateSchema, incrementSchema, counterModule, ...extra]) },
    { path: MANIFEST_FILE, text: JSON.stringify({ ...counterManifest, ...manifestFields }) },
  ];
}

function expectValid(files: AirFile[]) {
  const { bundle, diagnostics } = loadAirBundle(files);
  assert.deepEqual(diagnostics.map(formatDiagnostic), []);
  assert.ok(bundle);
  return bundle;
}

// --- air_version ------------------------------------------------------------------------------------------

Deno.test('AIR_VERSION_UNSUPPORTED: a manifest\'s air_version may be "1" or absent, nothing else', () => {
  const absent = expectValid(world());
  const one = expectValid(world({ air_version: "1" }));
  assert.equal(one.manifest.air_version, "1");
  assert.equal(absent.manifest.air_version, undefined);
  // Absent keeps the hash manifests had before the field existed; present is part of the node.
  assert.notEqual(one.manifestHash, absent.manifestHash);
  const { air_version: _version, ...without } = one.manifest;
  assert.equal(nodeHash(without), absent.manifestHash);
  const [diagnostic] = expectErrors(world({ air_version: "2" }), [
    { code: "AIR_VERSION_UNSUPPORTED", file: MANIFEST_FILE, path: "$.air_version" },
  ]);
  assert.match(diagnostic!.message, /"1"/);
  expectErrors(world({ air_version: 1 }), [
    { code: "AIR_SHAPE", file: MANIFEST_FILE, path: "$.air_version" },
  ]);
});

// --- Built-ins listed by name or restated -------------------------------------------------------------------

Deno.test("Built-in schemas and defcaps are listed by name alone and filled with the built-in hash", () => {
  const bundle = expectValid(world({
    schemas: [...counterManifest.schemas as Node[], { name: "sys/TimerSetParams@1" }],
    caps: [{ name: "sys/timer@1" }],
  }));
  assert.equal(bundle.manifest.schemas[2]?.hash, builtinSchemaHash("sys/TimerSetParams@1"));
  assert.equal(bundle.manifest.caps[0]?.hash, builtinCapHash("sys/timer@1"));
});

Deno.test("AIR_SYS_RESERVED: a restated built-in must be identical to it", () => {
  const timerParams = builtinSchemas.get("sys/TimerSetParams@1")!;
  const httpCap = builtinCaps.get("sys/http.out@1")!;
  const restated = JSON.parse(
    JSON.stringify([timerParams, httpCap], (_k, v) => typeof v === "bigint" ? Number(v) : v),
  ) as Node[];
  const bundle = expectValid(world({
    schemas: [...counterManifest.schemas as Node[], { name: "sys/TimerSetParams@1" }],
    caps: [{ name: "sys/http.out@1" }],
  }, restated));
  assert.equal(bundle.manifest.caps[0]?.hash, builtinCapHash("sys/http.out@1"));
  assert.equal(bundle.nodes.has("defcap:sys/http.out@1"), false);
  const changed = { ...restated[1], schema: { record: { hosts: { set: { text: {} } } } } };
  expectErrors(world({}, [restated[0]!, changed]), [
    { code: "AIR_SYS_RESERVED", file: FILE, path: "$[4].name", def: "sys/http.out@1" },
  ]);
  expectErrors(world({}, [{ $kind: "defschema", name: "sys/Mine@1", type: { nat: {} } }]), [
    { code: "AIR_SYS_RESERVED", file: FILE, path: "$[3].name", def: "sys/Mine@1" },
  ]);
});

// --- defeffect ---------------------------------------------------------------------------------------------

const timerModule: Node = {
  ...counterModule,
  abi: {
    reducer: { ...(counterModule["abi"] as { reducer: Node }).reducer, effects_emitted: ["timer.set"] },
  },
};
const httpPlan: Node = {
  $kind: "defplan",
  name: "demo/fetch@1",
  input: "demo/Increment@1",
  allowed_effects: ["http.request"],
  steps: [{ id: "done", op: "end" }],
};

/** A world whose module emits timer.set and whose plan allows http.request, with `effects` listed. */
function effectWorld(effects: Node[], extra: Node[] = [], plan: Node = httpPlan): AirFile[] {
  return [
    { path: FILE, text: JSON.stringify([stateSchema, incrementSchema, timerModule, plan, ...extra]) },
    {
      path: MANIFEST_FILE,
      text: JSON.stringify({ ...counterManifest, plans: [{ name: "demo/fetch@1" }], effects }),
    },
  ];
}

Deno.test("defeffect: built-ins are listed by name and filled; a restated or user one must match the catalog", () => {
  const bundle = expectValid(effectWorld([{ name: "sys/timer.set@1" }, { name: "sys/http.request@1" }]));
  assert.deepEqual(bundle.manifest.effects, [
    { name: "sys/timer.set@1", hash: builtinEffectHash("sys/timer.set@1") },
    { name: "sys/http.request@1", hash: builtinEffectHash("sys/http.request@1") },
  ]);
  const timer = { ...builtinEffects.get("sys/timer.set@1")! };
  // Restated identically (the original's style), or as a user node agreeing with the built-in.
  expectValid(effectWorld([{ name: "sys/timer.set@1" }, { name: "sys/http.request@1" }], [timer]));
  const mine = { ...builtinEffects.get("sys/http.request@1")!, name: "demo/http@1", description: "mine" };
  expectValid(effectWorld([{ name: "sys/timer.set@1" }, { name: "demo/http@1" }], [mine]));
  expectErrors(
    effectWorld([{ name: "sys/timer.set@1" }, { name: "demo/http@1" }], [{ ...mine, origin_scope: "both" }]),
    [{ code: "AIR_EFFECT_MISMATCH", file: FILE, path: "$[4].origin_scope", def: "demo/http@1" }],
  );
  expectErrors(
    effectWorld([{ name: "sys/timer.set@1" }, { name: "demo/http@1" }], [{
      ...mine,
      kind: "payment.charge",
    }]),
    [
      // The plan's http.request is then declared by no listed defeffect of that kind.
      { code: "AIR_EFFECT_ORIGIN_SCOPE", file: FILE, path: "$[3].allowed_effects[0]", def: "demo/fetch@1" },
      { code: "AIR_EFFECT_UNKNOWN", file: FILE, path: "$[4].kind", def: "demo/http@1" },
    ],
  );
  expectErrors(effectWorld([{ name: "sys/nope@1" }]), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.effects[0].name" },
  ]);
  expectErrors(
    effectWorld([{ name: "sys/timer.set@1" }, { name: "sys/http.request@1" }], [
      { ...timer, cap_type: "blob" },
    ]),
    [{ code: "AIR_SYS_RESERVED", file: FILE, path: "$[4].name", def: "sys/timer.set@1" }],
  );
});

Deno.test("AIR_EFFECT_ORIGIN_SCOPE: with defeffects listed, reducers emit reducer/both kinds, plans allow plan/both", () => {
  // timer.set is "both", so a plan may allow it too.
  expectValid(
    effectWorld([{ name: "sys/timer.set@1" }], [], { ...httpPlan, allowed_effects: ["timer.set"] }),
  );
  // Not listed: the origin scope is unknown.
  expectErrors(effectWorld([{ name: "sys/http.request@1" }]), [
    {
      code: "AIR_EFFECT_ORIGIN_SCOPE",
      file: FILE,
      path: "$[2].abi.reducer.effects_emitted[0]",
      def: "demo/Counter@1",
    },
  ]);
  // Without an `effects` list, nothing is enforced (worlds written for us).
  const files = effectWorld([]);
  const manifest = JSON.parse(files[1]!.text) as Node;
  delete manifest["effects"];
  expectValid([files[0]!, { path: MANIFEST_FILE, text: JSON.stringify(manifest) }]);
});

// --- defsecret ---------------------------------------------------------------------------------------------

const llmGrant: Node = { name: "llm_main", cap: "sys/llm.basic@1", params: { record: {} } };
const apiSecret: Node = {
  $kind: "defsecret",
  name: "llm/api@1",
  binding_id: "env:LLM_API_KEY",
  allowed_caps: ["llm_main"],
  allowed_plans: ["demo/fetch@1"],
};

/** The counter world with a plan, an llm grant, `secret` and the manifest's `secrets`. */
function secretWorld(secret: Node, secrets: Node[] = [{ name: "llm/api@1" }]): AirFile[] {
  return world(
    { plans: [{ name: "demo/fetch@1" }], secrets, defaults: { cap_grants: [llmGrant] } },
    [httpPlan, secret],
  );
}

Deno.test("defsecret: listed by name, its hash filled; grants and plans it allows must exist", () => {
  const bundle = expectValid(secretWorld(apiSecret));
  assert.deepEqual(bundle.manifest.secrets, [{ name: "llm/api@1", hash: nodeHash(apiSecret as never) }]);
  // Only the name and binding are required.
  expectValid(secretWorld({ $kind: "defsecret", name: "llm/api@1", binding_id: "env:LLM_API_KEY" }));
  expectErrors(
    secretWorld({
      ...apiSecret,
      binding_id: "LLM_API_KEY",
      allowed_caps: ["nope"],
      allowed_plans: ["x/y@1"],
    }),
    [
      { code: "AIR_SECRET_BINDING", file: FILE, path: "$[4].binding_id", def: "llm/api@1" },
      { code: "AIR_REF_UNKNOWN", file: FILE, path: "$[4].allowed_caps[0]", def: "llm/api@1" },
      { code: "AIR_REF_UNKNOWN", file: FILE, path: "$[4].allowed_plans[0]", def: "llm/api@1" },
    ],
  );
  expectErrors(secretWorld(apiSecret, [{ name: "llm/other@1" }]), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.secrets[0].name" },
  ]);
  expectErrors(secretWorld(apiSecret, [{ name: "llm/api@1", hash: `sha256:${"1".repeat(64)}` }]), [
    { code: "AIR_MANIFEST_HASH_MISMATCH", file: MANIFEST_FILE, path: "$.secrets[0].hash" },
  ]);
  expectErrors(secretWorld({ ...apiSecret, name: "sys/api@1" }, []), [
    { code: "AIR_SYS_RESERVED", file: FILE, path: "$[4].name", def: "sys/api@1" },
  ]);
});
