/**
 * `aos proposal …`: the governance loop from the command line (KERNEL §10) — submit a patch (or the
 * difference between the live manifest and an edited folder of AIR files), shadow it with a harness,
 * approve or reject it, apply it, list and show proposals. Exit codes: 0 ok, 1 failure (a shadow report
 * that is not ok, an apply rejected for a stale base), 2 refused input (bad JSON or AIR, an illegal
 * transition — nothing is journaled — or a patch rejected at validation, which is journaled).
 *
 * @module
 */
import type { Command } from "commander";
import {
  type AirFile,
  AosError,
  formatDiagnostic,
  type JsonValue,
  parseJson,
  type PatchDocument,
  patchDocumentToJson,
  type PatchOp,
  stringifyJson,
} from "../air/mod.ts";
import {
  applyProposal,
  EMPTY_HARNESS,
  type Harness,
  parseHarness,
  patchFromBundle,
  type Proposal,
  proposalPatch,
  proposalReport,
  recordApproval,
  shadowProposal,
  type ShadowReport,
  submitProposal,
} from "../governance/mod.ts";
import {
  AirInvalidError,
  readWasmFolders,
  readWorldConfig,
  validateAirSource,
  type WasmFile,
  type World,
  worldPaths,
} from "../world/mod.ts";
import { diagnosticJson, readAirPath } from "./air.ts";
import { fillWasmHashes, wasmFillError } from "./wasm_fill.ts";
import { count } from "./render.ts";
import { type CliIo, printJson, readWorld, resolvePath, withWorld } from "./context.ts";

const EXIT_REFUSED = 2;

/** Registers `aos proposal` on `program`. */
export function registerProposalCommands(
  program: Command,
  io: CliIo,
  world: () => string | undefined,
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>,
): void {
  const proposal = program.command("proposal").description(
    "change the world's control plane: submit, shadow, approve, apply",
  );
  proposal.command("submit")
    .description("submit a patch (PATCH.json, or the difference to an edited folder of AIR files)")
    .argument("[patch]", "a patch document (JSON)")
    .option("--air <dir>", "compute the patch from this folder of AIR files (and the .wasm its modules name)")
    .option("--dry-run", "with --air: print the patch, submit nothing")
    .option("--author <name>", "who proposes it")
    .option("--description <text>", "what it does and why")
    .option("--json", "print JSON")
    .action(act(
      (
        patch: string | undefined,
        o: { air?: string; dryRun?: boolean; author?: string; description?: string; json?: boolean },
      ) => refusing(io, () => runSubmit(io, world(), patch, o)),
    ));
  proposal.command("shadow")
    .description("run the proposal in an in-memory fork and record the report (exit 1 when not ok)")
    .argument("<id>", "proposal id")
    .option("--harness <file>", 'seed events and canned receipts: {"events": [...], "receipts": [...]}')
    .option("--json", "print the report as JSON")
    .action(
      act((id: string, o: { harness?: string; json?: boolean }) =>
        refusing(io, () => runShadowCommand(io, world(), id, o))
      ),
    );
  for (const decision of ["approve", "reject"] as const) {
    proposal.command(decision)
      .description(
        decision === "approve"
          ? "approve a shadowed proposal whose report is ok"
          : "reject a proposal (before it is applied)",
      )
      .argument("<id>", "proposal id")
      .requiredOption("--approver <name>", "who decides")
      .option("--note <text>", "why")
      .option("--json", "print JSON")
      .action(
        act((id: string, o: { approver: string; note?: string; json?: boolean }) =>
          refusing(io, () => runDecision(io, world(), id, decision, o))
        ),
      );
  }
  proposal.command("apply")
    .description("switch the world to an approved proposal's manifest (exit 1 when its base is stale)")
    .argument("<id>", "proposal id")
    .option("--json", "print JSON")
    .action(act((id: string, o: { json?: boolean }) => refusing(io, () => runApply(io, world(), id, o))));
  proposal.command("ls")
    .description("list proposals")
    .option("--json", "print JSON")
    .action(act((o: { json?: boolean }) => runLs(io, world(), o)));
  proposal.command("show")
    .description("show a proposal: state, patch summary, shadow report")
    .argument("<id>", "proposal id")
    .option("--json", "print JSON")
    .action(act((id: string, o: { json?: boolean }) => refusing(io, () => runShow(io, world(), id, o))));
}

/** Prints an `AOS_PROPOSAL_REFUSED` error and exits 2 (other errors go to the main handler). */
async function refusing(io: CliIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof AosError && error.code === "AOS_PROPOSAL_REFUSED") {
      io.err(`error[${error.code}]: ${error.message}`);
      return EXIT_REFUSED;
    }
    throw error;
  }
}

/** Parses a proposal id (`3` or `#3`). */
function parseId(text: string): bigint {
  const m = /^#?(\d{1,19})$/.exec(text.trim());
  if (!m) throw new AosError("AOS_USAGE", `A proposal id is a whole number, got "${text}"`);
  return BigInt(m[1]!);
}

async function readText(io: CliIo, path: string, what: string): Promise<{ path: string; text: string }> {
  const full = resolvePath(io, path);
  try {
    return { path: full, text: await Deno.readTextFile(full) };
  } catch (cause) {
    throw new AosError("AOS_USAGE", `Cannot read ${what} "${path}": ${String(cause)}`, { cause });
  }
}

function dirOf(path: string): string {
  return path.replace(/\/[^/]*$/, "") || ".";
}

/**
 * The AIR files of PATH (its `*.air.json`, else its `air/`) and the `.wasm` next to them, as `aos init
 * --from` finds them: in the folder, its `modules/`, and for an `air/` folder its parent and `modules/`.
 */
async function readAirSource(path: string): Promise<{ files: AirFile[]; wasm: WasmFile[] }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new AosError("AOS_USAGE", `No such folder: "${path}"`);
  }
  if (!info.isDirectory) throw new AosError("AOS_USAGE", `--air takes a folder of AIR files, got "${path}"`);
  const { files, wasmDirs } = await readAirPath(path.replace(/\/+$/, ""));
  const wasm = await readWasmFolders(wasmDirs);
  // Modules without wasm_hash take it from their .wasm, as with aos init --from.
  const fill = fillWasmHashes(files, wasm);
  if (fill.unfilled.length > 0) throw new AosError("AOS_AIR_INVALID", wasmFillError(fill, wasmDirs, wasm));
  return { files: fill.files, wasm };
}

/** The `--json` form of a proposal (`proposal ls` entries). */
export function proposalJson(p: Proposal): { [key: string]: JsonValue } {
  return {
    id: p.id,
    state: p.state,
    author: p.author ?? null,
    description: p.description ?? null,
    patch_hash: p.patchHash,
    base_manifest_hash: p.baseManifestHash,
    candidate_manifest_hash: p.candidateManifestHash ?? null,
    report_hash: p.reportHash ?? null,
    report_ok: p.reportOk ?? null,
    approver: p.approver ?? null,
    note: p.note ?? null,
    rejection: p.rejection ? { stage: p.rejection.stage, reasons: p.rejection.reasons } : null,
  };
}

async function runSubmit(
  io: CliIo,
  worldOption: string | undefined,
  patchPath: string | undefined,
  o: { air?: string; dryRun?: boolean; author?: string; description?: string; json?: boolean },
): Promise<number> {
  if ((patchPath === undefined) === (o.air === undefined)) {
    throw new AosError("AOS_USAGE", "Give either PATCH.json or --air DIR");
  }
  if (o.dryRun && o.air === undefined) throw new AosError("AOS_USAGE", "--dry-run goes with --air DIR");
  let patch: JsonValue | undefined;
  let wasm: WasmFile[] = [];
  let source: { files: AirFile[]; wasm: WasmFile[] } | undefined;
  if (patchPath !== undefined) {
    const file = await readText(io, patchPath, "patch file");
    patch = parseJson(file.text, patchPath);
    wasm = await readWasmFolders([dirOf(file.path), `${dirOf(file.path)}/modules`]);
  } else {
    source = await readAirSource(resolvePath(io, o.air!));
  }
  return await withWorld(io, worldOption, async (w) => {
    if (source !== undefined) {
      const validated = validateAirSource(source.files, source.wasm);
      if (!validated.source) throw new AirInvalidError(validated.diagnostics);
      const doc = patchFromBundle(w.defs.manifest, w.defs.manifestHash, validated.source.bundle);
      if (doc.patches.length === 0) {
        throw new AosError("AOS_USAGE", `"${o.air}" matches the manifest in force: nothing to propose`);
      }
      patch = patchDocumentToJson(doc);
      wasm = [...validated.source.wasmByHash.values()];
      if (o.dryRun) {
        io.out(o.json ? stringifyJson(patch) : stringifyJson(patch, 2));
        return 0;
      }
    }
    const dir = w.dir ?? ".";
    wasm = [...wasm, ...await readWasmFolders([worldPaths(dir).modules])];
    const options: { author?: string; description?: string; wasm: WasmFile[] } = { wasm };
    if (o.author !== undefined) options.author = o.author;
    if (o.description !== undefined) options.description = o.description;
    const { proposal, diagnostics } = await submitProposal(w, patch!, options);
    const rejected = proposal.state === "rejected";
    if (o.json) {
      printJson(io, { ...proposalJson(proposal), diagnostics: diagnostics.map(diagnosticJson) });
    } else if (rejected) {
      io.err(`Proposal #${proposal.id} was journaled and rejected at validation:`);
      const lines = diagnostics.length > 0
        ? diagnostics.map(formatDiagnostic)
        : proposal.rejection?.reasons ?? [];
      for (const line of lines) io.err(`  ${line}`);
    } else {
      io.out(`Submitted proposal #${proposal.id}`);
      io.out(`  patch      ${proposal.patchHash}`);
      io.out(`  candidate  ${proposal.candidateManifestHash}`);
      io.out(`  next       aos proposal shadow ${proposal.id} [--harness FILE]`);
    }
    return rejected ? EXIT_REFUSED : 0;
  });
}

async function readHarness(io: CliIo, path: string | undefined): Promise<Harness> {
  if (path === undefined) return EMPTY_HARNESS;
  const file = await readText(io, path, "harness");
  return parseHarness(parseJson(file.text, path), path);
}

async function runShadowCommand(
  io: CliIo,
  worldOption: string | undefined,
  idText: string,
  o: { harness?: string; json?: boolean },
): Promise<number> {
  const id = parseId(idText);
  const harness = await readHarness(io, o.harness);
  return await withWorld(io, worldOption, async (w) => {
    const config = w.dir === undefined ? {} : await readWorldConfig(worldPaths(w.dir).config);
    const { report, reportHash } = await shadowProposal(w, id, harness, { config });
    if (o.json) printJson(io, report as unknown as JsonValue);
    else {
      io.out(`Shadow run of proposal #${id}: ${report.ok ? "ok" : "NOT ok"} (report ${reportHash})`);
      for (const line of reportLines(report)) io.out(`  ${line}`);
    }
    return report.ok ? 0 : 1;
  });
}

async function runDecision(
  io: CliIo,
  worldOption: string | undefined,
  idText: string,
  decision: "approve" | "reject",
  o: { approver: string; note?: string; json?: boolean },
): Promise<number> {
  const id = parseId(idText);
  return await withWorld(io, worldOption, async (w) => {
    const proposal = await recordApproval(w, id, decision, o.approver, o.note);
    if (o.json) printJson(io, proposalJson(proposal));
    else io.out(`Proposal #${id} ${proposal.state} by ${o.approver}`);
    return 0;
  });
}

async function runApply(
  io: CliIo,
  worldOption: string | undefined,
  idText: string,
  o: { json?: boolean },
): Promise<number> {
  const id = parseId(idText);
  return await withWorld(io, worldOption, async (w) => {
    const previous = w.defs.manifestHash;
    const proposal = await applyProposal(w, id);
    const applied = proposal.state === "applied";
    if (o.json) {
      printJson(io, {
        ...proposalJson(proposal),
        applied,
        manifest_hash: w.defs.manifestHash,
        previous_manifest_hash: previous,
      });
    } else if (applied) {
      io.out(`Applied proposal #${id}: manifest ${previous} -> ${w.defs.manifestHash}`);
    } else {
      io.err(`Proposal #${id} was rejected at apply: ${proposal.rejection?.reasons.join("; ")}`);
    }
    return applied ? 0 : 1;
  });
}

async function runLs(io: CliIo, worldOption: string | undefined, o: { json?: boolean }): Promise<number> {
  return await readWorld(io, worldOption, (w) => {
    const proposals = w.kernel.proposals();
    if (o.json) printJson(io, proposals.map(proposalJson));
    else {
      for (const p of proposals) {
        const who = p.author === undefined ? "" : ` by ${p.author}`;
        const what = p.description === undefined ? "" : ` — ${p.description}`;
        io.out(`#${String(p.id).padEnd(4)} ${p.state.padEnd(10)}${who}${what}`.trimEnd());
      }
    }
    return 0;
  });
}

/** One line per operation of a patch: its name and what it touches. */
function opSummary(op: PatchOp): { op: string; kind: string | null; name: string | null } {
  if ("add_def" in op) {
    const node = op.add_def.node as { name?: JsonValue };
    return { op: "add_def", kind: op.add_def.kind, name: typeof node.name === "string" ? node.name : null };
  }
  if ("replace_def" in op) return { op: "replace_def", kind: op.replace_def.kind, name: op.replace_def.name };
  if ("remove_def" in op) return { op: "remove_def", kind: op.remove_def.kind, name: op.remove_def.name };
  const [name, payload] = Object.entries(op)[0] as [string, { [key: string]: unknown }];
  return { op: name, kind: null, name: Object.keys(payload).sort().join(", ") || null };
}

async function proposalDetail(w: World, p: Proposal): Promise<{ [key: string]: JsonValue }> {
  const patch = await proposalPatch(w, p);
  const report = await proposalReport(w, p);
  return {
    ...proposalJson(p),
    patch: "doc" in patch
      ? { valid: true, ops: (patch.doc as PatchDocument).patches.map(opSummary) }
      : { valid: false, ops: [] },
    report: (report ?? null) as unknown as JsonValue,
  };
}

async function runShow(
  io: CliIo,
  worldOption: string | undefined,
  idText: string,
  o: { json?: boolean },
): Promise<number> {
  const id = parseId(idText);
  return await readWorld(io, worldOption, async (w) => {
    const p = w.kernel.proposal(id);
    if (p === undefined) throw new AosError("AOS_PROPOSAL_REFUSED", `There is no proposal #${id}`);
    const detail = await proposalDetail(w, p);
    if (o.json) {
      printJson(io, detail);
      return 0;
    }
    io.out(`Proposal #${p.id}  ${p.state}`);
    if (p.author !== undefined) io.out(`  author       ${p.author}`);
    if (p.description !== undefined) io.out(`  description  ${p.description}`);
    io.out(`  base         ${p.baseManifestHash}`);
    io.out(`  patch        ${p.patchHash}`);
    for (const op of (detail.patch as { ops: Array<ReturnType<typeof opSummary>> }).ops) {
      io.out(`    ${op.op}${op.kind ? ` ${op.kind}` : ""}${op.name ? ` ${op.name}` : ""}`);
    }
    if (p.candidateManifestHash !== undefined) io.out(`  candidate    ${p.candidateManifestHash}`);
    if (p.approver !== undefined) io.out(`  decided by   ${p.approver}${p.note ? ` (${p.note})` : ""}`);
    if (p.rejection !== undefined) {
      io.out(`  rejected at  ${p.rejection.stage}`);
      for (const reason of p.rejection.reasons) io.out(`    ${reason}`);
    }
    const report = detail.report as unknown as ShadowReport | null;
    if (report !== null) {
      io.out(`  report       ${p.reportHash} (${report.ok ? "ok" : "not ok"})`);
      for (const line of reportLines(report)) io.out(`    ${line}`);
    }
    return 0;
  });
}

function estimateText(e: { tokens?: bigint; bytes?: bigint; cents?: bigint }): string {
  const parts = [
    e.cents === undefined ? undefined : `${e.cents} cents`,
    e.tokens === undefined ? undefined : `${e.tokens} tokens`,
    e.bytes === undefined ? undefined : `${e.bytes} bytes`,
  ].filter((x) => x !== undefined);
  return parts.length === 0 ? "cost unknown" : parts.join(", ");
}

/** The human-readable lines of a shadow report. */
export function reportLines(r: ShadowReport): string[] {
  const lines: string[] = [];
  for (const e of r.errors) lines.push(`error: ${e}`);
  if (r.manifest_diff.length > 0) {
    lines.push("manifest changes:");
    for (const c of r.manifest_diff) lines.push(`  ${c.change} ${c.kind} ${c.name}`);
  }
  if (r.ledger_deltas.length > 0) {
    lines.push("grants and policy:");
    for (const d of r.ledger_deltas) {
      const detail = d.ledger === "capability" && d.after !== undefined ? ` ${stringifyJson(d.after)}` : "";
      lines.push(`  ${d.change} ${d.ledger} ${d.name}${detail}`);
    }
  }
  lines.push(`predicted effects: ${r.predicted_effects.length}`);
  for (const e of r.predicted_effects) {
    lines.push(
      `  ${e.kind} cap ${e.cap} from ${e.origin_kind} ${e.origin_name} ${e.intent_hash.slice(7, 19)}… ` +
        `(${estimateText(e.estimated)})`,
    );
  }
  lines.push(`required caps: ${r.required_caps.join(", ") || "(none)"}`);
  for (const d of r.denials) {
    lines.push(
      `denied: ${d.kind ?? "effect"}${d.cap ? ` cap ${d.cap}` : ""}${
        d.origin_name ? ` from ${d.origin_kind} ${d.origin_name}` : ""
      } at ${d.stage}: ${d.reason}`,
    );
  }
  for (const p of r.pending_receipts) {
    lines.push(
      `pending: ${p.kind} ${p.intent_hash.slice(7, 19)}… from ${p.origin_kind} ${p.origin_name}${
        p.instance_id === undefined ? "" : ` #${p.instance_id}`
      } (no canned receipt)`,
    );
  }
  for (const p of r.plan_results) {
    lines.push(
      `plan ${p.plan} #${p.instance_id}: ${p.status}${
        p.error ? ` (${p.error.code}: ${p.error.message})` : ""
      }${p.result === undefined ? "" : ` -> ${stringifyJson(p.result)}`}`,
    );
  }
  for (const d of r.state_diffs) {
    lines.push(
      `state ${d.reducer}${d.key ? `#${d.key}` : ""}: ${d.before_hash?.slice(7, 19) ?? "none"} -> ${
        d.after_hash?.slice(7, 19) ?? "none"
      }`,
    );
  }
  for (const b of r.budget_draws) {
    lines.push(
      `draws on ${b.grant}: ${count(b.effects, "effect")}, ${count(b.cents, "cent")}, ${
        count(b.tokens, "token")
      }, ${count(b.bytes, "byte")}${b.over ? ` — over its budget in ${b.over.join(", ")}` : ""}`,
    );
  }
  return lines;
}
