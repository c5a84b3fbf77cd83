/**
 * Types, limits and the error of AIR patches (AIR §15); private to `air/`, re-exported by `patch.ts`.
 *
 * @module
 */
import { AosError, type AosErrorContext, type JsonValue } from "../base/mod.ts";
import type { Diagnostic } from "../bundle/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import type {
  AIR_KINDS,
  AirNode,
  CapGrant,
  Manifest,
  ModuleBinding,
  NamedRef,
  RoutingEvent,
  RoutingInbox,
  Trigger,
} from "../nodes/mod.ts";

/** A kind of named definition: every AIR kind but `manifest`. */
export type DefKind = Exclude<(typeof AIR_KINDS)[number], "manifest">;

/** The definition kinds, in the order of the manifest's ref lists. */
export const DEF_KINDS = [
  "defschema",
  "defmodule",
  "defplan",
  "defcap",
  "defpolicy",
  "defeffect",
  "defsecret",
] as const satisfies readonly DefKind[];

/** The name of a manifest ref list. */
export type RefListName = "schemas" | "modules" | "plans" | "caps" | "policies" | "effects" | "secrets";

/** The ref lists a manifest may omit; a patch creates them on first use and drops them when emptied. */
export const OPTIONAL_REF_LIST_NAMES: ReadonlySet<RefListName> = new Set(["effects", "secrets"]);

/** The refs of `list` in `manifest`: an absent optional list reads as empty. */
export function refsOf(manifest: Manifest, list: RefListName): NamedRef[] {
  return manifest[list] ?? [];
}

/** The manifest ref list that holds each definition kind (AIR §15). */
export const REF_LIST_OF_KIND: Readonly<Record<DefKind, RefListName>> = {
  defschema: "schemas",
  defmodule: "modules",
  defplan: "plans",
  defcap: "caps",
  defpolicy: "policies",
  defeffect: "effects",
  defsecret: "secrets",
};

/**
 * Bounds of a patch document. They belong in `limits.ts` (one file for every limit); they live here until
 * that file gains them.
 */
export const patchLimits = {
  /** Operations per patch document. */
  opsMax: 4_096,
  /** Entries per `set_manifest_refs` `add` or `remove` list. */
  refsPerOpMax: 4_096,
} as const;

/** `add_def`: store a new node and list it; its name must be new for its kind. */
export interface AddDefOp {
  add_def: { kind: DefKind; node: JsonValue };
}

/** `replace_def`: point the ref `name` at a new node; the current ref must have hash `pre_hash`. */
export interface ReplaceDefOp {
  replace_def: { kind: DefKind; name: string; new_node: JsonValue; pre_hash: HashRef };
}

/** `remove_def`: drop the ref `name` (the node stays in the store); it must have hash `pre_hash`. */
export interface RemoveDefOp {
  remove_def: { kind: DefKind; name: string; pre_hash: HashRef };
}

/** `set_manifest_refs`: remove refs, then add refs to nodes already in the store. */
export interface SetManifestRefsOp {
  set_manifest_refs: {
    add?: Array<{ kind: DefKind; name: string; hash: HashRef }>;
    remove?: Array<{ kind: DefKind; name: string }>;
  };
}

/** `set_defaults`: replace the fields given of `manifest.defaults`. */
export interface SetDefaultsOp {
  set_defaults: { policy?: string; cap_grants?: CapGrant[] };
}

/** `set_routing`: replace the lists given of `manifest.routing`. */
export interface SetRoutingOp {
  set_routing: { events?: RoutingEvent[]; inboxes?: RoutingInbox[] };
}

/** `set_triggers`: replace `manifest.triggers`. */
export interface SetTriggersOp {
  set_triggers: { triggers: Trigger[] };
}

/** `set_module_bindings`: replace `manifest.module_bindings`. */
export interface SetModuleBindingsOp {
  set_module_bindings: { bindings: { [module: string]: ModuleBinding } };
}

/** One patch operation: a one-key object (AIR §15 Choice). */
export type PatchOp =
  | AddDefOp
  | ReplaceDefOp
  | RemoveDefOp
  | SetManifestRefsOp
  | SetDefaultsOp
  | SetRoutingOp
  | SetTriggersOp
  | SetModuleBindingsOp;

/** The key of a patch operation. */
export type PatchOpName =
  | "add_def"
  | "replace_def"
  | "remove_def"
  | "set_manifest_refs"
  | "set_defaults"
  | "set_routing"
  | "set_triggers"
  | "set_module_bindings";

/** Every operation name, in the order of AIR §15. */
export const PATCH_OP_NAMES = [
  "add_def",
  "replace_def",
  "remove_def",
  "set_manifest_refs",
  "set_defaults",
  "set_routing",
  "set_triggers",
  "set_module_bindings",
] as const satisfies readonly PatchOpName[];

/** A patch document (AIR §15): operations against the manifest whose node hash is `base_manifest_hash`. */
export interface PatchDocument {
  base_manifest_hash: HashRef;
  patches: PatchOp[];
}

/** Nodes already stored (the CAS). Built-in schemas and defcaps resolve even when the store lacks them. */
export interface NodeStore {
  get(hash: HashRef): AirNode | undefined;
}

/** A successfully applied patch. */
export interface PatchResult {
  /** The new manifest, normalized (AIR §5.1) with every ref list sorted by name. */
  manifest: Manifest;
  /** The node hash of `manifest`. */
  manifestHash: HashRef;
  /** Nodes given by `add_def` and `replace_def`, by node hash: the caller stores them in the CAS. */
  newNodes: Map<HashRef, AirNode>;
  /** Warnings of the validator (errors throw {@linkcode PatchError}); usually empty. */
  diagnostics: Diagnostic[];
}

/** The diagnostic codes of patch operations (validation of the result uses the `AIR_*` loader codes). */
export const PATCH_DIAGNOSTIC_CODES = [
  "AIR_PATCH_SHAPE",
  "AIR_PATCH_STALE",
  "AIR_PATCH_KIND_MISMATCH",
  "AIR_PATCH_NAME_EXISTS",
  "AIR_PATCH_NAME_MISMATCH",
  "AIR_PATCH_REF_MISSING",
  "AIR_PATCH_NODE_MISSING",
] as const;
/** A diagnostic code of patch operations. */
export type PatchDiagnosticCode = (typeof PATCH_DIAGNOSTIC_CODES)[number];

/**
 * A patch that cannot be parsed or applied. `code` is `AOS_PATCH_STALE` when the base manifest hash or a
 * `pre_hash` does not match, `AOS_PATCH_INVALID` otherwise. `opIndex` (0-based, as in `$.patches[i]`) names
 * the failing operation; it is absent when the document's envelope or the resulting manifest is at fault.
 * `diagnostics` is never empty.
 */
export class PatchError extends AosError {
  readonly opIndex?: number;
  readonly diagnostics: Diagnostic[];

  constructor(
    code: "AOS_PATCH_STALE" | "AOS_PATCH_INVALID",
    message: string,
    options: { opIndex?: number; diagnostics: Diagnostic[]; context?: AosErrorContext; cause?: unknown },
  ) {
    super(code, message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.context === undefined ? {} : { context: options.context }),
    });
    this.name = "PatchError";
    if (options.opIndex !== undefined) this.opIndex = options.opIndex;
    this.diagnostics = options.diagnostics;
  }
}
