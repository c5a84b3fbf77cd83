import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  bytesToHashRef,
  type CborValue,
  effectSpec,
  encodeCanonical,
  encodeTyped,
  formatDiagnostic,
  fromHex,
  limits,
  loadAirBundle,
  parseJson,
  sha256,
  toHex,
  valueFromJson,
} from "../air/mod.ts";
import { hasCode } from "./_test_fixtures.ts";
import { defsFromBundle } from "./defs.ts";
import { BudgetLedger } from "./budgets.ts";
import {
  defcapOf,
  EffectManager,
  type EffectOrigin,
  type GateResult,
  idempotencyKey,
  originCbor,
  type OutboxEntry,
} from "./effect_manager.ts";
import type { KernelRecord, WorldDefs } from "./kernel.ts";
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

// ---------------------------------------------------------------------------------------------------------
// A control plane without reducers, built from AIR text through the bundle loader:
// - `timer_cap`: sys/timer@1;
// - `old_blob`: sys/blob@1 expiring at 1000 ns (expired and of the wrong type for timer.set);
// - `blob_cap`: sys/blob@1 limited to namespace "in";
// - `web`: the user defcap test/web@1 (an http.out alias): GET on api.example.com only.
// The policy (when asked for) denies timers from reducers, allows other timers, allows GET to
// example.com hosts and has no rule for anything else.

const HTTP_OUT_SCHEMA = {
  record: {
    hosts: { set: { text: {} } },
    verbs: { set: { text: {} } },
    path_prefixes: { option: { set: { text: {} } } },
  },
};

const POLICY = "test/policy@1";

function givenDefs(options: { policy: boolean }): WorldDefs {
  const nodes = [
    {
      $kind: "manifest",
      schemas: [],
      modules: [],
      plans: [],
      caps: [{ name: "test/web@1" }],
      policies: options.policy ? [{ name: POLICY }] : [],
      routing: { events: [] },
      triggers: [],
      defaults: {
        ...(options.policy ? { policy: POLICY } : {}),
        cap_grants: [
          { name: "timer_cap", cap: "sys/timer@1", params: { record: {} } },
          { name: "old_blob", cap: "sys/blob@1", params: { record: {} }, expiry_ns: 1000 },
          {
            name: "blob_cap",
            cap: "sys/blob@1",
            params: { record: { namespaces: { set: [{ text: "in" }] } } },
          },
          {
            name: "web",
            cap: "test/web@1",
            params: {
              record: { hosts: { set: [{ text: "api.example.com" }] }, verbs: { set: [{ text: "GET" }] } },
            },
          },
        ],
      },
    },
    { $kind: "defcap", name: "test/web@1", cap_type: "http.out", schema: HTTP_OUT_SCHEMA },
    ...(options.policy
      ? [{
        $kind: "defpolicy",
        name: POLICY,
        rules: [
          { when: { effect_kind: "timer.set", origin_kind: "reducer" }, decision: "deny" },
          { when: { effect_kind: "timer.set" }, decision: "allow" },
          { when: { host: "example.com", method: "get" }, decision: "allow" },
        ],
      }]
      : []),
  ];
  const { bundle, diagnostics } = loadAirBundle([{ path: "world.air.json", text: JSON.stringify(nodes) }]);
  if (!bundle || diagnostics.length > 0) {
    throw new Error(`Test AIR does not validate:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  return defsFromBundle(bundle, new ReducerHost(), () => undefined);
}

const WITH_POLICY = givenDefs({ policy: true });
const NO_POLICY = givenDefs({ policy: false });

/** Canonical params of `kind` from their plain JSON form. */
function params(kind: string, plain: unknown): Uint8Array {
  const type = { ref: effectSpec(kind)!.params };
  const value = valueFromJson(type, parseJson(JSON.stringify(plain)), NO_POLICY.schemas, [], {
    form: "plain",
  });
  return encodeTyped(type, value, NO_POLICY.schemas);
}

const PLAN: EffectOrigin = { kind: "plan", name: "test/p@1", instanceId: 1n, step: "a_emit" };
const PLAN_CBOR = { kind: "plan", name: "test/p@1", instance_id: 1n, step: "a_emit" };
const REDUCER: EffectOrigin = { kind: "reducer", name: "test/R@1", key: null, eventSeq: 7 };

const TIMER = params("timer.set", { deliver_at_ns: 1000, key: "retry" });
const HTTP_OK = params("http.request", {
  method: "get",
  url: "https://api.example.com/v1",
  headers: {},
  body_ref: null,
});
const HTTP_OTHER_HOST = params("http.request", {
  method: "GET",
  url: "https://evil.example.org/",
  headers: {},
  body_ref: null,
});
const BLOB_PUT_OUT = params("blob.put", { namespace: "out", blob_ref: `sha256:${"ab".repeat(32)}` });

function request(kind: string, capName: string, bytes: Uint8Array, origin: EffectOrigin = PLAN) {
  return { kind, capName, params: bytes, origin };
}

function ctx(defs: WorldDefs, nowNs = 0n, generation = 0n) {
  return { defs, nowNs, generation };
}

function hashOf(kind: string, cap: string, bytes: Uint8Array, origin: EffectOrigin = PLAN): Uint8Array {
  return intentHash(kind, cap, bytes, idempotencyKey(origin));
}

/** Asserts a rejection at `stage` with exactly one `effect_rejected` record (reason matched by `reason`). */
function assertRejected(
  result: GateResult,
  expected: {
    stage: string;
    kind: string;
    cap: string;
    origin?: CborValue;
    hash: Uint8Array | undefined;
    reason: RegExp;
  },
): void {
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.stage, expected.stage);
  assert.match(result.reason, expected.reason);
  assert.deepEqual(result.intentHash, expected.hash);
  assert.equal("intentHash" in result, expected.hash !== undefined);
  const body: { [key: string]: CborValue } = {
    kind: expected.kind,
    cap_name: expected.cap,
    origin: expected.origin ?? PLAN_CBOR,
    stage: expected.stage,
    reason: result.reason,
  };
  if (expected.hash !== undefined) body.intent_hash = expected.hash;
  assert.deepEqual(result.records, [{ kind: "effect_rejected", body }]);
}

const sha256Hex = (hex: string) => createHash("sha256").update(fromHex(hex)).digest("hex");

// ---------------------------------------------------------------------------------------------------------
// Identity (AIR §9.4)

Deno.test("intentHash() matches the AIR §9.4 vector", () => {
  const bytes = fromHex("a2636b65796572657472796d64656c697665725f61745f6e731903e8");
  assert.equal(toHex(TIMER), toHex(bytes)); // the typed encoder gives the vector's params bytes
  assert.equal(
    bytesToHashRef(intentHash("timer.set", "timer_cap", bytes, new Uint8Array(32))),
    "sha256:8630fa99c34ebb35edcfcf503aee8819f0ffdb1c2f763f2882c7ae22cd78e547",
  );
});

Deno.test("intentHash() changes with each of kind, cap, params and idempotency key", () => {
  const key = new Uint8Array(32);
  const base = toHex(intentHash("timer.set", "timer_cap", TIMER, key));
  const variants = [
    intentHash("blob.get", "timer_cap", TIMER, key),
    intentHash("timer.set", "timer_cap2", TIMER, key),
    intentHash("timer.set", "timer_cap", params("timer.set", { deliver_at_ns: 1001, key: "retry" }), key),
    intentHash("timer.set", "timer_cap", TIMER, new Uint8Array(32).fill(1)),
  ].map(toHex);
  assert.equal(new Set([base, ...variants]).size, 5);
});

Deno.test("idempotencyKey() of a plan step is sha256 of {origin, plan, instance, step}", () => {
  // {"plan": "test/p@1", "step": "a_emit", "origin": "plan", "instance": 1} in canonical key order
  const preimage = "a4" + "64706c616e" + "68746573742f704031" + "6473746570" + "66615f656d6974" +
    "666f726967696e" + "64706c616e" + "68696e7374616e6365" + "01";
  assert.equal(toHex(idempotencyKey(PLAN)), sha256Hex(preimage));
});

Deno.test("idempotencyKey() of a reducer step is sha256 of {origin, reducer, event_seq}, plus key for a cell", () => {
  // {"origin": "reducer", "reducer": "test/R@1", "event_seq": 7}
  const plain = "a3" + "666f726967696e" + "6772656475636572" + "6772656475636572" + "68746573742f524031" +
    "696576656e745f736571" + "07";
  assert.equal(toHex(idempotencyKey(REDUCER)), sha256Hex(plain));
  // {"key": h'6b31', "origin": "reducer", "reducer": "test/R@1", "event_seq": 7}
  const cell = "a4" + "636b6579" + "426b31" + "666f726967696e" + "6772656475636572" + "6772656475636572" +
    "68746573742f524031" + "696576656e745f736571" + "07";
  assert.equal(toHex(idempotencyKey({ ...REDUCER, key: fromHex("6b31") })), sha256Hex(cell));
});

Deno.test("idempotencyKey() is stable and differs across instances, steps, plans, event seqs and cell keys", () => {
  const origins: EffectOrigin[] = [
    PLAN,
    { ...PLAN, instanceId: 2n },
    { ...PLAN, step: "b_emit" },
    { ...PLAN, name: "test/q@1" },
    REDUCER,
    { ...REDUCER, eventSeq: 8 },
    { ...REDUCER, name: "test/S@1" },
    { ...REDUCER, key: fromHex("6b31") },
    { ...REDUCER, key: fromHex("6b32") },
    { ...REDUCER, key: new Uint8Array() }, // an empty cell key is still a key
  ];
  const keys = origins.map((o) => toHex(idempotencyKey(o)));
  assert.equal(new Set(keys).size, origins.length);
  assert.deepEqual(origins.map((o) => toHex(idempotencyKey(structuredClone(o)))), keys);
  for (const key of keys) assert.equal(key.length, 64);
});

Deno.test("originCbor() gives the journaled origin: plan fields, reducer with key only for a cell", () => {
  assert.deepEqual(originCbor(PLAN), PLAN_CBOR);
  assert.deepEqual(originCbor(REDUCER), { kind: "reducer", name: "test/R@1" });
  assert.deepEqual(originCbor({ ...REDUCER, key: fromHex("01") }), {
    kind: "reducer",
    name: "test/R@1",
    key: fromHex("01"),
  });
});

Deno.test("defcapOf() finds built-in and manifest defcaps, nothing else", () => {
  assert.equal(defcapOf(NO_POLICY, "sys/timer@1")?.cap_type, "timer");
  assert.equal(defcapOf(NO_POLICY, "test/web@1")?.cap_type, "http.out");
  assert.equal(defcapOf(NO_POLICY, "test/nope@1"), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// The gate (KERNEL §6.2): each stage fails first when several would

Deno.test("evaluate() rejects bad params before a missing grant, without an intent hash", () => {
  const manager = new EffectManager();
  const cases: Array<[string, string, Uint8Array]> = [
    ["garbage", "timer.set", fromHex("ff")],
    ["wrong type", "timer.set", encodeCanonical({ deliver_at_ns: "soon" })],
    ["missing field", "timer.set", encodeCanonical({ key: "x" })],
    ["unknown field", "timer.set", encodeCanonical({ deliver_at_ns: 1, extra: 1 })],
    [
      "non-canonical key order",
      "timer.set",
      fromHex("a2" + "6d64656c697665725f61745f6e73" + "1903e8" + "636b6579" + "657265747279"),
    ],
    ["non-shortest integer", "timer.set", fromHex("a1" + "6d64656c697665725f61745f6e73" + "1a000003e8")],
    ["params of another kind", "timer.set", BLOB_PUT_OUT],
    ["unknown kind", "payment.charge", TIMER],
  ];
  for (const [label, kind, bytes] of cases) {
    const result = manager.evaluate(request(kind, "no_such_grant", bytes), ctx(WITH_POLICY));
    assert.equal(result.ok ? "ok" : result.stage, "bad_params", label);
    assertRejected(result, { stage: "bad_params", kind, cap: "no_such_grant", hash: undefined, reason: /./ });
  }
});

Deno.test("evaluate() rejects a missing grant with the intent hash", () => {
  const result = new EffectManager().evaluate(request("timer.set", "no_such_grant", TIMER), ctx(WITH_POLICY));
  assertRejected(result, {
    stage: "grant_missing",
    kind: "timer.set",
    cap: "no_such_grant",
    hash: hashOf("timer.set", "no_such_grant", TIMER),
    reason: /no_such_grant/,
  });
});

Deno.test("evaluate() rejects an expired grant before a cap mismatch; expiry_ns <= logical now is expired", () => {
  const manager = new EffectManager();
  const hash = hashOf("timer.set", "old_blob", TIMER);
  for (const nowNs of [1000n, 1001n, 10n ** 19n]) {
    assertRejected(manager.evaluate(request("timer.set", "old_blob", TIMER), ctx(WITH_POLICY, nowNs)), {
      stage: "grant_expired",
      kind: "timer.set",
      cap: "old_blob",
      hash,
      reason: /old_blob/,
    });
  }
  // One nanosecond earlier the grant is alive, so the next stage decides: sys/blob@1 cannot set timers.
  assertRejected(manager.evaluate(request("timer.set", "old_blob", TIMER), ctx(WITH_POLICY, 999n)), {
    stage: "cap_mismatch",
    kind: "timer.set",
    cap: "old_blob",
    hash,
    reason: /old_blob/,
  });
});

Deno.test("evaluate() allows an expiring grant before its expiry (the gate reads nowNs, not a clock)", () => {
  const bytes = params("blob.put", { namespace: "x", blob_ref: `sha256:${"ab".repeat(32)}` });
  const result = new EffectManager().evaluate(request("blob.put", "old_blob", bytes), ctx(NO_POLICY, 999n));
  assert.equal(result.ok, true);
});

Deno.test("evaluate() rejects a cap mismatch before a constraint violation", () => {
  // blob_cap is a blob grant; the URL's host would also fail an http.out grant's constraints.
  assertRejected(
    new EffectManager().evaluate(request("http.request", "blob_cap", HTTP_OTHER_HOST), ctx(WITH_POLICY)),
    {
      stage: "cap_mismatch",
      kind: "http.request",
      cap: "blob_cap",
      hash: hashOf("http.request", "blob_cap", HTTP_OTHER_HOST),
      reason: /blob_cap/,
    },
  );
});

Deno.test("evaluate() rejects a constraint violation before the policy, with no policy_decision record", () => {
  const manager = new EffectManager();
  // The policy has no rule for blob.put, and no rule allowing evil.example.org: both would deny.
  assertRejected(manager.evaluate(request("blob.put", "blob_cap", BLOB_PUT_OUT), ctx(WITH_POLICY)), {
    stage: "constraint",
    kind: "blob.put",
    cap: "blob_cap",
    hash: hashOf("blob.put", "blob_cap", BLOB_PUT_OUT),
    reason: /"out"/,
  });
  assertRejected(manager.evaluate(request("http.request", "web", HTTP_OTHER_HOST), ctx(WITH_POLICY)), {
    stage: "constraint",
    kind: "http.request",
    cap: "web",
    hash: hashOf("http.request", "web", HTTP_OTHER_HOST),
    reason: /evil\.example\.org/,
  });
});

Deno.test("evaluate() checks the budget after the constraints and before the policy", () => {
  // Both grants are exhausted (spent above a limit of 0), so any enqueue that reaches the budget is denied.
  const budget = (name: string, cap: string) => ({ name, cap, params: {}, budget: { cents: 0n } });
  const ledger = BudgetLedger.fromGrants([
    budget("blob_cap", "sys/blob@1"),
    budget("timer_cap", "sys/timer@1"),
  ]);
  ledger.settle("blob_cap", undefined, { cents: 1n });
  ledger.settle("timer_cap", undefined, { cents: 1n });
  const manager = new EffectManager(ledger);
  // A constraint failure never reaches the budget.
  assert.equal(
    (manager.evaluate(request("blob.put", "blob_cap", BLOB_PUT_OUT), ctx(WITH_POLICY)) as { stage: string })
      .stage,
    "constraint",
  );
  // From a reducer the policy would deny this timer: the budget decides first.
  const result = manager.evaluate(request("timer.set", "timer_cap", TIMER, REDUCER), ctx(WITH_POLICY));
  assertRejected(result, {
    stage: "budget",
    kind: "timer.set",
    cap: "timer_cap",
    origin: { kind: "reducer", name: "test/R@1" },
    hash: hashOf("timer.set", "timer_cap", TIMER, REDUCER),
    reason: /^grant "timer_cap" is exhausted: cents spent 1 of limit 0$/,
  });
});

Deno.test("evaluate() reserves a blob.put's size from the lookup; commit() journals and reserves it", () => {
  const ledger = BudgetLedger.fromGrants([{
    name: "blob_cap",
    cap: "sys/blob@1",
    params: {},
    budget: { bytes: 10n },
  }]);
  const manager = new EffectManager(ledger);
  const blob = (fill: number) =>
    params("blob.put", { namespace: "in", blob_ref: `sha256:${fill.toString(16).repeat(64)}` });
  const asked: string[] = [];
  const sizes = {
    ...ctx(NO_POLICY),
    blobSize: (ref: Uint8Array, intent: Uint8Array) => {
      asked.push(`${toHex(ref).slice(0, 2)} ${toHex(intent)}`);
      return ref[0] === 0xaa ? 6n : undefined;
    },
  };
  const first = manager.evaluate(request("blob.put", "blob_cap", blob(0xa)), sizes);
  assert.equal(first.ok, true);
  if (!first.ok) return;
  assert.deepEqual(asked, [`aa ${toHex(first.intentHash)}`], "asked once, with the intent it is for");
  assert.deepEqual(first.entry.reserved, { bytes: 6n });
  assert.deepEqual(ledger.lines()[0]?.reserved, 0n, "evaluate() changes nothing");
  const records: KernelRecord[] = [];
  manager.commit(first, (r) => records.push(r), () => 5);
  assert.deepEqual(records[1]?.body.reserved, { bytes: 6n });
  assert.deepEqual(ledger.lines()[0]?.reserved, 6n);
  // 6 more do not fit in the 4 left: rejected, with what it tried to reserve.
  const second = manager.evaluate(
    request("blob.put", "blob_cap", blob(0xa), { ...PLAN, step: "b_emit" }),
    sizes,
  );
  assert.equal(second.ok, false);
  if (second.ok) return;
  assert.equal(second.stage, "budget");
  assert.equal(
    second.reason,
    'grant "blob_cap" bytes budget: reserving 6 exceeds the 4 left (limit 10, spent 0, reserved 6)',
  );
  assert.deepEqual(second.records[0]?.body.reserved, { bytes: 6n });
  // An unknown blob reserves 0 and fits; without a lookup every blob is unknown.
  const unknown = manager.evaluate(request("blob.put", "blob_cap", blob(0xb), { ...PLAN, step: "c" }), sizes);
  assert.deepEqual(unknown.ok && unknown.entry.reserved, { bytes: 0n });
  const blind = manager.evaluate(
    request("blob.put", "blob_cap", blob(0xa), { ...PLAN, step: "d" }),
    ctx(NO_POLICY),
  );
  assert.deepEqual(blind.ok && blind.entry.reserved, { bytes: 0n });
  // An unbudgeted grant journals no reservation.
  const timer = new EffectManager().evaluate(request("timer.set", "timer_cap", TIMER), sizes);
  assert.equal(timer.ok && "reserved" in timer.entry, false);
});

Deno.test("evaluate() records a policy deny with the policy name and the deciding rule index", () => {
  const hash = hashOf("timer.set", "timer_cap", TIMER, REDUCER);
  const result = new EffectManager().evaluate(
    request("timer.set", "timer_cap", TIMER, REDUCER),
    ctx(WITH_POLICY),
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.stage, "policy");
  assert.deepEqual(result.intentHash, hash);
  assert.deepEqual(result.records, [
    {
      kind: "policy_decision",
      body: { intent_hash: hash, decision: "deny", policy_name: POLICY, rule_index: 0 },
    },
  ]);
});

Deno.test("evaluate() records a default deny without a rule index", () => {
  const bytes = params("blob.put", { namespace: "in", blob_ref: `sha256:${"ab".repeat(32)}` });
  const hash = hashOf("blob.put", "blob_cap", bytes);
  const result = new EffectManager().evaluate(request("blob.put", "blob_cap", bytes), ctx(WITH_POLICY));
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.stage, "policy");
  assert.deepEqual(result.records, [
    { kind: "policy_decision", body: { intent_hash: hash, decision: "deny", policy_name: POLICY } },
  ]);
});

Deno.test("evaluate() records a policy allow with the policy name and rule index (http host and method rule)", () => {
  const manager = new EffectManager();
  const timer = manager.evaluate(request("timer.set", "timer_cap", TIMER), ctx(WITH_POLICY));
  assert.equal(timer.ok, true);
  if (!timer.ok) return;
  const timerHash = hashOf("timer.set", "timer_cap", TIMER);
  assert.deepEqual(timer.intentHash, timerHash);
  assert.deepEqual(timer.decision, {
    kind: "policy_decision",
    body: { intent_hash: timerHash, decision: "allow", policy_name: POLICY, rule_index: 1 },
  });
  const http = manager.evaluate(request("http.request", "web", HTTP_OK), ctx(WITH_POLICY));
  assert.equal(http.ok, true);
  if (!http.ok) return;
  assert.deepEqual(http.decision.body, {
    intent_hash: hashOf("http.request", "web", HTTP_OK),
    decision: "allow",
    policy_name: POLICY,
    rule_index: 2,
  });
});

Deno.test("evaluate() with no policy allows and records the decision without a policy name", () => {
  const result = new EffectManager().evaluate(
    request("timer.set", "timer_cap", TIMER, REDUCER),
    ctx(NO_POLICY, 5n, 2n),
  );
  assert.equal(result.ok, true);
  if (!result.ok) return;
  const hash = hashOf("timer.set", "timer_cap", TIMER, REDUCER);
  assert.deepEqual(result.decision, {
    kind: "policy_decision",
    body: { intent_hash: hash, decision: "allow" },
  });
  assert.deepEqual(result.entry, {
    intentHash: hash,
    kind: "timer.set",
    capName: "timer_cap",
    params: TIMER,
    idempotencyKey: idempotencyKey(REDUCER),
    origin: REDUCER,
    fence: { generation: 2n, height: 0n },
  });
});

Deno.test("evaluate() is pure: evaluating the same intent twice before commit leaves the outbox empty", () => {
  const manager = new EffectManager();
  const first = manager.evaluate(request("timer.set", "timer_cap", TIMER), ctx(NO_POLICY));
  const second = manager.evaluate(request("timer.set", "timer_cap", TIMER), ctx(NO_POLICY));
  assert.deepEqual(second, first);
  assert.deepEqual(manager.outbox(), []);
  assert.deepEqual(manager.settled(), []);
});

// ---------------------------------------------------------------------------------------------------------
// Commit, outbox, settle

/** A journal stub: `emit` appends at the next seq, starting at `firstSeq`. */
function journalFrom(firstSeq: number) {
  const records: Array<KernelRecord & { seq: number }> = [];
  const nextSeq = () => firstSeq + records.length;
  const emit = (record: KernelRecord) => {
    const seq = nextSeq();
    records.push({ seq, ...record });
    return seq;
  };
  return { records, emit, nextSeq };
}

function allowed(manager: EffectManager, origin: EffectOrigin, generation = 0n) {
  const result = manager.evaluate(
    request("timer.set", "timer_cap", TIMER, origin),
    ctx(NO_POLICY, 0n, generation),
  );
  assert.ok(result.ok);
  return result;
}

Deno.test("commit() journals policy_decision then effect_queued, whose seq is the fence height", () => {
  const manager = new EffectManager();
  const journal = journalFrom(40);
  const result = allowed(manager, PLAN, 3n);
  manager.commit(result, journal.emit, journal.nextSeq);
  const hash = hashOf("timer.set", "timer_cap", TIMER);
  assert.deepEqual(journal.records, [
    { seq: 40, kind: "policy_decision", body: { intent_hash: hash, decision: "allow" } },
    {
      seq: 41,
      kind: "effect_queued",
      body: {
        intent_hash: hash,
        kind: "timer.set",
        cap_name: "timer_cap",
        params: TIMER,
        idempotency_key: idempotencyKey(PLAN),
        origin: PLAN_CBOR,
        fence: { generation: 3n, height: 41n },
      },
    },
  ]);
  const expected: OutboxEntry = {
    intentHash: hash,
    kind: "timer.set",
    capName: "timer_cap",
    params: TIMER,
    idempotencyKey: idempotencyKey(PLAN),
    origin: PLAN,
    fence: { generation: 3n, height: 41n },
  };
  assert.deepEqual(manager.outbox(), [expected]);
  assert.deepEqual(manager.pending(hash), expected);
  assert.equal(manager.isSettled(hash), false);
});

Deno.test("outbox() lists pending intents by fence height, not by commit order", () => {
  const manager = new EffectManager();
  for (const [eventSeq, firstSeq] of [[1, 50], [2, 20], [3, 35]] as const) {
    const journal = journalFrom(firstSeq);
    manager.commit(allowed(manager, { ...REDUCER, eventSeq }), journal.emit, journal.nextSeq);
  }
  assert.deepEqual(manager.outbox().map((e) => e.fence.height), [21n, 36n, 51n]);
  assert.deepEqual(
    manager.outbox().map((e) => e.origin.kind === "reducer" && e.origin.eventSeq),
    [2, 3, 1],
  );
});

Deno.test("settle() removes the intent from the outbox and marks it settled", () => {
  const manager = new EffectManager();
  const journal = journalFrom(1);
  const first = allowed(manager, { ...REDUCER, eventSeq: 1 });
  const second = allowed(manager, { ...REDUCER, eventSeq: 2 });
  manager.commit(first, journal.emit, journal.nextSeq);
  manager.commit(second, journal.emit, journal.nextSeq);
  const entry = manager.settle(first.intentHash);
  assert.deepEqual(entry, first.entry);
  assert.deepEqual(manager.outbox(), [second.entry]);
  assert.equal(manager.pending(first.intentHash), undefined);
  assert.equal(manager.isSettled(first.intentHash), true);
  assert.equal(manager.isSettled(second.intentHash), false);
  assert.deepEqual(manager.settled(), [toHex(first.intentHash)]);
});

Deno.test("evaluate() throws AOS_INVARIANT for an intent already pending or settled", () => {
  const manager = new EffectManager();
  const journal = journalFrom(1);
  manager.commit(allowed(manager, PLAN), journal.emit, journal.nextSeq);
  const again = () => manager.evaluate(request("timer.set", "timer_cap", TIMER), ctx(NO_POLICY));
  assert.throws(again, hasCode("AOS_INVARIANT"));
  manager.settle(hashOf("timer.set", "timer_cap", TIMER));
  assert.throws(again, hasCode("AOS_INVARIANT"));
  // Another step of the same instance has another idempotency key, so it is a new intent.
  assert.equal(allowed(manager, { ...PLAN, step: "b_emit" }).ok, true);
});

Deno.test("the settled set keeps the last limits.settledHashesMax hashes, evicting the oldest first", () => {
  const manager = new EffectManager();
  const hashes = Array.from({ length: limits.settledHashesMax + 1 }, (_, i) => sha256(encodeCanonical(i)));
  for (const hash of hashes) manager.settle(hash);
  manager.settle(hashes[5]!); // settling again neither duplicates nor refreshes
  assert.equal(manager.settled().length, limits.settledHashesMax);
  assert.equal(manager.isSettled(hashes[0]!), false);
  assert.equal(manager.isSettled(hashes[1]!), true);
  assert.equal(manager.isSettled(hashes.at(-1)!), true);
  assert.deepEqual(manager.settled()[0], toHex(hashes[1]!));
  assert.deepEqual(manager.settled().at(-1), toHex(hashes.at(-1)!));
  manager.settle(sha256(encodeCanonical("one more")));
  assert.equal(manager.isSettled(hashes[1]!), false);
  assert.equal(manager.isSettled(hashes[2]!), true);
});

Deno.test("restore() brings back the outbox (by fence height) and the settled set", () => {
  const source = new EffectManager();
  const journal = journalFrom(10);
  const a = allowed(source, { ...REDUCER, eventSeq: 1 });
  const b = allowed(source, { ...REDUCER, eventSeq: 2 });
  const c = allowed(source, { ...REDUCER, eventSeq: 3 });
  for (const result of [a, b, c]) source.commit(result, journal.emit, journal.nextSeq);
  source.settle(b.intentHash);
  const restored = new EffectManager();
  restored.restore([...source.outbox()].reverse(), source.settled());
  assert.deepEqual(restored.outbox(), [a.entry, c.entry]);
  assert.deepEqual(restored.settled(), [toHex(b.intentHash)]);
  assert.equal(restored.isSettled(b.intentHash), true);
  assert.throws(
    () =>
      restored.evaluate(
        request("timer.set", "timer_cap", TIMER, { ...REDUCER, eventSeq: 2 }),
        ctx(NO_POLICY),
      ),
    hasCode("AOS_INVARIANT"),
  );
});
