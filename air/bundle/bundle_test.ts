import assert from "node:assert/strict";
import { hashRefOf } from "../cbor/mod.ts";
import { builtinCapHash, builtinSchemaHash, nodeHash } from "../nodes/mod.ts";
import { expectErrors as expectDiagnostics, located } from "./_test_assert.ts";
import {
  type AirFile,
  checkModuleBlobs,
  formatDiagnostic,
  loadAirBundle,
  moduleWasmHashes,
} from "./bundle.ts";

const WASM = hashRefOf(new TextEncoder().encode("counter.wasm"));
const ZEROS = `sha256:${"0".repeat(64)}`;
const SCHEMAS_FILE = "air/schemas.air.json";
const MODULE_FILE = "air/counter.air.json";
const MANIFEST_FILE = "air/manifest.air.json";
const EXTRA_FILE = "air/z_extra.air.json"; // sorts after the other files

type Node = Record<string, unknown>;

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
const counterAbi = { state: "demo/CounterState@1", event: "demo/Increment@1" };
const counterModule: Node = {
  $kind: "defmodule",
  name: "demo/Counter@1",
  module_kind: "reducer",
  wasm_hash: WASM,
  abi: { reducer: counterAbi },
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

interface WorldParts {
  schemas?: Node[];
  module?: Node;
  manifest?: Node | null;
  extra?: Node | Node[];
  files?: AirFile[];
}

/** The counter world of AIR §20 in three files, with parts replaced or added. */
function world(parts: WorldParts = {}): AirFile[] {
  const files: AirFile[] = [
    { path: SCHEMAS_FILE, text: JSON.stringify(parts.schemas ?? [stateSchema, incrementSchema]) },
    { path: MODULE_FILE, text: JSON.stringify(parts.module ?? counterModule) },
  ];
  if (parts.manifest !== null) {
    files.push({ path: MANIFEST_FILE, text: JSON.stringify(parts.manifest ?? counterManifest) });
  }
  if (parts.extra !== undefined) files.push({ path: EXTRA_FILE, text: JSON.stringify(parts.extra) });
  return [...files, ...(parts.files ?? [])];
}

function withManifest(fields: Node): Node {
  return { ...counterManifest, ...fields };
}

function withAbi(fields: Node, moduleFields: Node = {}): Node {
  return { ...counterModule, ...moduleFields, abi: { reducer: { ...counterAbi, ...fields } } };
}

function expectValid(files: AirFile[]) {
  const { bundle, diagnostics } = loadAirBundle(files);
  assert.deepEqual(diagnostics.map(formatDiagnostic), []);
  assert.ok(bundle);
  return bundle;
}

const counterDef = { def: "demo/Counter@1" };

// --- The counter world ---------------------------------------------------------------------------------

Deno.test("loadAirBundle() loads the counter world of AIR §20 and fills the manifest hashes", () => {
  const bundle = expectValid(world());
  const state = bundle.nodes.get("defschema:demo/CounterState@1");
  const counter = bundle.nodes.get("defmodule:demo/Counter@1");
  assert.ok(state && counter);
  assert.deepEqual(bundle.manifest.schemas, [
    { name: "demo/CounterState@1", hash: state.hash },
    { name: "demo/Increment@1", hash: bundle.nodes.get("defschema:demo/Increment@1")?.hash },
  ]);
  assert.deepEqual(bundle.manifest.modules, [{ name: "demo/Counter@1", hash: counter.hash }]);
  assert.equal(state.hash, nodeHash(state.node));
  assert.equal(state.hash, "sha256:734d1d05744323e3712dd3fe33bf07c29b87378c51c99ba9ad4136837d902faf");
  assert.deepEqual([state.file, state.path, counter.file, counter.path], [
    SCHEMAS_FILE,
    "$[0]",
    MODULE_FILE,
    "$",
  ]);
  assert.equal(bundle.manifestHash, nodeHash(bundle.manifest));
  assert.deepEqual([bundle.manifestFile, bundle.manifestPath], [MANIFEST_FILE, "$"]);
});

Deno.test("loadAirBundle() gives a stable manifest hash whether hashes are omitted, zero or explicit", () => {
  const omitted = expectValid(world());
  const zeros = expectValid(world({
    manifest: withManifest({
      schemas: [{ name: "demo/CounterState@1", hash: ZEROS }, { name: "demo/Increment@1", hash: ZEROS }],
      modules: [{ name: "demo/Counter@1", hash: ZEROS }],
    }),
  }));
  const explicit = expectValid(world({ manifest: omitted.manifest as unknown as Node }));
  assert.equal(zeros.manifestHash, omitted.manifestHash);
  assert.equal(explicit.manifestHash, omitted.manifestHash);
  // The manifest hash depends on the WASM hash of the counter module (sha256 of "counter.wasm").
  assert.equal(omitted.manifestHash, expectValid(world()).manifestHash);
});

Deno.test("loadAirBundle() loads the counter world from one file holding an array, in any file order", () => {
  const single = expectValid([{
    path: "air/world.air.json",
    text: JSON.stringify([stateSchema, incrementSchema, counterModule, counterManifest]),
  }]);
  const split = expectValid(world());
  const reversed = expectValid(world().reverse());
  assert.equal(single.manifestHash, split.manifestHash);
  assert.equal(reversed.manifestHash, split.manifestHash);
  assert.equal(single.manifestPath, "$[3]");
});

Deno.test("loadAirBundle() hashes a manifest with an empty routing.events like one without routing", () => {
  const { routing: _routing, ...bare } = counterManifest;
  const empty = expectValid(world({ manifest: { ...bare, routing: { events: [] }, triggers: [] } }));
  assert.equal(empty.manifestHash, expectValid(world({ manifest: bare })).manifestHash);
});

// --- One valid and one invalid example per code ----------------------------------------------------------

Deno.test("AIR_JSON_INVALID: a syntax error or a float names the file (and the path when known)", () => {
  expectDiagnostics(world({ files: [{ path: EXTRA_FILE, text: "{" }] }), [
    { code: "AIR_JSON_INVALID", file: EXTRA_FILE },
  ]);
  expectDiagnostics(world({ files: [{ path: EXTRA_FILE, text: `[{"$kind":"defschema","x":1.5}]` }] }), [
    { code: "AIR_JSON_INVALID", file: EXTRA_FILE, path: "$[0].x" },
  ]);
  expectValid(world({ files: [{ path: EXTRA_FILE, text: "[]" }] }));
});

Deno.test("AIR_SHAPE: unknown fields and malformed types are reported at their path, without cascades", () => {
  expectDiagnostics(world({ module: { ...counterModule, extra: true } }), [
    { code: "AIR_SHAPE", file: MODULE_FILE, path: "$.extra", ...counterDef },
  ]);
  expectDiagnostics(
    world({
      schemas: [{ ...stateSchema, type: { record: { count: { nat: { max: 3 } } } } }, incrementSchema],
    }),
    [
      {
        code: "AIR_SHAPE",
        file: SCHEMAS_FILE,
        path: "$[0].type.record.count.nat",
        def: "demo/CounterState@1",
      },
    ],
  );
  expectDiagnostics(world({ files: [{ path: EXTRA_FILE, text: "7" }] }), [{
    code: "AIR_SHAPE",
    file: EXTRA_FILE,
    path: "$",
  }]);
  expectValid(world({ module: { ...counterModule, key_schema: undefined } }));
});

Deno.test("AIR_KIND_UNKNOWN, AIR_KIND_RESERVED: only AIR kinds are accepted and defmigration is reserved", () => {
  expectDiagnostics(world({ schemas: [stateSchema, incrementSchema, { $kind: "defthing" }] }), [
    { code: "AIR_KIND_UNKNOWN", file: SCHEMAS_FILE, path: "$[2].$kind" },
  ]);
  expectDiagnostics(world({ extra: [{ $kind: "defmigration", name: "demo/m@1" }] }), [
    { code: "AIR_KIND_RESERVED", file: EXTRA_FILE, path: "$[0].$kind", def: "demo/m@1" },
  ]);
  expectValid(world());
});

Deno.test("defplan, defcap and defpolicy nodes load; built-in defcaps may be listed with their hash", () => {
  const bundle = expectValid(world({
    extra: [
      { $kind: "defplan", name: "demo/p@1", input: "demo/Increment@1", steps: [{ id: "done", op: "end" }] },
      { $kind: "defpolicy", name: "demo/policy@1", rules: [] },
      { $kind: "defcap", name: "demo/timer@1", cap_type: "timer", schema: { record: {} } },
    ],
    manifest: withManifest({
      plans: [{ name: "demo/p@1" }],
      caps: [{ name: "demo/timer@1" }, { name: "sys/timer@1" }],
      policies: [{ name: "demo/policy@1" }],
    }),
  }));
  assert.equal(bundle.nodes.get("defplan:demo/p@1")?.kind, "defplan");
  assert.equal(bundle.nodes.get("defcap:demo/timer@1")?.path, "$[2]");
  assert.equal(bundle.manifest.caps[1]?.hash, builtinCapHash("sys/timer@1"));
  assert.equal(bundle.manifest.plans[0]?.hash, bundle.nodes.get("defplan:demo/p@1")?.hash);
});

Deno.test("AIR_NAME_INVALID: definition names, refs and identifiers follow AIR §1", () => {
  expectDiagnostics(world({ extra: { $kind: "defschema", name: "demo/Bad", type: { nat: {} } } }), [
    { code: "AIR_NAME_INVALID", file: EXTRA_FILE, path: "$.name", def: "demo/Bad" },
  ]);
  expectDiagnostics(
    world({
      manifest: withManifest({ routing: { events: [{ event: "Increment", reducer: "demo/Counter@1" }] } }),
    }),
    [
      { code: "AIR_NAME_INVALID", file: MANIFEST_FILE, path: "$.routing.events[0].event" },
    ],
  );
  expectValid(world({
    extra: { $kind: "defschema", name: "com.acme-x/rss_fetch.v2@12", type: { nat: {} } },
    manifest: withManifest({
      schemas: [...counterManifest.schemas as Node[], { name: "com.acme-x/rss_fetch.v2@12" }],
    }),
  }));
});

Deno.test("AIR_NAME_DUPLICATE: names are unique per kind, per manifest list and per grant", () => {
  expectDiagnostics(world({ extra: incrementSchema }), [
    { code: "AIR_NAME_DUPLICATE", file: EXTRA_FILE, path: "$.name", def: "demo/Increment@1" },
  ]);
  expectDiagnostics(
    world({
      manifest: withManifest({
        schemas: [...counterManifest.schemas as Node[], { name: "demo/Increment@1" }],
      }),
    }),
    [{ code: "AIR_NAME_DUPLICATE", file: MANIFEST_FILE, path: "$.schemas[2].name" }],
  );
  const grant = { name: "timer_grant", cap: "sys/timer@1", params: { record: {} } };
  expectDiagnostics(world({ manifest: withManifest({ defaults: { cap_grants: [grant, grant] } }) }), [
    { code: "AIR_NAME_DUPLICATE", file: MANIFEST_FILE, path: "$.defaults.cap_grants[1].name" },
  ]);
  // A schema and a module may share a name: uniqueness is per kind.
  expectValid(world({
    extra: { $kind: "defschema", name: "demo/Counter@1", type: { nat: {} } },
    manifest: withManifest({ schemas: [...counterManifest.schemas as Node[], { name: "demo/Counter@1" }] }),
  }));
});

Deno.test("AIR_SYS_RESERVED: user nodes may not use sys/, while the manifest may list built-ins", () => {
  expectDiagnostics(world({ extra: { $kind: "defschema", name: "sys/Mine@1", type: { nat: {} } } }), [
    { code: "AIR_SYS_RESERVED", file: EXTRA_FILE, path: "$.name", def: "sys/Mine@1" },
  ]);
  const bundle = expectValid(world({
    manifest: withManifest({ schemas: [...counterManifest.schemas as Node[], { name: "sys/TimerFired@1" }] }),
  }));
  assert.equal(bundle.manifest.schemas[2]?.hash, builtinSchemaHash("sys/TimerFired@1"));
});

Deno.test("AIR_SCHEMA_UNKNOWN: module ABI schemas and type refs resolve among listed schemas and built-ins", () => {
  expectDiagnostics(world({ module: withAbi({ state: "demo/Nope@1" }) }), [
    { code: "AIR_SCHEMA_UNKNOWN", file: MODULE_FILE, path: "$.abi.reducer.state", ...counterDef },
  ]);
  expectDiagnostics(
    world({
      schemas: [{ ...stateSchema, type: { record: { count: { ref: "demo/Nope@1" } } } }, incrementSchema],
    }),
    [{
      code: "AIR_SCHEMA_UNKNOWN",
      file: SCHEMAS_FILE,
      path: "$[0].type.record.count.ref",
      def: "demo/CounterState@1",
    }],
  );
  // Defined in the files but not listed in the manifest.
  const diagnostics = expectDiagnostics(
    world({
      module: withAbi({ annotations: "demo/Ann@1" }),
      extra: { $kind: "defschema", name: "demo/Ann@1", type: { text: {} } },
    }),
    [{ code: "AIR_SCHEMA_UNKNOWN", file: MODULE_FILE, path: "$.abi.reducer.annotations", ...counterDef }],
  );
  assert.match(diagnostics[0]?.message ?? "", /not listed/);
  const keyedRoute = withManifest({
    routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1", key_field: "by" }] },
  });
  expectDiagnostics(world({ module: withAbi({}, { key_schema: "demo/Key@1" }), manifest: keyedRoute }), [
    { code: "AIR_SCHEMA_UNKNOWN", file: MODULE_FILE, path: "$.key_schema", ...counterDef },
  ]);
  expectValid(world({
    schemas: [{
      ...stateSchema,
      type: { record: { count: { nat: {} }, last: { option: { ref: "sys/TimerFired@1" } } } },
    }, incrementSchema],
  }));
});

Deno.test("AIR_MODULE_UNKNOWN: routes and inboxes name listed reducer modules", () => {
  expectDiagnostics(
    world({
      manifest: withManifest({
        routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Nope@1" }] },
      }),
    }),
    [
      { code: "AIR_MODULE_UNKNOWN", file: MANIFEST_FILE, path: "$.routing.events[0].reducer" },
    ],
  );
  expectDiagnostics(world({ manifest: withManifest({ modules: [] }) }), [
    { code: "AIR_MODULE_UNKNOWN", file: MANIFEST_FILE, path: "$.routing.events[0].reducer" },
  ]);
  const inboxes = (reducer: string) => withManifest({ routing: { inboxes: [{ source: "mail", reducer }] } });
  expectDiagnostics(world({ manifest: inboxes("demo/Nope@1") }), [
    { code: "AIR_MODULE_UNKNOWN", file: MANIFEST_FILE, path: "$.routing.inboxes[0].reducer" },
  ]);
  expectValid(world({ manifest: inboxes("demo/Counter@1") }));
});

function listed(...schemas: Node[]): WorldParts {
  return {
    extra: schemas,
    manifest: withManifest({
      schemas: [...counterManifest.schemas as Node[], ...schemas.map((s) => ({ name: s["name"] }))],
    }),
  };
}

Deno.test("AIR_TYPE_CYCLE: ref cycles are reported for each schema on the loop", () => {
  expectDiagnostics(
    world(listed(
      { $kind: "defschema", name: "demo/A@1", type: { record: { b: { ref: "demo/B@1" } } } },
      { $kind: "defschema", name: "demo/B@1", type: { list: { ref: "demo/A@1" } } },
    )),
    [
      { code: "AIR_TYPE_CYCLE", file: EXTRA_FILE, path: "$[0].type.record.b.ref", def: "demo/A@1" },
      { code: "AIR_TYPE_CYCLE", file: EXTRA_FILE, path: "$[1].type.list.ref", def: "demo/B@1" },
    ],
  );
  expectDiagnostics(
    world(listed({ $kind: "defschema", name: "demo/L@1", type: { list: { ref: "demo/L@1" } } })),
    [
      { code: "AIR_TYPE_CYCLE", file: EXTRA_FILE, path: "$[0].type.list.ref", def: "demo/L@1" },
    ],
  );
  // A diamond is no cycle.
  expectValid(world(listed(
    {
      $kind: "defschema",
      name: "demo/A@1",
      type: { record: { b: { ref: "demo/B@1" }, c: { ref: "demo/C@1" } } },
    },
    { $kind: "defschema", name: "demo/B@1", type: { list: { ref: "demo/C@1" } } },
    { $kind: "defschema", name: "demo/C@1", type: { text: {} } },
  )));
});

Deno.test("AIR_TYPE_INVALID: map keys and set elements are comparable, no option<option<T>> or option<unit>", () => {
  const schema = (name: string, type: unknown): Node => ({ $kind: "defschema", name, type });
  expectDiagnostics(
    world(listed(schema("demo/M@1", { map: { key: { list: { nat: {} } }, value: { nat: {} } } }))),
    [
      { code: "AIR_TYPE_INVALID", file: EXTRA_FILE, path: "$[0].type.map.key", def: "demo/M@1" },
    ],
  );
  expectDiagnostics(world(listed(schema("demo/S@1", { set: { ref: "demo/Increment@1" } }))), [
    { code: "AIR_TYPE_INVALID", file: EXTRA_FILE, path: "$[0].type.set", def: "demo/S@1" },
  ]);
  expectDiagnostics(
    world(listed(schema("demo/O@1", { record: { o: { option: { option: { nat: {} } } } } }))),
    [
      { code: "AIR_TYPE_INVALID", file: EXTRA_FILE, path: "$[0].type.record.o", def: "demo/O@1" },
    ],
  );
  expectDiagnostics(
    world(listed(schema("demo/U@1", { unit: {} }), schema("demo/O@1", { option: { ref: "demo/U@1" } }))),
    [
      { code: "AIR_TYPE_INVALID", file: EXTRA_FILE, path: "$[1].type", def: "demo/O@1" },
    ],
  );
  expectValid(world(listed(
    schema("demo/Key@1", { text: {} }),
    schema("demo/V@1", {
      record: {
        m: { map: { key: { ref: "demo/Key@1" }, value: { option: { ref: "demo/Increment@1" } } } },
        s: { set: { uuid: {} } },
        v: { variant: { None: { unit: {} }, Some: { option: { list: { unit: {} } } } } },
      },
    }),
  )));
});

Deno.test("AIR_MANIFEST_MISSING, AIR_MANIFEST_DUPLICATE: exactly one manifest across the files", () => {
  expectDiagnostics(world({ manifest: null }), [{ code: "AIR_MANIFEST_MISSING" }]);
  expectDiagnostics(world({ extra: counterManifest }), [{
    code: "AIR_MANIFEST_DUPLICATE",
    file: EXTRA_FILE,
    path: "$",
  }]);
  expectDiagnostics(world({ extra: [{ $kind: "manifest" }] }), [
    { code: "AIR_MANIFEST_DUPLICATE", file: EXTRA_FILE, path: "$[0]" },
    { code: "AIR_SHAPE", file: EXTRA_FILE, path: "$[0].schemas" },
    { code: "AIR_SHAPE", file: EXTRA_FILE, path: "$[0].modules" },
    { code: "AIR_SHAPE", file: EXTRA_FILE, path: "$[0].plans" },
    { code: "AIR_SHAPE", file: EXTRA_FILE, path: "$[0].caps" },
    { code: "AIR_SHAPE", file: EXTRA_FILE, path: "$[0].policies" },
  ]);
});

Deno.test("AIR_MANIFEST_HASH_MISMATCH: a manifest given an explicit wrong hash is reported", () => {
  const wrong = `sha256:${"1".repeat(64)}`;
  const diagnostics = expectDiagnostics(
    world({ manifest: withManifest({ modules: [{ name: "demo/Counter@1", hash: wrong }] }) }),
    [
      { code: "AIR_MANIFEST_HASH_MISMATCH", file: MANIFEST_FILE, path: "$.modules[0].hash" },
    ],
  );
  assert.match(diagnostics[0]?.message ?? "", new RegExp(wrong));
  expectDiagnostics(
    world({
      manifest: withManifest({
        schemas: [{ name: "demo/CounterState@1" }, { name: "demo/Increment@1", hash: wrong }],
      }),
    }),
    [
      { code: "AIR_MANIFEST_HASH_MISMATCH", file: MANIFEST_FILE, path: "$.schemas[1].hash" },
    ],
  );
  const right = expectValid(world()).manifest.modules[0]?.hash;
  expectValid(world({ manifest: withManifest({ modules: [{ name: "demo/Counter@1", hash: right }] }) }));
});

Deno.test("AIR_REF_UNKNOWN: manifest refs, the default policy and grants resolve", () => {
  expectDiagnostics(
    world({
      manifest: withManifest({ schemas: [...counterManifest.schemas as Node[], { name: "demo/Nope@1" }] }),
    }),
    [
      { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.schemas[2].name" },
    ],
  );
  expectDiagnostics(
    world({
      manifest: withManifest({ schemas: [...counterManifest.schemas as Node[], { name: "sys/Nope@1" }] }),
    }),
    [
      { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.schemas[2].name" },
    ],
  );
  expectDiagnostics(world({ manifest: withManifest({ defaults: { policy: "demo/policy@1" } }) }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.policy" },
  ]);
  expectDiagnostics(
    world({
      manifest: withManifest({ defaults: { cap_grants: [{ name: "g", cap: "demo/cap@1", params: {} }] } }),
    }),
    [
      { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.defaults.cap_grants[0].cap" },
    ],
  );
  expectValid(
    world({
      manifest: withManifest({ defaults: { cap_grants: [{ name: "g", cap: "sys/blob@1", params: {} }] } }),
    }),
  );
});

Deno.test("AIR_ROUTE_NOT_ACCEPTED: routed schemas pass the acceptance rule of AIR §8", () => {
  const route = (...events: Array<[string, string]>) =>
    withManifest({
      schemas: [...counterManifest.schemas as Node[], { name: "demo/Reset@1" }, {
        name: "demo/CounterEvent@1",
      }],
      routing: { events: events.map(([event, reducer]) => ({ event, reducer })) },
    });
  const family: Node[] = [
    { $kind: "defschema", name: "demo/Reset@1", type: { record: {} } },
    {
      $kind: "defschema",
      name: "demo/CounterEvent@1",
      type: {
        variant: {
          Increment: { ref: "demo/Increment@1" },
          Reset: { ref: "demo/Reset@1" },
          Noop: { unit: {} },
        },
      },
    },
  ];
  expectDiagnostics(world({ extra: family, manifest: route(["demo/CounterState@1", "demo/Counter@1"]) }), [
    { code: "AIR_ROUTE_NOT_ACCEPTED", file: MANIFEST_FILE, path: "$.routing.events[0]" },
  ]);
  expectDiagnostics(
    world({
      extra: family,
      manifest: route(["demo/Increment@1", "demo/Counter@1"], ["sys/TimerFired@1", "demo/Counter@1"]),
    }),
    [
      { code: "AIR_ROUTE_NOT_ACCEPTED", file: MANIFEST_FILE, path: "$.routing.events[1]" },
    ],
  );
  // The event itself, an alternative {"ref": E} of a variant event, and the receipt event of an emitted kind.
  expectValid(world({
    extra: family,
    module: withAbi({ event: "demo/CounterEvent@1", effects_emitted: ["timer.set"] }),
    manifest: route(
      ["demo/CounterEvent@1", "demo/Counter@1"],
      ["demo/Increment@1", "demo/Counter@1"],
      ["demo/Reset@1", "demo/Counter@1"],
      ["sys/TimerFired@1", "demo/Counter@1"],
    ),
  }));
});

Deno.test("AIR_KEY_FIELD: key_field names a record field of the key schema's type; keyed modules route keyed", () => {
  const keyed = (eventFields: Node, routeFields: Node[], effects: string[] = []) =>
    world({
      schemas: [stateSchema, { ...incrementSchema, type: { record: { by: { nat: {} }, ...eventFields } } }],
      extra: { $kind: "defschema", name: "demo/Id@1", type: { text: {} } },
      module: withAbi({ effects_emitted: effects }, { key_schema: "demo/Id@1" }),
      manifest: withManifest({
        schemas: [...counterManifest.schemas as Node[], { name: "demo/Id@1" }],
        routing: { events: routeFields.map((fields) => ({ reducer: "demo/Counter@1", ...fields })) },
      }),
    });
  expectDiagnostics(keyed({ id: { text: {} } }, [{ event: "demo/Increment@1" }]), [
    { code: "AIR_KEY_FIELD", file: MANIFEST_FILE, path: "$.routing.events[0]" },
  ]);
  expectDiagnostics(keyed({ id: { text: {} } }, [{ event: "demo/Increment@1", key_field: "name" }]), [
    { code: "AIR_KEY_FIELD", file: MANIFEST_FILE, path: "$.routing.events[0].key_field" },
  ]);
  expectDiagnostics(keyed({ id: { nat: {} } }, [{ event: "demo/Increment@1", key_field: "id" }]), [
    { code: "AIR_KEY_FIELD", file: MANIFEST_FILE, path: "$.routing.events[0].key_field" },
  ]);
  expectValid(keyed({ id: { text: {} } }, [{ event: "demo/Increment@1", key_field: "id" }]));
  // The same type through a ref, and a receipt event (delivered to its cell) needs no key field.
  expectValid(keyed({ id: { ref: "demo/Id@1" } }, [{ event: "demo/Increment@1", key_field: "id" }, {
    event: "sys/TimerFired@1",
  }], ["timer.set"]));
  // A module without key_schema may be routed keyed by any field.
  expectValid(
    world({
      manifest: withManifest({
        routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1", key_field: "by" }] },
      }),
    }),
  );
});

Deno.test("AIR_CORRELATE_BY: a trigger's correlate_by is a field path of its event", () => {
  const trigger = (correlateBy: string) =>
    world({
      extra: {
        $kind: "defplan",
        name: "demo/p@1",
        input: "demo/Increment@1",
        steps: [{ id: "done", op: "end" }],
      },
      manifest: withManifest({
        plans: [{ name: "demo/p@1" }],
        triggers: [{ event: "demo/Increment@1", plan: "demo/p@1", correlate_by: correlateBy }],
      }),
    });
  expectDiagnostics(trigger("request_id"), [
    { code: "AIR_CORRELATE_BY", file: MANIFEST_FILE, path: "$.triggers[0].correlate_by" },
  ]);
  expectDiagnostics(trigger("by.x"), [
    { code: "AIR_CORRELATE_BY", file: MANIFEST_FILE, path: "$.triggers[0].correlate_by" },
  ]);
  expectValid(trigger("by"));
  expectDiagnostics(
    world({ manifest: withManifest({ triggers: [{ event: "demo/Increment@1", plan: "demo/p@1" }] }) }),
    [{ code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: "$.triggers[0].plan" }],
  );
});

Deno.test("AIR_EFFECT_NOT_MICRO: reducers emit only blob.put, blob.get and timer.set", () => {
  expectDiagnostics(world({ module: withAbi({ effects_emitted: ["blob.put", "llm.generate"] }) }), [
    {
      code: "AIR_EFFECT_NOT_MICRO",
      file: MODULE_FILE,
      path: "$.abi.reducer.effects_emitted[1]",
      ...counterDef,
    },
  ]);
  expectValid(world({ module: withAbi({ effects_emitted: ["blob.put", "blob.get", "timer.set"] }) }));
});

Deno.test("AIR_BINDING_SLOT, AIR_CAP_TYPE_MISMATCH: bindings name declared slots and grants of their cap type", () => {
  const bound = (slots: Record<string, string>, cap = "sys/timer@1") =>
    world({
      module: withAbi({ effects_emitted: ["timer.set"], cap_slots: { timer: "timer" } }),
      manifest: withManifest({
        defaults: { cap_grants: [{ name: "timer_grant", cap, params: { record: {} } }] },
        module_bindings: { "demo/Counter@1": { slots } },
      }),
    });
  expectValid(bound({ timer: "timer_grant", default: "timer_grant" }));
  expectDiagnostics(bound({ other: "timer_grant" }), [
    {
      code: "AIR_BINDING_SLOT",
      file: MANIFEST_FILE,
      path: '$.module_bindings["demo/Counter@1"].slots.other',
    },
  ]);
  expectDiagnostics(bound({ timer: "timer_grant" }, "sys/blob@1"), [
    {
      code: "AIR_CAP_TYPE_MISMATCH",
      file: MANIFEST_FILE,
      path: '$.module_bindings["demo/Counter@1"].slots.timer',
    },
  ]);
  expectDiagnostics(bound({ timer: "nope" }), [
    { code: "AIR_REF_UNKNOWN", file: MANIFEST_FILE, path: '$.module_bindings["demo/Counter@1"].slots.timer' },
  ]);
});

Deno.test("AIR_WASM_MISSING: checkModuleBlobs() reports listed modules whose blob is absent", () => {
  const bundle = expectValid(world());
  assert.deepEqual(moduleWasmHashes(bundle), [
    { module: "demo/Counter@1", wasmHash: WASM, file: MODULE_FILE, path: "$.wasm_hash" },
  ]);
  assert.deepEqual(checkModuleBlobs(bundle, (hash) => hash === WASM), []);
  assert.deepEqual(located(checkModuleBlobs(bundle, () => false)), [
    { code: "AIR_WASM_MISSING", file: MODULE_FILE, path: "$.wasm_hash", ...counterDef },
  ]);
});

// --- Several defects at once --------------------------------------------------------------------------

Deno.test("loadAirBundle() reports every defect of a folder in one pass", () => {
  const files: AirFile[] = [
    {
      path: "air/a_schemas.air.json",
      text: JSON.stringify([
        stateSchema,
        incrementSchema,
        { $kind: "defschema", name: "demo/Bad@1", type: { map: { key: { bytes: {} }, value: { nat: {} } } } },
        { $kind: "defschema", name: "sys/Mine@1", type: { nat: {} } },
      ]),
    },
    { path: "air/b_broken.air.json", text: `{"$kind": "defschema", ` },
    {
      path: MODULE_FILE,
      text: JSON.stringify(withAbi({ annotations: "demo/Nope@1", effects_emitted: ["http.request"] })),
    },
    {
      path: MANIFEST_FILE,
      text: JSON.stringify(withManifest({
        schemas: [...counterManifest.schemas as Node[], { name: "demo/Bad@1" }, { name: "demo/Ghost@1" }],
        modules: [{ name: "demo/Counter@1", hash: `sha256:${"2".repeat(64)}` }],
        routing: {
          events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }, {
            event: "demo/CounterState@1",
            reducer: "demo/Counter@1",
          }],
        },
      })),
    },
    { path: "air/y_more.air.json", text: JSON.stringify({ $kind: "defmodule", name: "demo/Other@1" }) },
  ];
  const diagnostics = loadAirBundle(files).diagnostics;
  const byCode = located(diagnostics).map((d) => `${d.code} ${d.file}:${d.path}`).sort();
  assert.deepEqual(byCode, [
    "AIR_EFFECT_NOT_MICRO air/counter.air.json:$.abi.reducer.effects_emitted[0]",
    "AIR_JSON_INVALID air/b_broken.air.json:undefined",
    "AIR_MANIFEST_HASH_MISMATCH air/manifest.air.json:$.modules[0].hash",
    "AIR_REF_UNKNOWN air/manifest.air.json:$.schemas[3].name",
    "AIR_ROUTE_NOT_ACCEPTED air/manifest.air.json:$.routing.events[1]",
    "AIR_SCHEMA_UNKNOWN air/counter.air.json:$.abi.reducer.annotations",
    "AIR_SHAPE air/y_more.air.json:$.abi",
    "AIR_SHAPE air/y_more.air.json:$.module_kind",
    "AIR_SHAPE air/y_more.air.json:$.wasm_hash",
    "AIR_SYS_RESERVED air/a_schemas.air.json:$[3].name",
    "AIR_TYPE_INVALID air/a_schemas.air.json:$[2].type.map.key",
  ]);
  // Deterministic: the same files in another order give the same diagnostics in the same order.
  assert.deepEqual(loadAirBundle([...files].reverse()).diagnostics, diagnostics);
});

Deno.test("formatDiagnostic() writes file:path: [CODE] message (def NAME)", () => {
  assert.equal(
    formatDiagnostic({
      code: "AIR_SHAPE",
      message: 'Unknown field "x"',
      file: "a.json",
      path: "$[1].x",
      def: "demo/A@1",
    }),
    'a.json:$[1].x: [AIR_SHAPE] Unknown field "x" (def demo/A@1)',
  );
  assert.equal(
    formatDiagnostic({ code: "AIR_MANIFEST_MISSING", message: "No manifest" }),
    "[AIR_MANIFEST_MISSING] No manifest",
  );
  assert.equal(
    formatDiagnostic({ code: "AIR_X", message: "m", file: "f", def: "demo/p@1", step: "s1" }),
    "f: [AIR_X] m (def demo/p@1, step s1)",
  );
});
