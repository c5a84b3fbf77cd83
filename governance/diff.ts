/**
 * Differences between two manifests: what a proposal changes ({@linkcode manifestDiff}), how it moves the
 * capability and policy ledgers ({@linkcode ledgerDeltas}), and the patch that turns the live manifest
 * into an edited folder of AIR files ({@linkcode patchFromBundle}: users never write `pre_hash` by hand).
 *
 * @module
 */
import {
  type AirBundle,
  AosError,
  bytesEqual,
  type CapGrant,
  DEF_KINDS,
  type DefKind,
  encodeCanonical,
  type HashRef,
  type JsonValue,
  type Manifest,
  normalizeNode,
  parsePatchDocument,
  type PatchDocument,
  REF_LIST_OF_KIND,
} from "../air/mod.ts";
import type { LedgerDelta, ManifestChange } from "./report.ts";

/** The manifest sections besides the ref lists, as they read in the normalized manifest. */
const SECTIONS = [
  "routing.events",
  "routing.inboxes",
  "triggers",
  "module_bindings",
  "defaults.policy",
  "defaults.cap_grants",
] as const;

type Section = (typeof SECTIONS)[number];

function sectionOf(manifest: Manifest, section: Section): JsonValue | undefined {
  const normalized = normalizeNode(manifest) as { [key: string]: JsonValue };
  const [top, inner] = section.split(".") as [string, string | undefined];
  const value = normalized[top];
  if (inner === undefined) return value;
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value[inner] : undefined;
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return bytesEqual(encodeCanonical(a), encodeCanonical(b));
}

function refsByName(manifest: Manifest, kind: DefKind): Map<string, HashRef | undefined> {
  return new Map((manifest[REF_LIST_OF_KIND[kind]] ?? []).map((ref) => [ref.name, ref.hash]));
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Definitions added, removed or changed (by kind, then name), then the manifest sections that changed. */
export function manifestDiff(before: Manifest, after: Manifest): ManifestChange[] {
  const out: ManifestChange[] = [];
  for (const kind of DEF_KINDS) {
    const old = refsByName(before, kind);
    const next = refsByName(after, kind);
    for (const name of [...new Set([...old.keys(), ...next.keys()])].sort(byName)) {
      if (!old.has(name)) out.push({ kind, name, change: "added" });
      else if (!next.has(name)) out.push({ kind, name, change: "removed" });
      else if (old.get(name) !== next.get(name)) out.push({ kind, name, change: "changed" });
    }
  }
  for (const section of SECTIONS) {
    const a = sectionOf(before, section);
    const b = sectionOf(after, section);
    if (sameJson(a, b)) continue;
    const change = a === undefined ? "added" : b === undefined ? "removed" : "changed";
    out.push({ kind: "manifest", name: section, change });
  }
  return out;
}

/** A grant in its stored (normalized) JSON form. */
function grantJson(grant: CapGrant): JsonValue {
  return (normalizeGrant(grant) as JsonValue[])[0]!;
}

/**
 * Grants added, removed or changed (by name: cap, params, expiry or budget), and the default policy
 * switched or its definition changed.
 */
export function ledgerDeltas(before: Manifest, after: Manifest): LedgerDelta[] {
  const out: LedgerDelta[] = [];
  const old = new Map((before.defaults?.cap_grants ?? []).map((g) => [g.name, g]));
  const next = new Map((after.defaults?.cap_grants ?? []).map((g) => [g.name, g]));
  for (const name of [...new Set([...old.keys(), ...next.keys()])].sort(byName)) {
    const a = old.get(name);
    const b = next.get(name);
    if (a !== undefined && b !== undefined && sameJson(normalizeGrant(a), normalizeGrant(b))) continue;
    const delta: LedgerDelta = {
      ledger: "capability",
      name,
      change: a === undefined ? "added" : b === undefined ? "removed" : "changed",
    };
    if (a !== undefined) delta.before = grantJson(a);
    if (b !== undefined) delta.after = grantJson(b);
    out.push(delta);
  }
  const policyBefore = before.defaults?.policy;
  const policyAfter = after.defaults?.policy;
  const hashOf = (m: Manifest, name: string | undefined) => m.policies.find((p) => p.name === name)?.hash;
  if (policyBefore !== policyAfter) {
    const delta: LedgerDelta = {
      ledger: "policy",
      name: policyAfter ?? policyBefore!,
      change: policyBefore === undefined ? "added" : policyAfter === undefined ? "removed" : "changed",
    };
    if (policyBefore !== undefined) delta.before = policyBefore;
    if (policyAfter !== undefined) delta.after = policyAfter;
    out.push(delta);
  } else if (policyAfter !== undefined && hashOf(before, policyAfter) !== hashOf(after, policyAfter)) {
    out.push({
      ledger: "policy",
      name: policyAfter,
      change: "changed",
      before: policyAfter,
      after: policyAfter,
    });
  }
  return out;
}

function normalizeGrant(grant: CapGrant): JsonValue {
  const m: Manifest = {
    $kind: "manifest",
    schemas: [],
    modules: [],
    plans: [],
    caps: [],
    policies: [],
    defaults: { cap_grants: [grant] },
  };
  return sectionOf(m, "defaults.cap_grants")!;
}

/**
 * The patch document that turns `live` (the manifest in force, `liveHash`) into the manifest of `edited`
 * (a validated folder of AIR files): `add_def`, `replace_def` (with the live `pre_hash`) and `remove_def`
 * per definition, `set_manifest_refs` for listed built-ins, and `set_routing`, `set_triggers`,
 * `set_module_bindings` and `set_defaults` for sections that differ. Throws `AOS_USAGE` for a change no
 * patch can express (removing `defaults.policy`).
 */
export function patchFromBundle(live: Manifest, liveHash: HashRef, edited: AirBundle): PatchDocument {
  const ops: JsonValue[] = [];
  const target = edited.manifest;
  const builtinAdds: JsonValue[] = [];
  const builtinRemoves: JsonValue[] = [];
  for (const kind of DEF_KINDS) {
    const old = refsByName(live, kind);
    const next = refsByName(target, kind);
    for (const name of [...next.keys()].sort(byName)) {
      const hash = next.get(name)!;
      if (name.startsWith("sys/")) {
        if (!old.has(name)) builtinAdds.push({ kind, name, hash });
        continue;
      }
      const entry = edited.nodes.get(`${kind}:${name}`);
      if (entry === undefined) continue; // the loader resolved every listed ref; never happens
      if (!old.has(name)) ops.push({ add_def: { kind, node: normalizeNode(entry.node) } });
      else if (old.get(name) !== hash) {
        ops.push({
          replace_def: { kind, name, new_node: normalizeNode(entry.node), pre_hash: old.get(name)! },
        });
      }
    }
    for (const name of [...old.keys()].sort(byName)) {
      if (next.has(name)) continue;
      if (name.startsWith("sys/")) builtinRemoves.push({ kind, name });
      else ops.push({ remove_def: { kind, name, pre_hash: old.get(name)! } });
    }
  }
  if (builtinAdds.length > 0 || builtinRemoves.length > 0) {
    const op: { [key: string]: JsonValue } = {};
    if (builtinAdds.length > 0) op.add = builtinAdds;
    if (builtinRemoves.length > 0) op.remove = builtinRemoves;
    ops.push({ set_manifest_refs: op });
  }
  const changed = (section: Section) => !sameJson(sectionOf(live, section), sectionOf(target, section));
  if (changed("routing.events") || changed("routing.inboxes")) {
    ops.push({
      set_routing: {
        events: sectionOf(target, "routing.events") ?? [],
        inboxes: sectionOf(target, "routing.inboxes") ?? [],
      },
    });
  }
  if (changed("triggers")) ops.push({ set_triggers: { triggers: sectionOf(target, "triggers") ?? [] } });
  if (changed("module_bindings")) {
    ops.push({ set_module_bindings: { bindings: sectionOf(target, "module_bindings") ?? {} } });
  }
  const defaults: { [key: string]: JsonValue } = {};
  if (changed("defaults.policy")) {
    const policy = sectionOf(target, "defaults.policy");
    if (policy === undefined) {
      throw new AosError(
        "AOS_USAGE",
        `The edited manifest drops defaults.policy ("${live.defaults?.policy}"): a patch cannot clear it; ` +
          `list a policy that allows what you want instead`,
      );
    }
    defaults.policy = policy;
  }
  if (changed("defaults.cap_grants")) defaults.cap_grants = sectionOf(target, "defaults.cap_grants") ?? [];
  if (Object.keys(defaults).length > 0) ops.push({ set_defaults: defaults });
  return parsePatchDocument({ base_manifest_hash: liveHash, patches: ops });
}
