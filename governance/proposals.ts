/**
 * The governance commands on a live world (KERNEL §10.2): submit, shadow, approve, reject, apply. Each
 * checks the transition first — an illegal one is refused with `AOS_PROPOSAL_REFUSED` and nothing is
 * journaled — then stores the content its input names in the CAS (patch document, candidate manifest and
 * its new nodes and WASM, shadow report) and journals the input as one block; the kernel decides.
 *
 * @module
 */
import {
  AosError,
  type CborValue,
  type Diagnostic,
  encodeCanonical,
  type HashRef,
  hashRefOf,
  hashRefToBytes,
  isHashRef,
  type JsonValue,
  nodeBytes,
  parsePatchDocument,
  patchBytes,
  type PatchDocument,
  PatchError,
  type PatchResult,
} from "../air/mod.ts";
import { type GovernanceCommand, type Proposal, refusal, validateCandidate } from "../kernel/mod.ts";
import { AirInvalidError, type WasmFile, type World } from "../world/mod.ts";
import type { Harness } from "./harness.ts";
import { readReport, type ShadowReport, storeReport } from "./report.ts";
import { runShadow, type ShadowOptions } from "./shadow.ts";

/** Throws `AOS_PROPOSAL_REFUSED` unless `command` is legal for proposal `id` now; returns the proposal. */
export function checkCommand(world: World, id: bigint, command: GovernanceCommand): Proposal {
  const proposal = world.kernel.proposal(id);
  const problem = refusal(proposal, id, command);
  if (problem !== undefined) throw new AosError("AOS_PROPOSAL_REFUSED", problem);
  return proposal!;
}

/** Options of {@linkcode submitProposal}. */
export interface SubmitOptions {
  author?: string;
  description?: string;
  /** WASM files the patch's modules may name (stored in the CAS when a module needs them). */
  wasm?: WasmFile[];
}

/** What a submission did. */
export interface SubmitOutcome {
  proposal: Proposal;
  /** Every diagnostic of a patch rejected at validation (empty otherwise). */
  diagnostics: Diagnostic[];
}

/**
 * Submits a patch document (parsed JSON): stores it in the CAS and journals `proposal_submitted`. A patch
 * that does not validate is journaled all the same and rejected by the kernel at stage `validation` (see
 * `diagnostics`). Refused before anything is journaled (with every diagnostic): a `set_manifest_refs`
 * node the store lacks, and reducer modules whose WASM is missing or invalid.
 */
export async function submitProposal(
  world: World,
  patch: JsonValue,
  options: SubmitOptions = {},
): Promise<SubmitOutcome> {
  let doc: PatchDocument | undefined;
  let diagnostics: Diagnostic[] = [];
  let bytes: Uint8Array;
  try {
    doc = parsePatchDocument(patch);
    bytes = patchBytes(doc);
  } catch (error) {
    if (!(error instanceof PatchError)) throw error;
    // A document that does not even parse is journaled as given, and rejected with its diagnostics.
    diagnostics = error.diagnostics;
    bytes = encodeCanonical(patch as CborValue);
  }
  const base = doc?.base_manifest_hash ?? baseOf(patch) ?? world.defs.manifestHash;
  const patchHash = await world.cas.put("nodes", bytes);
  if (doc !== undefined) {
    await world.library.loadPatch(patchHash); // and the stored nodes it names
    const outcome = validateCandidate(world.defs, doc, world.library);
    if (outcome.ok) {
      await storeCandidate(world, outcome.result, options.wasm ?? []);
    } else {
      const missing = (outcome.error?.diagnostics ?? []).filter((d) => d.code === "AIR_PATCH_NODE_MISSING");
      if (missing.length > 0) throw new AirInvalidError(missing);
      diagnostics = outcome.error?.diagnostics ??
        outcome.reasons.map((message) => ({ code: "AIR_STATE_SCHEMA_CHANGED", message }));
    }
  }
  const id = world.kernel.nextProposalId;
  await world.admitGovernance((ingressNs) => {
    const body: { [key: string]: CborValue } = {
      proposal_id: id,
      patch_hash: hashRefToBytes(patchHash),
      base_manifest_hash: hashRefToBytes(base),
      ingress_ns: ingressNs,
    };
    if (options.author !== undefined) body.author = options.author;
    if (options.description !== undefined) body.description = options.description;
    return { kind: "proposal_submitted", body };
  });
  return { proposal: world.kernel.proposal(id)!, diagnostics };
}

function baseOf(patch: JsonValue): HashRef | undefined {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return undefined;
  const base = patch.base_manifest_hash;
  return typeof base === "string" && isHashRef(base) ? base : undefined;
}

/**
 * Stores a validated candidate before the input that leads to it is journaled: its new nodes, the WASM
 * its modules name (from the store or `wasm`), and the manifest node; then loads it (compiling its modules)
 * so a bad module is refused now, not at apply.
 */
async function storeCandidate(
  world: World,
  result: Pick<PatchResult, "manifest" | "manifestHash" | "newNodes">,
  wasm: WasmFile[],
): Promise<void> {
  const wasmByHash = new Map(wasm.map((f) => [hashRefOf(f.bytes), f]));
  const missing: Diagnostic[] = [];
  for (const node of result.newNodes.values()) {
    if (node.$kind !== "defmodule" || await world.cas.has("blobs", node.wasm_hash)) continue;
    const file = wasmByHash.get(node.wasm_hash);
    if (file === undefined) {
      missing.push({
        code: "AIR_WASM_MISSING",
        message: `no .wasm file with hash ${node.wasm_hash} was found (nor is it in the world's store)`,
        def: node.name,
      });
    }
  }
  if (missing.length > 0) throw new AirInvalidError(missing);
  for (const node of result.newNodes.values()) {
    if (node.$kind === "defmodule" && !(await world.cas.has("blobs", node.wasm_hash))) {
      await world.cas.put("blobs", wasmByHash.get(node.wasm_hash)!.bytes);
    }
    await world.cas.put("nodes", nodeBytes(node));
  }
  const stored = await world.cas.put("nodes", nodeBytes(result.manifest));
  if (stored !== result.manifestHash) {
    throw new AosError(
      "AOS_CAS_CORRUPT",
      `Candidate manifest stored as ${stored}, not ${result.manifestHash}`,
    );
  }
  await world.library.loadDefs(result.manifestHash);
}

/** What a shadow command did. */
export interface ShadowOutcome {
  report: ShadowReport;
  reportHash: HashRef;
  proposal: Proposal;
}

/** Shadows proposal `id` with `harness`, stores the report and journals `shadow_run_completed`. */
export async function shadowProposal(
  world: World,
  id: bigint,
  harness: Harness,
  options: ShadowOptions = {},
): Promise<ShadowOutcome> {
  const proposal = checkCommand(world, id, "shadow");
  const report = await runShadow(world, proposal, harness, options);
  const reportHash = await storeReport(world.cas, report);
  await world.admitGovernance((ingressNs) => ({
    kind: "shadow_run_completed",
    body: { proposal_id: id, report_hash: hashRefToBytes(reportHash), ok: report.ok, ingress_ns: ingressNs },
  }));
  return { report, reportHash, proposal: world.kernel.proposal(id)! };
}

/** Journals an approval (`approve`) or a rejection (`reject`) of proposal `id` by `approver`. */
export async function recordApproval(
  world: World,
  id: bigint,
  decision: "approve" | "reject",
  approver: string,
  note?: string,
): Promise<Proposal> {
  if (approver.trim() === "") {
    throw new AosError("AOS_USAGE", "An approver name is required (--approver NAME)");
  }
  checkCommand(world, id, decision);
  await world.admitGovernance((ingressNs) => {
    const body: { [key: string]: CborValue } = { proposal_id: id, approver, decision, ingress_ns: ingressNs };
    if (note !== undefined) body.note = note;
    return { kind: "approval_recorded", body };
  });
  return world.kernel.proposal(id)!;
}

/**
 * Journals `apply_requested` for an approved proposal; the kernel switches to its manifest
 * (`manifest_applied`) or rejects it at stage `apply` (a stale base). Returns the proposal after. Refused
 * while events wait in the inbox: they were validated against the manifest in force, so they are admitted
 * (`aos step`) before it changes.
 */
export async function applyProposal(world: World, id: bigint): Promise<Proposal> {
  checkCommand(world, id, "apply");
  const queued = await world.pendingInbox();
  if (queued > 0) {
    throw new AosError(
      "AOS_PROPOSAL_REFUSED",
      `Proposal #${id} cannot be applied while ${queued} event${
        queued === 1 ? "" : "s"
      } wait in the inbox, ` +
        `validated against the manifest in force: admit them first ("aos step")`,
    );
  }
  await world.admitGovernance((ingressNs) => ({
    kind: "apply_requested",
    body: { proposal_id: id, ingress_ns: ingressNs },
  }));
  return world.kernel.proposal(id)!;
}

/** The patch document of a proposal, or the JSON as submitted when it did not parse as one. */
export async function proposalPatch(
  world: World,
  proposal: Proposal,
): Promise<{ doc: PatchDocument } | { raw: JsonValue }> {
  const doc = await world.library.loadPatch(proposal.patchHash);
  return doc instanceof PatchError ? { raw: await world.library.loadRaw(proposal.patchHash) } : { doc };
}

/** The latest shadow report of a proposal, if it was shadowed. */
export async function proposalReport(world: World, proposal: Proposal): Promise<ShadowReport | undefined> {
  return proposal.reportHash === undefined ? undefined : await readReport(world.cas, proposal.reportHash);
}
