/**
 * Typed journal records (KERNEL §8.2): one body type per entry kind, one builder to write it
 * ({@linkcode journalRecord}), one check to read it ({@linkcode checkBody}, run by `decodeEntry` on every
 * entry read) and one narrowing guard ({@linkcode isRecord}). Bodies stay the snake_case CBOR maps the
 * journal holds, so typing them changes no byte: unsigned integers read back as `number` or `bigint`
 * (CBOR does not tell them apart), and {@linkcode u64} turns either into a `bigint`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeEntry, isRecord, journalRecord, ZERO_HASH } from "./mod.ts";
 *
 * const entry = encodeEntry(0, journalRecord("genesis", { manifest_hash: new Uint8Array(32), ingress_ns: 5n }), ZERO_HASH);
 * if (isRecord(entry, "genesis")) assert.equal(entry.body.manifest_hash.length, 32);
 * ```
 *
 * @module
 */
import { AosError, type CborValue } from "../air/mod.ts";

/** An unsigned integer as read back from CBOR: a `number` when small, a `bigint` when not. */
export type Uint = number | bigint;
/** A CBOR map with text keys, as the journal holds it. */
export type CborMap = { [key: string]: CborValue };

/** Budget amounts as journaled (`reserved`): one unsigned integer per dimension. */
export type BudgetAmounts = { bytes?: Uint; cents?: Uint; tokens?: Uint };

/** Where a domain event came from (`origin` of `domain_event`). */
export type EventOrigin =
  | { kind: "external"; source?: string }
  | { kind: "reducer"; name: string; key?: Uint8Array; event_seq: Uint }
  | { kind: "plan"; name: string; instance_id: Uint; step: string }
  | { kind: "receipt"; intent_hash: Uint8Array; reducer: string; key?: Uint8Array };

/** The body of each entry kind. */
export interface EntryBodies {
  /** `world_id`: random bytes drawn at creation, unique per world (absent in worlds created before it). */
  genesis: { manifest_hash: Uint8Array; ingress_ns: Uint; world_id?: Uint8Array };
  domain_event: {
    schema: string;
    value: Uint8Array;
    key?: Uint8Array;
    origin: EventOrigin;
    ingress_ns?: Uint;
  };
  plan_start_requested: {
    plan: string;
    input: Uint8Array;
    locals?: { [name: string]: Uint8Array };
    ingress_ns: Uint;
  };
  plan_cancel_requested: { instance_id: Uint; reason?: string; ingress_ns: Uint };
  plan_started: {
    instance_id: Uint;
    plan: string;
    manifest_hash: Uint8Array;
    input: Uint8Array;
    cause: CborMap;
    correlation?: Uint8Array;
  };
  plan_ended: {
    instance_id: Uint;
    status: string;
    result?: CborValue;
    output_schema?: string;
    error?: CborMap;
  };
  policy_decision: { intent_hash: Uint8Array; policy_name?: string; rule_index?: Uint; decision: string };
  effect_rejected: {
    intent_hash?: Uint8Array;
    kind: string;
    cap_name: string;
    origin: CborMap;
    stage: string;
    reason: string;
    /** At stage `budget`: what the effect tried to reserve (AIR §10.5). */
    reserved?: BudgetAmounts;
  };
  effect_queued: {
    intent_hash: Uint8Array;
    kind: string;
    cap_name: string;
    params: Uint8Array;
    idempotency_key: Uint8Array;
    origin: CborMap;
    fence: { generation: Uint; height: Uint };
    /** What the intent reserved on its grant's budget, for each budgeted dimension its kind reserves in. */
    reserved?: BudgetAmounts;
  };
  receipt_appended: {
    intent_hash: Uint8Array;
    adapter_id: string;
    status: string;
    payload: Uint8Array;
    cost_cents?: Uint;
    fence: { generation: Uint; height: Uint };
    signature: Uint8Array;
    ingress_ns: Uint;
    /** The response body size the driver measured in the store (http.request on a bytes budget). */
    body_size?: Uint;
  };
  receipt_ignored: { intent_hash?: Uint8Array; adapter_id?: string; reason: string; ingress_ns: Uint };
  /** An inbox file `step` could not admit (unreadable, malformed or invalid), moved to `.aos/quarantine/`. */
  inbox_quarantined: { file: string; reason: string; ingress_ns: Uint };
  budget_exceeded: {
    grant_name: string;
    dimension: string;
    delta: number | bigint;
    new_balance: number | bigint;
  };
  reducer_error: { reducer: string; key?: Uint8Array; event_seq: Uint; code: string; message: string };
  proposal_submitted: {
    proposal_id: Uint;
    patch_hash: Uint8Array;
    base_manifest_hash: Uint8Array;
    author?: string;
    description?: string;
    ingress_ns: Uint;
  };
  shadow_run_completed: { proposal_id: Uint; report_hash: Uint8Array; ok: boolean; ingress_ns: Uint };
  approval_recorded: {
    proposal_id: Uint;
    approver: string;
    decision: string;
    note?: string;
    ingress_ns: Uint;
  };
  apply_requested: { proposal_id: Uint; ingress_ns: Uint };
  proposal_rejected: { proposal_id: Uint; stage: string; reasons: string[] };
  manifest_applied: { proposal_id: Uint; manifest_hash: Uint8Array; previous_manifest_hash: Uint8Array };
  snapshot: { height: Uint; snapshot_hash: Uint8Array };
  rollback: { to_height: Uint; snapshot_hash: Uint8Array; generation: Uint; ingress_ns: Uint };
}

/** An entry kind. */
export type EntryKind = keyof EntryBodies;

/** A record of one kind with its typed body. */
export type TypedRecord<K extends EntryKind> = { kind: K; body: EntryBodies[K] };

/** Any typed record (a discriminated union on `kind`). */
export type JournalRecord = { [K in EntryKind]: TypedRecord<K> }[EntryKind];

/**
 * The record of `kind` with `body`, typed at the call site; the one way kernel and driver build entries.
 * The body is returned as the journal's generic map (the same object: no copy, no byte change).
 */
export function journalRecord<K extends EntryKind>(
  kind: K,
  body: EntryBodies[K],
): { kind: K; body: CborMap } {
  return { kind, body: body as unknown as CborMap };
}

/**
 * The one builder of a `domain_event` record, whoever raised it (the driver for an external event, a
 * reducer, a plan or a receipt): `key` and `ingress_ns` only when given.
 */
export function domainEventRecord(
  event: { schema: string; value: Uint8Array; key?: Uint8Array | undefined },
  origin: EventOrigin,
  ingressNs?: bigint,
): { kind: "domain_event"; body: CborMap } {
  const body: EntryBodies["domain_event"] = { schema: event.schema, value: event.value, origin };
  if (event.key !== undefined) body.key = event.key;
  if (ingressNs !== undefined) body.ingress_ns = ingressNs;
  return journalRecord("domain_event", body);
}

/** Narrows an entry read from the journal to the typed record of `kind` (its body was checked on read). */
export function isRecord<K extends EntryKind, E extends { kind: string; body: CborMap }>(
  entry: E,
  kind: K,
): entry is E & { kind: K; body: EntryBodies[K] & CborMap } {
  return entry.kind === kind;
}

/** The body of `entry` as the typed body of `kind`; `AOS_JOURNAL_CORRUPT` when the entry is another kind. */
export function bodyOf<K extends EntryKind>(
  entry: { seq?: number; kind: string; body: CborMap },
  kind: K,
): EntryBodies[K] {
  if (entry.kind !== kind) {
    throw new AosError(
      "AOS_JOURNAL_CORRUPT",
      `Entry ${entry.seq ?? "?"} is "${entry.kind}", expected "${kind}"`,
      {
        ...(entry.seq === undefined ? {} : { context: { seq: entry.seq } }),
      },
    );
  }
  return entry.body as unknown as EntryBodies[K];
}

/** A `Uint` as a `bigint`. */
export function u64(value: Uint): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

// ---- Checks on read -------------------------------------------------------------------------------------

type FieldType = "uint" | "int" | "bytes" | "hash" | "text" | "bool" | "map" | "texts" | "any";
type Fields = { [field: string]: FieldType | `${FieldType}?` };

const FENCE: Fields = { generation: "uint", height: "uint" };
const AMOUNTS: Fields = { bytes: "uint?", cents: "uint?", tokens: "uint?" };

const BODY_FIELDS: { [K in EntryKind]: Fields } = {
  genesis: { manifest_hash: "hash", ingress_ns: "uint", world_id: "bytes?" },
  domain_event: { schema: "text", value: "bytes", key: "bytes?", origin: "map", ingress_ns: "uint?" },
  plan_start_requested: { plan: "text", input: "bytes", locals: "map?", ingress_ns: "uint" },
  plan_cancel_requested: { instance_id: "uint", reason: "text?", ingress_ns: "uint" },
  plan_started: {
    instance_id: "uint",
    plan: "text",
    manifest_hash: "hash",
    input: "bytes",
    cause: "map",
    correlation: "bytes?",
  },
  plan_ended: { instance_id: "uint", status: "text", result: "any?", output_schema: "text?", error: "map?" },
  policy_decision: { intent_hash: "hash", policy_name: "text?", rule_index: "uint?", decision: "text" },
  effect_rejected: {
    intent_hash: "hash?",
    kind: "text",
    cap_name: "text",
    origin: "map",
    stage: "text",
    reason: "text",
    reserved: "map?",
  },
  effect_queued: {
    intent_hash: "hash",
    kind: "text",
    cap_name: "text",
    params: "bytes",
    idempotency_key: "bytes",
    origin: "map",
    fence: "map",
    reserved: "map?",
  },
  receipt_appended: {
    intent_hash: "hash",
    adapter_id: "text",
    status: "text",
    payload: "bytes",
    cost_cents: "uint?",
    fence: "map",
    signature: "bytes",
    ingress_ns: "uint",
    body_size: "uint?",
  },
  receipt_ignored: { intent_hash: "hash?", adapter_id: "text?", reason: "text", ingress_ns: "uint" },
  inbox_quarantined: { file: "text", reason: "text", ingress_ns: "uint" },
  budget_exceeded: { grant_name: "text", dimension: "text", delta: "int", new_balance: "int" },
  reducer_error: { reducer: "text", key: "bytes?", event_seq: "uint", code: "text", message: "text" },
  proposal_submitted: {
    proposal_id: "uint",
    patch_hash: "hash",
    base_manifest_hash: "hash",
    author: "text?",
    description: "text?",
    ingress_ns: "uint",
  },
  shadow_run_completed: { proposal_id: "uint", report_hash: "hash", ok: "bool", ingress_ns: "uint" },
  approval_recorded: {
    proposal_id: "uint",
    approver: "text",
    decision: "text",
    note: "text?",
    ingress_ns: "uint",
  },
  apply_requested: { proposal_id: "uint", ingress_ns: "uint" },
  proposal_rejected: { proposal_id: "uint", stage: "text", reasons: "texts" },
  manifest_applied: { proposal_id: "uint", manifest_hash: "hash", previous_manifest_hash: "hash" },
  snapshot: { height: "uint", snapshot_hash: "hash" },
  rollback: { to_height: "uint", snapshot_hash: "hash", generation: "uint", ingress_ns: "uint" },
};

const ORIGIN_FIELDS: { [kind: string]: Fields } = {
  external: { kind: "text", source: "text?" },
  reducer: { kind: "text", name: "text", key: "bytes?", event_seq: "uint" },
  plan: { kind: "text", name: "text", instance_id: "uint", step: "text" },
  receipt: { kind: "text", intent_hash: "hash", reducer: "text", key: "bytes?" },
};

/**
 * True when a `domain_event` body is a well-formed admitted event, checked directly (most of a journal is
 * these, and each is checked when appended and when read): exactly `schema` (text), `value` (bytes),
 * `origin` `{kind: "external", source?: text}`, and `key` (bytes) and `ingress_ns` (uint) when present.
 * False sends the body through the general check, which also names its problem.
 */
function isWellFormedExternalEvent(body: CborMap): boolean {
  const { schema, value, origin, key, ingress_ns: ingressNs } = body;
  if (typeof schema !== "string" || !(value instanceof Uint8Array) || !isMap(origin)) return false;
  if (key !== undefined && !(key instanceof Uint8Array)) return false;
  if (ingressNs !== undefined && !fits("uint", ingressNs)) return false;
  let fields = 0;
  for (const field in body) if (Object.hasOwn(body, field)) fields++;
  if (fields !== 3 + (key === undefined ? 0 : 1) + (ingressNs === undefined ? 0 : 1)) return false;
  if (origin.kind !== "external") return false;
  const source = origin.source;
  if (source !== undefined && typeof source !== "string") return false;
  let originFields = 0;
  for (const field in origin) if (Object.hasOwn(origin, field)) originFields++;
  return originFields === (source === undefined ? 1 : 2);
}

function isMap(value: CborValue | undefined): value is CborMap {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map);
}

function fits(type: FieldType, value: CborValue): boolean {
  switch (type) {
    case "uint":
      return (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) ||
        (typeof value === "bigint" && value >= 0n && value < 1n << 64n);
    case "int":
      return (typeof value === "number" && Number.isSafeInteger(value)) ||
        (typeof value === "bigint" && value >= -(1n << 64n) && value < 1n << 64n);
    case "bytes":
      return value instanceof Uint8Array;
    case "hash":
      return value instanceof Uint8Array && value.length === 32;
    case "text":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
    case "map":
      return isMap(value);
    case "texts":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    case "any":
      return true;
  }
}

/** A field list compiled once: name, type, optional. */
type CompiledFields = ReadonlyArray<{ field: string; type: FieldType; optional: boolean }>;
const compiledFields = new WeakMap<Fields, CompiledFields>();

function compileFields(fields: Fields): CompiledFields {
  let compiled = compiledFields.get(fields);
  if (compiled === undefined) {
    compiled = Object.entries(fields).map(([field, spec]) => {
      const optional = spec.endsWith("?");
      return { field, type: (optional ? spec.slice(0, -1) : spec) as FieldType, optional };
    });
    compiledFields.set(fields, compiled);
  }
  return compiled;
}

/** The first problem of `map` against `fields` (a missing, unknown or mistyped field), or undefined. */
function fieldProblem(map: CborMap, fields: Fields, where: string): string | undefined {
  const compiled = compileFields(fields);
  for (let i = 0; i < compiled.length; i++) {
    const { field, type, optional } = compiled[i]!;
    if (!Object.hasOwn(map, field)) {
      if (!optional) return `${where} has no "${field}"`;
      continue;
    }
    if (!fits(type, map[field]!)) return `${where}.${field} is not ${type}`;
  }
  for (const field in map) {
    if (!Object.hasOwn(fields, field)) return `${where} has an unknown field "${field}"`;
  }
  return undefined;
}

/** The first problem of a body of `kind`, or undefined when it has exactly the fields of its kind. */
export function bodyProblem(kind: EntryKind, body: CborMap): string | undefined {
  if (kind === "domain_event" && isWellFormedExternalEvent(body)) return undefined;
  return generalBodyProblem(kind, body);
}

/** {@linkcode bodyProblem} by the field tables alone, for every kind (what its direct checks are tested against). */
export function generalBodyProblem(kind: EntryKind, body: CborMap): string | undefined {
  const problem = fieldProblem(body, BODY_FIELDS[kind], kind);
  if (problem !== undefined) return problem;
  if (kind === "domain_event") {
    const origin = body.origin as CborMap;
    const fields = typeof origin.kind === "string" ? ORIGIN_FIELDS[origin.kind] : undefined;
    if (fields === undefined) return `domain_event.origin.kind is not external, reducer, plan or receipt`;
    return fieldProblem(origin, fields, "domain_event.origin");
  }
  if ((kind === "effect_queued" || kind === "effect_rejected") && body.reserved !== undefined) {
    const problem = fieldProblem(body.reserved as CborMap, AMOUNTS, `${kind}.reserved`);
    if (problem !== undefined) return problem;
  }
  if (kind === "effect_queued" || kind === "receipt_appended") {
    return fieldProblem(body.fence as CborMap, FENCE, `${kind}.fence`);
  }
  if (kind === "plan_start_requested" && body.locals !== undefined) {
    const locals = body.locals as CborMap;
    for (const [name, value] of Object.entries(locals)) {
      if (!(value instanceof Uint8Array)) return `plan_start_requested.locals.${name} is not bytes`;
    }
  }
  return undefined;
}

/** Checks a body read from the journal; `AOS_JOURNAL_CORRUPT` naming the seq and the field. */
export function checkBody(kind: EntryKind, body: CborMap, seq: number): void {
  const problem = bodyProblem(kind, body);
  if (problem !== undefined) {
    throw new AosError("AOS_JOURNAL_CORRUPT", `Invalid journal entry "${seq}": ${problem}`, {
      context: { seq },
    });
  }
}
