/**
 * Renders journal entries for people (one line) and for machines (`--json`, one object per line).
 * Byte fields named `*_hash` become `sha256:<hex>`, other byte fields lowercase hex; a domain event's
 * value is shown in its plain JSON form when its schema is known.
 *
 * @module
 */
import { type CborValue, toHex } from "../air/cbor.ts";
import { bytesToHashRef } from "../air/hash.ts";
import { type JsonValue, stringifyJson } from "../air/json.ts";
import { decodeTyped } from "../air/typed_codec.ts";
import { valueToPlainJson } from "../air/value_json.ts";
import type { JournalEntry } from "../journal/mod.ts";
import type { WorldDefs } from "../kernel/kernel.ts";

function renderCbor(value: CborValue, field: string): JsonValue {
  if (value instanceof Uint8Array) {
    return field.endsWith("_hash") && value.length === 32 ? bytesToHashRef(value) : toHex(value);
  }
  if (typeof value === "number") return BigInt(value);
  if (
    value === null || typeof value === "boolean" || typeof value === "string" || typeof value === "bigint"
  ) {
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => renderCbor(v, field));
  if (value instanceof Map) {
    return [...value.entries()].map(([k, v]) => [renderCbor(k, ""), renderCbor(v, "")]);
  }
  if (typeof value === "object" && "bits" in value) return toHex((value as { bits: Uint8Array }).bits);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value as Record<string, CborValue>)) out[k] = renderCbor(v, k);
  return out;
}

/** The plain JSON of a domain event's value, or undefined if it cannot be decoded with the manifest. */
export function eventValueJson(entry: JournalEntry, defs: WorldDefs): JsonValue | undefined {
  const schema = entry.body.schema;
  const value = entry.body.value;
  if (typeof schema !== "string" || !(value instanceof Uint8Array) || !defs.schemas.has(schema)) {
    return undefined;
  }
  try {
    const type = { ref: schema };
    return valueToPlainJson(type, decodeTyped(type, value, defs.schemas), defs.schemas);
  } catch {
    return undefined;
  }
}

/** The `--json` object of an entry. */
export function entryJson(entry: JournalEntry, defs: WorldDefs): JsonValue {
  const body = renderCbor(entry.body, "body") as Record<string, JsonValue>;
  if (entry.kind === "domain_event") {
    const plain = eventValueJson(entry, defs);
    if (plain !== undefined) body.value_json = plain;
  }
  return { seq: BigInt(entry.seq), kind: entry.kind, hash: bytesToHashRef(entry.hash), body };
}

/** A one-line summary of an entry. */
export function entryLine(entry: JournalEntry, defs: WorldDefs): string {
  const b = entry.body;
  let detail = "";
  switch (entry.kind) {
    case "genesis":
      detail = `manifest ${renderCbor(b.manifest_hash ?? null, "manifest_hash")}`;
      break;
    case "domain_event": {
      const origin = b.origin as { kind?: string; name?: string; event_seq?: number } | undefined;
      const from = origin?.kind === "reducer"
        ? `from ${origin.name} (event ${origin.event_seq})`
        : origin?.kind;
      const plain = eventValueJson(entry, defs);
      detail = `${String(b.schema)} ${plain === undefined ? "" : stringifyJson(plain) + " "}[${from}]`;
      break;
    }
    case "reducer_error":
      detail = `${String(b.reducer)} on event ${String(b.event_seq)}: ${String(b.code)}: ${
        String(b.message)
      }`;
      break;
    case "snapshot":
      detail = `height ${String(b.height)} ${renderCbor(b.snapshot_hash ?? null, "snapshot_hash")}`;
      break;
    default:
      detail = stringifyJson(renderCbor(b, "body"));
  }
  return `${String(entry.seq).padStart(6)}  ${entry.kind.padEnd(14)} ${detail}`.trimEnd();
}
