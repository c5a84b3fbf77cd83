/**
 * Renders journal entries for people (one line) and for machines (`--json`, one object per line).
 * Byte fields named `*_hash` become `sha256:<hex>`, other byte fields lowercase hex; a domain event's
 * value is shown in its plain JSON form when its schema is known.
 *
 * @module
 */
import {
  bytesToHashRef,
  type CborValue,
  decodeTyped,
  type JsonValue,
  refType,
  stringifyJson,
  toHex,
  valueToPlainJson,
} from "../air/mod.ts";
import { ENTRY_KINDS, type JournalEntry } from "../journal/mod.ts";
import type { WorldDefs } from "../kernel/mod.ts";
import { EventCodec } from "../world/mod.ts";

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
    const type = refType(schema);
    return valueToPlainJson(type, decodeTyped(type, value, defs.schemas), defs.schemas);
  } catch {
    return undefined;
  }
}

/** The plain JSON of `bytes` read as `schema`, or undefined when the manifest cannot decode it. */
function typedJson(
  schema: string | undefined,
  bytes: CborValue | undefined,
  defs: WorldDefs,
): JsonValue | undefined {
  if (schema === undefined || !(bytes instanceof Uint8Array) || !defs.schemas.has(schema)) return undefined;
  try {
    const type = refType(schema);
    return valueToPlainJson(type, decodeTyped(type, bytes, defs.schemas), defs.schemas);
  } catch {
    return undefined;
  }
}

/** A plan's input (`plan_start_requested`, `plan_started`) in plain JSON, when the manifest knows the plan. */
function planInputJson(entry: JournalEntry, defs: WorldDefs): JsonValue | undefined {
  if (entry.kind !== "plan_started" && entry.kind !== "plan_start_requested") return undefined;
  const plan = typeof entry.body.plan === "string" ? defs.plans.get(entry.body.plan) : undefined;
  return typedJson(plan?.input, entry.body.input, defs);
}

/** A cell key of a reducer (`reducer_error`) in plain JSON, when the reducer is keyed. */
function cellKeyJson(entry: JournalEntry, defs: WorldDefs): JsonValue | undefined {
  if (entry.kind !== "reducer_error" || !(entry.body.key instanceof Uint8Array)) return undefined;
  try {
    const codec = new EventCodec(defs);
    return typeof entry.body.reducer === "string"
      ? codec.cellKeyJson(entry.body.reducer, entry.body.key)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The widest entry kind, so one-line summaries line up. */
const KIND_WIDTH = Math.max(...ENTRY_KINDS.map((kind) => kind.length));

/** The `--json` object of an entry. */
export function entryJson(entry: JournalEntry, defs: WorldDefs): JsonValue {
  const body = renderCbor(entry.body, "body") as Record<string, JsonValue>;
  if (entry.kind === "domain_event") {
    const plain = eventValueJson(entry, defs);
    if (plain !== undefined) body.value_json = plain;
  }
  const input = planInputJson(entry, defs);
  if (input !== undefined) body.input_json = input;
  if (entry.kind === "plan_ended" && typeof entry.body.output_schema === "string") {
    const result = typedJson(entry.body.output_schema, entry.body.result, defs);
    if (result !== undefined) body.result_json = result;
  }
  const key = cellKeyJson(entry, defs);
  if (key !== undefined) body.key_json = key;
  return { seq: BigInt(entry.seq), kind: entry.kind, hash: bytesToHashRef(entry.hash), body };
}

function short(hash: CborValue | undefined): string {
  return hash instanceof Uint8Array ? `${toHex(hash).slice(0, 12)}…` : "";
}

/** A one-line summary of an entry. */
export function entryLine(entry: JournalEntry, defs: WorldDefs): string {
  const b = entry.body;
  let detail = "";
  switch (entry.kind) {
    case "genesis":
      detail = `manifest ${renderCbor(b.manifest_hash ?? null, "manifest_hash")}${
        b.world_id instanceof Uint8Array ? ` world ${toHex(b.world_id)}` : ""
      }`;
      break;
    case "domain_event": {
      const origin = b.origin as { kind?: string; name?: string; event_seq?: number } | undefined;
      const from = origin?.kind === "reducer"
        ? `from ${origin.name} (event ${origin.event_seq})`
        : origin?.kind;
      const plain = eventValueJson(entry, defs);
      const via = origin?.kind === "plan"
        ? `from plan #${String((b.origin as { instance_id?: number }).instance_id)} step ${
          String((b.origin as { step?: string }).step)
        }`
        : origin?.kind === "receipt"
        ? `receipt for ${String((b.origin as { reducer?: string }).reducer)}`
        : from;
      detail = `${String(b.schema)} ${plain === undefined ? "" : stringifyJson(plain) + " "}[${via}]`;
      break;
    }
    case "reducer_error": {
      const key = cellKeyJson(entry, defs);
      detail = `${String(b.reducer)}${key === undefined ? "" : ` cell ${stringifyJson(key)}`} on event ${
        String(b.event_seq)
      }: ${String(b.code)}: ${String(b.message)}`;
      break;
    }
    case "plan_started": {
      const cause = b.cause as { trigger_seq?: number; request_seq?: number } | undefined;
      const why = cause?.trigger_seq !== undefined
        ? `trigger event ${cause.trigger_seq}`
        : `request ${cause?.request_seq}`;
      const input = planInputJson(entry, defs);
      detail = `#${String(b.instance_id)} ${String(b.plan)} ${
        input === undefined ? "" : stringifyJson(input) + " "
      }(${why})`;
      break;
    }
    case "plan_ended": {
      const error = b.error as { code?: string; message?: string; step?: string } | undefined;
      detail = `#${String(b.instance_id)} ${String(b.status)}${
        error ? `: ${error.code}${error.step ? ` at ${error.step}` : ""}: ${error.message}` : ""
      }`;
      break;
    }
    case "policy_decision":
      detail = `${String(b.decision)} ${short(b.intent_hash)}${
        b.policy_name === undefined
          ? " (no policy)"
          : ` by ${String(b.policy_name)}${
            b.rule_index === undefined ? " (default deny)" : ` rule ${String(b.rule_index)}`
          }`
      }`;
      break;
    case "effect_queued":
    case "effect_rejected": {
      const origin = b.origin as { kind?: string; name?: string; step?: string } | undefined;
      detail = `${String(b.kind)} cap ${String(b.cap_name)} from ${origin?.kind} ${origin?.name}${
        origin?.step ? ` step ${origin.step}` : ""
      } ${short(b.intent_hash)}${
        entry.kind === "effect_rejected" ? ` ${String(b.stage)}: ${String(b.reason)}` : ""
      }`;
      break;
    }
    case "receipt_appended":
      detail = `${String(b.status)} ${short(b.intent_hash)} from ${String(b.adapter_id)}`;
      break;
    case "receipt_ignored":
      detail = `${String(b.reason)} ${short(b.intent_hash)}${
        b.adapter_id === undefined ? "" : ` from ${String(b.adapter_id)}`
      }`;
      break;
    case "inbox_quarantined":
      detail = `${String(b.file)}: ${String(b.reason)}`;
      break;
    case "snapshot":
      detail = `height ${String(b.height)} ${renderCbor(b.snapshot_hash ?? null, "snapshot_hash")}`;
      break;
    case "rollback":
      detail = `to height ${String(b.to_height)} ${renderCbor(b.snapshot_hash ?? null, "snapshot_hash")}, ` +
        `generation ${String(b.generation)}`;
      break;
    default:
      detail = stringifyJson(renderCbor(b, "body"));
  }
  return `${String(entry.seq).padStart(6)}  ${entry.kind.padEnd(KIND_WIDTH)} ${detail}`.trimEnd();
}

/** `n` and `noun`, plural unless `n` is one: `1 receipt`, `2 receipts`. */
export function count(n: bigint | number, noun: string): string {
  return `${n} ${noun}${BigInt(n) === 1n ? "" : "s"}`;
}
