/**
 * The shadow harness (KERNEL §10.3): the seed events a shadow run admits and the canned receipts that
 * answer its intents, read from JSON:
 *
 * ```json
 * {"events": [{"schema": "demo/Notify@1", "value": {"request_id": "r1", "url": "http://127.0.0.1:8080/"}}],
 *  "receipts": [{"kind": "http.request", "status": "ok", "cost_cents": 2,
 *                "payload": {"status": 200, "headers": {}, "body_ref": null}}]}
 * ```
 *
 * A canned receipt answers every intent of its kind (the first one of the kind given); its payload is the
 * plain JSON of the kind's receipt schema (AIR §8), and may be omitted or `null` unless the status is `ok`.
 *
 * @module
 */
import { z } from "zod";
import {
  AosError,
  type EffectKind,
  effectSpec,
  encodeTyped,
  jsonPath,
  type JsonValue,
  refType,
  SchemaIndex,
  valueFromJson,
} from "../air/mod.ts";
import type { ReceiptStatus } from "../kernel/mod.ts";
import type { EventInput } from "../world/mod.ts";

/** A receipt the harness gives for every intent of `kind`. */
export interface CannedReceipt {
  kind: EffectKind;
  status: ReceiptStatus;
  /** Canonical CBOR of the kind's receipt schema (empty when none was given). */
  payload: Uint8Array;
  costCents?: bigint;
}

/** Seed events and canned receipts of a shadow run. */
export interface Harness {
  events: EventInput[];
  receipts: CannedReceipt[];
}

/** A harness with no events and no receipts: the candidate is only switched to. */
export const EMPTY_HARNESS: Harness = { events: [], receipts: [] };

const harnessSchema = z.strictObject({
  events: z.array(
    z.strictObject({ schema: z.string().min(1), value: z.unknown(), key: z.unknown().optional() }),
  )
    .optional(),
  receipts: z.array(z.strictObject({
    kind: z.string(),
    status: z.enum(["ok", "error", "timeout"]),
    payload: z.unknown().optional(),
    cost_cents: z.bigint().nonnegative().optional(),
  })).optional(),
});

const BUILTINS = new SchemaIndex([]);

/** Reads a harness (JSON already parsed, integers as bigints); `AOS_JSON_INVALID` names the path. */
export function parseHarness(json: JsonValue, file: string): Harness {
  const parsed = harnessSchema.safeParse(json);
  const fail = (path: Array<string | number>, message: string) =>
    new AosError("AOS_JSON_INVALID", `Harness "${file}" at ${jsonPath(path)}: ${message}`, {
      context: { file, path: jsonPath(path) },
    });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(issue.path as Array<string | number>, issue.message);
  }
  const events: EventInput[] = (parsed.data.events ?? []).map((e, i) => {
    if (e.value === undefined) throw fail(["events", i, "value"], "missing the event value");
    const event: EventInput = { schema: e.schema, value: e.value as JsonValue };
    if (e.key !== undefined) event.key = e.key as JsonValue;
    return event;
  });
  const receipts = (parsed.data.receipts ?? []).map((r, i): CannedReceipt => {
    const spec = effectSpec(r.kind);
    if (spec === undefined) throw fail(["receipts", i, "kind"], `unknown effect kind "${r.kind}"`);
    let payload: Uint8Array = new Uint8Array(0);
    if (r.payload === undefined || r.payload === null) {
      if (r.status === "ok") throw fail(["receipts", i, "payload"], "an ok receipt needs a payload");
    } else {
      const type = refType(spec.receipt);
      try {
        payload = encodeTyped(
          type,
          valueFromJson(type, r.payload as JsonValue, BUILTINS, ["receipts", i, "payload"]),
          BUILTINS,
        );
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        throw fail(["receipts", i, "payload"], error.message);
      }
    }
    const canned: CannedReceipt = { kind: r.kind as EffectKind, status: r.status, payload };
    if (r.cost_cents !== undefined) canned.costCents = r.cost_cents;
    return canned;
  });
  return { events, receipts };
}
