/**
 * Private to `kernel/` tests: small worlds with plans, built from AIR text through the bundle loader,
 * and the journal entries that drive them (manual starts, receipts, cancels).
 *
 * Every world has the counter (`demo/Counter@1` on `demo/Increment@1`) and the relay (`test/Relay@1` on
 * `test/Ping@1`, which re-emits `Ping{n-1}` while `n > 0`), and the plan schemas `test/Start@1
 * {id: text, n: nat}`, `test/Reply@1 {id: text, n: nat}`, `test/Result@1 {total: nat}`, `test/Nat@1`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type CapGrant,
  type CborValue,
  type DefPlan,
  encodeCanonical,
  formatDiagnostic,
  hashRefToBytes,
  loadAirBundle,
  parseJson,
} from "../air/mod.ts";
import { defsFromBundle } from "./defs.ts";
import { idempotencyKey } from "./effect_manager.ts";
import { genesisEntry, T0_NS, wasmBytes, wasmHash } from "./_test_fixtures.ts";
import { type DerivedRecord, Kernel, type KernelEntry, type WorldDefs } from "./kernel.ts";
import { ReducerHost } from "./reducer_host.ts";
import { intentHash as intentHashOf } from "./intent_hash.ts";

/** The intent hash of positional parts (the tests' shorthand). */
function intentHash(
  kind: string,
  capName: string,
  params: Uint8Array,
  idempotencyKey: Uint8Array,
): Uint8Array {
  return intentHashOf({ kind: kind as never, capName, params, idempotencyKey });
}

/** The plan input schema of the test worlds. */
export const START = "test/Start@1";
/** The plan output schema of the test worlds. */
export const RESULT = "test/Result@1";

/** What a test world adds to the base world. */
export interface PlanWorldSpec {
  /** Plans listed in the manifest (validated by the bundle loader). */
  plans?: unknown[];
  /** Plans added to the defs after loading, bypassing validation (for runtime-only failures). */
  rawPlans?: unknown[];
  triggers?: Array<{ event: string; plan: string; correlate_by?: string }>;
  grants?: Array<{ name: string; cap: string; params: unknown }>;
  /** Rules of the default policy `test/policy@1`; no policy allows everything. */
  policy?: unknown[];
  /** Replaces the grants after loading (a world whose plans validated against other grants). */
  liveGrants?: Array<{ name: string; cap: string; params: unknown }>;
}

const SCHEMAS: Array<[string, unknown]> = [
  ["demo/CounterState@1", { record: { count: { nat: {} } } }],
  ["demo/Increment@1", { record: { by: { nat: {} } } }],
  ["test/RelayState@1", { record: { seen: { nat: {} } } }],
  ["test/Ping@1", { record: { n: { nat: {} } } }],
  ["test/Start@1", { record: { id: { text: {} }, n: { nat: {} } } }],
  ["test/Reply@1", { record: { id: { text: {} }, n: { nat: {} } } }],
  ["test/Result@1", { record: { total: { nat: {} } } }],
  ["test/Nat@1", { nat: {} }],
];

function module(name: string, wasm: "counter" | "relay", state: string, event: string): unknown {
  return {
    $kind: "defmodule",
    name,
    module_kind: "reducer",
    wasm_hash: wasmHash(wasm),
    abi: { reducer: { state, event } },
  };
}

/** JSON with integers as bigints, as the loader produces it. */
export function json<T>(value: unknown): T {
  return parseJson(JSON.stringify(value)) as unknown as T;
}

/** Given: a kernel for the base world plus `spec`, after genesis. */
export function givenPlanWorld(
  spec: PlanWorldSpec = {},
): { kernel: Kernel; defs: WorldDefs; host: ReducerHost } {
  const plans = spec.plans ?? [];
  const manifest = {
    $kind: "manifest",
    schemas: SCHEMAS.map(([name]) => ({ name })),
    modules: [{ name: "demo/Counter@1" }, { name: "test/Relay@1" }],
    plans: plans.map((p) => ({ name: (p as { name: string }).name })),
    caps: [],
    policies: spec.policy ? [{ name: "test/policy@1" }] : [],
    routing: {
      events: [
        { event: "demo/Increment@1", reducer: "demo/Counter@1" },
        { event: "test/Ping@1", reducer: "test/Relay@1" },
      ],
    },
    triggers: spec.triggers ?? [],
    defaults: { ...(spec.policy ? { policy: "test/policy@1" } : {}), cap_grants: spec.grants ?? [] },
  };
  const nodes = [
    manifest,
    ...SCHEMAS.map(([name, type]) => ({ $kind: "defschema", name, type })),
    module("demo/Counter@1", "counter", "demo/CounterState@1", "demo/Increment@1"),
    module("test/Relay@1", "relay", "test/RelayState@1", "test/Ping@1"),
    ...plans,
    ...(spec.policy ? [{ $kind: "defpolicy", name: "test/policy@1", rules: spec.policy }] : []),
  ];
  const { bundle, diagnostics } = loadAirBundle([{ path: "world.air.json", text: JSON.stringify(nodes) }]);
  if (!bundle || diagnostics.length > 0) {
    throw new Error(`Test AIR does not validate:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const host = new ReducerHost();
  const wasm = new Map(
    [wasmHash("counter"), wasmHash("relay")].map((h, i) => [h, wasmBytes(i === 0 ? "counter" : "relay")]),
  );
  let defs = defsFromBundle(bundle, host, (hash) => wasm.get(hash));
  if (spec.rawPlans !== undefined) {
    const extra = spec.rawPlans.map((p) => json<DefPlan>(p));
    defs = { ...defs, plans: new Map([...defs.plans, ...extra.map((p): [string, DefPlan] => [p.name, p])]) };
  }
  if (spec.liveGrants !== undefined) {
    const cap_grants = json<CapGrant[]>(spec.liveGrants);
    defs = { ...defs, manifest: { ...defs.manifest, defaults: { ...defs.manifest.defaults, cap_grants } } };
  }
  const kernel = new Kernel(defs, host);
  kernel.apply(genesisEntry(defs));
  return { kernel, defs, host };
}

/** The ingress time of the input at `seq`. */
export function ingress(seq: number): bigint {
  return T0_NS + BigInt(seq);
}

/** A `plan_start_requested` input; `input` and locals are plain CBOR values. */
export function startRequest(
  seq: number,
  plan: string,
  input: CborValue,
  locals?: Record<string, CborValue>,
): KernelEntry {
  const body: { [key: string]: CborValue } = {
    plan,
    input: encodeCanonical(input),
    ingress_ns: ingress(seq),
  };
  if (locals !== undefined) {
    body.locals = Object.fromEntries(
      Object.entries(locals).map(([name, value]) => [name, encodeCanonical(value)]),
    );
  }
  return { seq, kind: "plan_start_requested", body };
}

/** A `receipt_appended` input for an intent queued at `fenceHeight`. */
export function receiptEntry(
  seq: number,
  intent: Uint8Array,
  fenceHeight: number,
  status: "ok" | "error" | "timeout",
  payload: CborValue | undefined,
): KernelEntry {
  return {
    seq,
    kind: "receipt_appended",
    body: {
      intent_hash: intent,
      adapter_id: "timer.test",
      status,
      payload: payload === undefined ? new Uint8Array() : encodeCanonical(payload),
      fence: { generation: 0n, height: BigInt(fenceHeight) },
      signature: new Uint8Array(64),
      ingress_ns: ingress(seq),
    },
  };
}

/** A `plan_cancel_requested` input. */
export function cancelEntry(seq: number, id: number, reason?: string): KernelEntry {
  const body: { [key: string]: CborValue } = { instance_id: id, ingress_ns: ingress(seq) };
  if (reason !== undefined) body.reason = reason;
  return { seq, kind: "plan_cancel_requested", body };
}

/** The intent hash and idempotency key a plan step's effect gets. */
export function planIntent(
  plan: string,
  instanceId: bigint,
  step: string,
  kind: string,
  cap: string,
  params: CborValue,
): { hash: Uint8Array; key: Uint8Array; params: Uint8Array } {
  const key = idempotencyKey({ kind: "plan", name: plan, instanceId, step });
  const bytes = encodeCanonical(params);
  return { hash: intentHash(kind, cap, bytes, key), key, params: bytes };
}

/** Replaces strings of `actual` where `expected` holds a RegExp they match, so deepEqual can compare. */
function matching(actual: unknown, expected: unknown): unknown {
  if (expected instanceof RegExp && typeof actual === "string") {
    return expected.test(actual) ? expected : actual;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((a, i) => matching(a, expected[i]));
  if (
    expected !== null && typeof expected === "object" && !(expected instanceof Uint8Array) &&
    actual !== null &&
    typeof actual === "object" && !(actual instanceof Uint8Array) && !Array.isArray(actual)
  ) {
    const e = expected as Record<string, unknown>;
    return Object.fromEntries(Object.entries(actual).map(([k, v]) => [k, matching(v, e[k])]));
  }
  return actual;
}

/** Asserts the exact derived records (a RegExp in `expected` matches a message). */
export function assertRecords(actual: DerivedRecord[], expected: unknown[]): void {
  assert.deepEqual(matching(actual, expected), expected);
}

/** The `plan_started` record an instance journals. */
export function planStarted(
  defs: WorldDefs,
  seq: number,
  id: bigint,
  plan: string,
  input: CborValue,
  cause: { trigger_seq: number } | { request_seq: number },
  correlation?: CborValue,
): DerivedRecord {
  const body: { [key: string]: CborValue } = {
    instance_id: id,
    plan,
    manifest_hash: hashRefToBytes(defs.manifestHash),
    input: encodeCanonical(input),
    cause,
  };
  if (correlation !== undefined) body.correlation = encodeCanonical(correlation);
  return { seq, kind: "plan_started", body };
}

/** A `plan_ended` ok record, with the result as a plain CBOR value of `output`. */
export function endedOk(seq: number, id: bigint, result?: CborValue, output = RESULT): DerivedRecord {
  const body: { [key: string]: CborValue } = { instance_id: id, status: "ok" };
  if (result !== undefined) Object.assign(body, { result: encodeCanonical(result), output_schema: output });
  return { seq, kind: "plan_ended", body };
}

/** A `plan_ended` error record (`message` may be a RegExp). */
export function endedError(
  seq: number,
  id: bigint,
  code: string,
  message: string | RegExp,
  step?: string,
): unknown {
  const error = step === undefined ? { code, message } : { code, message, step };
  return { seq, kind: "plan_ended", body: { instance_id: id, status: "error", error } };
}
