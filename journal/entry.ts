/**
 * The journal entry model (KERNEL §8.1–§8.2): the canonical CBOR map `{seq, kind, body, prev}`, its strict
 * decoder, and which kinds are inputs, derived entries or markers.
 *
 * @module
 */
import {
  AosError,
  CanonicalCursor,
  type CanonicalSink,
  canonicalTexts,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  encodeCanonicalWith,
  limits,
  sha256Slab,
} from "../air/mod.ts";
import { bodyProblem, checkBody } from "./records.ts";

/** What the kernel produces: a kind from {@linkcode ENTRY_KINDS} and its snake_case body. */
export interface EntryRecord {
  kind: string;
  body: { [key: string]: CborValue };
}

/**
 * A record placed in the journal: its seq, the hash of the entry before it, its canonical CBOR bytes and
 * their SHA-256. Treat it as immutable; `bytes` and `hash` are what was (or will be) written.
 */
export interface JournalEntry extends EntryRecord {
  /** Position in the journal, dense from 0. */
  seq: number;
  /** SHA-256 of the previous entry's bytes; {@linkcode ZERO_HASH} for seq 0. */
  prev: Uint8Array;
  /** The canonical CBOR of `{seq, kind, body, prev}`. */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`. */
  hash: Uint8Array;
}

/** Size of a SHA-256 hash. */
export const HASH_SIZE_BYTES = 32;

/** The `prev` of entry 0 and the `lastHash` of an empty journal. */
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_SIZE_BYTES);

/** How the stepper treats a kind: inputs are applied on replay, derived entries are re-produced and compared. */
export type EntryClass = "input" | "derived" | "marker";

// `domain_event` is listed as derived; `classifyEntry` promotes it to input when its origin is external.
const KIND_CLASSES = {
  genesis: "input",
  domain_event: "derived",
  plan_start_requested: "input",
  plan_cancel_requested: "input",
  plan_started: "derived",
  plan_ended: "derived",
  policy_decision: "derived",
  effect_rejected: "derived",
  effect_queued: "derived",
  receipt_appended: "input",
  receipt_ignored: "input",
  inbox_quarantined: "input",
  budget_exceeded: "derived",
  reducer_error: "derived",
  proposal_submitted: "input",
  shadow_run_completed: "input",
  approval_recorded: "input",
  apply_requested: "input",
  proposal_rejected: "derived",
  manifest_applied: "derived",
  snapshot: "marker",
  rollback: "input",
} as const satisfies Record<string, EntryClass>;

/** Every entry kind of KERNEL §8.2, in table order. */
export const ENTRY_KINDS: readonly string[] = Object.freeze(Object.keys(KIND_CLASSES));

/** True when `kind` is one of {@linkcode ENTRY_KINDS}. */
export function isEntryKind(kind: string): kind is keyof typeof KIND_CLASSES {
  return Object.hasOwn(KIND_CLASSES, kind);
}

/**
 * Whether an entry is an input, derived or a marker (KERNEL §8.2). A `domain_event` is an input only when
 * `body.origin.kind` is `"external"`. Throws `TypeError` for an unknown kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyEntry } from "./entry.ts";
 *
 * assert.equal(classifyEntry("domain_event", { origin: { kind: "external" } }), "input");
 * assert.equal(classifyEntry("domain_event", { origin: { kind: "plan" } }), "derived");
 * assert.equal(classifyEntry("snapshot", {}), "marker");
 * ```
 */
export function classifyEntry(kind: string, body: { [key: string]: CborValue }): EntryClass {
  if (!isEntryKind(kind)) throw new TypeError(`Unknown entry kind "${kind}"`);
  if (kind === "domain_event") return originKind(body) === "external" ? "input" : "derived";
  return KIND_CLASSES[kind];
}

function originKind(body: { [key: string]: CborValue }): CborValue | undefined {
  const origin = Object.hasOwn(body, "origin") ? body["origin"] : undefined;
  if (origin instanceof Map) return origin.get("kind");
  if (
    origin === null || typeof origin !== "object" || Array.isArray(origin) || origin instanceof Uint8Array
  ) {
    return undefined;
  }
  return Object.hasOwn(origin, "kind") ? (origin as { [key: string]: CborValue })["kind"] : undefined;
}

/** True when the entry is an input (applied on replay). `snapshot` is neither input nor derived; see {@linkcode isMarkerKind}. */
export function isInputKind(kind: string, body: { [key: string]: CborValue }): boolean {
  return classifyEntry(kind, body) === "input";
}

/** True for `snapshot`, the marker replay skips. */
export function isMarkerKind(kind: string): boolean {
  return isEntryKind(kind) && KIND_CLASSES[kind] === "marker";
}

/**
 * Builds the entry at `seq` that follows the entry hashed `prev`. Throws `TypeError` for an unknown kind or
 * a malformed argument and `RangeError` when the encoding exceeds `limits.journalEntrySizeBytesMax`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEntry, encodeEntry, ZERO_HASH } from "./entry.ts";
 *
 * const entry = encodeEntry(0, { kind: "genesis", body: { manifest_hash: new Uint8Array(32), ingress_ns: 0 } }, ZERO_HASH);
 * assert.deepEqual(decodeEntry(entry.bytes), entry);
 * ```
 */
export function encodeEntry(seq: number, record: EntryRecord, prev: Uint8Array): JournalEntry {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new TypeError(`Invalid entry seq "${seq}": expected a uint`);
  }
  if (!isEntryKind(record.kind)) throw new TypeError(`Unknown entry kind "${record.kind}"`);
  if (!isPlainObject(record.body)) throw new TypeError(`Invalid body of entry "${seq}": expected a map`);
  // Checked right before writing: the body has exactly the fields of its kind (a bug otherwise).
  const problem = bodyProblem(record.kind, record.body);
  if (problem !== undefined) throw new TypeError(`Invalid body of entry "${seq}": ${problem}`);
  if (!(prev instanceof Uint8Array) || prev.length !== HASH_SIZE_BYTES) {
    throw new TypeError(`Invalid prev of entry "${seq}": expected ${HASH_SIZE_BYTES} bytes`);
  }
  // The bytes and the hash are views of a shared slab (see `sha256Slab`): made for every entry, kept by
  // nothing but the entry.
  const bytes = record.kind === "domain_event"
    ? encodeDomainEvent(seq, record.body, prev)
    : encodeCanonical({ seq, kind: record.kind, body: record.body, prev }, IN_SLAB);
  if (bytes.length > limits.journalEntrySizeBytesMax) {
    throw new RangeError(
      `Cannot encode entry "${seq}": ${bytes.length} bytes exceeds journalEntrySizeBytesMax ${limits.journalEntrySizeBytesMax}`,
    );
  }
  // The entry shares the caller's body (callers never mutate a record once appended); decoding every
  // entry back here tripled the cost of an append, and every read path decodes strictly anyway. `prev` is
  // the last key of every entry, so its 32 bytes end `bytes`: the entry keeps a view of them, as a decoded
  // one does, instead of a copy of the caller's.
  return {
    seq,
    kind: record.kind,
    body: record.body,
    prev: bytes.subarray(bytes.length - HASH_SIZE_BYTES),
    bytes,
    hash: sha256Slab(bytes),
  };
}

/**
 * Decodes one entry strictly: canonical CBOR, exactly the keys `seq` (uint), `kind` (a known kind),
 * `body` (map with text keys) and `prev` (32-byte bstr). Anything else throws `AOS_JOURNAL_CORRUPT`.
 * Nested maps whose keys are all text decode as plain objects, others as `Map`. The entry keeps a view
 * of `bytes`, and its byte strings (`prev`, and every one in its body) are views of them too: do not
 * modify them afterwards.
 */
export function decodeEntry(bytes: Uint8Array): JournalEntry {
  return decodeDomainEvent(bytes) ?? decodeEntryReference(bytes);
}

/** `{"seq": ` of an entry, a 4-key map. */
const SEQ_HEAD = Uint8Array.of(0xa4, ...canonicalTexts("seq"));
const BODY_KEY = canonicalTexts("body");
/** `{"kind": "external", "source": ` of an admitted event's origin. */
const EXTERNAL_ORIGIN_HEAD = Uint8Array.of(0xa2, ...canonicalTexts("kind", "external", "source"));
const KEY_KEY = canonicalTexts("key");
const VALUE_KEY = canonicalTexts("value");
const ORIGIN_KEY = canonicalTexts("origin");
const SCHEMA_KEY = canonicalTexts("schema");
const INGRESS_KEY = canonicalTexts("ingress_ns");
/** `"kind": "domain_event", "prev": ` and the head of a 32-byte string. */
const DOMAIN_EVENT_TAIL = Uint8Array.of(
  ...canonicalTexts("kind", "domain_event", "prev"),
  0x58,
  HASH_SIZE_BYTES,
);

/**
 * A `domain_event` entry (most of a journal) decoded along its one canonical layout,
 * `{seq, body: {key?, value, origin, schema, ingress_ns?}, kind, prev}` (see {@linkcode encodeDomainEvent}),
 * to the very entry {@linkcode decodeEntryReference} gives; undefined for anything else, which that decodes
 * (and refuses) the general way. entry_test.ts compares both on random and damaged entries.
 */
function decodeDomainEvent(bytes: Uint8Array): JournalEntry | undefined {
  // The entry keeps a view of `bytes` (see decodeEntry): its byte strings can be views of them too, one
  // allocation fewer each.
  const cursor = new CanonicalCursor(bytes, "mixed", true);
  try {
    if (!cursor.skip(SEQ_HEAD)) return undefined;
    const seq = cursor.item(1);
    if (typeof seq !== "number" || seq < 0 || !cursor.skip(BODY_KEY)) return undefined;
    const head = cursor.byte();
    if (head === undefined || head < 0xa3 || head > 0xa5) return undefined;
    let fields = head - 0xa0;
    const body: { [key: string]: CborValue } = {};
    if (cursor.skip(KEY_KEY)) {
      body["key"] = cursor.item(2);
      fields--;
    }
    if (!cursor.skip(VALUE_KEY)) return undefined;
    body["value"] = cursor.item(2);
    if (!cursor.skip(ORIGIN_KEY)) return undefined;
    body["origin"] = cursor.item(2);
    if (!cursor.skip(SCHEMA_KEY)) return undefined;
    body["schema"] = cursor.item(2);
    if (fields === 4) {
      if (!cursor.skip(INGRESS_KEY)) return undefined;
      body["ingress_ns"] = cursor.item(2);
    } else if (fields !== 3) {
      return undefined;
    }
    if (!cursor.skip(DOMAIN_EVENT_TAIL)) return undefined;
    const prev = cursor.take(HASH_SIZE_BYTES);
    if (prev === undefined || !cursor.done) return undefined;
    checkBody("domain_event", body, seq);
    return { seq, kind: "domain_event", body, prev, bytes: plainBytes(bytes), hash: sha256Slab(bytes) };
  } catch (error) {
    if (error instanceof AosError) return undefined;
    throw error;
  }
}

/**
 * {@linkcode decodeEntry} for every kind, the general way: the reference its `domain_event` path is tested
 * against.
 */
export function decodeEntryReference(bytes: Uint8Array): JournalEntry {
  const plain = plainBytes(bytes);
  let raw: CborValue;
  try {
    // Text-keyed maps decode as plain objects (the shape kernel code builds), others as `Map`; byte strings
    // as views of the entry's bytes (a copy of each cost half the decode).
    raw = decodeCanonical(plain, { useMaps: "non-text", byteViews: true });
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw corrupt(`entry is not canonical CBOR: ${detail}`, cause);
  }
  if (!isPlainObject(raw)) {
    throw corrupt(raw instanceof Map ? `entry keys are not all text` : "entry is not a map");
  }
  let count = 0;
  for (const _ in raw) count++;
  if (count !== 4 || !ENTRY_FIELDS.every((key) => Object.hasOwn(raw, key))) {
    throw corrupt(
      `entry keys are ${JSON.stringify(Object.keys(raw))}: expected exactly seq, kind, body, prev`,
    );
  }
  const { seq, kind, body, prev } = raw;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) throw corrupt("seq is not a uint");
  if (typeof kind !== "string") throw corrupt(`kind of entry "${seq}" is not text`);
  if (!isEntryKind(kind)) throw corrupt(`kind of entry "${seq}" is unknown: "${kind}"`);
  if (body instanceof Map) throw corrupt(`body of entry "${seq}" has non-text keys`);
  if (!isPlainObject(body)) throw corrupt(`body of entry "${seq}" is not a map`);
  if (!(prev instanceof Uint8Array) || prev.length !== HASH_SIZE_BYTES) {
    throw corrupt(`prev of entry "${seq}" is not a ${HASH_SIZE_BYTES}-byte string`);
  }
  checkBody(kind, body, seq);
  // The strict reader accepts only canonical bytes (shortest heads, sorted unique keys, no floats), so the
  // entry re-encodes to `bytes`: entry_test.ts checks that on random bodies instead of every read paying
  // for an encoding.
  return { seq, kind, body, prev, bytes: plain, hash: sha256Slab(plain) };
}

/**
 * The canonical bytes of a `domain_event` entry (most of a journal), written in key order without sorting:
 * `{seq, body: {key?, value, origin, schema, ingress_ns?}, kind, prev}`, keys shorter first, then bytewise.
 * The body was checked to have exactly these fields; entry_test.ts compares it with `encodeCanonical`.
 */
function encodeDomainEvent(seq: number, body: { [key: string]: CborValue }, prev: Uint8Array): Uint8Array {
  const { key, value, origin, schema, ingress_ns: ingressNs } = body;
  // The fixed keys go in as the bytes the decoder matches (SEQ_HEAD and the rest, below).
  return encodeCanonicalWith((w) => {
    w.raw(SEQ_HEAD);
    w.uint(seq);
    w.raw(BODY_KEY);
    w.map(3 + (key === undefined ? 0 : 1) + (ingressNs === undefined ? 0 : 1));
    if (key !== undefined) {
      w.raw(KEY_KEY);
      w.bytes(key as Uint8Array);
    }
    w.raw(VALUE_KEY);
    w.bytes(value as Uint8Array);
    w.raw(ORIGIN_KEY);
    writeOrigin(w, origin!);
    w.raw(SCHEMA_KEY);
    w.text(schema as string);
    if (ingressNs !== undefined) {
      w.raw(INGRESS_KEY);
      w.uint(ingressNs as number | bigint);
    }
    w.raw(DOMAIN_EVENT_TAIL); // ends with the head of a 32-byte string: encodeEntry checked prev's length
    w.raw(prev);
  }, IN_SLAB);
}

/** An entry's bytes are made once for it and kept by nothing else: a view of a shared slab. */
const IN_SLAB = { inSlab: true } as const;

/**
 * An event's origin: the `{kind: "external", source}` of an admitted event as its fixed head and the source
 * (`kind` sorts before `source`), any other through the generic writer.
 */
function writeOrigin(w: CanonicalSink, origin: CborValue): void {
  const o = origin as { kind?: unknown; source?: unknown };
  if (
    isPlainObject(origin) && typeof o.kind === "string" && typeof o.source === "string" &&
    Object.hasOwn(o, "kind") && Object.hasOwn(o, "source")
  ) {
    let keys = 0;
    for (const _ in o) keys++;
    if (keys === 2 && o.kind === "external") {
      w.raw(EXTERNAL_ORIGIN_HEAD);
      w.text(o.source);
      return;
    }
  }
  w.value(origin);
}

/** The keys of an entry, exactly. */
const ENTRY_FIELDS = ["seq", "kind", "body", "prev"];

function corrupt(detail: string, cause?: unknown): AosError {
  return new AosError(
    "AOS_JOURNAL_CORRUPT",
    `Invalid journal entry: ${detail}`,
    cause === undefined ? {} : { cause },
  );
}

function isPlainObject(value: unknown): value is { [key: string]: CborValue } {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// The CBOR library may hand out `Buffer`s; entries hold plain `Uint8Array` views so equality checks hold.
function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
