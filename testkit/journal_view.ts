/**
 * The journal as typed entries for assertions: domain events carry their schema, origin and value decoded
 * to plain JSON; plan and effect entries keep their bodies.
 *
 * @module
 */
import {
  bytesToHashRef,
  type CborValue,
  decodeTyped,
  type JsonValue,
  refType,
  valueToPlainJson,
} from "../air/mod.ts";
import type { JournalEntry } from "../journal/mod.ts";
import type { WorldDefs } from "../kernel/mod.ts";

/** One journal entry, typed for tests. */
export interface TypedEntry {
  seq: number;
  kind: string;
  body: { [key: string]: CborValue };
  /** `domain_event`: the schema name. */
  schema?: string;
  /** `domain_event`: the value in plain JSON (integers as bigints). */
  value?: JsonValue;
  /** `domain_event`: `external`, `reducer`, `plan` or `receipt`. */
  origin?: string;
  /** `plan_*`: the instance id. */
  instance?: bigint;
  /** Effect and receipt entries: the intent hash. */
  intent?: string;
}

/** Decodes entries for assertions. */
export function typedEntries(entries: JournalEntry[], defs: WorldDefs): TypedEntry[] {
  return entries.map((e) => {
    const out: TypedEntry = { seq: e.seq, kind: e.kind, body: e.body };
    const b = e.body;
    if (e.kind === "domain_event" && typeof b.schema === "string" && b.value instanceof Uint8Array) {
      out.schema = b.schema;
      out.origin = String((b.origin as { kind?: unknown } | undefined)?.kind);
      const type = refType(b.schema);
      out.value = valueToPlainJson(type, decodeTyped(type, b.value, defs.schemas), defs.schemas);
    }
    if (typeof b.instance_id === "number" || typeof b.instance_id === "bigint") {
      out.instance = BigInt(b.instance_id);
    }
    if (b.intent_hash instanceof Uint8Array) out.intent = bytesToHashRef(b.intent_hash);
    return out;
  });
}

/** A compact line per entry (`kind` or `domain_event:Schema@1`), for asserting journal order. */
export function orderOf(entries: TypedEntry[]): string[] {
  return entries.map((e) => (e.kind === "domain_event" ? `domain_event:${e.schema}` : e.kind));
}
