/**
 * Governance inside the kernel (KERNEL §10): the proposal state machine and its pure decisions. The kernel
 * applies the four governance inputs through {@linkcode Governance}; the driver does the I/O around them —
 * it stores patch documents, shadow reports and candidate manifests in the CAS and loads what an input
 * needs into the {@linkcode ControlPlaneContent} before it journals the input ({@linkcode Governance.needs}).
 *
 * ```
 * submitted ──shadow──▶ shadowed ──approve (report ok)──▶ approved ──apply──▶ applied
 *   │ (invalid)           │ ▲ re-shadow                      │ (stale base, state schema changed)
 *   └─────────────────────┴─┴──────── reject ────────────────┴──▶ rejected
 * ```
 *
 * Every decision depends only on the kernel's state and content-addressed data, so replay reproduces
 * every step: validation re-applies the patch to the live manifest, apply re-checks the base and switches
 * the control plane at once.
 *
 * @module
 */
import {
  type AirNode,
  AosError,
  applyPatch,
  bytesEqual,
  bytesToHashRef,
  type CborValue,
  type DefModule,
  type DefSchema,
  formatDiagnostic,
  type HashRef,
  hashRefToBytes,
  isErrorDiagnostic,
  type NodeStore,
  type PatchDocument,
  PatchError,
  type PatchResult,
  schemaHash,
  SchemaIndex,
  type SchemaResolver,
} from "../air/mod.ts";
import { type EntryBodies, isRecord, journalRecord, u64 } from "../journal/mod.ts";
import type { KernelEntry, KernelRecord, WorldDefs } from "./kernel.ts";

/** Where a proposal is in its lifecycle (KERNEL §10.1). */
export type ProposalState = "submitted" | "shadowed" | "approved" | "applied" | "rejected";

/** The stage a proposal was rejected at (`proposal_rejected.stage`). */
export type RejectionStage = "validation" | "shadow" | "approval" | "apply";

/** A command on an existing proposal (each a journaled input). */
export type GovernanceCommand = "shadow" | "approve" | "reject" | "apply";

/** The journal kinds of governance inputs. */
export const GOVERNANCE_INPUT_KINDS = [
  "proposal_submitted",
  "shadow_run_completed",
  "approval_recorded",
  "apply_requested",
] as const;

/** A governance input kind. */
export type GovernanceInputKind = (typeof GOVERNANCE_INPUT_KINDS)[number];

/** True for the kinds of governance inputs. */
export function isGovernanceInput(kind: string): kind is GovernanceInputKind {
  return (GOVERNANCE_INPUT_KINDS as readonly string[]).includes(kind);
}

/** A proposal as the kernel keeps it (and snapshots it). */
export interface Proposal {
  id: bigint;
  state: ProposalState;
  patchHash: HashRef;
  baseManifestHash: HashRef;
  /** The manifest the patch yields on its base; set when it validated. */
  candidateManifestHash?: HashRef;
  author?: string;
  description?: string;
  /** The latest shadow report (a node in the CAS) and whether it was ok. */
  reportHash?: HashRef;
  reportOk?: boolean;
  /** Who approved or rejected it, and their note. */
  approver?: string;
  note?: string;
  rejection?: { stage: RejectionStage; reasons: string[] };
}

/**
 * Content-addressed control-plane data the kernel reads synchronously: the driver loads it from the CAS
 * before it journals (or replays) the input that needs it. Lookups of content that was never loaded
 * return undefined.
 */
export interface ControlPlaneContent {
  /** The loaded control plane of a manifest (its reducer modules compiled into the kernel's host). */
  defs(manifestHash: HashRef): WorldDefs | undefined;
  /**
   * A parsed patch document, by patch hash; the {@linkcode PatchError} of a stored document that does not
   * parse as one (it is rejected at validation with those diagnostics).
   */
  patch(patchHash: HashRef): PatchDocument | PatchError | undefined;
  /** A stored AIR node, by node hash (the nodes a patch's `set_manifest_refs` lists). */
  node(hash: HashRef): AirNode | undefined;
}

/** Content holding just the given control planes (a kernel that never meets a governance input). */
export function staticContent(...known: WorldDefs[]): ControlPlaneContent {
  const byHash = new Map(known.map((defs) => [defs.manifestHash, defs]));
  return { defs: (hash) => byHash.get(hash), patch: () => undefined, node: () => undefined };
}

/** What an input needs loaded before the kernel applies it. */
export interface ContentNeeds {
  patches: HashRef[];
  manifests: HashRef[];
}

/**
 * Why `command` cannot run on proposal `id` now, or undefined when it may: the legal transitions. The
 * driver refuses a command with this message (nothing is journaled); a journaled input that breaks them is
 * a corrupt journal.
 */
export function refusal(
  proposal: Proposal | undefined,
  id: bigint,
  command: GovernanceCommand,
): string | undefined {
  if (proposal === undefined) return `There is no proposal #${id}`;
  if (proposal.state === "applied" || proposal.state === "rejected") {
    return `Proposal #${id} is ${proposal.state}: it takes no more commands (submit a new one)`;
  }
  switch (command) {
    case "shadow":
      return proposal.state === "approved"
        ? `Proposal #${id} is approved: a shadow run may only precede approval`
        : undefined;
    case "approve":
      if (proposal.state === "submitted") {
        return `Proposal #${id} is submitted: shadow it ("aos proposal shadow ${id}") before approving`;
      }
      if (proposal.state === "approved") return `Proposal #${id} is already approved`;
      return proposal.reportOk === true ? undefined : `Proposal #${id} has a shadow report that is not ok: ` +
        `shadow it again (with a harness that passes) before approving`;
    case "reject":
      return undefined;
    case "apply":
      return proposal.state === "approved"
        ? undefined
        : `Proposal #${id} is ${proposal.state}: only an approved proposal can be applied`;
  }
}

/** The view of a control plane that state compatibility needs. */
interface ModulesView {
  modules: ReadonlyMap<string, DefModule>;
  schemas: SchemaResolver;
}

/**
 * The reasons an update from `before` to `after` would break kept reducer state (KERNEL §10.4 Choice): a
 * module that keeps its name but changes its state schema or its key schema (state is kept by module name;
 * bump the version to start fresh state instead). Sorted by module name.
 */
export function stateSchemaChanges(before: ModulesView, after: ModulesView): string[] {
  const reasons: string[] = [];
  for (const name of [...before.modules.keys()].sort()) {
    const old = before.modules.get(name)!;
    const next = after.modules.get(name);
    if (next === undefined) continue;
    const oldState = schemaHash({ ref: old.abi.reducer.state }, before.schemas);
    const newState = schemaHash({ ref: next.abi.reducer.state }, after.schemas);
    if (!bytesEqual(oldState, newState)) {
      reasons.push(
        `module "${name}" keeps its name but changes its state schema (${old.abi.reducer.state} ` +
          `${bytesToHashRef(oldState)} -> ${next.abi.reducer.state} ${bytesToHashRef(newState)}); ` +
          `give it a new version to start fresh state`,
      );
      continue;
    }
    const oldKey = old.key_schema === undefined
      ? undefined
      : schemaHash({ ref: old.key_schema }, before.schemas);
    const newKey = next.key_schema === undefined
      ? undefined
      : schemaHash({ ref: next.key_schema }, after.schemas);
    if (
      (oldKey === undefined) !== (newKey === undefined) || (oldKey && newKey && !bytesEqual(oldKey, newKey))
    ) {
      reasons.push(
        `module "${name}" keeps its name but changes its key schema (${old.key_schema ?? "none"} -> ` +
          `${next.key_schema ?? "none"}); its cells could not be read: give it a new version`,
      );
    }
  }
  return reasons;
}

/** The modules and schemas of a patched manifest, read from the nodes it lists. */
function candidateView(result: PatchResult, store: NodeStore): ModulesView {
  const lookup = (hash: HashRef | undefined) =>
    hash === undefined ? undefined : result.newNodes.get(hash) ?? store.get(hash);
  const modules = new Map<string, DefModule>();
  for (const ref of result.manifest.modules) {
    const node = lookup(ref.hash);
    if (node?.$kind === "defmodule") modules.set(ref.name, node);
  }
  const schemas: DefSchema[] = [];
  for (const ref of result.manifest.schemas) {
    if (ref.name.startsWith("sys/")) continue;
    const node = lookup(ref.hash);
    if (node?.$kind === "defschema") schemas.push(node);
  }
  return { modules, schemas: new SchemaIndex(schemas) };
}

/** The outcome of validating a patch against the live control plane. */
export type CandidateOutcome =
  | { ok: true; result: PatchResult }
  | { ok: false; reasons: string[]; error?: PatchError };

/**
 * Applies `doc` to the live manifest of `defs` (AIR §15) and checks that kept reducer state stays
 * readable: the pure validation of `proposal_submitted`, also run by the driver before it submits.
 * Nodes resolve from the live manifest, then from `content` (nodes named by `set_manifest_refs`).
 */
export function validateCandidate(
  defs: WorldDefs,
  doc: PatchDocument,
  content: Pick<ControlPlaneContent, "node">,
): CandidateOutcome {
  const store: NodeStore = { get: (hash) => defs.nodes.get(hash) ?? content.node(hash) };
  let result: PatchResult;
  try {
    result = applyPatch({ manifest: defs.manifest, manifestHash: defs.manifestHash }, doc, store);
  } catch (error) {
    if (!(error instanceof PatchError)) throw error;
    return {
      ok: false,
      reasons: error.diagnostics.filter(isErrorDiagnostic).map(formatDiagnostic),
      error,
    };
  }
  const reasons = stateSchemaChanges(defs, candidateView(result, store));
  return reasons.length > 0 ? { ok: false, reasons } : { ok: true, result };
}

/** What governance needs of the kernel that runs it. */
export interface GovernanceHost {
  /** The live control plane. */
  readonly defs: WorldDefs;
  readonly content: ControlPlaneContent;
  /** Appends a derived record. */
  emit(record: KernelRecord): number;
  /** Switches the live control plane to `next` at once (KERNEL §10.4); every check has passed. */
  switchTo(next: WorldDefs): void;
}

/** The proposals of a world and the transitions the governance inputs make. */
export class Governance {
  readonly #host: GovernanceHost;
  readonly #proposals = new Map<bigint, Proposal>();
  #nextId = 1n;

  constructor(host: GovernanceHost) {
    this.#host = host;
  }

  /** The id the next `proposal_submitted` must carry. */
  get nextProposalId(): bigint {
    return this.#nextId;
  }

  /** A copy of proposal `id`, or undefined. */
  proposal(id: bigint): Proposal | undefined {
    const p = this.#proposals.get(id);
    return p === undefined ? undefined : copyProposal(p);
  }

  /** Copies of every proposal, by id. */
  proposals(): Proposal[] {
    return [...this.#proposals.keys()].sort(compareBigint).map((id) =>
      copyProposal(this.#proposals.get(id)!)
    );
  }

  /** The content `record` (a governance input about to be applied) needs loaded. */
  needs(record: KernelRecord): ContentNeeds {
    const needs: ContentNeeds = { patches: [], manifests: [] };
    if (isRecord(record, "proposal_submitted") && record.body.patch_hash instanceof Uint8Array) {
      needs.patches.push(bytesToHashRef(record.body.patch_hash));
    } else if (isRecord(record, "apply_requested")) {
      const p = this.#proposals.get(u64(record.body.proposal_id));
      if (p?.state === "approved" && p.candidateManifestHash !== undefined) {
        needs.manifests.push(p.candidateManifestHash);
      }
    }
    return needs;
  }

  /** Applies one governance input; `corrupt` builds the error for an input that breaks the rules. */
  apply(entry: KernelEntry, corrupt: (what: string) => AosError): void {
    if (isRecord(entry, "proposal_submitted")) return this.#submitted(entry.body, corrupt);
    const id = typeof entry.body.proposal_id === "number" || typeof entry.body.proposal_id === "bigint"
      ? u64(entry.body.proposal_id)
      : 0n;
    const proposal = this.#proposals.get(id);
    const check = (command: GovernanceCommand): Proposal => {
      const problem = refusal(proposal, id, command);
      if (problem !== undefined) throw corrupt(`${entry.kind}: ${problem}`);
      return proposal!;
    };
    if (isRecord(entry, "shadow_run_completed")) {
      const p = check("shadow");
      p.state = "shadowed";
      p.reportHash = bytesToHashRef(entry.body.report_hash);
      p.reportOk = entry.body.ok;
    } else if (isRecord(entry, "approval_recorded")) {
      const body = entry.body;
      if (body.decision !== "approve" && body.decision !== "reject") {
        throw corrupt(`approval_recorded.decision is "${body.decision}", not approve or reject`);
      }
      const p = check(body.decision);
      p.approver = body.approver;
      if (body.note !== undefined) p.note = body.note;
      if (body.decision === "approve") p.state = "approved";
      else this.#reject(p, "approval", [body.note ?? `rejected by ${body.approver}`]);
    } else if (isRecord(entry, "apply_requested")) {
      this.#applyRequested(check("apply"));
    } else {
      throw corrupt(`kind "${entry.kind}" is not a governance input`);
    }
  }

  #submitted(body: EntryBodies["proposal_submitted"], corrupt: (what: string) => AosError): void {
    const id = u64(body.proposal_id);
    if (id !== this.#nextId) {
      throw corrupt(`proposal_submitted names proposal #${id}, but the next proposal is #${this.#nextId}`);
    }
    this.#nextId++;
    const patchHash = bytesToHashRef(body.patch_hash);
    const p: Proposal = {
      id,
      state: "submitted",
      patchHash,
      baseManifestHash: bytesToHashRef(body.base_manifest_hash),
    };
    if (body.author !== undefined) p.author = body.author;
    if (body.description !== undefined) p.description = body.description;
    this.#proposals.set(id, p);
    const doc = this.#host.content.patch(patchHash);
    if (doc === undefined) {
      throw new AosError("AOS_CAS_MISSING", `Patch ${patchHash} of proposal #${id} is not loaded`);
    }
    if (doc instanceof PatchError) {
      return this.#reject(p, "validation", doc.diagnostics.filter(isErrorDiagnostic).map(formatDiagnostic));
    }
    if (doc.base_manifest_hash !== p.baseManifestHash) {
      throw corrupt(
        `proposal_submitted base ${p.baseManifestHash} is not its patch's ${doc.base_manifest_hash}`,
      );
    }
    const outcome = validateCandidate(this.#host.defs, doc, this.#host.content);
    if (!outcome.ok) return this.#reject(p, "validation", outcome.reasons);
    p.candidateManifestHash = outcome.result.manifestHash;
  }

  #applyRequested(p: Proposal): void {
    const live = this.#host.defs;
    if (live.manifestHash !== p.baseManifestHash) return this.#reject(p, "apply", ["stale base"]);
    const candidate = p.candidateManifestHash;
    const next = candidate === undefined ? undefined : this.#host.content.defs(candidate);
    if (next === undefined) {
      throw new AosError("AOS_CAS_MISSING", `Manifest ${candidate} of proposal #${p.id} is not loaded`);
    }
    const reasons = stateSchemaChanges(live, next);
    if (reasons.length > 0) return this.#reject(p, "apply", reasons);
    this.#host.switchTo(next);
    p.state = "applied";
    this.#host.emit(journalRecord("manifest_applied", {
      proposal_id: p.id,
      manifest_hash: hashRefToBytes(next.manifestHash),
      previous_manifest_hash: hashRefToBytes(live.manifestHash),
    }));
  }

  #reject(p: Proposal, stage: RejectionStage, reasons: string[]): void {
    p.state = "rejected";
    p.rejection = { stage, reasons: [...reasons] };
    this.#host.emit(journalRecord("proposal_rejected", { proposal_id: p.id, stage, reasons: [...reasons] }));
  }

  /** The snapshot part (KERNEL §8.4 `governance`). */
  snapshot(): CborValue {
    return {
      next_proposal_id: this.#nextId,
      proposals: this.proposals().map(proposalToCbor),
    };
  }

  /** Restores the snapshot part; `bad` builds the error for a malformed one. */
  restore(raw: CborValue | undefined, bad: (what: string) => AosError): void {
    const part = raw as { next_proposal_id?: CborValue; proposals?: CborValue } | undefined;
    if (part === undefined || part === null || typeof part !== "object") throw bad("governance");
    const next = part.next_proposal_id;
    if (!(typeof next === "number" || typeof next === "bigint") || u64(next) < 1n) {
      throw bad("governance.next_proposal_id");
    }
    if (!Array.isArray(part.proposals)) throw bad("governance.proposals");
    this.#proposals.clear();
    for (const item of part.proposals) {
      const p = proposalFromCbor(item, bad);
      this.#proposals.set(p.id, p);
    }
    this.#nextId = u64(next);
  }
}

const STATES: readonly ProposalState[] = ["submitted", "shadowed", "approved", "applied", "rejected"];
const STAGES: readonly RejectionStage[] = ["validation", "shadow", "approval", "apply"];

function proposalToCbor(p: Proposal): CborValue {
  const out: { [key: string]: CborValue } = {
    id: p.id,
    state: p.state,
    patch_hash: hashRefToBytes(p.patchHash),
    base_manifest_hash: hashRefToBytes(p.baseManifestHash),
  };
  if (p.candidateManifestHash !== undefined) {
    out.candidate_manifest_hash = hashRefToBytes(p.candidateManifestHash);
  }
  if (p.author !== undefined) out.author = p.author;
  if (p.description !== undefined) out.description = p.description;
  if (p.reportHash !== undefined) out.report_hash = hashRefToBytes(p.reportHash);
  if (p.reportOk !== undefined) out.report_ok = p.reportOk;
  if (p.approver !== undefined) out.approver = p.approver;
  if (p.note !== undefined) out.note = p.note;
  if (p.rejection !== undefined) {
    out.stage = p.rejection.stage;
    out.reasons = [...p.rejection.reasons];
  }
  return out;
}

function proposalFromCbor(item: CborValue, bad: (what: string) => AosError): Proposal {
  const r = item as { [key: string]: CborValue };
  if (r === null || typeof r !== "object" || Array.isArray(r)) throw bad("governance proposal");
  const hash = (field: string): HashRef | undefined => {
    const v = r[field];
    if (v === undefined) return undefined;
    if (!(v instanceof Uint8Array) || v.length !== 32) throw bad(`governance proposal ${field}`);
    return bytesToHashRef(v);
  };
  const text = (field: string): string | undefined => {
    const v = r[field];
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw bad(`governance proposal ${field}`);
    return v;
  };
  const id = r.id;
  const state = r.state;
  const patchHash = hash("patch_hash");
  const base = hash("base_manifest_hash");
  if (
    !(typeof id === "number" || typeof id === "bigint") || typeof state !== "string" ||
    !STATES.includes(state as ProposalState) || patchHash === undefined || base === undefined
  ) {
    throw bad("governance proposal");
  }
  const p: Proposal = { id: u64(id), state: state as ProposalState, patchHash, baseManifestHash: base };
  const candidate = hash("candidate_manifest_hash");
  if (candidate !== undefined) p.candidateManifestHash = candidate;
  const author = text("author");
  if (author !== undefined) p.author = author;
  const description = text("description");
  if (description !== undefined) p.description = description;
  const report = hash("report_hash");
  if (report !== undefined) p.reportHash = report;
  if (r.report_ok !== undefined) {
    if (typeof r.report_ok !== "boolean") throw bad("governance proposal report_ok");
    p.reportOk = r.report_ok;
  }
  const approver = text("approver");
  if (approver !== undefined) p.approver = approver;
  const note = text("note");
  if (note !== undefined) p.note = note;
  const stage = text("stage");
  if (stage !== undefined) {
    if (!STAGES.includes(stage as RejectionStage) || !Array.isArray(r.reasons)) {
      throw bad("governance proposal rejection");
    }
    const reasons = r.reasons.map((x) => {
      if (typeof x !== "string") throw bad("governance proposal reasons");
      return x;
    });
    p.rejection = { stage: stage as RejectionStage, reasons };
  }
  return p;
}

function copyProposal(p: Proposal): Proposal {
  const copy = { ...p };
  if (p.rejection !== undefined) {
    copy.rejection = { stage: p.rejection.stage, reasons: [...p.rejection.reasons] };
  }
  return copy;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
