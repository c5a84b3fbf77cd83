/**
 * Messages that say what to do next: close names for a typo, events nothing consumes, a bare word as a
 * text key.
 *
 * @module
 */
import { AosError, type JsonValue, parseJson } from "../air/mod.ts";
import type { WorldDefs } from "../kernel/mod.ts";

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Up to `max` of `candidates` closest to `name` (case-insensitive edit distance, a third of its length). */
export function closeNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= limit || x.c.toLowerCase().includes(name.toLowerCase()))
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : 1))
    .slice(0, max)
    .map((x) => x.c);
}

/** The event schemas a user may send: the manifest's, without `sys/*`. */
export function eventSchemas(defs: WorldDefs): string[] {
  return defs.manifest.schemas.map((r) => r.name).filter((n) => !n.startsWith("sys/")).sort();
}

/** `AOS_SCHEMA_UNKNOWN` naming the close schemas (or all of them) when `schema` is not in the manifest. */
export function checkEventSchema(defs: WorldDefs, schema: string, where = ""): void {
  const known = eventSchemas(defs);
  if (known.includes(schema)) return;
  const close = closeNames(schema, known);
  const hint = close.length > 0
    ? `did you mean ${close.map((n) => `"${n}"`).join(", ")}?`
    : `the manifest has ${known.join(", ") || "none"}`;
  throw new AosError("AOS_SCHEMA_UNKNOWN", `${where}Unknown event schema "${schema}": ${hint}`);
}

/** Whether a route, a trigger or a plan's `await_event` step takes events of `schema`. */
export function isConsumed(defs: WorldDefs, schema: string): boolean {
  if ((defs.manifest.routing?.events ?? []).some((r) => r.event === schema)) return true;
  if ((defs.manifest.triggers ?? []).some((t) => t.event === schema)) return true;
  for (const plan of defs.plans.values()) {
    if (plan.steps.some((s) => s.op === "await_event" && s.event === schema)) return true;
  }
  return false;
}

/** The warning for events of `schema` that nothing consumes, or undefined. */
export function unconsumedWarning(defs: WorldDefs, schema: string): string | undefined {
  if (isConsumed(defs, schema)) return undefined;
  return `no route, trigger or waiting plan consumes "${schema}": it is journaled, but nothing reacts to it`;
}

/**
 * A `--key` argument: JSON, or a bare word (letters, digits, `_ - . : @ /`, not a JSON literal) taken as
 * text; anything else must be quoted JSON text.
 */
export function parseKeyArg(text: string): JsonValue {
  try {
    return parseJson(text, "<--key argument>");
  } catch (error) {
    if (/^[A-Za-z_][\w.:@/-]*$/.test(text)) return text;
    if (!(error instanceof AosError)) throw error;
    throw new AosError(
      "AOS_JSON_INVALID",
      `--key takes a bare word or JSON; quote text as JSON, e.g. --key '${
        JSON.stringify(text)
      }' (${error.message})`,
      { cause: error },
    );
  }
}
