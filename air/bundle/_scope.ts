/**
 * The validator's view of one world: the known nodes, what the manifest lists (built-ins always visible),
 * the schema index over the listed schemas, and lookups that report unresolved references once.
 *
 * @module
 */
import type { HashRef } from "../cbor/mod.ts";
import {
  builtinCapHash,
  builtinCaps,
  builtinEffectHash,
  builtinEffects,
  builtinSchemaHash,
  type CapGrant,
  type DefCap,
  type DefEffect,
  type DefModule,
  type DefPlan,
  type DefPolicy,
  type DefSchema,
  type DefSecret,
  type Manifest,
  type NamedAirNode,
  type NamedNodeKind,
  type NamedRef,
} from "../nodes/mod.ts";
import type { DiagnosticSink, Segments, Where } from "./_diagnostics.ts";
import { SchemaIndex } from "./schema_index.ts";

/** A named node known to the validator, with where it was written. */
export interface NodeEntry {
  kind: NamedNodeKind;
  name: string;
  node: NamedAirNode;
  hash: HashRef;
  /** The file that holds the node, when known. */
  file?: string | undefined;
  /** The JSON path of the node within its file. */
  at: Segments;
}

/** The manifest ref lists and the kind each one names (AIR §6, §15). */
export const REF_LISTS = [
  ["schemas", "defschema"],
  ["modules", "defmodule"],
  ["plans", "defplan"],
  ["caps", "defcap"],
  ["policies", "defpolicy"],
] as const;
/** The ref lists a manifest may omit (the original AgentOS's), with the kind each one names. */
export const OPTIONAL_REF_LISTS = [
  ["effects", "defeffect"],
  ["secrets", "defsecret"],
] as const;

/** A manifest ref list. */
export type RefList = (typeof REF_LISTS)[number][0];

/** A grant of the manifest and the defcap it resolved to. */
export interface GrantEntry {
  grant: CapGrant;
  index: number;
  cap?: DefCap;
}

const ZERO_HASH = `sha256:${"0".repeat(64)}`;

/** The key of a named node: `${kind}:${name}`. */
export function nodeKey(kind: NamedNodeKind, name: string): string {
  return `${kind}:${name}`;
}

/** The world being validated. */
export class Scope {
  readonly listed: Record<RefList, Set<string>> = {
    schemas: new Set(),
    modules: new Set(),
    plans: new Set(),
    caps: new Set(),
    policies: new Set(),
  };
  /** Grants by name (the first of duplicates), with their defcap when it resolves. */
  readonly grants = new Map<string, GrantEntry>();
  index: SchemaIndex = new SchemaIndex([]);

  constructor(
    readonly sink: DiagnosticSink,
    readonly entries: ReadonlyMap<string, NodeEntry>,
    /** Keys of nodes whose problems are already reported: references to them stay quiet. */
    readonly quiet: Set<string>,
    readonly manifest: Manifest,
    readonly manifestFile: string | undefined,
    readonly manifestAt: Segments,
  ) {}

  /** A location inside node `entry`. */
  inNode(entry: NodeEntry, ...more: Segments): Where {
    return { file: entry.file, at: [...entry.at, ...more], def: entry.name };
  }

  /** A location inside the manifest. */
  inManifest(...more: Segments): Where {
    return { file: this.manifestFile, at: [...this.manifestAt, ...more] };
  }

  /**
   * Checks each ref list (unique names, the node exists, the hash matches) and returns the lists with
   * missing or all-zero hashes filled. Built-in schemas and defcaps resolve to the built-ins.
   */
  resolveRefs(): Pick<Manifest, RefList> {
    const kindOf = new Map<RefList, NamedNodeKind>(REF_LISTS);
    const filled = {} as Pick<Manifest, RefList>;
    for (const [list] of REF_LISTS) {
      const kind = kindOf.get(list)!;
      const seen = new Set<string>();
      filled[list] = this.manifest[list].map((ref, i): NamedRef => {
        const where = this.inManifest(list, i);
        if (seen.has(ref.name)) {
          const message = `Manifest lists "${ref.name}" twice in "${list}"`;
          this.sink.error("AIR_NAME_DUPLICATE", message, { ...where, at: [...where.at!, "name"] });
          return ref;
        }
        seen.add(ref.name);
        const expected = this.builtinHash(kind, ref.name) ??
          (ref.name.startsWith("sys/") ? undefined : this.entries.get(nodeKey(kind, ref.name))?.hash);
        if (expected === undefined) {
          if (!this.quiet.has(nodeKey(kind, ref.name))) {
            const message = `Manifest lists "${ref.name}" in "${list}", but no ${kind} has that name`;
            this.sink.error("AIR_REF_UNKNOWN", message, { ...where, at: [...where.at!, "name"] });
          }
          this.quiet.add(nodeKey(kind, ref.name));
          return ref;
        }
        this.listed[list].add(ref.name);
        if (ref.hash === undefined || ref.hash === ZERO_HASH) return { name: ref.name, hash: expected };
        if (ref.hash !== expected) {
          this.sink.error(
            "AIR_MANIFEST_HASH_MISMATCH",
            `Manifest hash of "${ref.name}" is "${ref.hash}", but the ${kind} hashes to "${expected}"`,
            { ...where, at: [...where.at!, "hash"] },
          );
        }
        return { name: ref.name, hash: ref.hash };
      });
    }
    return filled;
  }

  /** The defeffects the manifest lists (built-in or user), by name; filled by {@linkcode resolveEffectRefs}. */
  readonly listedEffects = new Map<string, DefEffect>();

  /** Checks the manifest's `effects` refs like the other lists; returns them with hashes filled. */
  resolveEffectRefs(): NamedRef[] | undefined {
    const refs = this.manifest.effects;
    if (refs === undefined) return undefined;
    const seen = new Set<string>();
    return refs.map((ref, i): NamedRef => {
      const where = this.inManifest("effects", i);
      const key = nodeKey("defeffect", ref.name);
      if (seen.has(ref.name)) {
        const message = `Manifest lists "${ref.name}" twice in "effects"`;
        this.sink.error("AIR_NAME_DUPLICATE", message, { ...where, at: [...where.at!, "name"] });
        return ref;
      }
      seen.add(ref.name);
      const builtin = builtinEffects.get(ref.name);
      const entry = ref.name.startsWith("sys/") ? undefined : this.entries.get(key);
      const node = builtin ?? (entry?.node.$kind === "defeffect" ? entry.node : undefined);
      const expected = builtinEffectHash(ref.name) ?? entry?.hash;
      if (node === undefined || expected === undefined) {
        if (!this.quiet.has(key)) {
          const message = `Manifest lists "${ref.name}" in "effects", but no defeffect has that name`;
          this.sink.error("AIR_REF_UNKNOWN", message, { ...where, at: [...where.at!, "name"] });
        }
        this.quiet.add(key);
        return ref;
      }
      this.listedEffects.set(ref.name, node);
      if (ref.hash === undefined || ref.hash === ZERO_HASH) return { name: ref.name, hash: expected };
      if (ref.hash !== expected) {
        this.sink.error(
          "AIR_MANIFEST_HASH_MISMATCH",
          `Manifest hash of "${ref.name}" is "${ref.hash}", but the defeffect hashes to "${expected}"`,
          { ...where, at: [...where.at!, "hash"] },
        );
      }
      return { name: ref.name, hash: ref.hash };
    });
  }

  /** The defsecrets the manifest lists, by name; filled by {@linkcode resolveSecretRefs}. */
  readonly listedSecrets = new Map<string, DefSecret>();

  /** Checks the manifest's `secrets` refs (user defsecrets only); returns them with hashes filled. */
  resolveSecretRefs(): NamedRef[] | undefined {
    const refs = this.manifest.secrets;
    if (refs === undefined) return undefined;
    const seen = new Set<string>();
    return refs.map((ref, i): NamedRef => {
      const where = this.inManifest("secrets", i);
      const key = nodeKey("defsecret", ref.name);
      if (seen.has(ref.name)) {
        const message = `Manifest lists "${ref.name}" twice in "secrets"`;
        this.sink.error("AIR_NAME_DUPLICATE", message, { ...where, at: [...where.at!, "name"] });
        return ref;
      }
      seen.add(ref.name);
      const entry = ref.name.startsWith("sys/") ? undefined : this.entries.get(key);
      if (entry === undefined || entry.node.$kind !== "defsecret") {
        if (!this.quiet.has(key)) {
          const message = `Manifest lists "${ref.name}" in "secrets", but no defsecret has that name`;
          this.sink.error("AIR_REF_UNKNOWN", message, { ...where, at: [...where.at!, "name"] });
        }
        this.quiet.add(key);
        return ref;
      }
      this.listedSecrets.set(ref.name, entry.node);
      if (ref.hash === undefined || ref.hash === ZERO_HASH) return { name: ref.name, hash: entry.hash };
      if (ref.hash !== entry.hash) {
        this.sink.error(
          "AIR_MANIFEST_HASH_MISMATCH",
          `Manifest hash of "${ref.name}" is "${ref.hash}", but the defsecret hashes to "${entry.hash}"`,
          { ...where, at: [...where.at!, "hash"] },
        );
      }
      return { name: ref.name, hash: ref.hash };
    });
  }

  private builtinHash(kind: NamedNodeKind, name: string): HashRef | undefined {
    if (kind === "defschema") return builtinSchemaHash(name);
    if (kind === "defcap") return builtinCapHash(name);
    return undefined;
  }

  /** Builds the schema index over the listed user schemas. */
  buildIndex(): void {
    const schemas: DefSchema[] = [];
    for (const name of [...this.listed.schemas].sort()) {
      const entry = this.entries.get(nodeKey("defschema", name));
      if (entry?.node.$kind === "defschema" && !name.startsWith("sys/")) schemas.push(entry.node);
    }
    this.index = new SchemaIndex(schemas);
  }

  /** The listed node `name` of `kind`, or `undefined`. */
  visible<K extends NamedNodeKind>(kind: K, name: string): Extract<NamedAirNode, { $kind: K }> | undefined {
    const list = REF_LISTS.find(([, k]) => k === kind)![0];
    if (kind === "defcap") {
      const builtin = builtinCaps.get(name);
      if (builtin !== undefined) return builtin as Extract<NamedAirNode, { $kind: K }>;
    }
    if (!this.listed[list].has(name)) return undefined;
    const node = this.entries.get(nodeKey(kind, name))?.node;
    return node?.$kind === kind ? node as Extract<NamedAirNode, { $kind: K }> : undefined;
  }

  /** Reports a reference to an invisible node unless that node's problems are reported already. */
  private unresolved(kind: NamedNodeKind, name: string, what: string, where: Where): void {
    if (this.quiet.has(nodeKey(kind, name))) return;
    const message = this.entries.has(nodeKey(kind, name))
      ? `${what} "${name}" is not listed in the manifest`
      : `Unknown ${what.toLowerCase()} "${name}"`;
    const code = kind === "defschema"
      ? "AIR_SCHEMA_UNKNOWN"
      : kind === "defmodule"
      ? "AIR_MODULE_UNKNOWN"
      : "AIR_REF_UNKNOWN";
    this.sink.error(code, message, where);
  }

  /** True when schema `name` is visible; reports it otherwise. */
  schemaRef(name: string, where: Where): boolean {
    if (this.index.has(name)) return true;
    this.unresolved("defschema", name, "Schema", where);
    return false;
  }

  /** The visible module `name`; reports it otherwise. */
  moduleRef(name: string, where: Where): DefModule | undefined {
    const module = this.visible("defmodule", name);
    if (module === undefined) this.unresolved("defmodule", name, "Module", where);
    return module;
  }

  /** The visible plan `name`; reports it otherwise. */
  planRef(name: string, where: Where): DefPlan | undefined {
    const plan = this.visible("defplan", name);
    if (plan === undefined) this.unresolved("defplan", name, "Plan", where);
    return plan;
  }

  /** The visible defcap `name` (built-in or listed); reports it otherwise. */
  capRef(name: string, where: Where): DefCap | undefined {
    const cap = this.visible("defcap", name);
    if (cap === undefined) this.unresolved("defcap", name, "Defcap", where);
    return cap;
  }

  /** The visible policy `name`; reports it otherwise. */
  policyRef(name: string, where: Where): DefPolicy | undefined {
    const policy = this.visible("defpolicy", name);
    if (policy === undefined) this.unresolved("defpolicy", name, "Policy", where);
    return policy;
  }

  /** The visible modules by name, in name order. */
  visibleModules(): Map<string, DefModule> {
    const out = new Map<string, DefModule>();
    for (const name of [...this.listed.modules].sort()) {
      const module = this.visible("defmodule", name);
      if (module !== undefined) out.set(name, module);
    }
    return out;
  }

  /** Registers the manifest's grants (first of each name) and resolves their defcaps without reporting. */
  collectGrants(): void {
    (this.manifest.defaults?.cap_grants ?? []).forEach((grant, index) => {
      if (this.grants.has(grant.name)) return;
      const entry: GrantEntry = { grant, index };
      const cap = this.visible("defcap", grant.cap);
      if (cap !== undefined) entry.cap = cap;
      this.grants.set(grant.name, entry);
    });
  }
}
