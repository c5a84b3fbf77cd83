/**
 * The content-addressed store (KERNEL §8.3): the `Cas` port, a file-system implementation and an in-memory
 * one. The contract suite both pass lives in `testing/cas_contract.ts`.
 *
 * @module
 */
import { AosError, assert as invariant, type HashRef, hashRefOf, isHashRef } from "../air/mod.ts";
import { attempt, exists, makeDirDurable, writeFileAtomic } from "./durable_fs.ts";

/** The two CAS namespaces: `nodes` (AIR nodes, patches, shadow reports) and `blobs` (WASM, bodies, snapshots). */
export type CasSpace = "nodes" | "blobs";

const SPACES: readonly CasSpace[] = ["nodes", "blobs"];

/**
 * The content-addressed store port. Objects are write-once and keyed by the SHA-256 of their bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCas } from "./cas.ts";
 *
 * const cas = new MemoryCas();
 * const ref = await cas.put("blobs", new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await cas.get("blobs", ref), new Uint8Array([1, 2, 3]));
 * ```
 */
export interface Cas {
  /** Stores `bytes` and returns their `sha256:` reference. Idempotent; an existing object is never rewritten. */
  put(space: CasSpace, bytes: Uint8Array): Promise<HashRef>;
  /**
   * Returns the bytes stored under `hash`, re-hashed on every read.
   * Throws `AOS_CAS_MISSING` when absent and `AOS_CAS_CORRUPT` when the bytes do not hash to `hash`.
   */
  get(space: CasSpace, hash: HashRef): Promise<Uint8Array>;
  /** True when an object is stored under `hash` (its content is not verified; `get` does that). */
  has(space: CasSpace, hash: HashRef): Promise<boolean>;
  /**
   * The size in bytes of the object stored under `hash`, or undefined when absent (content not verified).
   * Synchronous: the driver answers the kernel's blob-size questions in the middle of a block.
   */
  sizeOf(space: CasSpace, hash: HashRef): number | undefined;
  /** Every reference stored in `space`, sorted (for copying a world between stores). */
  list(space: CasSpace): Promise<HashRef[]>;
}

/** Throws `TypeError` unless `space` is `nodes` or `blobs` (shared by every CAS of this folder). */
export function checkSpace(space: CasSpace): void {
  if (!SPACES.includes(space)) {
    throw new TypeError(`Invalid CAS space "${String(space)}": expected nodes or blobs`);
  }
}

/** The hex of a well-formed `sha256:` reference; `TypeError` otherwise (shared by every CAS of this folder). */
export function checkHash(hash: HashRef): string {
  // The hex becomes a file name, so a malformed reference must never reach the file system.
  if (typeof hash !== "string" || !isHashRef(hash)) {
    throw new TypeError(`Invalid hash reference "${String(hash)}": expected sha256:<64 hex>`);
  }
  return hash.slice("sha256:".length);
}

function missing(space: CasSpace, hash: HashRef, file?: string): AosError {
  return new AosError("AOS_CAS_MISSING", `CAS object "${hash}" is missing from ${space}`, {
    context: file === undefined ? {} : { file },
  });
}

function verified(space: CasSpace, hash: HashRef, bytes: Uint8Array, file?: string): Uint8Array {
  const actual = hashRefOf(bytes);
  if (actual !== hash) {
    throw new AosError(
      "AOS_CAS_CORRUPT",
      `CAS object "${hash}" in ${space} is corrupt: its bytes hash to "${actual}"`,
      {
        context: file === undefined ? {} : { file },
      },
    );
  }
  return bytes;
}

/**
 * The on-disk CAS: `<rootDir>/nodes/sha256/<hex>` and `<rootDir>/blobs/sha256/<hex>`, where `rootDir` is
 * `<world>/.aos/store`. Writes go to a temp file in the target directory, are fsynced, renamed into place,
 * and the directory is fsynced, so an object is either absent or complete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FsCas } from "./cas.ts";
 *
 * const root = await Deno.makeTempDir();
 * const cas = new FsCas(root);
 * const ref = await cas.put("nodes", new TextEncoder().encode("node"));
 * assert.equal(await cas.has("nodes", ref), true);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FsCas implements Cas {
  /** The store root, usually `<world>/.aos/store`. */
  readonly rootDir: string;

  constructor(rootDir: string) {
    if (rootDir.length === 0) throw new TypeError("Invalid CAS root: expected a directory path");
    this.rootDir = rootDir;
  }

  /** The path where an object of `space` with `hash` lives. */
  pathOf(space: CasSpace, hash: HashRef): string {
    checkSpace(space);
    return `${this.#dirOf(space)}/${checkHash(hash)}`;
  }

  #dirOf(space: CasSpace): string {
    return `${this.rootDir}/${space}/sha256`;
  }

  async put(space: CasSpace, bytes: Uint8Array): Promise<HashRef> {
    checkSpace(space);
    const hash = hashRefOf(bytes);
    const dir = this.#dirOf(space);
    const path = `${dir}/${checkHash(hash)}`;
    if (await exists(path)) return hash;
    await makeDirDurable(dir);
    // Checked right before writing: the bytes are what the key names. A concurrent put of the same object
    // may win the rename; its content is identical.
    invariant(hashRefOf(bytes) === hash, "CAS bytes changed while being stored");
    await writeFileAtomic(path, bytes);
    return hash;
  }

  async get(space: CasSpace, hash: HashRef): Promise<Uint8Array> {
    const path = this.pathOf(space, hash);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw missing(space, hash, path);
      throw error;
    }
    return verified(space, hash, bytes, path);
  }

  has(space: CasSpace, hash: HashRef): Promise<boolean> {
    return attempt(() => exists(this.pathOf(space, hash)));
  }

  async list(space: CasSpace): Promise<HashRef[]> {
    checkSpace(space);
    const refs: HashRef[] = [];
    try {
      for await (const entry of Deno.readDir(this.#dirOf(space))) {
        const ref = `sha256:${entry.name}`;
        if (entry.isFile && isHashRef(ref)) refs.push(ref);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return refs.sort();
  }

  sizeOf(space: CasSpace, hash: HashRef): number | undefined {
    try {
      return Deno.statSync(this.pathOf(space, hash)).size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }
}

/**
 * An in-memory CAS for tests and simulation. It copies bytes in and out, so callers cannot alter stored
 * objects, and re-hashes on every read like the file-system store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCas } from "./cas.ts";
 *
 * const cas = new MemoryCas();
 * const ref = await cas.put("nodes", new Uint8Array([7]));
 * assert.equal(await cas.has("blobs", ref), false);
 * ```
 */
export class MemoryCas implements Cas {
  readonly #objects = new Map<string, Uint8Array>();
  readonly #below: Cas | undefined;

  /**
   * An empty store; with `below`, objects missing here are read from `below` (which is never written), so a
   * fork of a world sees everything its parent stored and keeps its own writes to itself.
   */
  constructor(below?: Cas) {
    this.#below = below;
  }

  put(space: CasSpace, bytes: Uint8Array): Promise<HashRef> {
    return attempt(() => {
      checkSpace(space);
      const hash = hashRefOf(bytes);
      const key = `${space}/${checkHash(hash)}`;
      if (!this.#objects.has(key)) this.#objects.set(key, bytes.slice());
      return hash;
    });
  }

  get(space: CasSpace, hash: HashRef): Promise<Uint8Array> {
    return attempt(() => {
      checkSpace(space);
      const stored = this.#objects.get(`${space}/${checkHash(hash)}`);
      if (stored === undefined) {
        if (this.#below !== undefined) return this.#below.get(space, hash);
        throw missing(space, hash);
      }
      return verified(space, hash, stored.slice());
    });
  }

  has(space: CasSpace, hash: HashRef): Promise<boolean> {
    return attempt(() => {
      checkSpace(space);
      if (this.#objects.has(`${space}/${checkHash(hash)}`)) return true;
      return this.#below?.has(space, hash) ?? false;
    });
  }

  async list(space: CasSpace): Promise<HashRef[]> {
    checkSpace(space);
    const refs = new Set<HashRef>(this.#below === undefined ? [] : await this.#below.list(space));
    for (const key of this.#objects.keys()) {
      if (key.startsWith(`${space}/`)) refs.add(`sha256:${key.slice(space.length + 1)}`);
    }
    return [...refs].sort();
  }

  sizeOf(space: CasSpace, hash: HashRef): number | undefined {
    checkSpace(space);
    const stored = this.#objects.get(`${space}/${checkHash(hash)}`);
    return stored === undefined ? this.#below?.sizeOf(space, hash) : stored.length;
  }
}
