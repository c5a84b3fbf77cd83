/**
 * The validator on worlds with plans, defcaps, policies and grants: the fetch world of AIR §20 and one
 * valid and one invalid example per rule, asserting each diagnostic's code, file and path.
 */
import assert from "node:assert/strict";
import { jsonPath, parseJson } from "../base/mod.ts";
import { hashRefOf } from "../cbor/mod.ts";
import { type AirNode, builtinCapHash, type Manifest, nodeHash, parseAirNode } from "../nodes/mod.ts";
import { validateWorld } from "./_core.ts";
import { DiagnosticSink } from "./_diagnostics.ts";
import { parseFiles, registerNodes } from "./_parse.ts";
import type { PlanValidationContext, PlanValidator } from "./_plan.ts";
import { type Expected, expectErrors, located } from "./_test_assert.ts";
import { FETCH_EVENT_SCHEMAS, FETCH_PLAN } from "./_test_fetch_world.ts";
import {
  type AirFile,
  formatDiagnostic,
  hasErrors,
  loadAirBundle,
  resolveManifest,
  validateManifestNodes,
} from "./bundle.ts";

type Node = Record<string, unknown>;

const WASM = hashRefOf(new TextEncoder().encode("fetcher.wasm"));
const SCHEMAS_FILE = "air/a_schemas.air.json";
const MODULE_FILE = "air/b_module.air.json";
const PLAN_FILE = "air/c_plan.air.json";
const POLICY_FILE = "air/d_policy.air.json";
const MANIFEST_FILE = "air/manifest.air.json";
const EXTRA_FILE = "air/z_extra.air.json";

const schema = (name: string, type: unknown): Node => ({ $kind: "defschema", name, type });
const text = { text: {} };

const fetchSchemas: Node[] = [
  ...FETCH_EVENT_SCHEMAS,
  schema("demo/FetcherState@1", { record: { done: { nat: {} } } }),
];

const fetcherAbi = { state: "demo/FetcherState@1", event: "demo/FetchEvent@1" };
const fetcher: Node = {
  $kind: "defmodule",
  name: "demo/Fetcher@1",
  module_kind: "reducer",
  wasm_hash: WASM,
  abi: { reducer: fetcherAbi },
};

/** The plan of AIR §20, verbatim. */
const fetchPlan: Node = FETCH_PLAN;

const fetchPolicy: Node = {
  $kind: "defpolicy",
  name: "demo/policy@1",
  rules: [{ when: { effect_kind: "http.request", origin_kind: "plan" }, decision: "allow" }],
};

const httpParams = {
  record: { hosts: { set: [{ text: "example.com" }] }, verbs: { set: [{ text: "GET" }] } },
};
const httpGrant: Node = {
  name: "http_example",
  cap: "sys/http.out@1",
  params: httpParams,
  budget: { bytes: 1048576 },
};

const fetchManifest: Node = {
  $kind: "manifest",
  schemas: fetchSchemas.map((s) => ({ name: s["name"] })),
  modules: [{ name: "demo/Fetcher@1" }],
  plans: [{ name: "demo/fetch@1" }],
  caps: [],
  policies: [{ name: "demo/policy@1" }],
  triggers: [{ event: "demo/FetchRequested@1", plan: "demo/fetch@1", correlate_by: "request_id" }],
  routing: {
    events: [
      { event: "demo/FetchSucceeded@1", reducer: "demo/Fetcher@1" },
      { event: "demo/FetchFailed@1", reducer: "demo/Fetcher@1" },
    ],
  },
  defaults: { policy: "demo/policy@1", cap_grants: [httpGrant] },
};

interface Parts {
  schemas?: Node[];
  module?: Node;
  plan?: Node;
  policy?: Node;
  manifest?: Node;
  extra?: Node[];
}

/** The fetch world of AIR §20 in five files, with parts replaced or added. */
function fetchWorld(parts: Parts = {}): AirFile[] {
  const files: AirFile[] = [
    { path: SCHEMAS_FILE, text: JSON.stringify(parts.schemas ?? fetchSchemas) },
    { path: MODULE_FILE, text: JSON.stringify(parts.module ?? fetcher) },
    { path: PLAN_FILE, text: JSON.stringify(parts.plan ?? fetchPlan) },
    { path: POLICY_FILE, text: JSON.stringify(parts.policy ?? fetchPolicy) },
    { path: MANIFEST_FILE, text: JSON.stringify(parts.manifest ?? fetchManifest) },
  ];
  if (parts.extra !== undefined) files.push({ path: EXTRA_FILE, text: JSON.stringify(parts.extra) });
  return files;
}

function withManifest(fields: Node): Node {
  return { ...fetchManifest, ...fields };
}

function withDefaults(fields: Node): Node {
  return withManifest({ defaults: { ...(fetchManifest["defaults"] as Node), ...fields } });
}

function withAbi(fields: Node): Node {
  return { ...fetcher, abi: { reducer: { ...fetcherAbi, ...fields } } };
}

/** Asserts a bundle with exactly these warnings. */
function expectValid(files: AirFile[], warnings: Expected[] = []) {
  const { bundle, diagnostics } = loadAirBundle(files);
  assert.deepEqual(located(diagnostics), warnings, diagnostics.map(formatDiagnostic).join("\n"));
  assert.ok(bundle, "a bundle when there are no errors");
  return bundle;
}

// --- The fetch world ------------------------------------------------------------------------------------

Deno.test("loadAirBundle() loads the fetch world of AIR §20 (plan, policy, grant) with no diagnostics", () => {
  const bundle = expectValid(fetchWorld());
  assert.deepEqual([...bundle.nodes.keys()].filter((k) => !k.startsWith("defschema:")), [
    "defmodule:demo/Fetcher@1",
    "defplan:demo/fetch@1",
    "defpolicy:demo/policy@1",
  ]);
  const plan = bundle.nodes.get("defplan:demo/fetch@1");
  assert.ok(plan?.kind === "defplan");
  assert.deepEqual([plan.file, plan.path, plan.hash], [PLAN_FILE, "$", nodeHash(plan.node)]);
  assert.equal(bundle.manifest.plans[0]?.hash, plan.hash);
  assert.equal(bundle.manifest.policies[0]?.hash, bundle.nodes.get("defpolicy:demo/policy@1")?.hash);
  assert.deepEqual(bundle.manifest.defaults?.cap_grants?.[0]?.params, parseJson(JSON.stringify(httpParams)));
  assert.equal(bundle.manifestHash, nodeHash(bundle.manifest));
});

Deno.test("loadAirBundle() reloads its own manifest (stored form) to the same hash", () => {
  const first = expectValid(fetchWorld());
  const again = expectValid(fetchWorld({ manifest: JSON.parse(stringify(first.manifest)) as Node }));
  assert.equal(again.manifestHash, first.manifestHash);
});

function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v));
}

// --- Grants and their params ----------------------------------------------------------------------------

Deno.test("grant params: the plain form is converted to the canonical tagged form, which is what is hashed", () => {
  const plain = { hosts: ["example.com", "example.com"], verbs: ["GET"], path_prefixes: null };
  const messyTagged = {
    record: {
      verbs: { set: [{ text: "GET" }] },
      hosts: { set: [{ text: "example.com" }, { text: "example.com" }] },
    },
  };
  const tagged = expectValid(fetchWorld());
  for (const params of [plain, messyTagged]) {
    const bundle = expectValid(
      fetchWorld({ manifest: withDefaults({ cap_grants: [{ ...httpGrant, params }] }) }),
    );
    assert.deepEqual(
      bundle.manifest.defaults?.cap_grants?.[0]?.params,
      tagged.manifest.defaults?.cap_grants?.[0]?.params,
    );
    assert.equal(bundle.manifestHash, tagged.manifestHash);
  }
  // A user defcap aliasing a standard one converts plain params the same way.
  const llm = expectValid(fetchWorld({
    extra: [
      { $kind: "defcap", name: "demo/llm@1", cap_type: "llm.basic", schema: { ref: "demo/LlmCap@1" } },
      schema(
        "demo/LlmCap@1",
        {
          record: {
            providers: { option: { set: text } },
            models: { option: { set: text } },
            max_tokens_max: { option: { nat: {} } },
            temperature_max: { option: { dec128: {} } },
            tools_allow: { option: { set: text } },
          },
        },
      ),
    ],
    manifest: withManifest({
      schemas: [...fetchManifest["schemas"] as Node[], { name: "demo/LlmCap@1" }],
      caps: [{ name: "demo/llm@1" }],
      defaults: {
        policy: "demo/policy@1",
        cap_grants: [httpGrant, {
          name: "llm",
          cap: "demo/llm@1",
          params: { models: ["b", "a"], max_tokens_max: 100, temperature_max: "0.50" },
        }],
      },
    }),
  }));
  assert.deepEqual(llm.manifest.defaults?.cap_grants?.[1]?.params, {
    record: {
      models: { set: [{ text: "a" }, { text: "b" }] },
      max_tokens_max: { nat: 100n },
      temperature_max: { dec128: "0.5" },
    },
  });
});

Deno.test("AIR_GRANT_PARAMS: params that do not conform to the defcap schema, at the offending value", () => {
  const grant = (params: unknown) =>
    fetchWorld({ manifest: withDefaults({ cap_grants: [{ ...httpGrant, params }] }) });
  expectErrors(grant({ hosts: "example.com", verbs: ["GET"] }), [
    { code: "AIR_GRANT_PARAMS", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].params.hosts" },
  ]);
  expectErrors(grant({ hosts: ["example.com"] }), [
    { code: "AIR_GRANT_PARAMS", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].params.verbs" },
  ]);
  expectErrors(grant({ hosts: [], verbs: [], rpm: 10 }), [
    { code: "AIR_GRANT_PARAMS", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].params.rpm" },
  ]);
  expectErrors(grant({ record: { hosts: { set: [{ nat: 1 }] }, verbs: { set: [] } } }), [
    {
      code: "AIR_GRANT_PARAMS",
      file: MANIFEST_FILE,
      path: "$.defaults.cap_grants[0].params.record.hosts.set[0]",
    },
  ]);
  expectValid(grant({ hosts: [], verbs: [] }));
});

Deno.test("AIR_REF_UNKNOWN, AIR_NAME_DUPLICATE: a grant's defcap resolves (built-in or listed) and names are unique", () => {
  const userCap = {
    $kind: "defcap",
    name: "demo/http@1",
    cap_type: "http.out",
    schema: { ref: "demo/Nope@1" },
  };
  expectErrors(
    fetchWorld({ manifest: withDefaults({ cap_grants: [{ ...httpGrant, cap: "demo/http@1" }] }) }),
    [
      { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].cap" },
    ],
  );
  // Defined in the files but not listed.
  const notListed = expectErrors(
    fetchWorld({
      extra: [{ ...userCap, schema: (builtinHttp as Node)["schema"] }],
      manifest: withDefaults({ cap_grants: [{ ...httpGrant, cap: "demo/http@1" }] }),
    }),
    [{ code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].cap" }],
  );
  assert.match(notListed[0]?.message ?? "", /not listed/);
  expectValid(fetchWorld({
    extra: [{ ...userCap, schema: (builtinHttp as Node)["schema"] }],
    manifest: withManifest({
      caps: [{ name: "demo/http@1" }],
      defaults: { policy: "demo/policy@1", cap_grants: [{ ...httpGrant, cap: "demo/http@1" }] },
    }),
  }));
  expectErrors(fetchWorld({ manifest: withDefaults({ cap_grants: [httpGrant, httpGrant] }) }), [
    { code: "AIR_NAME_DUPLICATE", file: MANIFEST_FILE, path: "$.defaults.cap_grants[1].name" },
  ]);
});

const builtinHttp = {
  schema: {
    record: { hosts: { set: text }, verbs: { set: text }, path_prefixes: { option: { set: text } } },
  },
};

// --- Manifest refs, triggers, the default policy ----------------------------------------------------------

Deno.test("AIR_REF_UNKNOWN, AIR_MANIFEST_HASH_MISMATCH: plan, cap and policy refs resolve and hashes match", () => {
  expectErrors(fetchWorld({ manifest: withManifest({ caps: [{ name: "demo/Nope@1" }] }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.caps[0].name" },
  ]);
  expectErrors(fetchWorld({ manifest: withManifest({ caps: [{ name: "sys/nope@1" }] }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.caps[0].name" },
  ]);
  // A built-in defcap is no plan.
  expectErrors(
    fetchWorld({ manifest: withManifest({ plans: [{ name: "demo/fetch@1" }, { name: "sys/http.out@1" }] }) }),
    [
      { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.plans[1].name" },
    ],
  );
  const wrong = `sha256:${"3".repeat(64)}`;
  expectErrors(fetchWorld({ manifest: withManifest({ plans: [{ name: "demo/fetch@1", hash: wrong }] }) }), [
    { code: "AIR_MANIFEST_HASH_MISMATCH", file: MANIFEST_FILE, path: "$.plans[0].hash" },
  ]);
  expectErrors(fetchWorld({ manifest: withManifest({ caps: [{ name: "sys/http.out@1", hash: wrong }] }) }), [
    { code: "AIR_MANIFEST_HASH_MISMATCH", file: MANIFEST_FILE, path: "$.caps[0].hash" },
  ]);
  const bundle = expectValid(fetchWorld({ manifest: withManifest({ caps: [{ name: "sys/http.out@1" }] }) }));
  assert.equal(bundle.manifest.caps[0]?.hash, builtinCapHash("sys/http.out@1"));
});

Deno.test("AIR_REF_UNKNOWN: the default policy is listed", () => {
  expectErrors(fetchWorld({ manifest: withManifest({ policies: [] }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.policy" },
  ]);
  expectErrors(fetchWorld({ manifest: withDefaults({ policy: "demo/other@1" }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.policy" },
  ]);
  expectValid(fetchWorld({ manifest: withManifest({ defaults: { cap_grants: [httpGrant] } }) }));
});

Deno.test("AIR_REF_UNKNOWN, AIR_SCHEMA_UNKNOWN: triggers name a listed plan and a known schema", () => {
  const trigger = (fields: Node) =>
    withManifest({ triggers: [{ ...(fetchManifest["triggers"] as Node[])[0], ...fields }] });
  expectErrors(fetchWorld({ manifest: trigger({ plan: "demo/nope@1" }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.triggers[0].plan" },
  ]);
  expectErrors(fetchWorld({ manifest: trigger({ event: "demo/Nope@1" }) }), [
    { code: "AIR_SCHEMA_UNKNOWN", file: MANIFEST_FILE, path: "$.triggers[0].event" },
  ]);
  // The plan is in the files but not listed: the trigger reports it, as does nothing else.
  const diagnostics = expectErrors(fetchWorld({ manifest: withManifest({ plans: [] }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.triggers[0].plan" },
  ]);
  assert.match(diagnostics[0]?.message ?? "", /not listed/);
});

Deno.test("AIR_TRIGGER_INPUT: a trigger's event schema is the plan's input (equal schema hashes)", () => {
  expectErrors(
    fetchWorld({
      manifest: withManifest({ triggers: [{ event: "demo/FetchFailed@1", plan: "demo/fetch@1" }] }),
    }),
    [{ code: "AIR_TRIGGER_INPUT", file: MANIFEST_FILE, path: "$.triggers[0].event" }],
  );
  // Another name for the same type is the same schema (AIR §2: compatibility is by schema hash).
  expectValid(fetchWorld({
    extra: [schema("demo/FetchAlias@1", { record: { url: text, request_id: text } })],
    manifest: withManifest({
      schemas: [...fetchManifest["schemas"] as Node[], { name: "demo/FetchAlias@1" }],
      triggers: [{ event: "demo/FetchAlias@1", plan: "demo/fetch@1" }],
    }),
  }));
});

Deno.test("AIR_CORRELATE_BY: correlate_by is a field path of the trigger's event", () => {
  const correlate = (path: string) =>
    fetchWorld({
      manifest: withManifest({
        triggers: [{ event: "demo/FetchRequested@1", plan: "demo/fetch@1", correlate_by: path }],
      }),
    });
  expectErrors(correlate("id"), [{
    code: "AIR_CORRELATE_BY",
    file: MANIFEST_FILE,
    path: "$.triggers[0].correlate_by",
  }]);
  expectValid(correlate("url"));
});

// --- Modules and bindings --------------------------------------------------------------------------------

Deno.test("AIR_EFFECT_NO_SLOT: an emitted kind's cap type is offered by a slot (the implicit default counts)", () => {
  expectErrors(
    fetchWorld({ module: withAbi({ effects_emitted: ["timer.set"], cap_slots: { default: "blob" } }) }),
    [
      {
        code: "AIR_EFFECT_NO_SLOT",
        file: MODULE_FILE,
        path: "$.abi.reducer.effects_emitted[0]",
        def: "demo/Fetcher@1",
      },
    ],
  );
  expectValid(
    fetchWorld({ module: withAbi({ effects_emitted: ["timer.set"], cap_slots: { default: "timer" } }) }),
  );
  expectValid(
    fetchWorld({
      module: withAbi({
        effects_emitted: ["timer.set"],
        cap_slots: { blob: "blob", default: "blob", t: "timer" },
      }),
    }),
  );
  // No typed default slot: the untyped default slot of KERNEL §4 offers any cap type.
  expectValid(
    fetchWorld({
      module: withAbi({ effects_emitted: ["timer.set", "blob.get"], cap_slots: { blob: "blob" } }),
    }),
  );
  expectValid(fetchWorld({ module: withAbi({ effects_emitted: ["timer.set"] }) }));
});

Deno.test("AIR_CAP_TYPE_MISMATCH, AIR_BINDING_SLOT: bindings fit their slot; the implicit default fits an emitted kind", () => {
  const timerGrant = { name: "timer_grant", cap: "sys/timer@1", params: {} };
  const bound = (abi: Node, slots: Record<string, string>) =>
    fetchWorld({
      module: withAbi(abi),
      manifest: withManifest({
        defaults: { policy: "demo/policy@1", cap_grants: [httpGrant, timerGrant] },
        module_bindings: { "demo/Fetcher@1": { slots } },
      }),
    });
  const slotPath = (slot: string) => `$.module_bindings["demo/Fetcher@1"].slots.${slot}`;
  expectErrors(bound({ effects_emitted: ["timer.set"] }, { default: "http_example" }), [
    { code: "AIR_CAP_TYPE_MISMATCH", file: MANIFEST_FILE, path: slotPath("default") },
  ]);
  expectValid(bound({ effects_emitted: ["timer.set"] }, { default: "timer_grant" }));
  expectErrors(
    bound({ effects_emitted: ["timer.set"], cap_slots: { default: "timer" } }, { default: "http_example" }),
    [
      { code: "AIR_CAP_TYPE_MISMATCH", file: MANIFEST_FILE, path: slotPath("default") },
    ],
  );
  expectErrors(bound({ effects_emitted: ["timer.set"] }, { timer: "timer_grant" }), [
    { code: "AIR_BINDING_SLOT", file: MANIFEST_FILE, path: slotPath("timer") },
  ]);
  expectErrors(bound({}, { default: "nope" }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: slotPath("default") },
  ]);
  expectErrors(
    fetchWorld({ manifest: withManifest({ module_bindings: { "demo/Nope@1": { slots: {} } } }) }),
    [{ code: "AIR_MODULE_UNKNOWN", file: MANIFEST_FILE, path: '$.module_bindings["demo/Nope@1"]' }],
  );
});

// --- defcap ------------------------------------------------------------------------------------------------

Deno.test("AIR_CAP_SCHEMA: a defcap's expanded schema is the standard schema of its cap type or narrower", () => {
  const cap = (schemaType: unknown, capType = "http.out"): Parts => ({
    extra: [
      { $kind: "defcap", name: "demo/http@1", cap_type: capType, schema: schemaType },
      schema("demo/Hosts@1", { set: text }),
    ],
    manifest: withManifest({
      schemas: [...fetchManifest["schemas"] as Node[], { name: "demo/Hosts@1" }],
      caps: [{ name: "demo/http@1" }],
    }),
  });
  // Narrower (the original AgentOS's style): standard fields of the standard type, optional ones left out.
  expectValid(fetchWorld(cap({ record: { hosts: { set: text }, verbs: { set: text } } })));
  const capSchemaError = [
    { code: "AIR_CAP_SCHEMA", file: EXTRA_FILE, path: "$[0].schema", def: "demo/http@1" },
  ];
  // A required field left out, a field the standard lacks, a field of another type, not a record.
  expectErrors(fetchWorld(cap({ record: { hosts: { set: text } } })), capSchemaError);
  expectErrors(fetchWorld(cap({ record: { hosts: { set: text }, methods: { set: text } } })), capSchemaError);
  expectErrors(fetchWorld(cap({ record: { hosts: { list: text }, verbs: { set: text } } })), capSchemaError);
  expectErrors(fetchWorld(cap({ set: text })), capSchemaError);
  expectErrors(fetchWorld(cap(builtinHttp.schema, "blob")), [
    { code: "AIR_CAP_SCHEMA", file: EXTRA_FILE, path: "$[0].schema", def: "demo/http@1" },
  ]);
  // Written with refs, the same expanded type is the standard schema.
  expectValid(fetchWorld(cap({
    record: {
      hosts: { ref: "demo/Hosts@1" },
      verbs: { ref: "demo/Hosts@1" },
      path_prefixes: { option: { ref: "demo/Hosts@1" } },
    },
  })));
  // An unknown ref is reported once, as such.
  expectErrors(fetchWorld(cap({ ref: "demo/Nope@1" })), [
    { code: "AIR_SCHEMA_UNKNOWN", file: EXTRA_FILE, path: "$[0].schema.ref", def: "demo/http@1" },
  ]);
  expectErrors(
    fetchWorld({
      extra: [{ $kind: "defcap", name: "sys/mine@1", cap_type: "timer", schema: { record: {} } }],
    }),
    [
      { code: "AIR_SYS_RESERVED", file: EXTRA_FILE, path: "$[0].name", def: "sys/mine@1" },
    ],
  );
});

Deno.test("AIR_CAP_TYPE_UNKNOWN, AIR_EFFECT_UNKNOWN: outside the v1 catalog, at their path in the file", () => {
  expectErrors(
    fetchWorld({
      extra: [{ $kind: "defcap", name: "demo/pay@1", cap_type: "payment", schema: { record: {} } }],
    }),
    [
      { code: "AIR_CAP_TYPE_UNKNOWN", file: EXTRA_FILE, path: "$[0].cap_type", def: "demo/pay@1" },
    ],
  );
  expectErrors(fetchWorld({ plan: { ...fetchPlan, allowed_effects: ["http.request", "email.send"] } }), [
    { code: "AIR_EFFECT_UNKNOWN", file: PLAN_FILE, path: "$.allowed_effects[1]", def: "demo/fetch@1" },
  ]);
});

// --- defpolicy (warnings) --------------------------------------------------------------------------------

function withRules(rules: unknown[]): Parts {
  return { policy: { ...fetchPolicy, rules } };
}

Deno.test("AIR_POLICY_ORIGIN_UNKNOWN (warning): origin_name names a plan or module; the bundle still loads", () => {
  const rule = (when: Node) => withRules([{ when, decision: "allow" }]);
  const at = { file: POLICY_FILE, def: "demo/policy@1", severity: "warning" as const };
  const bundle = expectValid(fetchWorld(rule({ origin_name: "demo/nope@1" })), [
    { code: "AIR_POLICY_ORIGIN_UNKNOWN", path: "$.rules[0].when.origin_name", ...at },
  ]);
  assert.ok(bundle.nodes.has("defpolicy:demo/policy@1"));
  expectValid(fetchWorld(rule({ origin_name: "demo/fetch@1" })));
  expectValid(fetchWorld(rule({ origin_name: "demo/Fetcher@1", origin_kind: "reducer" })));
  expectValid(fetchWorld(rule({ origin_name: "demo/fetch@1", origin_kind: "plan" })));
  expectValid(fetchWorld(rule({ origin_name: "demo/fetch@1", origin_kind: "reducer" })), [
    { code: "AIR_POLICY_ORIGIN_UNKNOWN", path: "$.rules[0].when.origin_name", ...at },
  ]);
});

Deno.test("AIR_POLICY_CAP_UNKNOWN, AIR_POLICY_RULE_UNREACHABLE (warnings): rules that can never match", () => {
  const at = { file: POLICY_FILE, def: "demo/policy@1", severity: "warning" as const };
  expectValid(fetchWorld(withRules([{ when: { cap_name: "nope" }, decision: "deny" }])), [
    { code: "AIR_POLICY_CAP_UNKNOWN", path: "$.rules[0].when.cap_name", ...at },
  ]);
  expectValid(fetchWorld(withRules([{ when: { cap_name: "http_example" }, decision: "allow" }])));
  expectValid(
    fetchWorld(withRules([{ when: { effect_kind: "timer.set", host: "example.com" }, decision: "allow" }])),
    [
      { code: "AIR_POLICY_RULE_UNREACHABLE", path: "$.rules[0].when", ...at },
    ],
  );
  expectValid(
    fetchWorld(
      withRules([{ when: { effect_kind: "llm.generate", origin_kind: "reducer" }, decision: "deny" }]),
    ),
    [
      { code: "AIR_POLICY_RULE_UNREACHABLE", path: "$.rules[0].when", ...at },
    ],
  );
  expectValid(fetchWorld(withRules([{ when: {}, decision: "deny" }, { when: {}, decision: "allow" }])), [
    { code: "AIR_POLICY_RULE_UNREACHABLE", path: "$.rules[1]", ...at },
  ]);
  expectValid(fetchWorld(withRules([
    { when: { effect_kind: "http.request", host: "*.example.com", method: "GET" }, decision: "allow" },
    { when: {}, decision: "deny" },
  ])));
});

Deno.test("loadAirBundle() returns warnings with the bundle but no bundle when an error comes with them", () => {
  const { bundle, diagnostics } = loadAirBundle(fetchWorld({
    ...withRules([{ when: { origin_name: "demo/nope@1" }, decision: "allow" }]),
    manifest: withManifest({ policies: [{ name: "demo/policy@1" }, { name: "demo/missing@1" }] }),
  }));
  assert.equal(bundle, undefined);
  assert.deepEqual(diagnostics.map((d) => [d.code, d.severity ?? "error"]), [
    ["AIR_REF_UNKNOWN", "error"],
    ["AIR_POLICY_ORIGIN_UNKNOWN", "warning"],
  ]);
  assert.ok(hasErrors(diagnostics));
  assert.equal(hasErrors(diagnostics.slice(1)), false);
  assert.match(
    formatDiagnostic(diagnostics[1]!),
    /^air\/d_policy\.air\.json:\$\.rules\[0\]\.when\.origin_name: warning \[AIR_POLICY_ORIGIN_UNKNOWN\] /,
  );
});

// --- Plans -----------------------------------------------------------------------------------------------

Deno.test("defplan: names are unique per kind, no user sys/, and the plan's problems come with def and step", () => {
  expectErrors(fetchWorld({ extra: [fetchPlan] }), [
    { code: "AIR_NAME_DUPLICATE", file: EXTRA_FILE, path: "$[0].name", def: "demo/fetch@1" },
  ]);
  expectErrors(fetchWorld({ extra: [{ ...fetchPlan, name: "sys/fetch@1" }] }), [
    { code: "AIR_SYS_RESERVED", file: EXTRA_FILE, path: "$[0].name", def: "sys/fetch@1" },
  ]);
  // A policy may share the plan's name: uniqueness is per kind.
  expectValid(fetchWorld({
    extra: [{ ...fetchPolicy, name: "demo/fetch@1" }],
    manifest: withManifest({ policies: [{ name: "demo/policy@1" }, { name: "demo/fetch@1" }] }),
  }));
  expectErrors(fetchWorld({ plan: { ...fetchPlan, steps: [] } }), [
    { code: "AIR_SHAPE", file: PLAN_FILE, path: "$.steps", def: "demo/fetch@1" },
  ]);
});

Deno.test({
  name: "defplan: validatePlan's diagnostics are reported with the plan's file, def and step",
  fn() {
    const broken = { ...fetchPlan, edges: [...fetchPlan["edges"] as Node[], { from: "e_end", to: "ghost" }] };
    const { bundle, diagnostics } = loadAirBundle(fetchWorld({ plan: broken }));
    assert.equal(bundle, undefined);
    assert.ok(diagnostics.length > 0);
    for (const d of diagnostics) {
      assert.equal(d.file, PLAN_FILE, formatDiagnostic(d));
      assert.equal(d.def, "demo/fetch@1", formatDiagnostic(d));
      assert.match(d.path ?? "", /^\$\.edges\[6\]/, formatDiagnostic(d));
    }
  },
});

// --- Several defects at once --------------------------------------------------------------------------

Deno.test("loadAirBundle() reports unrelated defects of plans, caps, policies and grants in one pass", () => {
  const files = fetchWorld({
    module: withAbi({ effects_emitted: ["timer.set", "http.request"], cap_slots: { default: "blob" } }),
    policy: { ...fetchPolicy, rules: [{ when: { origin_name: "demo/ghost@1" }, decision: "allow" }] },
    manifest: withManifest({
      caps: [{ name: "demo/cap@1" }],
      triggers: [{ event: "demo/FetchFailed@1", plan: "demo/fetch@1", correlate_by: "nope" }],
      defaults: {
        policy: "demo/policy@1",
        cap_grants: [{ ...httpGrant, params: { hosts: 1 } }, { name: "t", cap: "sys/timer@9", params: {} }],
      },
    }),
    extra: [
      { $kind: "defcap", name: "demo/cap@1", cap_type: "blob", schema: { record: { size: { nat: {} } } } },
      { $kind: "defpolicy", name: "demo/p2@1", rules: [{ when: {}, decision: "maybe" }] },
    ],
  });
  const byCode = located(loadAirBundle(files).diagnostics).map((d) => `${d.code} ${d.file}:${d.path}`).sort();
  assert.deepEqual(byCode, [
    "AIR_CAP_SCHEMA air/z_extra.air.json:$[0].schema",
    "AIR_CORRELATE_BY air/manifest.air.json:$.triggers[0].correlate_by",
    "AIR_EFFECT_NOT_MICRO air/b_module.air.json:$.abi.reducer.effects_emitted[1]",
    "AIR_EFFECT_NO_SLOT air/b_module.air.json:$.abi.reducer.effects_emitted[0]",
    "AIR_GRANT_PARAMS air/manifest.air.json:$.defaults.cap_grants[0].params.hosts",
    "AIR_POLICY_ORIGIN_UNKNOWN air/d_policy.air.json:$.rules[0].when.origin_name",
    "AIR_REF_UNKNOWN air/manifest.air.json:$.defaults.cap_grants[1].cap",
    "AIR_SHAPE air/z_extra.air.json:$[1].rules[0].decision",
    "AIR_TRIGGER_INPUT air/manifest.air.json:$.triggers[0].event",
  ]);
  assert.deepEqual(loadAirBundle([...files].reverse()).diagnostics, loadAirBundle(files).diagnostics);
});

// --- validateManifestNodes / resolveManifest ----------------------------------------------------------------

function nodeMap(nodes: Node[]): Map<string, AirNode> {
  const out = new Map<string, AirNode>();
  for (const raw of nodes) {
    const result = parseAirNode(parseJson(JSON.stringify(raw)));
    assert.ok(result.ok && result.node.$kind !== "manifest");
    out.set(`${result.node.$kind}:${result.node.name}`, result.node);
  }
  return out;
}

function manifestOf(raw: Node): Manifest {
  const result = parseAirNode(parseJson(JSON.stringify(raw)));
  assert.ok(result.ok && result.node.$kind === "manifest");
  return result.node;
}

const fetchNodes = () => nodeMap([...fetchSchemas, fetcher, fetchPlan, fetchPolicy]);

Deno.test("validateManifestNodes() accepts the fetch world from a node lookup, as loadAirBundle() does", () => {
  assert.deepEqual(validateManifestNodes(manifestOf(fetchManifest), fetchNodes()), []);
  const resolved = resolveManifest(manifestOf(fetchManifest), fetchNodes());
  const loaded = expectValid(fetchWorld());
  assert.deepEqual(resolved.diagnostics, []);
  assert.ok(resolved.manifest);
  assert.equal(nodeHash(resolved.manifest), loaded.manifestHash);
  // Nodes the manifest does not list are ignored, broken or not.
  const extra = fetchNodes();
  extra.set("defcap:demo/odd@1", {
    $kind: "defcap",
    name: "demo/odd@1",
    cap_type: "blob",
    schema: { record: {} },
  });
  assert.deepEqual(validateManifestNodes(manifestOf(fetchManifest), extra), []);
});

Deno.test("validateManifestNodes() locates problems in the manifest and in listed nodes", () => {
  const nodes = fetchNodes();
  nodes.delete("defplan:demo/fetch@1");
  nodes.set("defcap:demo/odd@1", {
    $kind: "defcap",
    name: "demo/odd@1",
    cap_type: "blob",
    schema: { record: { size: { nat: {} } } },
  });
  const manifest = manifestOf(withManifest({ caps: [{ name: "demo/odd@1" }] }));
  assert.deepEqual(located(validateManifestNodes(manifest, nodes)), [
    { code: "AIR_REF_UNKNOWN", file: "manifest", path: "$.plans[0].name" },
    { code: "AIR_CAP_SCHEMA", file: "defcap:demo/odd@1", path: "$.schema", def: "demo/odd@1" },
  ]);
  const named = validateManifestNodes(manifest, nodes, {
    manifestFile: "patch",
    nodeFile: (key) => `cas/${key}`,
  });
  assert.deepEqual(named.map((d) => d.file), ["patch", "cas/defcap:demo/odd@1"]);
  assert.equal(resolveManifest(manifest, nodes).manifest, undefined);
  const wrong = `sha256:${"4".repeat(64)}`;
  assert.deepEqual(
    located(
      validateManifestNodes(
        manifestOf(withManifest({ modules: [{ name: "demo/Fetcher@1", hash: wrong }] })),
        fetchNodes(),
      ),
    ),
    [{ code: "AIR_MANIFEST_HASH_MISMATCH", file: "manifest", path: "$.modules[0].hash" }],
  );
  assert.throws(
    () =>
      validateManifestNodes(
        manifest,
        new Map([["defplan:demo/x@1", fetchNodes().get("defplan:demo/fetch@1")!]]),
      ),
    TypeError,
  );
});

Deno.test("validateManifestNodes() reports a listed user node under sys/ (e.g. added by a patch)", () => {
  const nodes = fetchNodes();
  nodes.set("defschema:sys/Mine@1", { $kind: "defschema", name: "sys/Mine@1", type: { nat: {} } });
  const manifest = manifestOf(
    withManifest({ schemas: [...fetchManifest["schemas"] as Node[], { name: "sys/Mine@1" }] }),
  );
  assert.deepEqual(located(validateManifestNodes(manifest, nodes)), [
    { code: "AIR_SYS_RESERVED", file: "defschema:sys/Mine@1", path: "$.name", def: "sys/Mine@1" },
  ]);
  // Built-ins may be listed (and need not be in the lookup).
  const builtins = manifestOf(withManifest({
    schemas: [...fetchManifest["schemas"] as Node[], { name: "sys/TimerFired@1" }],
    caps: [{ name: "sys/timer@1" }],
  }));
  assert.deepEqual(validateManifestNodes(builtins, fetchNodes()), []);
});

Deno.test("loadAirBundle() without a manifest checks nodes against each other, without manifest-only noise", () => {
  const files = fetchWorld({
    policy: { ...fetchPolicy, rules: [{ when: { cap_name: "nope" }, decision: "deny" }] },
  })
    .filter((f) => f.path !== MANIFEST_FILE);
  expectErrors(files, [{ code: "AIR_MANIFEST_MISSING" }]);
  const broken = [...files, { path: MANIFEST_FILE, text: JSON.stringify({ ...fetchManifest, plans: 3 }) }];
  expectErrors(broken, [{ code: "AIR_SHAPE", file: MANIFEST_FILE, path: "$.plans" }]);
});

Deno.test("validateWorld() gives the plan validator the listed world and forwards its diagnostics", () => {
  const sink = new DiagnosticSink();
  const parsed = parseFiles(
    fetchWorld({
      manifest: withDefaults({
        cap_grants: [{ ...httpGrant, params: { hosts: ["example.com"], verbs: ["GET"] } }],
      }),
    }),
    sink,
  );
  const entries = registerNodes(parsed, sink);
  const seen: PlanValidationContext[] = [];
  const validatePlan: PlanValidator = (plan, ctx) => {
    seen.push(ctx);
    return [
      {
        code: "AIR_PLAN_X",
        message: "x",
        file: ctx.file,
        path: jsonPath([...ctx.path, "steps", 1]),
        step: plan.steps[1]!.id,
      },
      { code: "AIR_PLAN_Y", message: "y", severity: "warning", def: plan.name },
    ];
  };
  const manifest = validateWorld({
    sink,
    entries,
    check: [...entries.values()],
    quiet: parsed.quiet,
    manifest: parsed.manifest!.node,
    manifestKnown: true,
    manifestFile: MANIFEST_FILE,
    manifestAt: [],
    validatePlan,
  });
  assert.equal(seen.length, 1);
  const ctx = seen[0]!;
  assert.deepEqual([ctx.file, ctx.path], [PLAN_FILE, []]);
  assert.ok(ctx.schemas.has("demo/FetchRequested@1") && ctx.schemas.has("sys/HttpRequestReceipt@1"));
  assert.equal(ctx.schemas.has("demo/Nope@1"), false);
  assert.deepEqual([...ctx.modules.keys()], ["demo/Fetcher@1"]);
  assert.equal(ctx.capTypeOf?.("sys/http.out@1"), "http.out");
  assert.equal(ctx.capTypeOf?.("demo/nope@1"), undefined);
  // The plan sees the resolved manifest: hashes filled, params tagged.
  assert.equal(ctx.manifest, manifest);
  assert.match(ctx.manifest.plans[0]?.hash ?? "", /^sha256:/);
  assert.deepEqual(ctx.manifest.defaults?.cap_grants?.[0]?.params, parseJson(JSON.stringify(httpParams)));
  assert.deepEqual(located(sink.diagnostics), [
    { code: "AIR_PLAN_X", file: PLAN_FILE, path: "$.steps[1]", step: "b_wait", def: "demo/fetch@1" },
    { code: "AIR_PLAN_Y", severity: "warning", def: "demo/fetch@1" },
  ]);
  // Without a real manifest, plans are not validated.
  const quietSink = new DiagnosticSink();
  validateWorld({
    sink: quietSink,
    entries,
    check: [...entries.values()],
    quiet: new Set(),
    manifest: parsed.manifest!.node,
    manifestKnown: false,
    manifestAt: [],
    validatePlan,
  });
  assert.equal(seen.length, 1);
});
