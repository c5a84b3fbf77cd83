/**
 * The proposal state machine in the pure kernel (KERNEL §10): the legal transitions, validation by
 * patch, a journaled illegal transition as corruption, snapshots of governance state, and the state
 * schema rule.
 */
import assert from "node:assert/strict";
import {
  type AirNode,
  type CborValue,
  decodeCanonical,
  type HashRef,
  hashRefToBytes,
  parsePatchDocument,
  type PatchDocument,
  patchHash,
  SchemaIndex,
} from "../air/mod.ts";
import { counterLikeSpec, givenKernel, hasCode, T0_NS } from "./_test_fixtures.ts";
import { Kernel, type KernelEntry } from "./kernel.ts";
import { type ControlPlaneContent, type Proposal, refusal, stateSchemaChanges } from "./proposals.ts";

function content(...docs: PatchDocument[]): ControlPlaneContent {
  const patches = new Map(docs.map((doc) => [patchHash(doc), doc]));
  return {
    defs: () => undefined,
    patch: (hash) => patches.get(hash),
    node: (_: HashRef): AirNode | undefined => undefined,
  };
}

function input(seq: number, kind: string, body: { [key: string]: CborValue }): KernelEntry {
  return { seq, kind, body: { ...body, ingress_ns: T0_NS + BigInt(seq) } };
}

function proposal(state: Proposal["state"], reportOk?: boolean): Proposal {
  const p: Proposal = {
    id: 1n,
    state,
    patchHash: `sha256:${"1".repeat(64)}`,
    baseManifestHash: `sha256:${"2".repeat(64)}`,
  };
  if (reportOk !== undefined) p.reportOk = reportOk;
  return p;
}

Deno.test("refusal() allows exactly the lifecycle's transitions", () => {
  const table: Array<[Proposal | undefined, string, boolean]> = [
    [undefined, "shadow", false],
    [proposal("submitted"), "shadow", true],
    [proposal("shadowed", false), "shadow", true],
    [proposal("approved"), "shadow", false],
    [proposal("submitted"), "approve", false],
    [proposal("shadowed", false), "approve", false],
    [proposal("shadowed", true), "approve", true],
    [proposal("approved"), "approve", false],
    [proposal("submitted"), "reject", true],
    [proposal("approved"), "reject", true],
    [proposal("approved"), "apply", true],
    [proposal("shadowed", true), "apply", false],
    [proposal("applied"), "reject", false],
    [proposal("rejected"), "apply", false],
  ];
  for (const [p, command, allowed] of table) {
    const problem = refusal(p, 1n, command as "shadow");
    assert.equal(problem === undefined, allowed, `${p?.state ?? "none"} ${command}: ${problem}`);
  }
});

Deno.test("Kernel applies proposal_submitted by validating its patch: a valid one is submitted with its candidate, an invalid one rejected at validation", () => {
  const { defs, host } = givenKernel(counterLikeSpec("counter"));
  const good = parsePatchDocument({
    base_manifest_hash: defs.manifestHash,
    patches: [{
      add_def: { kind: "defschema", node: { $kind: "defschema", name: "demo/Note@1", type: { text: {} } } },
    }],
  });
  const stale = parsePatchDocument({ base_manifest_hash: `sha256:${"0".repeat(64)}`, patches: [] });
  const kernel = new Kernel(defs, host, content(good, stale));
  kernel.apply({
    seq: 0,
    kind: "genesis",
    body: { manifest_hash: hashRefToBytes(defs.manifestHash), ingress_ns: T0_NS },
  });
  const submit = (seq: number, id: bigint, doc: PatchDocument) =>
    kernel.apply(input(seq, "proposal_submitted", {
      proposal_id: id,
      patch_hash: hashRefToBytes(patchHash(doc)),
      base_manifest_hash: hashRefToBytes(doc.base_manifest_hash),
    }));
  assert.deepEqual(submit(1, 1n, good), []);
  assert.equal(kernel.proposal(1n)?.state, "submitted");
  assert.match(kernel.proposal(1n)?.candidateManifestHash ?? "", /^sha256:/);
  const rejected = submit(2, 2n, stale);
  assert.deepEqual(rejected.map((r) => [r.kind, r.body.stage]), [["proposal_rejected", "validation"]]);
  assert.match((rejected[0]!.body.reasons as string[])[0]!, /AIR_PATCH_STALE/);
  // An id out of order, or a transition the driver would have refused, is a corrupt journal
  assert.throws(() => submit(4, 9n, good), hasCode("AOS_JOURNAL_CORRUPT"));
  const fresh = new Kernel(defs, host, content(good));
  fresh.apply({
    seq: 0,
    kind: "genesis",
    body: { manifest_hash: hashRefToBytes(defs.manifestHash), ingress_ns: T0_NS },
  });
  fresh.apply(input(1, "proposal_submitted", {
    proposal_id: 1n,
    patch_hash: hashRefToBytes(patchHash(good)),
    base_manifest_hash: hashRefToBytes(good.base_manifest_hash),
  }));
  assert.throws(
    () => fresh.apply(input(2, "approval_recorded", { proposal_id: 1n, approver: "a", decision: "approve" })),
    hasCode("AOS_JOURNAL_CORRUPT"),
  );
});

Deno.test("Kernel snapshots governance state and restores it byte for byte", () => {
  const { defs, host } = givenKernel(counterLikeSpec("counter"));
  const doc = parsePatchDocument({ base_manifest_hash: defs.manifestHash, patches: [] });
  const kernel = new Kernel(defs, host, content(doc));
  kernel.apply({
    seq: 0,
    kind: "genesis",
    body: { manifest_hash: hashRefToBytes(defs.manifestHash), ingress_ns: T0_NS },
  });
  kernel.apply(input(1, "proposal_submitted", {
    proposal_id: 1n,
    patch_hash: hashRefToBytes(patchHash(doc)),
    base_manifest_hash: hashRefToBytes(defs.manifestHash),
    author: "alice",
  }));
  kernel.apply(
    input(2, "shadow_run_completed", { proposal_id: 1n, report_hash: new Uint8Array(32), ok: true }),
  );
  kernel.apply(
    input(3, "approval_recorded", { proposal_id: 1n, approver: "bob", decision: "approve", note: "ok" }),
  );
  const bytes = kernel.snapshot();
  const governance = (decodeCanonical(bytes) as { governance: { next_proposal_id: number } }).governance;
  assert.equal(governance.next_proposal_id, 2);
  const restored = Kernel.restore(defs, host, bytes);
  assert.deepEqual(restored.proposals(), kernel.proposals());
  assert.deepEqual(restored.snapshot(), bytes);
  assert.equal(restored.proposal(1n)?.state, "approved");
});

Deno.test("stateSchemaChanges() names a module that keeps its name but changes its state or key schema", () => {
  const module = (state: string) => ({
    $kind: "defmodule" as const,
    name: "demo/M@1",
    module_kind: "reducer" as const,
    wasm_hash: `sha256:${"a".repeat(64)}` as HashRef,
    abi: { reducer: { state, event: "demo/E@1" } },
  });
  const schemas = (count: "nat" | "text") =>
    new SchemaIndex([{
      $kind: "defschema",
      name: "demo/S@1",
      type: { record: { count: count === "nat" ? { nat: {} } : { text: {} } } },
    }]);
  const before = { modules: new Map([["demo/M@1", module("demo/S@1")]]), schemas: schemas("nat") };
  assert.deepEqual(stateSchemaChanges(before, before), []);
  const changed = stateSchemaChanges(before, { modules: before.modules, schemas: schemas("text") });
  assert.equal(changed.length, 1);
  assert.match(changed[0]!, /demo\/M@1.*state schema/);
  assert.deepEqual(stateSchemaChanges(before, { modules: new Map(), schemas: schemas("text") }), []);
});
