/**
 * The `blob.put` and `blob.get` adapters (AIR §9.1). `blob.put` publishes a blob already in the CAS
 * (`blob_ref`) into `namespace`; `blob.get` resolves `key` — a `sha256:` reference in v1 — in `namespace`.
 * Both answer `{blob_ref, size}`; a blob missing from the CAS, or a key not published in the namespace,
 * gives status `error` with an empty payload.
 *
 * @example Publish, then resolve
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTyped, hashRefToBytes, SchemaIndex, type Value } from "../air/mod.ts";
 * import { MemoryCas } from "../journal/cas.ts";
 * import { BlobGetAdapter, BlobPutAdapter } from "./blob.ts";
 * import { MemoryBlobNamespaces } from "./blob_namespaces.ts";
 * import { intentHash } from "../kernel/mod.ts";
 * import { AdapterKey } from "./keys.ts";
 *
 * const cas = new MemoryCas();
 * const ref = await cas.put("blobs", new TextEncoder().encode("hello"));
 * const options = { key: AdapterKey.generate(), cas, namespaces: new MemoryBlobNamespaces() };
 * const intent = (kind: "blob.put" | "blob.get", type: string, fields: Array<[string, Value]>) => {
 *   const params = encodeTyped({ ref: type }, { kind: "record", value: new Map(fields) }, new SchemaIndex([]));
 *   const base = { kind, capName: "blob_cap", params, idempotencyKey: new Uint8Array(32) };
 *   return { ...base, intentHash: intentHash(base), fence: { generation: 0n, height: 1n } };
 * };
 * const namespace: [string, Value] = ["namespace", { kind: "text", value: "docs" }];
 * const put = await new BlobPutAdapter(options).execute(
 *   intent("blob.put", "sys/BlobPutParams@1", [namespace, ["blob_ref", { kind: "hash", value: hashRefToBytes(ref) }]]),
 * );
 * assert.equal(put.status, "ok");
 * const get = await new BlobGetAdapter(options).execute(
 *   intent("blob.get", "sys/BlobGetParams@1", [namespace, ["key", { kind: "text", value: ref }]]),
 * );
 * assert.equal(get.status, "ok");
 * ```
 *
 * @module
 */
import {
  AosError,
  bytesToHashRef,
  type EffectKind,
  type HashRef,
  hashRefToBytes,
  isHashRef,
  SchemaIndex,
  type SchemaResolver,
  type Value,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import type { EffectAdapter, EffectIntent, Receipt } from "../kernel/mod.ts";
import { type BlobNamespaces, namespaceProblem } from "./blob_namespaces.ts";
import type { AdapterFailure } from "./adapter_failure.ts";
import type { AdapterKey } from "./keys.ts";
import { type AdapterCore, executeOnce, fieldOf, Once, type Outcome, v } from "./_receipts.ts";

/** Options shared by {@linkcode BlobPutAdapter} and {@linkcode BlobGetAdapter}. */
export interface BlobAdapterOptions {
  key: AdapterKey;
  cas: Cas;
  namespaces: BlobNamespaces;
  /** Default `aos-blob` (both kinds share the id and key). */
  adapterId?: string;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
  /** Told why an intent got `error` (the receipt carries no reason). */
  onFailure?: (failure: AdapterFailure) => void;
}

/** The blob's size, or an error outcome when the CAS lacks it or holds corrupt bytes. */
async function blobSize(cas: Cas, ref: HashRef): Promise<bigint | Outcome> {
  try {
    return BigInt((await cas.get("blobs", ref)).length);
  } catch (cause) {
    if (cause instanceof AosError && cause.code === "AOS_CAS_MISSING") {
      return { status: "error", reason: `Blob "${ref}" is not in the CAS`, cause };
    }
    return { status: "error", reason: `Blob "${ref}" cannot be read from the CAS`, cause };
  }
}

abstract class BlobAdapter implements EffectAdapter {
  abstract readonly kind: EffectKind;
  readonly adapterId: string;
  readonly publicKey: Uint8Array;
  protected readonly cas: Cas;
  protected readonly namespaces: BlobNamespaces;
  readonly #core: AdapterCore;
  readonly #once = new Once();

  constructor(kind: EffectKind, options: BlobAdapterOptions) {
    this.adapterId = options.adapterId ?? "aos-blob";
    this.publicKey = options.key.publicKey;
    this.cas = options.cas;
    this.namespaces = options.namespaces;
    this.#core = {
      kind,
      adapterId: this.adapterId,
      key: options.key,
      schemas: options.schemas ?? new SchemaIndex([]),
      onFailure: options.onFailure,
    };
  }

  execute(intent: EffectIntent): Promise<Receipt> {
    return executeOnce(this.#core, this.#once, intent, (fields) => {
      const namespace = fieldOf(fields, "namespace", "text").value;
      const problem = namespaceProblem(namespace);
      if (problem !== undefined) return Promise.resolve({ status: "error", reason: problem });
      return this.run(namespace, fields);
    });
  }

  protected abstract run(namespace: string, fields: Map<string, Value>): Promise<Outcome>;
}

/** `blob.put`: publishes an existing CAS blob into a namespace. */
export class BlobPutAdapter extends BlobAdapter {
  readonly kind = "blob.put" as const;

  constructor(options: BlobAdapterOptions) {
    super("blob.put", options);
  }

  protected override async run(namespace: string, fields: Map<string, Value>): Promise<Outcome> {
    const blobRef = fieldOf(fields, "blob_ref", "hash").value;
    const ref = bytesToHashRef(blobRef);
    const size = await blobSize(this.cas, ref);
    if (typeof size !== "bigint") return size;
    await this.namespaces.publish(namespace, ref);
    return { status: "ok", payload: v.record({ blob_ref: v.hash(blobRef), size: v.nat(size) }) };
  }
}

/** `blob.get`: resolves a `sha256:` key published in a namespace. */
export class BlobGetAdapter extends BlobAdapter {
  readonly kind = "blob.get" as const;

  constructor(options: BlobAdapterOptions) {
    super("blob.get", options);
  }

  protected override async run(namespace: string, fields: Map<string, Value>): Promise<Outcome> {
    const key = fieldOf(fields, "key", "text").value;
    if (!isHashRef(key)) return { status: "error", reason: `Blob key "${key}" is not a sha256: reference` };
    if (!(await this.namespaces.has(namespace, key))) {
      return { status: "error", reason: `Blob "${key}" is not published in namespace "${namespace}"` };
    }
    const size = await blobSize(this.cas, key);
    if (typeof size !== "bigint") return size;
    return { status: "ok", payload: v.record({ blob_ref: v.hash(hashRefToBytes(key)), size: v.nat(size) }) };
  }
}
