/**
 * Core scenarios (WP3, AIR §10.5, KERNEL §6.5, §7): budgets. A grant's budget is reserved at enqueue
 * (`llm.generate` its `max_tokens`, `blob.put` its blob's size in the store), settled on every receipt
 * (the reservation released, the actual usage spent), overdrawn with `budget_exceeded`, and an exhausted
 * grant denies every enqueue. Reducers and plans draw on one ledger; ignored receipts settle nothing; the
 * ledger survives a crash and replays byte for byte.
 */
import assert from "node:assert/strict";
import {
  bytesEqual,
  type CapGrant,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  encodeCanonical as cbor,
  hashRefOf,
  hashRefToBytes,
  SchemaIndex,
  toJsonValue,
  type Value,
  valueFromJson,
} from "../../air/mod.ts";
import type { BudgetLine } from "../../kernel/mod.ts";
import { FsJournal, readJournalDir } from "../../journal/mod.ts";
import { FileHeadStore, verifyWorld, World, worldPaths } from "../../world/mod.ts";
import {
  chain,
  e,
  grant,
  grants,
  orderOf,
  plan,
  policy,
  reducer,
  route,
  rule,
  schema,
  scriptedReducer,
  step,
  t,
  TestWorld,
  trigger,
  type TypedEntry,
  world as defineWorld,
} from "../mod.ts";

const BUILTINS = new SchemaIndex([]);
const H = (byte: string) => `sha256:${byte.repeat(32)}`;
const KEEPER = "demo/Keeper@1";
/** The blob the keeper reducer always publishes: 10 bytes. */
const KEPT = new TextEncoder().encode("ten bytes!");

/** A plan that emits one effect from its input, awaits the receipt and ends. */
function onePlan(name: string, input: string, kind: string, cap: string, params: unknown) {
  return plan(name, {
    input,
    steps: [
      step.emit("a_emit", kind as never, cap, params as never, "fx"),
      step.awaitReceipt("b_wait", "fx", "receipt"),
      step.end("c_end"),
    ],
    edges: chain("a_emit", "b_wait", "c_end"),
    requiredCaps: [cap],
    allowedEffects: [kind as never],
  });
}

/**
 * `demo/Ask@1 {max}` → plan `llm.generate` on `llm` (`max_tokens` = max); `demo/Store@1 {blob}` → plan
 * `blob.put` of that blob on `store`; `demo/Fetch@1 {n}` → plan `http.request` on `web`; `demo/Keep@1` →
 * the keeper reducer's `blob.put` of {@linkcode KEPT}, also on `store`.
 */
function budgetWorld(
  budgets: { llm?: CapGrant["budget"]; store?: CapGrant["budget"]; web?: CapGrant["budget"] },
  options: { denyPlanBlobPuts?: boolean } = {},
) {
  const put = {
    kind: "blob.put",
    paramsCbor: cbor({ namespace: "docs", blob_ref: hashRefToBytes(hashRefOf(KEPT)) }),
    capSlot: "blob",
  };
  const keeper = scriptedReducer({
    rules: [
      { when: { schema: "demo/Keep@1" }, then: { state: cbor({ last: "sent" }), effects: [put] } },
      { when: { schema: "sys/BlobPutResult@1" }, then: { state: cbor({ last: "settled" }) } },
    ],
  }).wasm;
  const withBudget = (g: CapGrant, budget: CapGrant["budget"]): CapGrant => (budget ? { ...g, budget } : g);
  return defineWorld({
    schemas: [
      schema("demo/Ask@1", t.record({ max: t.nat })),
      schema("demo/Store@1", t.record({ blob: t.hash })),
      schema("demo/Fetch@1", t.record({ n: t.nat })),
      schema("demo/Keep@1", t.record({ n: t.nat })),
      schema("demo/KeeperState@1", t.record({ last: t.text })),
    ],
    reducers: [
      reducer(KEEPER, {
        state: "demo/KeeperState@1",
        event: "demo/Keep@1",
        wasm: keeper,
        effects: ["blob.put"],
        capSlots: { blob: "blob" },
      }),
    ],
    routing: [route("demo/Keep@1", KEEPER), route("sys/BlobPutResult@1", KEEPER)],
    plans: [
      onePlan(
        "demo/ask@1",
        "demo/Ask@1",
        "llm.generate",
        "llm",
        e.record({
          provider: e.text("mock"),
          model: e.text("small"),
          temperature: { dec128: "0.2" },
          max_tokens: e.ref("@plan.input.max"),
          input_ref: e.hash(H("11")),
        }),
      ),
      onePlan(
        "demo/store@1",
        "demo/Store@1",
        "blob.put",
        "store",
        e.record({ namespace: e.text("docs"), blob_ref: e.ref("@plan.input.blob") }),
      ),
      onePlan(
        "demo/fetch@1",
        "demo/Fetch@1",
        "http.request",
        "web",
        e.record({ method: e.text("GET"), url: e.text("https://example.com/x"), headers: e.map() }),
      ),
    ],
    triggers: [
      trigger("demo/Ask@1", "demo/ask@1"),
      trigger("demo/Store@1", "demo/store@1"),
      trigger("demo/Fetch@1", "demo/fetch@1"),
    ],
    grants: [
      withBudget(grant("llm", "sys/llm.basic@1", { record: {} }), budgets.llm),
      withBudget(grants.blob("store"), budgets.store),
      withBudget(grants.http("web", ["example.com"]), budgets.web),
    ],
    bindings: { [KEEPER]: { blob: "store" } },
    ...(options.denyPlanBlobPuts
      ? {
        policies: [
          policy("demo/policy@1", [
            rule("deny", { effect_kind: "blob.put", origin_kind: "plan" }),
            rule("allow", {}),
          ]),
        ],
        policy: "demo/policy@1",
      }
      : {}),
  });
}

/** A `sys/LlmGenerateReceipt@1` payload. */
function llmReceipt(prompt: number, completion: number, costCents = 0): Value {
  return valueFromJson(
    { ref: "sys/LlmGenerateReceipt@1" },
    toJsonValue({
      output_ref: H("22"),
      token_usage: { prompt, completion },
      cost_cents: costCents,
      provider_id: "mock",
    }),
    BUILTINS,
  );
}

/** A `sys/BlobPutReceipt@1` payload. */
function blobReceipt(ref: string, size: number): Value {
  return valueFromJson({ ref: "sys/BlobPutReceipt@1" }, toJsonValue({ blob_ref: ref, size }), BUILTINS);
}

/** The account of `grant` in `dimension`, as `[limit, spent, reserved, exhausted]`. */
function account(
  w: TestWorld | World,
  grantName: string,
  dimension: string,
): [bigint, bigint, bigint, boolean] {
  const kernel = w instanceof TestWorld ? w.world.kernel : w.kernel;
  const line = kernel.budgets().find((l: BudgetLine) => l.grant === grantName && l.dimension === dimension);
  assert.ok(line, `no account ${grantName}/${dimension}`);
  return [line.limit, line.spent, line.reserved, line.exhausted];
}

/** The intent the last `effect_queued` queued. */
function lastQueued(w: TestWorld): TypedEntry {
  const queued = w.journal().filter((x) => x.kind === "effect_queued").at(-1);
  assert.ok(queued, "an effect_queued");
  return queued;
}

function hashOf(entry: TypedEntry): Uint8Array {
  return entry.body.intent_hash as Uint8Array;
}

/** Integers as bigints, however the journal holds them (appended: bigint; read back: number when small). */
function ints(value: unknown): unknown {
  if (typeof value === "number") return BigInt(value);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(ints);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ints(v)]));
}

const exceeded = (w: TestWorld) =>
  w.journal().filter((x) => x.kind === "budget_exceeded").map((x) => ints(x.body));

// ---------------------------------------------------------------------------------------------------------
// Tokens

Deno.test("llm.generate reserves max_tokens, settles lower (the rest released), then higher (overdrawn: budget_exceeded, exhausted)", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n } }));
  const llm = w.fakes.get("llm.generate")!;
  // Given an enqueue of 100 max tokens: the reservation is journaled and held
  await w.send("demo/Ask@1", { max: 100 });
  assert.deepEqual(ints(lastQueued(w).body.reserved), { tokens: 100n });
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 0n, 100n, false]);
  // When it settles 60 tokens (20 + 40): the reservation is released, 60 spent
  llm.script(hashOf(lastQueued(w)), { status: "ok", payload: llmReceipt(20, 40) });
  await w.runToIdle();
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 60n, 0n, false]);
  assert.deepEqual(exceeded(w), []);
  // When a second one reserves 100 (fits in 140) and settles 170, above its reservation and the limit
  await w.send("demo/Ask@1", { max: 100 });
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 60n, 100n, false]);
  const before = w.kinds().length;
  llm.script(hashOf(lastQueued(w)), { status: "ok", payload: llmReceipt(50, 120) });
  await w.runToIdle();
  // Then the overdraft is journaled right after the receipt, before the plan goes on
  assert.deepEqual(orderOf(w.journal(before)), ["receipt_appended", "budget_exceeded", "plan_ended"]);
  assert.deepEqual(exceeded(w), [{ grant_name: "llm", dimension: "tokens", delta: 170n, new_balance: -30n }]);
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 230n, 0n, true]);
  // And any enqueue on the exhausted grant is denied, even of 1 token: nothing is queued or sent
  const calls = llm.calls.length;
  const from = w.kinds().length;
  await w.send("demo/Ask@1", { max: 1 });
  await w.runToIdle();
  const block = w.journal(from);
  assert.deepEqual(orderOf(block), [
    "domain_event:demo/Ask@1",
    "plan_started",
    "effect_rejected",
    "plan_ended",
  ]);
  assert.equal(block[2]!.body.stage, "budget");
  assert.deepEqual(ints(block[2]!.body.reserved), { tokens: 1n });
  assert.equal(block[2]!.body.reason, 'grant "llm" is exhausted: tokens spent 230 of limit 200');
  assert.equal((block[3]!.body.error as { code: string }).code, "effect_denied");
  assert.equal(llm.calls.length, calls);
  await w.assertReplay();
});

Deno.test("a reservation larger than limit − spent − reserved is denied, naming the grant, the dimension and the numbers", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n } }));
  const llm = w.fakes.get("llm.generate")!;
  await w.send("demo/Ask@1", { max: 150 });
  const first = lastQueued(w);
  await w.send("demo/Ask@1", { max: 100 });
  const rejected = w.journal().find((x) => x.kind === "effect_rejected")!;
  assert.equal(
    rejected.body.reason,
    'grant "llm" tokens budget: reserving 100 exceeds the 50 left (limit 200, spent 0, reserved 150)',
  );
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 0n, 150n, false], "a denial reserves nothing");
  // Once the first settles at 30, 170 are left: the same request fits
  llm.script(hashOf(first), { status: "ok", payload: llmReceipt(10, 20) });
  await w.runToIdle();
  await w.send("demo/Ask@1", { max: 100 });
  assert.deepEqual(ints(lastQueued(w).body.reserved), { tokens: 100n });
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 30n, 100n, false]);
  await w.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Bytes from the store

Deno.test("blob.put reserves the blob's size from the CAS and settles the receipt's size", async () => {
  await using w = await TestWorld.create(budgetWorld({ store: { bytes: 20n } }));
  const blob = await w.world.cas.put("blobs", new Uint8Array(16).fill(7));
  const put = w.fakes.get("blob.put")!;
  await w.send("demo/Store@1", { blob });
  assert.deepEqual(ints(lastQueued(w).body.reserved), { bytes: 16n });
  assert.deepEqual(account(w, "store", "bytes"), [20n, 0n, 16n, false]);
  // A second put of the same blob does not fit in the 4 bytes left
  await w.send("demo/Store@1", { blob });
  const rejected = w.journal().find((x) => x.kind === "effect_rejected")!;
  assert.deepEqual(ints(rejected.body.reserved), { bytes: 16n });
  assert.match(String(rejected.body.reason), /^grant "store" bytes budget: reserving 16 exceeds the 4 left/);
  put.script(hashOf(lastQueued(w)), { status: "ok", payload: blobReceipt(blob, 16) });
  await w.runToIdle();
  assert.deepEqual(account(w, "store", "bytes"), [20n, 16n, 0n, false]);
  await w.assertReplay();
});

Deno.test("a blob missing from the CAS reserves 0, and storing it later changes nothing on replay", async () => {
  await using w = await TestWorld.create(budgetWorld({ store: { bytes: 20n } }));
  const bytes = new Uint8Array(30).fill(3);
  const blob = hashRefOf(bytes);
  await w.send("demo/Store@1", { blob });
  assert.deepEqual(ints(lastQueued(w).body.reserved), { bytes: 0n });
  assert.deepEqual(account(w, "store", "bytes"), [20n, 0n, 0n, false]);
  // The blob arrives afterwards: a replay that asked the store would now reserve 30 and refuse the put
  await w.world.cas.put("blobs", bytes);
  await w.assertReplay();
  w.fakes.get("blob.put")!.script(hashOf(lastQueued(w)), { status: "ok", payload: blobReceipt(blob, 30) });
  await w.runToIdle();
  assert.deepEqual(account(w, "store", "bytes"), [20n, 30n, 0n, true]);
  assert.deepEqual(exceeded(w), [{ grant_name: "store", dimension: "bytes", delta: 30n, new_balance: -10n }]);
  await w.assertReplay();
});

Deno.test("a blob.put the policy denies journals no size: replay gates it as unknown, which fits too", async () => {
  await using w = await TestWorld.create(budgetWorld({ store: { bytes: 20n } }, { denyPlanBlobPuts: true }));
  // Live, the first blob is known (16 bytes fit) and the second unknown; the policy denies both
  const known = await w.world.cas.put("blobs", new Uint8Array(16).fill(5));
  const later = new Uint8Array(40).fill(6);
  await w.send("demo/Store@1", { blob: known });
  await w.send("demo/Store@1", { blob: hashRefOf(later) });
  const decisions = w.journal().filter((x) => x.kind === "policy_decision").map((x) => x.body.decision);
  assert.deepEqual(decisions, ["deny", "deny"]);
  assert.deepEqual(account(w, "store", "bytes"), [20n, 0n, 0n, false]);
  // The unknown blob arrives (40 bytes would not fit in 20): replay still reproduces both denials
  await w.world.cas.put("blobs", later);
  await w.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Cents

Deno.test("cents come from the receipt's cost_cents, else the LLM payload's, never both", async () => {
  await using w = await TestWorld.create(budgetWorld({ web: { cents: 5n }, llm: { cents: 100n } }));
  // http: 3 cents per receipt; the second overdraws the 5
  const web = w.fakes.get("http.request")!;
  for (const n of [1, 2]) {
    await w.send("demo/Fetch@1", { n });
    web.script(hashOf(lastQueued(w)), { status: "ok", costCents: 3n });
    await w.runToIdle();
  }
  assert.deepEqual(account(w, "web", "cents"), [5n, 6n, 0n, true]);
  assert.deepEqual(exceeded(w), [{ grant_name: "web", dimension: "cents", delta: 3n, new_balance: -1n }]);
  // llm: the receipt's 2 cents win over the payload's 7; without a receipt cost, the payload's 7 count
  const llm = w.fakes.get("llm.generate")!;
  await w.send("demo/Ask@1", { max: 10 });
  llm.script(hashOf(lastQueued(w)), { status: "ok", payload: llmReceipt(1, 1, 7), costCents: 2n });
  await w.runToIdle();
  assert.deepEqual(account(w, "llm", "cents"), [100n, 2n, 0n, false]);
  await w.send("demo/Ask@1", { max: 10 });
  llm.script(hashOf(lastQueued(w)), { status: "ok", payload: llmReceipt(1, 1, 7) });
  await w.runToIdle();
  assert.deepEqual(account(w, "llm", "cents"), [100n, 9n, 0n, false]);
  await w.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Receipts that fail, and receipts that are ignored

Deno.test("an error or timeout receipt releases its reservation and spends nothing", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n }, store: { bytes: 20n } }));
  await w.send("demo/Ask@1", { max: 150 });
  w.fakes.get("llm.generate")!.script(hashOf(lastQueued(w)), { status: "error" });
  const blob = await w.world.cas.put("blobs", new Uint8Array(12));
  await w.send("demo/Store@1", { blob });
  w.fakes.get("blob.put")!.script(hashOf(lastQueued(w)), { status: "timeout" });
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 0n, 150n, false]);
  assert.deepEqual(account(w, "store", "bytes"), [20n, 0n, 12n, false]);
  await w.runToIdle();
  assert.deepEqual(
    w.journal().filter((x) => x.kind === "receipt_appended").map((x) => x.body.status),
    ["error", "timeout"],
  );
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 0n, 0n, false]);
  assert.deepEqual(account(w, "store", "bytes"), [20n, 0n, 0n, false]);
  await w.assertReplay();
});

Deno.test("a duplicate or forged receipt settles nothing", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n } }));
  const llm = w.fakes.get("llm.generate")!;
  // A forged answer first: ignored, the reservation stays
  await w.send("demo/Ask@1", { max: 100 });
  const intent = hashOf(lastQueued(w));
  llm.script(intent, { status: "ok", payload: llmReceipt(150, 150), corruptSignature: true });
  await w.runToIdle();
  assert.equal(w.journal().at(-1)!.body.reason, "bad_signature");
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 0n, 100n, false]);
  // The real answer, twice: the first settles, the copy is a duplicate and settles nothing
  llm.script(intent, { status: "ok", payload: llmReceipt(30, 30), duplicates: 1 });
  w.forgetIgnored();
  await w.runToIdle();
  assert.deepEqual(orderOf(w.journal()).slice(-3), ["receipt_appended", "plan_ended", "receipt_ignored"]);
  assert.equal(w.journal().at(-1)!.body.reason, "duplicate");
  assert.deepEqual(account(w, "llm", "tokens"), [200n, 60n, 0n, false]);
  assert.deepEqual(exceeded(w), []);
  await w.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Reducers and plans share a grant

Deno.test("a reducer micro-effect and a plan draw on one grant's ledger", async () => {
  await using w = await TestWorld.create(budgetWorld({ store: { bytes: 25n } }));
  await w.world.cas.put("blobs", KEPT);
  const planBlob = await w.world.cas.put("blobs", new Uint8Array(12).fill(1));
  // The reducer reserves 10 bytes, the plan 12: 22 of 25
  await w.send("demo/Keep@1", { n: 1 });
  assert.deepEqual(lastQueued(w).body.origin, { kind: "reducer", name: KEEPER });
  assert.deepEqual(ints(lastQueued(w).body.reserved), { bytes: 10n });
  await w.send("demo/Store@1", { blob: planBlob });
  assert.deepEqual(account(w, "store", "bytes"), [25n, 0n, 22n, false]);
  // A second reducer put does not fit in the 3 left: its step is discarded with a budget error
  const report = await w.send("demo/Keep@1", { n: 2 });
  assert.deepEqual(report.reducerErrors.map((r) => r.code), ["budget"]);
  assert.deepEqual(w.state(KEEPER), { last: "sent" });
  // Both settle at their sizes: 22 spent
  const [reducerIntent, planIntent] = w.world.kernel.outbox();
  const put = w.fakes.get("blob.put")!;
  put.script(reducerIntent!.intentHash, { status: "ok", payload: blobReceipt(hashRefOf(KEPT), 10) });
  put.script(planIntent!.intentHash, { status: "ok", payload: blobReceipt(planBlob, 12) });
  await w.runToIdle();
  assert.deepEqual(w.state(KEEPER), { last: "settled" });
  assert.deepEqual(account(w, "store", "bytes"), [25n, 22n, 0n, false]);
  await w.assertReplay();
});

// ---------------------------------------------------------------------------------------------------------
// Crash

Deno.test("a crash between enqueue and receipt: the reservation survives reopen (snapshot + tail) and replay", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n }, store: { bytes: 50n } }), {
    snapshotIntervalEntries: 4,
  });
  const blob = await w.world.cas.put("blobs", new Uint8Array(20));
  await w.send("demo/Ask@1", { max: 120 });
  await w.send("demo/Store@1", { blob });
  assert.ok(w.world.lastSnapshot, "a snapshot holds the ledger and the outbox with their reservations");
  await w.send("demo/Ask@1", { max: 70 });
  const outbox = w.world.kernel.outbox();
  assert.deepEqual(outbox.map((o) => o.reserved), [{ tokens: 120n }, { bytes: 20n }, { tokens: 70n }]);
  // The process dies; the world is reopened from disk
  w.world.close();
  const reopened = await World.open(w.dir, { clock: w.clock });
  try {
    assert.deepEqual(account(reopened, "llm", "tokens"), [200n, 0n, 190n, false]);
    assert.deepEqual(account(reopened, "store", "bytes"), [50n, 0n, 20n, false]);
    assert.deepEqual(reopened.kernel.outbox().map((o) => o.reserved), outbox.map((o) => o.reserved));
    assert.equal((await verifyWorld(w.dir)).ok, true);
    // The driver runs again: every intent is settled once, every reservation released
    const llm = w.fakes.get("llm.generate")!;
    llm.script(outbox[0]!.intentHash, { status: "ok", payload: llmReceipt(50, 50) });
    llm.script(outbox[2]!.intentHash, { status: "ok", payload: llmReceipt(10, 10) });
    w.fakes.get("blob.put")!.script(outbox[1]!.intentHash, { status: "ok", payload: blobReceipt(blob, 20) });
    const run = await reopened.run(w.directory);
    assert.equal(run.idle, true);
    assert.deepEqual(account(reopened, "llm", "tokens"), [200n, 120n, 0n, false]);
    assert.deepEqual(account(reopened, "store", "bytes"), [50n, 20n, 0n, false]);
  } finally {
    reopened.close();
  }
  const verified = await verifyWorld(w.dir);
  assert.equal(verified.ok, true, verified.divergence?.message);
});

// ---------------------------------------------------------------------------------------------------------
// Snapshots from before budgets, and verify naming the grant

Deno.test("a snapshot from before budgets (budgets: []) still opens; replay --verify names the grant whose ledger differs", async () => {
  await using w = await TestWorld.create(budgetWorld({ llm: { tokens: 200n } }), {
    snapshotIntervalEntries: 8,
  });
  await w.send("demo/Ask@1", { max: 100 });
  w.fakes.get("llm.generate")!.script(hashOf(lastQueued(w)), { status: "ok", payload: llmReceipt(40, 40) });
  await w.runToIdle();
  await w.send("demo/Ask@1", { max: 50 }); // takes the journal past 8 entries: a snapshot follows
  const snapshot = w.world.lastSnapshot!;
  assert.ok(snapshot, "a snapshot was taken");
  const raw = decodeCanonical(await w.world.cas.get("blobs", snapshot.hash)) as { [key: string]: CborValue };
  assert.deepEqual(ints(raw.budgets), [
    { grant: "llm", tokens: { limit: 200n, spent: 80n, reserved: 50n, exhausted: false } },
  ]);
  // Rewrite it as a world from before budgets would have: no ledger, no reservations in the outbox
  raw.budgets = [];
  raw.outbox = (raw.outbox as Array<{ [key: string]: CborValue }>).map(({ reserved: _, ...entry }) => entry);
  const old = await w.world.cas.put("blobs", encodeCanonical(raw));
  w.world.close();
  const paths = worldPaths(w.dir);
  const { entries } = await readJournalDir(paths.journal);
  const records = entries.map(({ kind, body }) =>
    kind === "snapshot" && bytesEqual(body.snapshot_hash as Uint8Array, hashRefToBytes(snapshot.hash))
      ? { kind, body: { ...body, snapshot_hash: hashRefToBytes(old) } }
      : { kind, body }
  );
  await Deno.remove(paths.journal, { recursive: true });
  const journal = await FsJournal.open(paths.journal, { create: true });
  journal.append(records);
  await journal.sync();
  await new FileHeadStore(paths.head).write({ height: journal.height, hash: journal.lastHash });
  journal.close();
  // It opens: the ledger starts from zero at the snapshot
  const reopened = await World.open(w.dir, { clock: w.clock });
  try {
    assert.deepEqual(account(reopened, "llm", "tokens"), [200n, 0n, 0n, false]);
  } finally {
    reopened.close();
  }
  // And verify, replaying from genesis, finds the ledger it lost and names the grant
  const report = await verifyWorld(w.dir);
  assert.equal(report.ok, false);
  assert.equal(report.divergence?.grant, "llm");
  assert.match(
    report.divergence?.message ?? "",
    /budget of grant "llm" from genesis \(tokens limit 200 spent 80 reserved 50\) differs from the live world \(tokens limit 200 spent 0 reserved 0\)/,
  );
});
