/**
 * Blob namespaces (AIR §9.1 `blob.put`/`blob.get`): which CAS blobs are published under which name.
 * A namespace holds blob references only; the bytes stay in the CAS. On disk, publishing is one empty
 * marker file `<world>/.aos/blob_ns/<hex of the namespace's UTF-8>/<blob hex>`: creating it is atomic and
 * idempotent, concurrent publishers never rewrite a shared index, and nothing is ever unpublished in v1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashRefOf } from "../air/mod.ts";
 * import { MemoryBlobNamespaces } from "./blob_namespaces.ts";
 *
 * const namespaces = new MemoryBlobNamespaces();
 * const ref = hashRefOf(new Uint8Array([1]));
 * await namespaces.publish("images", ref);
 * assert.equal(await namespaces.has("images", ref), true);
 * assert.equal(await namespaces.has("other", ref), false);
 * ```
 *
 * @module
 */
import { type HashRef, isHashRef, toHex } from "../air/mod.ts";
import { adapterLimits } from "./limits.ts";
import { makeDirDurable, syncDirectory } from "../journal/mod.ts";

const TEXT = new TextEncoder();

/** The namespace index port. */
export interface BlobNamespaces {
  /** Publishes `ref` under `namespace`; idempotent. */
  publish(namespace: string, ref: HashRef): Promise<void>;
  /** True when `ref` was published under `namespace`. */
  has(namespace: string, ref: HashRef): Promise<boolean>;
}

/** Why `namespace` cannot be used, or undefined when it can: non-empty, at most 120 UTF-8 bytes. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length === 0) return "Blob namespace is empty";
  if (!namespace.isWellFormed()) return "Blob namespace is not well-formed Unicode";
  const size = TEXT.encode(namespace).length;
  if (size > adapterLimits.blobNamespaceSizeBytesMax) {
    return `Blob namespace is ${size} bytes: the limit is ${adapterLimits.blobNamespaceSizeBytesMax}`;
  }
  return undefined;
}

function checked(namespace: string, ref: HashRef): void {
  const problem = namespaceProblem(namespace);
  if (problem !== undefined) throw new TypeError(problem);
  if (!isHashRef(ref)) throw new TypeError(`Invalid hash reference "${ref}": expected sha256:<64 hex>`);
}

/** Namespaces as marker files under `rootDir` (a world's `.aos/blob_ns`). */
export class FsBlobNamespaces implements BlobNamespaces {
  readonly rootDir: string;

  constructor(rootDir: string) {
    if (rootDir.length === 0) throw new TypeError("Invalid blob namespace root: expected a directory path");
    this.rootDir = rootDir;
  }

  /** The marker file of `ref` in `namespace`. */
  pathOf(namespace: string, ref: HashRef): string {
    checked(namespace, ref);
    // Hex keeps any namespace text (slashes, dots, "..") a single safe directory name.
    return `${this.rootDir}/${toHex(TEXT.encode(namespace))}/${ref.slice("sha256:".length)}`;
  }

  async publish(namespace: string, ref: HashRef): Promise<void> {
    const path = this.pathOf(namespace, ref);
    const dir = path.slice(0, path.lastIndexOf("/"));
    await makeDirDurable(dir);
    try {
      await Deno.writeFile(path, new Uint8Array(), { createNew: true });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return;
      throw error;
    }
    syncDirectory(dir);
    syncDirectory(this.rootDir);
  }

  async has(namespace: string, ref: HashRef): Promise<boolean> {
    try {
      return (await Deno.lstat(this.pathOf(namespace, ref))).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }
}

/** Namespaces in memory, for tests and simulations. */
export class MemoryBlobNamespaces implements BlobNamespaces {
  readonly #published = new Map<string, Set<HashRef>>();

  publish(namespace: string, ref: HashRef): Promise<void> {
    checked(namespace, ref);
    let refs = this.#published.get(namespace);
    if (refs === undefined) this.#published.set(namespace, refs = new Set());
    refs.add(ref);
    return Promise.resolve();
  }

  has(namespace: string, ref: HashRef): Promise<boolean> {
    checked(namespace, ref);
    return Promise.resolve(this.#published.get(namespace)?.has(ref) ?? false);
  }
}
