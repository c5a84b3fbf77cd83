/**
 * The receipt drop box (`.aos/receipts/`): signed receipts delivered from outside the `aos` process (an
 * adapter running as its own service, or `aos receipts submit`) wait here until `aos step` admits them with
 * the same checks as any receipt. A file is written atomically and removed only after the block that admitted
 * it is fsynced; admitting one twice is harmless (the second is ignored as a duplicate).
 *
 * @module
 */
import { AosError, type CborValue, decodeCanonical, encodeCanonical, limits } from "../air/mod.ts";
import { createFileOnce, makeDirDurable, syncDirectory } from "../journal/mod.ts";
import { type Receipt, signedReceiptMap } from "../kernel/mod.ts";

const FILE = /^(\d{12})\.cbor$/;

/** The canonical CBOR of a receipt, signature included (the drop-box file format). */
export function encodeReceiptFile(receipt: Receipt): Uint8Array {
  return encodeCanonical(signedReceiptMap(receipt));
}

function big(value: CborValue | undefined): bigint | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  return typeof value === "bigint" ? value : undefined;
}

function isMap(value: CborValue): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** Parses a drop-box file; throws `AOS_CBOR_INVALID` for anything that is not a receipt. */
export function decodeReceiptFile(bytes: Uint8Array, where: string): Receipt {
  const decoded = decodeCanonical(bytes);
  // Any other CBOR (null, a number, an array) is no receipt either, and must not be read as a map.
  const raw = (isMap(decoded) ? decoded : {}) as { [key: string]: CborValue };
  const fence = raw.fence as { [key: string]: CborValue } | undefined;
  const generation = big(fence?.generation);
  const height = big(fence?.height);
  const cost = raw.cost_cents === undefined ? undefined : big(raw.cost_cents);
  const status = raw.status;
  if (
    !(raw.intent_hash instanceof Uint8Array) || typeof raw.adapter_id !== "string" ||
    (status !== "ok" && status !== "error" && status !== "timeout") || !(raw.payload instanceof Uint8Array) ||
    !(raw.signature instanceof Uint8Array) || generation === undefined || height === undefined ||
    (raw.cost_cents !== undefined && cost === undefined)
  ) {
    throw new AosError(
      "AOS_CBOR_INVALID",
      `${where} is not a receipt {intent_hash, adapter_id, status, payload, fence, signature, cost_cents?}`,
    );
  }
  const receipt: Receipt = {
    intentHash: raw.intent_hash,
    adapterId: raw.adapter_id,
    status,
    payload: raw.payload,
    fence: { generation, height },
    signature: raw.signature,
  };
  if (cost !== undefined) receipt.costCents = cost;
  return receipt;
}

/** A receipt file waiting in the drop box; `receipt` is undefined when the file does not parse. */
export interface DroppedReceipt {
  file: string;
  receipt?: Receipt;
}

/**
 * Where receipts delivered from outside the driver wait (a port: `.aos/receipts/` for worlds on disk), and
 * the adapter keys the world accepts them from.
 */
export interface ReceiptDropBox {
  /** Queued receipts in arrival order. */
  list(): Promise<DroppedReceipt[]>;
  /** Queues one receipt durably; returns its file name. */
  add(receipt: Receipt): Promise<string>;
  /** Removes admitted receipts. */
  remove(files: string[]): Promise<void>;
  /** Adapter ids and their Ed25519 public keys. */
  registeredKeys(): Promise<Map<string, Uint8Array>>;
  /** Adapter ids and the effect kinds their keys may settle. */
  registeredKinds(): Promise<Map<string, string[]>>;
}

/** The drop-box folder of one world (`dir`), and its registered keys (`keysDir`). */
export class ReceiptInbox implements ReceiptDropBox {
  constructor(readonly dir: string, readonly keysDir: string) {}

  /** Queued receipt files in arrival order (unreadable ones come back with `receipt: undefined`). */
  async list(): Promise<DroppedReceipt[]> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) if (e.isFile && FILE.test(e.name)) names.push(e.name);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    names.sort();
    const out: DroppedReceipt[] = [];
    for (const name of names) {
      const file = `${this.dir}/${name}`;
      try {
        out.push({ file, receipt: decodeReceiptFile(await Deno.readFile(file), file) });
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        out.push({ file });
      }
    }
    return out;
  }

  /** Queues one receipt durably (temp file, fsync, link into place: a racing writer never overwrites it). */
  async add(receipt: Receipt): Promise<string> {
    await makeDirDurable(this.dir);
    const bytes = encodeReceiptFile(receipt);
    for (let attempt = 0; attempt < limits.dropBoxCreateAttemptsMax; attempt++) {
      const names: string[] = [];
      for await (const e of Deno.readDir(this.dir)) if (FILE.test(e.name)) names.push(e.name);
      const next = names.reduce((n, name) => Math.max(n, Number(FILE.exec(name)![1])), 0) + 1;
      const path = `${this.dir}/${String(next).padStart(12, "0")}.cbor`;
      if (await createFileOnce(path, bytes)) return path;
    }
    throw new AosError(
      "AOS_BUSY",
      `Cannot queue a receipt in "${this.dir}": other writers keep taking the next name`,
    );
  }

  /** Removes admitted files. */
  async remove(files: string[]): Promise<void> {
    for (const f of files) {
      await Deno.remove(f).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    if (files.length > 0) syncDirectory(this.dir);
  }

  /** The adapter keys registered with the world (`.aos/keys/<adapter_id>.pub`). */
  async registeredKeys(): Promise<Map<string, Uint8Array>> {
    return await registeredKeys(this.keysDir);
  }

  /** The effect kinds each registered key may settle (`.aos/keys/<adapter_id>.kinds`). */
  async registeredKinds(): Promise<Map<string, string[]>> {
    return await registeredKinds(this.keysDir);
  }
}

/** A drop box in memory (forks and tests): nothing is delivered from outside. */
export class MemoryReceiptDropBox implements ReceiptDropBox {
  readonly #files = new Map<string, Receipt>();
  #next = 1;
  readonly #keys: Map<string, Uint8Array>;
  readonly #kinds: Map<string, string[]>;

  constructor(keys: Map<string, Uint8Array> = new Map(), kinds: Map<string, string[]> = new Map()) {
    this.#keys = keys;
    this.#kinds = kinds;
  }

  list(): Promise<DroppedReceipt[]> {
    return Promise.resolve([...this.#files].map(([file, receipt]) => ({ file, receipt })));
  }

  add(receipt: Receipt): Promise<string> {
    const file = `memory:${this.#next++}`;
    this.#files.set(file, receipt);
    return Promise.resolve(file);
  }

  remove(files: string[]): Promise<void> {
    for (const f of files) this.#files.delete(f);
    return Promise.resolve();
  }

  registeredKeys(): Promise<Map<string, Uint8Array>> {
    return Promise.resolve(new Map(this.#keys));
  }

  registeredKinds(): Promise<Map<string, string[]>> {
    return Promise.resolve(new Map(this.#kinds));
  }
}

/**
 * The effect kinds each adapter key may settle: `.aos/keys/<adapter_id>.kinds`, one kind per line (blank
 * lines and `#` comments skipped). A key without the file settles nothing.
 */
export async function registeredKinds(dir: string): Promise<Map<string, string[]>> {
  const kinds = new Map<string, string[]>();
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".kinds")) continue;
      const lines = (await Deno.readTextFile(`${dir}/${e.name}`)).split("\n").map((l) => l.trim());
      kinds.set(e.name.slice(0, -6), lines.filter((l) => l !== "" && !l.startsWith("#")).sort());
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return kinds;
}

/** The adapter public keys registered with a world: `.aos/keys/<adapter_id>.pub` (hex of 32 bytes). */
export async function registeredKeys(dir: string): Promise<Map<string, Uint8Array>> {
  const keys = new Map<string, Uint8Array>();
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".pub")) continue;
      const hex = (await Deno.readTextFile(`${dir}/${e.name}`)).trim();
      if (/^[0-9a-f]{64}$/.test(hex)) {
        keys.set(e.name.slice(0, -4), Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16))));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return keys;
}
