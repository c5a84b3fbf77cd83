/**
 * Core scenarios (WP1/WP2, KERNEL §6.4–6.5): receipt admission — duplicated, reordered, forged, from an
 * unknown adapter, late, with a wrong fence, malformed, for an unknown intent, with an invalid payload —
 * and reducer micro-effect receipts (`blob.put`, `blob.get`) turned into `sys/*` events for ok, error and
 * timeout. Every rejected receipt is journaled as `receipt_ignored` and changes nothing else.
 */
import assert from "node:assert/strict";
import {
  decodeCanonical,
  type EffectKind,
  encodeCanonical as cbor,
  hashRefToBytes,
  SchemaIndex,
  toJsonValue,
  valueFromJson,
} from "../../air/mod.ts";
import { AdapterKey, FakeAdapter } from "../../adapters/mod.ts";
import type { OutboxEntry, Receipt } from "../../kernel/mod.ts";
import {
  chain,
  e,
  grants,
  orderOf,
  plan,
  reducer,
  route,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  trigger,
  type TypedEntry,
  world as defineWorld,
  type WorldDefinition,
} from "../mod.ts";
import { httpReceipt } from "./_receipts.ts";

const BUILTINS = new SchemaIndex([]);
const get = (url: string) => e.record({ method: e.text("GET"), url: e.text(url), headers: e.map() });

/** `demo/Go@1` triggers `demo/fetch@1`: one GET, await its receipt, end with the receipt status. */
function fetchWorld(): WorldDefinition {
  return defineWorld({
    schemas: [
      schema("demo/Go@1", t.record({ n: t.nat })),
      schema("demo/Result@1", t.record({ status: t.text })),
    ],
    grants: [grants.http("http_cap", ["example.com"])],
    plans: [plan("demo/fetch@1", {
      input: "demo/Go@1",
      output: "demo/Result@1",
      allowedEffects: ["http.request"],
      requiredCaps: ["http_cap"],
      steps: [
        step.emit("a_fetch", "http.request", "http_cap", get("https://example.com/r"), "req"),
        step.awaitReceipt("b_wait", "req", "resp"),
        step.end("c_end", e.record({ status: e.ref("@step:b_wait.status") })),
      ],
      edges: chain("a_fetch", "b_wait", "c_end"),
    })],
    triggers: [trigger("demo/Go@1", "demo/fetch@1")],
  });
}

/** A started fetch world with its single intent and the http fake. */
async function givenWaitingFetch() {
  const world = await TestWorld.create(fetchWorld());
  await world.send("demo/Go@1", { n: 1 });
  const [intent] = world.world.kernel.outbox();
  assert.ok(intent);
  return { world, intent, fake: world.fakes.get("http.request")! };
}

function ignoredReasons(entries: TypedEntry[]): unknown[] {
  return entries.filter((entry) => entry.kind === "receipt_ignored").map((entry) => entry.body.reason);
}

/** The kernel snapshot without its height and logical time (which every journaled input moves). */
function kernelState(world: TestWorld): unknown {
  const { height: _height, now_ns: _now, ...rest } = decodeCanonical(world.world.kernel.snapshot()) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Asserts the plan still waits on its receipt with the intent in the outbox. */
function assertStillWaiting(world: TestWorld, intent: OutboxEntry): void {
  assert.equal(world.plans()[0]?.status, "waiting");
  assert.deepEqual(world.world.kernel.outbox().map((o) => o.intentHash), [intent.intentHash]);
}

Deno.test("a duplicated receipt is admitted once; the copy is receipt_ignored duplicate", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  // Given the adapter answers twice
  fake.script(intent.intentHash, { status: "ok", duplicates: 1 });
  // When
  await world.runToIdle();
  // Then the second copy is ignored after the first settled the intent
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_appended", "plan_ended", "receipt_ignored"]);
  assert.deepEqual(ignoredReasons(world.journal()), ["duplicate"]);
  const ignored = world.journal().at(-1)!;
  assert.equal(ignored.intent, world.journal()[5]!.intent);
  assert.equal(ignored.body.adapter_id, "fake-http.request");
  assert.equal(world.plans().length, 1);
  assert.equal(world.plans()[0]!.status, "ok");
  await world.assertReplay();
});

Deno.test("receipts released in reverse order are buffered, and the plan completes as in order", async () => {
  // Given a plan that emits two requests, then awaits the first, then the second
  const def = defineWorld({
    schemas: [
      schema("demo/Go@1", t.record({ n: t.nat })),
      schema("demo/Result@1", t.record({ first: t.int, second: t.int })),
    ],
    grants: [grants.http("http_cap", ["example.com"])],
    plans: [plan("demo/pair@1", {
      input: "demo/Go@1",
      output: "demo/Result@1",
      allowedEffects: ["http.request"],
      requiredCaps: ["http_cap"],
      steps: [
        step.emit("a_1", "http.request", "http_cap", get("https://example.com/1"), "one"),
        step.emit("a_2", "http.request", "http_cap", get("https://example.com/2"), "two"),
        step.awaitReceipt("b_1", "one", "r1"),
        step.awaitReceipt("b_2", "two", "r2"),
        step.end("c_end", e.record({ first: e.ref("@var:r1.status"), second: e.ref("@var:r2.status") })),
      ],
      edges: chain("a_1", "a_2", "b_1", "b_2", "c_end"),
    })],
    triggers: [trigger("demo/Go@1", "demo/pair@1")],
  });
  const payload = (status: number) => httpReceipt(status, { adapter_id: "f" });
  await using world = await TestWorld.create(def);
  await world.send("demo/Go@1", { n: 1 });
  const [one, two] = world.world.kernel.outbox();
  const fake = world.fakes.get("http.request")!;
  fake.script(one!.intentHash, { status: "ok", payload: payload(201), hold: true });
  fake.script(two!.intentHash, { status: "ok", payload: payload(202), hold: true });
  world.dispatch();
  assert.equal(fake.held().length, 2);
  // When the adapter answers the second request first
  assert.equal(fake.releaseAll("reverse"), 2);
  await world.runToIdle();
  // Then the early receipt is buffered (no entry of its own), and the plan ends once the first arrives
  const journal = world.journal();
  assert.deepEqual(orderOf(journal).slice(-3), ["receipt_appended", "receipt_appended", "plan_ended"]);
  const receipts = journal.filter((entry) => entry.kind === "receipt_appended");
  const queued = journal.filter((entry) => entry.kind === "effect_queued");
  assert.deepEqual(receipts.map((r) => r.intent), [queued[1]!.intent, queued[0]!.intent]);
  const [instance] = world.plans();
  assert.equal(instance!.status, "ok");
  assert.deepEqual(instance!.result, cbor({ first: 201, second: 202 }));
  await world.assertReplay();
});

Deno.test("a receipt with a forged signature is ignored as bad_signature; the genuine one is accepted later", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  // Given the adapter's first answer has a flipped signature bit, and its second is genuine
  fake.script(intent.intentHash, { status: "ok", corruptSignature: true });
  fake.script(intent.intentHash, { status: "ok" });
  // When the forged one is admitted
  await world.admit(await fake.execute(intent));
  // Then it is only audited
  assert.deepEqual(ignoredReasons(world.journal()), ["bad_signature"]);
  assertStillWaiting(world, intent);
  // And the genuine receipt, dispatched again, completes the plan
  await world.admit(await fake.execute(intent));
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_ignored", "receipt_appended", "plan_ended"]);
  assert.equal(world.plans()[0]!.status, "ok");
  await world.assertReplay();
});

Deno.test("a receipt signed by an adapter the world does not know is ignored as unknown_adapter", async () => {
  const { world, intent } = await givenWaitingFetch();
  await using _ = world;
  // Given an adapter with its own key, not registered with the world
  const rogue = new FakeAdapter({
    kind: "http.request",
    key: AdapterKey.fromSeed(new Uint8Array(32).fill(42)),
    adapterId: "rogue-http",
  });
  // When its receipt for the waiting intent is admitted
  await world.admit(await rogue.execute(intent));
  // Then
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_ignored"]);
  assert.deepEqual(ignoredReasons(world.journal()), ["unknown_adapter"]);
  assert.equal(world.journal().at(-1)!.body.adapter_id, "rogue-http");
  assertStillWaiting(world, intent);
  await world.assertReplay();
});

Deno.test("a late receipt for an intent that already settled is ignored as duplicate and changes nothing", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  // Given the intent settled ok
  await world.runToIdle();
  const settled = kernelState(world);
  // When a different, later answer for the same intent arrives (a timeout from a retry)
  fake.script(intent.intentHash, { status: "timeout" });
  await world.admit(await fake.execute(intent));
  // Then it is ignored, and the kernel state is as it was
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_appended", "plan_ended", "receipt_ignored"]);
  assert.deepEqual(ignoredReasons(world.journal()), ["duplicate"]);
  assert.deepEqual(kernelState(world), settled);
  assert.deepEqual(world.plans()[0]!.result, cbor({ status: "ok" }));
  await world.assertReplay();
});

Deno.test("a receipt arriving after its plan was cancelled is accepted and settled, but delivers nothing", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  // Given the waiting instance is cancelled while its intent is in flight
  await world.world.cancelPlan(1n, "operator");
  assert.equal(world.world.kernel.outbox().length, 1, "the authorized intent stays in the outbox");
  // When its receipt arrives
  await world.runToIdle();
  // Then it is appended (no ignore), the outbox empties, and no plan step runs
  assert.deepEqual(orderOf(world.journal()).slice(5), [
    "plan_cancel_requested",
    "plan_ended",
    "receipt_appended",
  ]);
  assert.deepEqual(world.world.kernel.outbox(), []);
  assert.deepEqual(fake.calls.map((c) => c.intentHash), [intent.intentHash]);
  const [instance] = world.plans();
  assert.equal(instance!.error?.code, "cancelled");
  assert.equal(instance!.steps.find((s) => s.id === "b_wait")?.state, "waiting_receipt");
  await world.assertReplay();
});

Deno.test("a receipt echoing the wrong fence is ignored as fence_mismatch; the genuine one is accepted later", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  // Given the adapter's first answer echoes a fence from another height (its next answer is genuine)
  fake.script(intent.intentHash, {
    status: "ok",
    fence: { generation: 0n, height: intent.fence.height + 1n },
  });
  // When one dispatch round runs
  world.dispatch();
  await world.admitReady();
  // Then the receipt is only audited
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_ignored"]);
  assert.deepEqual(ignoredReasons(world.journal()), ["fence_mismatch"]);
  assertStillWaiting(world, intent);
  // And the genuine receipt, from the intent dispatched again, settles it
  await world.admit(await fake.execute(intent));
  assert.deepEqual(orderOf(world.journal()).slice(5), ["receipt_ignored", "receipt_appended", "plan_ended"]);
  assert.equal(world.plans()[0]!.status, "ok");
  await world.assertReplay();
});

Deno.test("receipt admission journals each KERNEL §6.4 rejection as receipt_ignored with its reason, state untouched", async () => {
  const { world, intent, fake } = await givenWaitingFetch();
  await using _ = world;
  const rogue = new FakeAdapter({
    kind: "http.request",
    key: AdapterKey.fromSeed(new Uint8Array(32).fill(7)),
  });
  const strangerIntent = { ...intent, intentHash: new Uint8Array(32).fill(0xee) };
  const signed = async (outcome: Parameters<FakeAdapter["script"]>[1]): Promise<Receipt> => {
    fake.script(intent.intentHash, outcome);
    return await fake.execute(intent);
  };
  const genuine = await signed({ status: "ok" });
  const rejected: Array<[reason: string, receipt: Receipt]> = [
    ["malformed", { ...genuine, costCents: -1n }],
    ["unknown_adapter", { ...genuine, adapterId: "nobody" }],
    ["bad_signature", await rogue.execute(intent).then((r) => ({ ...r, adapterId: genuine.adapterId }))],
    ["unknown_intent", await fake.execute(strangerIntent)],
    [
      "fence_mismatch",
      await signed({ status: "ok", fence: { generation: 1n, height: intent.fence.height } }),
    ],
    ["invalid_payload", await signed({ status: "ok", payload: new Uint8Array() })],
    ["invalid_payload", await signed({ status: "error", payload: cbor({ not: "a receipt" }) })],
  ];
  const before = kernelState(world);
  // When each is admitted
  for (const [, receipt] of rejected) await world.admit(receipt);
  // Then each is audited with its reason and nothing else changed
  assert.deepEqual(ignoredReasons(world.journal()), rejected.map(([reason]) => reason));
  assert.deepEqual(orderOf(world.journal()).slice(5), rejected.map(() => "receipt_ignored"));
  assert.deepEqual(kernelState(world), before);
  assertStillWaiting(world, intent);
  // And the genuine receipt is still accepted, after which a copy is a duplicate
  await world.admit(genuine, genuine);
  assert.deepEqual(orderOf(world.journal()).slice(-3), ["receipt_appended", "plan_ended", "receipt_ignored"]);
  assert.equal(ignoredReasons(world.journal()).at(-1), "duplicate");
  await world.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Reducer micro-effects: blob.put and blob.get receipts as sys/* events

const BLOB = "demo/Blobber@1";
const H = (byte: string) => `sha256:${byte.repeat(32)}`;
const statusIs = (status: string) => new Uint8Array([...cbor("status"), ...cbor(status)]);

/** On `demo/Put@1` the reducer emits blob.put, on `demo/Get@1` blob.get; it records each result's status. */
function blobWorld(): WorldDefinition {
  const effect = (kind: string, params: Uint8Array) => ({ kind, paramsCbor: params, capSlot: "blob" });
  const put = effect("blob.put", cbor({ namespace: "docs", blob_ref: hashRefToBytes(H("ab")) }));
  const got = effect("blob.get", cbor({ namespace: "docs", key: H("ab") }));
  const results = ["ok", "error", "timeout"].flatMap((status) => [
    {
      when: { schema: "sys/BlobPutResult@1", bytes: [statusIs(status)] },
      then: { state: cbor({ last: `put:${status}` }) },
    },
    {
      when: { schema: "sys/BlobGetResult@1", bytes: [statusIs(status)] },
      then: { state: cbor({ last: `get:${status}` }) },
    },
  ]);
  const wasm = scriptedReducer({
    rules: [
      { when: { schema: "demo/Put@1" }, then: { state: cbor({ last: "put:sent" }), effects: [put] } },
      { when: { schema: "demo/Get@1" }, then: { state: cbor({ last: "get:sent" }), effects: [got] } },
      ...results,
    ],
  }).wasm;
  return defineWorld({
    schemas: [
      schema("demo/Put@1", t.record({ n: t.nat })),
      schema("demo/Get@1", t.record({ n: t.nat })),
      schema("demo/BlobEvent@1", t.variant({ Put: t.ref("demo/Put@1"), Get: t.ref("demo/Get@1") })),
      schema("demo/BlobState@1", t.record({ last: t.text })),
    ],
    reducers: [
      reducer(BLOB, {
        state: "demo/BlobState@1",
        event: "demo/BlobEvent@1",
        wasm,
        effects: ["blob.put", "blob.get"],
        capSlots: { blob: "blob" },
      }),
    ],
    routing: [
      route("demo/Put@1", BLOB),
      route("demo/Get@1", BLOB),
      route("sys/BlobPutResult@1", BLOB),
      route("sys/BlobGetResult@1", BLOB),
    ],
    grants: [grants.blob("blob_cap")],
    bindings: { [BLOB]: { blob: "blob_cap" } },
  });
}

const blobCases: Array<{ kind: EffectKind; send: string; result: string; tag: string; requested: unknown }> =
  [
    {
      kind: "blob.put",
      send: "demo/Put@1",
      result: "sys/BlobPutResult@1",
      tag: "put",
      requested: { namespace: "docs", blob_ref: H("ab") },
    },
    {
      kind: "blob.get",
      send: "demo/Get@1",
      result: "sys/BlobGetResult@1",
      tag: "get",
      requested: { namespace: "docs", key: H("ab") },
    },
  ];

for (const c of blobCases) {
  Deno.test(`${c.kind} receipts reach the reducer as ${c.result} with ok, error and timeout, zero receipt on failure`, async () => {
    await using world = await TestWorld.create(blobWorld());
    const fake = world.fakes.get(c.kind)!;
    const okReceipt = { blob_ref: H("cd"), size: 42n };
    const zeroReceipt = { blob_ref: H("00"), size: 0n };
    const statuses = [
      { status: "ok" as const, receipt: okReceipt },
      { status: "error" as const, receipt: zeroReceipt },
      { status: "timeout" as const, receipt: zeroReceipt },
    ];
    for (const [n, expected] of statuses.entries()) {
      // Given the reducer queued the micro-effect
      const before = world.kinds().length;
      await world.send(c.send, { n });
      assert.deepEqual(world.state(BLOB), { last: `${c.tag}:sent` });
      const [intent] = world.world.kernel.outbox();
      const payload = expected.status === "ok"
        ? valueFromJson(
          { ref: `sys/${c.tag === "put" ? "BlobPut" : "BlobGet"}Receipt@1` },
          toJsonValue(okReceipt),
          BUILTINS,
        )
        : undefined;
      // (the ok answer also comes twice: the copy must not be delivered again)
      fake.script(intent!.intentHash, {
        status: expected.status,
        ...(payload ? { payload, duplicates: 1 } : {}),
      });
      // When the adapter answers
      await world.runToIdle();
      // Then one sys/* event reaches the reducer, with the status, the requested params and the receipt
      const block = world.journal(before);
      assert.deepEqual(orderOf(block), [
        `domain_event:${c.send}`,
        "policy_decision",
        "effect_queued",
        "receipt_appended",
        `domain_event:${c.result}`,
        ...(expected.status === "ok" ? ["receipt_ignored"] : []),
      ]);
      const event = block[4]!;
      assert.equal(event.origin, "receipt");
      assert.deepEqual(event.value, {
        intent_hash: block[3]!.intent,
        reducer: BLOB,
        effect_kind: c.kind,
        adapter_id: `fake-${c.kind}`,
        status: expected.status,
        requested: c.requested,
        receipt: expected.receipt,
        signature: btoa(String.fromCharCode(...(block[3]!.body.signature as Uint8Array))),
      });
      assert.deepEqual(world.state(BLOB), { last: `${c.tag}:${expected.status}` });
    }
    assert.equal(world.kinds().filter((k) => k === "reducer_error").length, 0);
    await world.assertReplay();
  });
}
