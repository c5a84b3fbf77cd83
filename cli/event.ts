/**
 * `aos event send`: validates domain events (an argument, or an events file) and queues them durably in
 * the world's inbox.
 *
 * @module
 */
import { z } from "zod";
import { AosError, jsonPath, type JsonValue, limits, parseJson } from "../air/mod.ts";
import type { EventInput } from "../world/mod.ts";
import { type CliIo, printJson, resolvePath, withWorld } from "./context.ts";
import { checkEventSchema, parseKeyArg, unconsumedWarning } from "./hints.ts";

const EventLine = z.object({
  schema: z.string().min(1),
  value: z.unknown(),
  key: z.unknown().optional(),
}).strict();

/** An event read from a file, with the 1-based line it came from. */
export interface EventLineInput {
  event: EventInput;
  line: number;
}

/** Parses an events file: one `{schema, value, key?}` JSON object per line; blank lines are skipped. */
export function parseEventsFile(text: string, file: string): EventLineInput[] {
  const events: EventLineInput[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${file}:${index + 1}`;
    const json = parseJson(line, where);
    const parsed = EventLine.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AosError(
        "AOS_JSON_INVALID",
        `${where} at ${jsonPath(issue.path as Array<string | number>)}: ${issue.message}`,
        {
          context: { file: where, path: jsonPath(issue.path as Array<string | number>) },
        },
      );
    }
    if (parsed.data.value === undefined) {
      throw new AosError("AOS_JSON_INVALID", `${where} at $.value: missing the event value`, {
        context: { file: where, path: "$.value" },
      });
    }
    const event: EventInput = { schema: parsed.data.schema, value: parsed.data.value as JsonValue };
    if (parsed.data.key !== undefined) event.key = parsed.data.key as JsonValue;
    events.push({ event, line: index + 1 });
  });
  return events;
}

/** The number of lines of `bytes` holding more than ASCII whitespace (what `parseEventsFile` parses). */
function countNonBlankLines(bytes: Uint8Array): number {
  let count = 0;
  let blank = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0a) {
      if (!blank) count++;
      blank = true;
    } else if (blank && byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) blank = false;
  }
  return blank ? count : count + 1;
}

/** Decodes `bytes` as UTF-8, refusing invalid sequences (never rewritten to U+FFFD). */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new AosError("AOS_JSON_INVALID", `"${file}" is not valid UTF-8`, { cause, context: { file } });
  }
}

/** `aos event send`. */
export async function runEventSend(
  io: CliIo,
  world: string | undefined,
  schema: string | undefined,
  valueText: string | undefined,
  options: { key?: string; file?: string; json?: boolean },
): Promise<number> {
  let lines: EventLineInput[];
  if (options.file !== undefined) {
    if (schema !== undefined || valueText !== undefined) {
      throw new AosError("AOS_USAGE", "Give either SCHEMA JSON or --file EVENTS.jsonl, not both");
    }
    const path = resolvePath(io, options.file);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (cause) {
      throw new AosError("AOS_USAGE", `Cannot read events file "${options.file}": ${String(cause)}`, {
        cause,
      });
    }
    // Counted before anything is decoded or parsed: a file far over the limit is refused at once, not
    // after parsing (and then validating) every one of its lines.
    const count = countNonBlankLines(bytes);
    const text = decodeUtf8(bytes, options.file);
    if (count === 0) throw new AosError("AOS_USAGE", `Events file "${options.file}" holds no events`);
    if (count > limits.inboxBatchMax) {
      throw new AosError(
        "AOS_INPUT_TOO_LARGE",
        `Events file "${options.file}" holds ${count} events, more than inboxBatchMax ` +
          `(${limits.inboxBatchMax}) queued at once; split it`,
      );
    }
    lines = parseEventsFile(text, options.file);
  } else {
    if (schema === undefined || valueText === undefined) {
      throw new AosError(
        "AOS_USAGE",
        "Usage: aos event send SCHEMA JSON [--key K] | aos event send --file EVENTS.jsonl",
      );
    }
    const event: EventInput = { schema, value: parseJson(valueText, "<value argument>") };
    if (options.key !== undefined) event.key = parseKeyArg(options.key);
    lines = [{ event, line: 0 }];
  }
  const events = lines.map((l) => l.event);
  return await withWorld(io, world, async (w) => {
    // Validate every event before anything is written: a bad line rejects the whole file.
    for (const { event, line } of lines) {
      const where = options.file !== undefined ? `${options.file}:${line}: ` : "";
      checkEventSchema(w.defs, event.schema, where);
      w.encodeEvent(event, where);
    }
    const batch = await w.enqueue(events);
    const warnings = [...new Set(events.map((e) => e.schema))].sort()
      .flatMap((schema) => unconsumedWarning(w.defs, schema) ?? []);
    if (options.json) printJson(io, { queued: BigInt(events.length), batch: BigInt(batch), warnings });
    else {
      io.out(
        `Queued ${events.length} event${
          events.length === 1 ? "" : "s"
        } (batch ${batch}); run "aos step" to admit`,
      );
    }
    for (const warning of warnings) io.err(`warning: ${warning}`);
    return 0;
  });
}
