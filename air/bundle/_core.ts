/**
 * The semantic validator of AIR §14 shared by `loadAirBundle` (authoring files) and
 * `validateManifestNodes` (patches, stored worlds): one pass over the manifest's refs, every definition,
 * the type graph and the manifest's wiring, then the plan-internal rules of `validatePlan`.
 *
 * @module
 */
import type { DefCap, DefEffect, DefModule, DefPlan, DefPolicy, DefSecret, Manifest } from "../nodes/mod.ts";
import type { TypeExpr } from "../value/mod.ts";
import { checkCap, checkEffect, checkModule, checkOriginScope, checkPolicy, checkSecret } from "./_defs.ts";
import type { DiagnosticSink, Segments, Where } from "./_diagnostics.ts";
import { checkManifestWiring } from "./_manifest.ts";
import { type PlanValidator, planValidator } from "./_plan.ts";
import { type NodeEntry, Scope } from "./_scope.ts";
import { checkCycles, checkType } from "./_types.ts";

/** What one validation pass looks at. */
export interface WorldInput {
  sink: DiagnosticSink;
  /** Every known named node by `${kind}:${name}` (a superset of what the manifest lists). */
  entries: ReadonlyMap<string, NodeEntry>;
  /** The nodes to check one by one, in report order. */
  check: ReadonlyArray<NodeEntry>;
  /** Keys of nodes already reported as broken; references to them stay quiet. */
  quiet: Set<string>;
  manifest: Manifest;
  /**
   * False when `manifest` stands in for a missing or unparsable one (it lists every node): the rules that
   * need the real wiring — grant-dependent policy warnings and the plan rules — are skipped, since they
   * would only repeat that the manifest is broken.
   */
  manifestKnown: boolean;
  manifestFile?: string | undefined;
  manifestAt: Segments;
  /** The plan-internal validator; default: `validatePlan` of `validate_plan.ts`. */
  validatePlan?: PlanValidator | undefined;
}

/**
 * Validates a world; returns its manifest with every ref hash filled and grant params in the canonical
 * tagged form (meaningful only when no error was reported).
 */
export function validateWorld(input: WorldInput): Manifest {
  const scope = new Scope(
    input.sink,
    input.entries,
    input.quiet,
    input.manifest,
    input.manifestFile,
    input.manifestAt,
  );
  const filled: Manifest = { ...input.manifest, ...scope.resolveRefs() };
  const effects = scope.resolveEffectRefs();
  if (effects !== undefined) filled.effects = effects;
  const secrets = scope.resolveSecretRefs();
  if (secrets !== undefined) filled.secrets = secrets;
  const scoped = input.manifestKnown && scope.listedEffects.size > 0;
  scope.buildIndex();
  scope.collectGrants();

  const schemas: Array<{ name: string; type: TypeExpr; where: Where }> = [];
  const plans: Array<NodeEntry & { node: DefPlan }> = [];
  const secretEntries: Array<NodeEntry & { node: DefSecret }> = [];
  for (const entry of input.check) {
    const node = entry.node;
    switch (node.$kind) {
      case "defschema": {
        const where = scope.inNode(entry, "type");
        checkType(scope, node.type, where);
        schemas.push({ name: node.name, type: node.type, where });
        break;
      }
      case "defmodule":
        checkModule(scope, entry as NodeEntry & { node: DefModule });
        if (scoped) {
          const emitted = node.abi.reducer.effects_emitted ?? [];
          checkOriginScope(scope, entry, emitted, "reducer", ["abi", "reducer", "effects_emitted"]);
        }
        break;
      case "defeffect":
        checkEffect(scope, entry as NodeEntry & { node: DefEffect });
        break;
      case "defsecret":
        secretEntries.push(entry as NodeEntry & { node: DefSecret });
        break;
      case "defcap":
        checkCap(scope, entry as NodeEntry & { node: DefCap });
        break;
      case "defpolicy":
        checkPolicy(scope, entry as NodeEntry & { node: DefPolicy }, { grants: input.manifestKnown });
        break;
      case "defplan":
        plans.push(entry as NodeEntry & { node: DefPlan });
        if (scoped) checkOriginScope(scope, entry, node.allowed_effects ?? [], "plan", ["allowed_effects"]);
        break;
    }
  }
  // After the plans are collected: a secret's allowed_plans name listed plans.
  for (const entry of secretEntries) checkSecret(scope, entry, { grants: input.manifestKnown });
  checkCycles(scope, schemas);
  const grants = checkManifestWiring(scope);
  if (grants !== undefined) filled.defaults = { ...filled.defaults, cap_grants: grants };

  const validatePlan = input.validatePlan ?? planValidator;
  if (input.manifestKnown && plans.length > 0) {
    const modules = scope.visibleModules();
    // By defcap name (a grant's `cap`): built-in or listed.
    const capTypeOf = (defcap: string) => scope.visible("defcap", defcap)?.cap_type;
    for (const entry of plans) {
      const found = validatePlan(entry.node, {
        schemas: scope.index,
        modules,
        manifest: filled,
        file: entry.file ?? "",
        path: [...entry.at],
        capTypeOf,
      });
      input.sink.addAll(found.map((d) => {
        const out = { ...d };
        if (out.file === "") delete out.file;
        if (out.def === undefined) out.def = entry.name;
        return out;
      }));
    }
  }
  return filled;
}
