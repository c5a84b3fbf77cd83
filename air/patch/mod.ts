/**
 * AIR patches (AIR §15): {@linkcode parsePatchDocument} reads a patch document, {@linkcode patchHash}
 * names it, and {@linkcode applyPatch} applies its operations in order to a working copy of the manifest,
 * all or nothing, and re-validates the result as a whole (AIR §14). The input is never mutated.
 *
 * @example Add a schema to an empty world
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyPatch, parsePatchDocument, patchHash } from "./mod.ts";
 * import { type Manifest, nodeHash } from "../nodes/mod.ts";
 *
 * const manifest: Manifest = { $kind: "manifest", schemas: [], modules: [], plans: [], caps: [], policies: [] };
 * const manifestHash = nodeHash(manifest);
 * const doc = parsePatchDocument({
 *   base_manifest_hash: manifestHash,
 *   patches: [{ add_def: { kind: "defschema", node: { $kind: "defschema", name: "demo/Count@1", type: { nat: {} } } } }],
 * });
 * assert.match(patchHash(doc), /^sha256:[0-9a-f]{64}$/);
 * const result = applyPatch({ manifest, manifestHash }, doc, { get: () => undefined });
 * assert.deepEqual(result.manifest.schemas.map((ref) => ref.name), ["demo/Count@1"]);
 * ```
 *
 * @module
 */
export {
  applyPatch,
  DEF_KINDS,
  type DefKind,
  type NodeStore,
  parsePatchDocument,
  patchBytes,
  type PatchDocument,
  patchDocumentToJson,
  PatchError,
  patchHash,
  type PatchOp,
  type PatchResult,
  REF_LIST_OF_KIND,
} from "./patch.ts";
