/**
 * The driver's side of the kernel's {@linkcode ControlPlaneContent}: control planes, patch documents and
 * nodes loaded from the CAS (every read re-hashed), kept in memory for synchronous lookups by the kernel.
 * The driver loads what an input needs ({@linkcode Kernel.contentNeeds}) before it journals or replays it,
 * so the kernel stays pure. Reducer modules of every loaded control plane are compiled into one host, the
 * one the kernel runs.
 *
 * @module
 */
import {
  type AirNode,
  decodeCanonical,
  type HashRef,
  type JsonValue,
  parseAirNode,
  parsePatchDocument,
  type PatchDocument,
  PatchError,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import {
  cborToJson,
  type ContentNeeds,
  type ControlPlaneContent,
  Kernel,
  ReducerHost,
  type WorldDefs,
} from "../kernel/mod.ts";
import { loadDefs } from "./load_defs.ts";

/** Control planes, patches and nodes of one world's CAS, loaded on demand. */
export class ControlPlaneLibrary implements ControlPlaneContent {
  /** The host every loaded control plane's modules are compiled into. */
  readonly host: ReducerHost;
  readonly #cas: Cas;
  readonly #defs = new Map<HashRef, WorldDefs>();
  readonly #patches = new Map<HashRef, PatchDocument | PatchError>();
  readonly #nodes = new Map<HashRef, AirNode>();

  constructor(cas: Cas, host: ReducerHost = new ReducerHost()) {
    this.#cas = cas;
    this.host = host;
  }

  defs(manifestHash: HashRef): WorldDefs | undefined {
    return this.#defs.get(manifestHash);
  }

  patch(patchHash: HashRef): PatchDocument | PatchError | undefined {
    return this.#patches.get(patchHash);
  }

  node(hash: HashRef): AirNode | undefined {
    return this.#nodes.get(hash);
  }

  /**
   * Loads a snapshot blob and what restoring it needs: the control plane in force when it was taken and the
   * ones its running plans pinned. `AOS_CAS_MISSING`/`AOS_CAS_CORRUPT` when the blob is missing or damaged.
   */
  async loadSnapshot(hash: HashRef): Promise<{ bytes: Uint8Array; defs: WorldDefs }> {
    const bytes = await this.#cas.get("blobs", hash);
    const manifests = Kernel.snapshotManifests(bytes);
    const defs = await this.loadDefs(manifests.manifestHash);
    for (const pinned of manifests.pinned) await this.loadDefs(pinned);
    return { bytes, defs };
  }

  /** Loads (once) the control plane of `manifestHash`: validated, its modules compiled into the host. */
  async loadDefs(manifestHash: HashRef): Promise<WorldDefs> {
    const known = this.#defs.get(manifestHash);
    if (known !== undefined) return known;
    const defs = await loadDefs(this.#cas, manifestHash, this.host);
    this.#defs.set(manifestHash, defs);
    return defs;
  }

  /**
   * Loads (once) the patch document `patchHash` and the stored nodes its `set_manifest_refs` operations
   * list (those the store holds: a missing one is the patch's problem, reported by validation). A stored
   * document that does not parse as a patch gives its {@linkcode PatchError}.
   */
  async loadPatch(patchHash: HashRef): Promise<PatchDocument | PatchError> {
    const known = this.#patches.get(patchHash);
    if (known !== undefined) return known;
    let doc: PatchDocument | PatchError;
    try {
      doc = parsePatchDocument(await this.loadRaw(patchHash));
    } catch (error) {
      if (!(error instanceof PatchError)) throw error;
      doc = error;
    }
    if (!(doc instanceof PatchError)) {
      for (const op of doc.patches) {
        if (!("set_manifest_refs" in op)) continue;
        for (const ref of op.set_manifest_refs.add ?? []) await this.loadNode(ref.hash);
      }
    }
    this.#patches.set(patchHash, doc);
    return doc;
  }

  /** The JSON of a stored node (a patch document as submitted). */
  async loadRaw(hash: HashRef): Promise<JsonValue> {
    return cborToJson(decodeCanonical(await this.#cas.get("nodes", hash)), hash);
  }

  /** Loads a stored node when the store has it; returns it, or undefined when it is not stored. */
  async loadNode(hash: HashRef): Promise<AirNode | undefined> {
    const known = this.#nodes.get(hash);
    if (known !== undefined) return known;
    if (!(await this.#cas.has("nodes", hash))) return undefined;
    const parsed = parseAirNode(cborToJson(decodeCanonical(await this.#cas.get("nodes", hash)), hash));
    if (!parsed.ok) return undefined;
    this.#nodes.set(hash, parsed.node);
    return parsed.node;
  }

  /** Loads everything in `needs`. */
  async prepare(needs: ContentNeeds): Promise<void> {
    for (const hash of needs.patches) await this.loadPatch(hash);
    for (const hash of needs.manifests) await this.loadDefs(hash);
  }

  /** Loads what `kernel` needs to apply `record` next. */
  async prepareFor(
    kernel: Kernel,
    record: { kind: string; body: { [key: string]: unknown } },
  ): Promise<void> {
    await this.prepare(kernel.contentNeeds(record as Parameters<Kernel["contentNeeds"]>[0]));
  }
}
