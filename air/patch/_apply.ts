/**
 * The operations of AIR §15 applied one at a time to a working copy of the manifest; private to `air/`,
 * used by `patch.ts`. A failing operation throws a {@linkcode PatchError} naming it (0-based index).
 *
 * @module
 */
import { assert, jsonPath, type JsonValue } from "../base/mod.ts";
import type { Diagnostic } from "../bundle/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import {
  type AirNode,
  builtinCaps,
  builtinEffects,
  builtinSchemas,
  type Manifest,
  type NamedRef,
  nodeHash,
  parseAirNode,
} from "../nodes/mod.ts";
import {
  DEF_KINDS,
  type DefKind,
  type NodeStore,
  type PatchDiagnosticCode,
  PatchError,
  type PatchOp,
  type PatchOpName,
  REF_LIST_OF_KIND,
  type RefListName,
} from "./_types.ts";

type Segments = Array<string | number>;
type NamedNode = Exclude<AirNode, Manifest>;

/** Each ref list with its kind, in manifest order. */
export const REF_LISTS: ReadonlyArray<readonly [RefListName, DefKind]> = DEF_KINDS.map((kind) =>
  [REF_LIST_OF_KIND[kind], kind] as const
);

const builtinsByHash: ReadonlyMap<HashRef, AirNode> = new Map(
  [...builtinSchemas.values(), ...builtinCaps.values(), ...builtinEffects.values()].map((
    node,
  ) => [nodeHash(node), node]),
);

/** Orders refs by name (code units), as tooling-produced manifests are (AIR §6). */
export function byName(a: NamedRef, b: NamedRef): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function opNameOf(op: PatchOp): PatchOpName {
  const keys = Object.keys(op);
  assert(keys.length === 1, "a parsed operation has exactly one key");
  return keys[0] as PatchOpName;
}

/** The state of one `applyPatch` call: the working copy and the nodes the patch brings. */
export class PatchApplication {
  readonly newNodes = new Map<HashRef, AirNode>();

  constructor(readonly work: Manifest, readonly store: NodeStore) {}

  lookup(hash: HashRef): AirNode | undefined {
    return this.newNodes.get(hash) ?? this.store.get(hash) ?? builtinsByHash.get(hash);
  }

  apply(op: PatchOp, index: number): void {
    const name = opNameOf(op);
    const step = new OpStep(this, index, name);
    if ("add_def" in op) step.addDef(op.add_def);
    else if ("replace_def" in op) step.replaceDef(op.replace_def);
    else if ("remove_def" in op) step.removeDef(op.remove_def);
    else if ("set_manifest_refs" in op) step.setManifestRefs(op.set_manifest_refs);
    else if ("set_defaults" in op) {
      const defaults = { ...this.work.defaults };
      if (op.set_defaults.policy !== undefined) defaults.policy = op.set_defaults.policy;
      if (op.set_defaults.cap_grants !== undefined) defaults.cap_grants = op.set_defaults.cap_grants;
      this.work.defaults = defaults;
    } else if ("set_routing" in op) {
      const routing = { ...this.work.routing };
      if (op.set_routing.events !== undefined) routing.events = op.set_routing.events;
      if (op.set_routing.inboxes !== undefined) routing.inboxes = op.set_routing.inboxes;
      this.work.routing = routing;
    } else if ("set_triggers" in op) this.work.triggers = op.set_triggers.triggers;
    else if ("set_module_bindings" in op) this.work.module_bindings = op.set_module_bindings.bindings;
    else throw new TypeError(`Unknown patch operation "${name}"`);
  }
}

/** One operation being applied: its failures name the operation (0-based index) and its JSON path. */
class OpStep {
  label: string;

  constructor(readonly app: PatchApplication, readonly index: number, readonly name: PatchOpName) {
    this.label = name;
  }

  fail(
    code: "AOS_PATCH_STALE" | "AOS_PATCH_INVALID",
    diagnosticCode: PatchDiagnosticCode | "AIR_SYS_RESERVED",
    reason: string,
    at: Segments,
    def?: string,
  ): never {
    const path = jsonPath(["patches", this.index, this.name, ...at]);
    const diagnostic: Diagnostic = { code: diagnosticCode, message: reason, path };
    if (def !== undefined) diagnostic.def = def;
    throw new PatchError(code, `Patch op #${this.index} (${this.label}): ${reason}`, {
      opIndex: this.index,
      diagnostics: [diagnostic],
      context: { path, ...(def === undefined ? {} : { def }) },
    });
  }

  /** The ref list of `kind` in the working copy; an absent optional list is created. */
  refs(kind: DefKind): NamedRef[] {
    const list = REF_LIST_OF_KIND[kind];
    const refs = this.app.work[list] ?? [];
    this.app.work[list] = refs;
    return refs;
  }

  /** Index of the ref `name` in the list of `kind`; fails when the manifest does not list it. */
  findRef(kind: DefKind, name: string, at: Segments): number {
    const i = this.refs(kind).findIndex((ref) => ref.name === name);
    if (i < 0) {
      const list = REF_LIST_OF_KIND[kind];
      this.fail(
        "AOS_PATCH_INVALID",
        "AIR_PATCH_REF_MISSING",
        `the manifest lists no ${kind} "${name}" in "${list}"`,
        at,
        name,
      );
    }
    return i;
  }

  checkPreHash(ref: NamedRef, preHash: HashRef): void {
    if (ref.hash !== preHash) {
      this.fail(
        "AOS_PATCH_STALE",
        "AIR_PATCH_STALE",
        `pre_hash "${preHash}" does not match current "${ref.hash ?? "(none)"}"`,
        ["pre_hash"],
        ref.name,
      );
    }
  }

  /** Parses and canonicalizes a node given in the patch; it must be of `kind` and outside `sys/`. */
  parseNode(json: JsonValue, kind: DefKind, field: string): NamedNode {
    const result = parseAirNode(json);
    const name =
      typeof json === "object" && json !== null && !Array.isArray(json) && typeof json["name"] === "string"
        ? json["name"]
        : undefined;
    if (!result.ok) {
      const diagnostics = result.issues.map((issue): Diagnostic => ({
        code: issue.code,
        message: issue.message,
        path: jsonPath(["patches", this.index, this.name, field, ...issue.path]),
        ...(name === undefined ? {} : { def: name }),
      }));
      const first = diagnostics[0];
      assert(first !== undefined, "a rejected node has an issue");
      const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
      throw new PatchError(
        "AOS_PATCH_INVALID",
        `Patch op #${this.index} (${this.label}): invalid ${field} at ${first.path}: ${first.message}${more}`,
        {
          opIndex: this.index,
          diagnostics,
          context: { path: first.path ?? "$", ...(name === undefined ? {} : { def: name }) },
        },
      );
    }
    const node = result.node;
    if (node.$kind !== kind) {
      this.fail(
        "AOS_PATCH_INVALID",
        "AIR_PATCH_KIND_MISMATCH",
        `${field} has $kind "${node.$kind}", expected "${kind}"`,
        [field, "$kind"],
        name,
      );
    }
    if (node.name.startsWith("sys/")) {
      this.fail(
        "AOS_PATCH_INVALID",
        "AIR_SYS_RESERVED",
        `name "${node.name}" uses the reserved sys/ namespace`,
        [field, "name"],
        node.name,
      );
    }
    return node;
  }

  /** Records a node the patch brings; the caller stores it. */
  keep(node: NamedNode): HashRef {
    const hash = nodeHash(node);
    this.app.newNodes.set(hash, node);
    return hash;
  }

  addDef(op: { kind: DefKind; node: JsonValue }): void {
    const given = typeof op.node === "object" && op.node !== null && !Array.isArray(op.node)
      ? op.node["name"]
      : undefined;
    this.label = typeof given === "string" ? `add_def ${op.kind} ${given}` : `add_def ${op.kind}`;
    const node = this.parseNode(op.node, op.kind, "node");
    const existing = this.refs(op.kind).find((ref) => ref.name === node.name);
    if (existing !== undefined) {
      this.fail(
        "AOS_PATCH_INVALID",
        "AIR_PATCH_NAME_EXISTS",
        `the manifest already lists ${op.kind} "${node.name}" (hash "${
          existing.hash ?? "(none)"
        }"): use replace_def`,
        ["node", "name"],
        node.name,
      );
    }
    this.refs(op.kind).push({ name: node.name, hash: this.keep(node) });
  }

  replaceDef(op: { kind: DefKind; name: string; new_node: JsonValue; pre_hash: HashRef }): void {
    this.label = `replace_def ${op.kind} ${op.name}`;
    const i = this.findRef(op.kind, op.name, ["name"]);
    const ref = this.refs(op.kind)[i]!;
    this.checkPreHash(ref, op.pre_hash);
    const node = this.parseNode(op.new_node, op.kind, "new_node");
    if (node.name !== op.name) {
      this.fail(
        "AOS_PATCH_INVALID",
        "AIR_PATCH_NAME_MISMATCH",
        `new_node.name "${node.name}" does not equal name "${op.name}"`,
        ["new_node", "name"],
        op.name,
      );
    }
    this.refs(op.kind)[i] = { name: op.name, hash: this.keep(node) };
  }

  removeDef(op: { kind: DefKind; name: string; pre_hash: HashRef }): void {
    this.label = `remove_def ${op.kind} ${op.name}`;
    const i = this.findRef(op.kind, op.name, ["name"]);
    this.checkPreHash(this.refs(op.kind)[i]!, op.pre_hash);
    this.refs(op.kind).splice(i, 1);
  }

  /** Removes first, then adds, so one operation can point a name at another stored node. */
  setManifestRefs(op: {
    add?: Array<{ kind: DefKind; name: string; hash: HashRef }>;
    remove?: Array<{ kind: DefKind; name: string }>;
  }): void {
    (op.remove ?? []).forEach((entry, j) => {
      const i = this.findRef(entry.kind, entry.name, ["remove", j, "name"]);
      this.refs(entry.kind).splice(i, 1);
    });
    (op.add ?? []).forEach((entry, j) => {
      const at: Segments = ["add", j];
      const node = this.app.lookup(entry.hash);
      if (node === undefined) {
        this.fail(
          "AOS_PATCH_INVALID",
          "AIR_PATCH_NODE_MISSING",
          `no node with hash "${entry.hash}" is in the store`,
          [...at, "hash"],
          entry.name,
        );
      }
      if (node.$kind !== entry.kind) {
        this.fail(
          "AOS_PATCH_INVALID",
          "AIR_PATCH_KIND_MISMATCH",
          `node "${entry.hash}" is a ${node.$kind}, not a ${entry.kind}`,
          [...at, "kind"],
          entry.name,
        );
      }
      if (node.name !== entry.name) {
        this.fail(
          "AOS_PATCH_INVALID",
          "AIR_PATCH_NAME_MISMATCH",
          `node "${entry.hash}" is named "${node.name}", not "${entry.name}"`,
          [...at, "name"],
          entry.name,
        );
      }
      if (this.refs(entry.kind).some((ref) => ref.name === entry.name)) {
        this.fail(
          "AOS_PATCH_INVALID",
          "AIR_PATCH_NAME_EXISTS",
          `the manifest already lists ${entry.kind} "${entry.name}"`,
          [...at, "name"],
          entry.name,
        );
      }
      this.refs(entry.kind).push({ name: entry.name, hash: entry.hash });
    });
  }
}
