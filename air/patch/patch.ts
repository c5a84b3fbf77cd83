/**
 * AIR patches (AIR §15): parse a patch document, hash it, and apply it to the current manifest. Operations
 * apply in order to a working copy, all or nothing; the resulting manifest is normalized, its ref lists are
 * sorted by name (AIR §6 Choice) and it is re-validated as a whole (AIR §14). The input is never mutated.
 *
 * Operations are numbered from 0, like their JSON path: `Patch op #2 (…)` is `$.patches[2]`.
 *
 * @example Add a schema to an empty world
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyPatch, parsePatchDocument } from "./patch.ts";
 * import { nodeHash, normalizeNode } from "../nodes/mod.ts";
 * import type { Manifest } from "../nodes/mod.ts";
 *
 * const manifest: Manifest = { $kind: "manifest", schemas: [], modules: [], plans: [], caps: [], policies: [] };
 * const manifestHash = nodeHash(manifest);
 * const doc = parsePatchDocument({
 *   base_manifest_hash: manifestHash,
 *   patches: [{ add_def: { kind: "defschema", node: { $kind: "defschema", name: "demo/Count@1", type: { nat: {} } } } }],
 * });
 * const result = applyPatch({ manifest, manifestHash }, doc, { get: () => undefined });
 * assert.deepEqual(result.manifest.schemas.map((ref) => ref.name), ["demo/Count@1"]);
 * assert.equal(result.newNodes.size, 1);
 * ```
 *
 * @module
 */
import { assert, jsonPath } from "../base/mod.ts";
import { type Diagnostic, formatDiagnostic, isErrorDiagnostic, resolveManifest } from "../bundle/mod.ts";
import type { HashRef } from "../cbor/mod.ts";
import { type AirNode, type Manifest, nodeHash, normalizeNode, parseAirNode } from "../nodes/mod.ts";
import { byName, PatchApplication, REF_LISTS } from "./_apply.ts";
import { parsePatchDocument, patchDocumentToJson } from "./_parse.ts";
import {
  type NodeStore,
  OPTIONAL_REF_LIST_NAMES,
  type PatchDocument,
  PatchError,
  patchLimits,
  type PatchResult,
  refsOf,
} from "./_types.ts";

export { parsePatchDocument, patchBytes, patchDocumentToJson, patchHash } from "./_parse.ts";
export {
  type AddDefOp,
  DEF_KINDS,
  type DefKind,
  type NodeStore,
  PATCH_DIAGNOSTIC_CODES,
  PATCH_OP_NAMES,
  type PatchDiagnosticCode,
  type PatchDocument,
  PatchError,
  patchLimits,
  type PatchOp,
  type PatchOpName,
  type PatchResult,
  REF_LIST_OF_KIND,
  type RefListName,
  type RemoveDefOp,
  type ReplaceDefOp,
  type SetDefaultsOp,
  type SetManifestRefsOp,
  type SetModuleBindingsOp,
  type SetRoutingOp,
  type SetTriggersOp,
} from "./_types.ts";

/**
 * The nodes a candidate manifest lists, keyed `kind:name` for the validator (built-ins left out),
 * and a diagnostic for each ref whose node is missing or is not the named node of that kind.
 */
function listedNodes(
  manifest: Manifest,
  app: PatchApplication,
): { nodes: Map<string, AirNode>; diagnostics: Diagnostic[] } {
  const nodes = new Map<string, AirNode>();
  const diagnostics: Diagnostic[] = [];
  for (const [list, kind] of REF_LISTS) {
    refsOf(manifest, list).forEach((ref, j) => {
      const hash = ref.hash;
      assert(hash !== undefined, `ref "${ref.name}" of a patched manifest has a hash`);
      // The validator checks built-in refs against the built-ins themselves.
      if (ref.name.startsWith("sys/")) return;
      const node = app.lookup(hash);
      const at = jsonPath([list, j, "hash"]);
      if (node === undefined) {
        diagnostics.push({
          code: "AIR_PATCH_NODE_MISSING",
          message: `Node "${hash}" of ${kind} "${ref.name}" is not in the store`,
          path: at,
          def: ref.name,
        });
      } else if (node.$kind !== kind || node.name !== ref.name) {
        const what = node.$kind === "manifest" ? "a manifest" : `${node.$kind} "${node.name}"`;
        diagnostics.push({
          code: "AIR_PATCH_KIND_MISMATCH",
          message: `Node "${hash}" listed as ${kind} "${ref.name}" is ${what}`,
          path: at,
          def: ref.name,
        });
      } else nodes.set(`${kind}:${ref.name}`, node);
    });
  }
  return { nodes, diagnostics };
}

/**
 * Applies a patch document to the current manifest (AIR §15). Each operation works on a copy; the result
 * has its ref lists sorted by name and is re-validated as a whole with the listed nodes (from `store`,
 * the nodes the patch brings, or the built-ins).
 * @param current the current manifest and its node hash; every ref must carry a hash (stored manifests do)
 * @throws {PatchError} `AOS_PATCH_STALE` when `base_manifest_hash` or a `pre_hash` does not match,
 *   `AOS_PATCH_INVALID` for any other problem; `current` is left unchanged.
 * @throws {RangeError} when `current.manifestHash` is not the node hash of `current.manifest`, or a ref
 *   lacks its hash.
 */
export function applyPatch(
  current: { manifest: Manifest; manifestHash: HashRef },
  doc: PatchDocument,
  store: NodeStore,
): PatchResult {
  const actualHash = nodeHash(current.manifest);
  if (actualHash !== current.manifestHash) {
    throw new RangeError(
      `Current manifest hashes to "${actualHash}", not the given "${current.manifestHash}"`,
    );
  }
  for (const [list] of REF_LISTS) {
    const bare = refsOf(current.manifest, list).find((ref) => ref.hash === undefined);
    if (bare !== undefined) {
      throw new RangeError(`Current manifest ref "${bare.name}" in "${list}" has no hash`);
    }
  }
  // Re-parse: a document built in code gets the same checks as one read from text, and a private copy.
  const checked = parsePatchDocument(patchDocumentToJson(doc));
  if (checked.base_manifest_hash !== current.manifestHash) {
    const reason =
      `base_manifest_hash "${checked.base_manifest_hash}" does not match the current manifest "${current.manifestHash}"`;
    throw new PatchError("AOS_PATCH_STALE", `Patch is stale: ${reason}`, {
      diagnostics: [{ code: "AIR_PATCH_STALE", message: reason, path: "$.base_manifest_hash" }],
      context: { path: "$.base_manifest_hash" },
    });
  }
  assert(checked.patches.length <= patchLimits.opsMax, "a parsed patch is within the operation limit");

  const app = new PatchApplication(structuredClone(current.manifest), store);
  checked.patches.forEach((op, i) => app.apply(op, i));
  const work = app.work;
  for (const [list] of REF_LISTS) {
    const refs = work[list];
    if (refs === undefined) continue;
    // An optional list the patch created and emptied again is dropped, like one it never touched.
    if (refs.length === 0 && OPTIONAL_REF_LIST_NAMES.has(list) && current.manifest[list] === undefined) {
      delete work[list];
    } else refs.sort(byName);
  }

  // Built-in schemas and defcaps need not be in the lookup: the validator knows them.
  const listed = listedNodes(work, app);
  const validation = listed.diagnostics.length === 0
    ? resolveManifest(work, listed.nodes)
    : { diagnostics: listed.diagnostics };
  const errors = validation.diagnostics.filter(isErrorDiagnostic);
  const first = errors[0];
  if (first !== undefined) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new PatchError(
      "AOS_PATCH_INVALID",
      `Patch is invalid: the resulting manifest fails validation: ${formatDiagnostic(first)}${more}`,
      {
        diagnostics: validation.diagnostics,
        context: {
          ...(first.path === undefined ? {} : { path: first.path }),
          ...(first.def === undefined ? {} : { def: first.def }),
        },
      },
    );
  }

  // The result is the normalized manifest as it reads back from the CAS, with grant params in the
  // canonical tagged form the validator gives them.
  assert(validation.manifest !== undefined, "a manifest without errors is resolved");
  const parsed = parseAirNode(normalizeNode(validation.manifest));
  assert(parsed.ok && parsed.node.$kind === "manifest", "a patched manifest parses back as a manifest");
  const manifest = parsed.node;
  const manifestHash = nodeHash(manifest);
  assert(manifestHash === nodeHash(validation.manifest), "normalizing the patched manifest keeps its hash");
  for (const [list] of REF_LISTS) {
    assert(
      refsOf(manifest, list).every((ref, i) =>
        ref.name === refsOf(work, list)[i]?.name && ref.hash === refsOf(work, list)[i]?.hash
      ),
      `validation keeps the "${list}" refs of the patched manifest`,
    );
  }
  assert(nodeHash(current.manifest) === actualHash, "applying a patch leaves the current manifest unchanged");
  return { manifest, manifestHash, newNodes: app.newNodes, diagnostics: validation.diagnostics };
}
