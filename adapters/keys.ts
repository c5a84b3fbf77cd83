/**
 * Adapter signing keys (KERNEL §6.3, AIR §9.3): Ed25519 through `node:crypto`, persisted per world under
 * `.aos/keys/<adapter_id>.key` (PKCS#8 PEM, mode 0600) with the raw public key in hex beside it as
 * `<adapter_id>.pub`; and the receipt signature helpers.
 *
 * @example Sign and verify a receipt
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyReceiptSignature } from "../kernel/mod.ts";
 * import { AdapterKey, signReceipt } from "./keys.ts";
 *
 * const key = AdapterKey.generate();
 * const receipt = signReceipt({
 *   intentHash: new Uint8Array(32),
 *   adapterId: "aos-timer",
 *   status: "error",
 *   payload: new Uint8Array(),
 *   fence: { generation: 0n, height: 7n },
 * }, key);
 * assert.equal(verifyReceiptSignature(receipt, key.publicKey), true);
 * assert.equal(verifyReceiptSignature({ ...receipt, status: "ok" }, key.publicKey), false);
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { AosError, assert, bytesEqual, fromHex, toHex } from "../air/mod.ts";
import { type Receipt, receiptSigningBytes, type UnsignedReceipt } from "../kernel/mod.ts";
import { adapterLimits } from "./limits.ts";
import { createFileOnce, makeDirDurable, readIfExists, writeFileAtomic } from "../journal/mod.ts";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const SPKI_PREFIX = fromHex("302a300506032b6570032100");
/** DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const ADAPTER_ID = /^[a-z0-9][a-z0-9._-]*$/;
const TEXT = new TextEncoder();
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** An adapter's Ed25519 key pair. The private half never leaves the object except through `toPem`. */
export class AdapterKey {
  /** The raw 32-byte Ed25519 public key, as a world registers it for the adapter id. */
  readonly publicKey: Uint8Array;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    assert(privateKey.asymmetricKeyType === "ed25519", "adapter keys are Ed25519");
    this.#privateKey = privateKey;
    const spki = new Uint8Array(createPublicKey(privateKey).export({ format: "der", type: "spki" }));
    assert(spki.length === 44 && bytesEqual(spki.subarray(0, 12), SPKI_PREFIX), "Ed25519 SPKI layout");
    this.publicKey = spki.slice(12);
  }

  /** A fresh random key. */
  static generate(): AdapterKey {
    return new AdapterKey(generateKeyPairSync("ed25519").privateKey);
  }

  /** The key of a 32-byte seed: deterministic, for seeded simulations and golden journals. */
  static fromSeed(seed: Uint8Array): AdapterKey {
    if (seed.length !== 32) {
      throw new RangeError(`Invalid Ed25519 seed: expected 32 bytes, got ${seed.length}`);
    }
    const der = new Uint8Array(PKCS8_PREFIX.length + 32);
    der.set(PKCS8_PREFIX);
    der.set(seed, PKCS8_PREFIX.length);
    return new AdapterKey(createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" }));
  }

  /** Parses a PKCS#8 PEM Ed25519 private key; throws `AOS_USAGE` when it is not one. */
  static fromPem(pem: string): AdapterKey {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: "pem" });
    } catch (cause) {
      throw new AosError("AOS_USAGE", "Invalid adapter key: expected a PKCS#8 PEM private key", { cause });
    }
    if (key.asymmetricKeyType !== "ed25519") {
      throw new AosError(
        "AOS_USAGE",
        `Invalid adapter key: expected Ed25519, got "${key.asymmetricKeyType}"`,
      );
    }
    return new AdapterKey(key);
  }

  /** The private key as PKCS#8 PEM. */
  toPem(): string {
    return String(this.#privateKey.export({ format: "pem", type: "pkcs8" }));
  }

  /** The 64-byte Ed25519 signature of `bytes`. */
  sign(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, bytes, this.#privateKey));
  }
}

/** Signs a receipt: Ed25519 over {@linkcode receiptSigningBytes} (AIR §9.3). */
export function signReceipt(unsigned: UnsignedReceipt, key: AdapterKey): Receipt {
  const signature = key.sign(receiptSigningBytes(unsigned));
  const receipt: Receipt = {
    intentHash: unsigned.intentHash,
    adapterId: unsigned.adapterId,
    status: unsigned.status,
    payload: unsigned.payload,
    fence: { generation: unsigned.fence.generation, height: unsigned.fence.height },
    signature,
  };
  if (unsigned.costCents !== undefined) receipt.costCents = unsigned.costCents;
  return receipt;
}

/** True when `id` can name an adapter (and its key file): lowercase letters, digits, `.`, `_`, `-`. */
export function isAdapterId(id: string): boolean {
  return id.length <= adapterLimits.adapterIdLengthMax && ADAPTER_ID.test(id);
}

/** Where a world keeps an adapter's key files. */
export function adapterKeyPaths(
  worldDir: string,
  adapterId: string,
): { dir: string; key: string; pub: string; kinds: string } {
  if (!isAdapterId(adapterId)) {
    throw new TypeError(`Invalid adapter id "${adapterId}": expected [a-z0-9][a-z0-9._-]*`);
  }
  const dir = `${worldDir}/.aos/keys`;
  return {
    dir,
    key: `${dir}/${adapterId}.key`,
    pub: `${dir}/${adapterId}.pub`,
    kinds: `${dir}/${adapterId}.kinds`,
  };
}

/**
 * Loads the adapter's key from `<worldDir>/.aos/keys/<adapterId>.key`, creating it (mode 0600, written
 * atomically, never overwriting a concurrent creator's key) when absent. The `.pub` file (hex of the raw
 * public key) is derived data: rewritten whenever it does not match the private key. So is the `.kinds`
 * file, written when `kinds` is given: the effect kinds the key may settle, one per line (receipts of
 * other kinds delivered through the drop box are ignored as `kind_not_allowed`).
 */
export async function loadOrCreateKey(
  worldDir: string,
  adapterId: string,
  kinds?: readonly string[],
): Promise<AdapterKey> {
  const paths = adapterKeyPaths(worldDir, adapterId);
  await makeDirDurable(paths.dir, { mode: 0o700 });
  let pem = await readIfExists(paths.key);
  if (pem === undefined) {
    await createFileOnce(paths.key, TEXT.encode(AdapterKey.generate().toPem()), { mode: 0o600 });
    pem = await Deno.readFile(paths.key); // ours, or the one a racing creator linked first
  }
  let text: string;
  try {
    text = UTF8.decode(pem);
  } catch (cause) {
    throw new AosError("AOS_USAGE", `Invalid adapter key file "${paths.key}": not UTF-8 PEM`, { cause });
  }
  let key: AdapterKey;
  try {
    key = AdapterKey.fromPem(text);
  } catch (cause) {
    if (!(cause instanceof AosError)) throw cause;
    // Name the damaged file: a bare "invalid key" would not say which of the world's files to look at.
    throw new AosError("AOS_USAGE", `Invalid adapter key file "${paths.key}": ${cause.message}`, { cause });
  }
  const pub = TEXT.encode(`${toHex(key.publicKey)}\n`);
  const existing = await readIfExists(paths.pub);
  if (existing === undefined || !bytesEqual(existing, pub)) {
    await writeFileAtomic(paths.pub, pub, { mode: 0o644 });
  }
  if (kinds !== undefined) {
    const text = TEXT.encode([...kinds].sort().map((k) => `${k}\n`).join(""));
    const known = await readIfExists(paths.kinds);
    if (known === undefined || !bytesEqual(known, text)) {
      await writeFileAtomic(paths.kinds, text, { mode: 0o644 });
    }
  }
  return key;
}
