/**
 * The world commands of `aos`: event send, step, state get, info, journal show, journal verify,
 * replay --verify.
 *
 * @module
 */
import { z } from "zod";
import { AosError } from "../air/errors.ts";
import { jsonPath, type JsonValue, parseJson, stringifyJson } from "../air/json.ts";
import { verifyJournal, verifyWorld } from "../world/mod.ts";
import type { EventInput } from "../world/mod.ts";
import { type CliIo, locateWorld, printJson, resolvePath, withWorld } from "./context.ts";
import { entryJson, entryLine } from "./render.ts";

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
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (cause) {
      throw new AosError("AOS_USAGE", `Cannot read events file "${options.file}": ${String(cause)}`, {
        cause,
      });
    }
    lines = parseEventsFile(text, options.file);
    if (lines.length === 0) throw new AosError("AOS_USAGE", `Events file "${options.file}" holds no events`);
  } else {
    if (schema === undefined || valueText === undefined) {
      throw new AosError(
        "AOS_USAGE",
        "Usage: aos event send SCHEMA JSON [--key K] | aos event send --file EVENTS.jsonl",
      );
    }
    const event: EventInput = { schema, value: parseJson(valueText, "<value argument>") };
    if (options.key !== undefined) event.key = parseJson(options.key, "<--key argument>");
    lines = [{ event, line: 0 }];
  }
  const events = lines.map((l) => l.event);
  return await withWorld(io, world, async (w) => {
    // Validate every event before anything is written: a bad line rejects the whole file.
    for (const { event, line } of lines) {
      w.encodeEvent(event, options.file !== undefined ? `${options.file}:${line}: ` : "");
    }
    const batch = await w.enqueue(events);
    if (options.json) printJson(io, { queued: BigInt(events.length), batch: BigInt(batch) });
    else {io.out(
        `Queued ${events.length} event${
          events.length === 1 ? "" : "s"
        } (batch ${batch}); run "aos step" to admit`,
      );}
    return 0;
  });
}

/** `aos step`. */
export async function runStep(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, async (w) => {
    const r = await w.step();
    if (options.json) {
      printJson(io, {
        admitted: BigInt(r.admitted),
        height_before: BigInt(r.heightBefore),
        height: BigInt(r.height),
        entries: r.entries.map((e) => ({ seq: BigInt(e.seq), kind: e.kind })),
        reducer_errors: r.reducerErrors.map((e) => ({
          seq: BigInt(e.seq),
          reducer: e.reducer,
          event_seq: BigInt(e.eventSeq),
          code: e.code,
          message: e.message,
        })),
        snapshot: r.snapshot ? { height: BigInt(r.snapshot.height), hash: r.snapshot.hash } : null,
      });
    } else {
      io.out(
        `Admitted ${r.admitted} input${
          r.admitted === 1 ? "" : "s"
        }: height ${r.heightBefore} -> ${r.height}, ` +
          `${r.reducerErrors.length} reducer error${r.reducerErrors.length === 1 ? "" : "s"}`,
      );
      for (const e of r.reducerErrors) {
        io.out(`  seq ${e.seq}: ${e.reducer} failed on event ${e.eventSeq}: ${e.code}: ${e.message}`);
      }
      if (r.snapshot) io.out(`  snapshot at height ${r.snapshot.height} (${r.snapshot.hash})`);
    }
    return 0;
  });
}

/** `aos state get`. */
export async function runStateGet(
  io: CliIo,
  world: string | undefined,
  reducer: string,
  options: { key?: string; json?: boolean },
): Promise<number> {
  return await withWorld(io, world, (w) => {
    w.stateJson(reducer); // names an unknown reducer before anything else
    const key = options.key === undefined
      ? null
      : w.encodeCellKey(reducer, parseJson(options.key, "<--key argument>"));
    if (key === null && w.isKeyed(reducer)) {
      throw new AosError(
        "AOS_USAGE",
        `Reducer "${reducer}" is keyed: give --key (see "aos state ls ${reducer}")`,
      );
    }
    const state = w.stateJson(reducer, key);
    io.out(options.json ? stringifyJson(state) : stringifyJson(state, 2));
    return 0;
  });
}

/** `aos info`. */
export async function runInfo(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, world, async (w) => {
    const reducers = [...w.defs.modules.keys()].sort().map((name) => ({
      name,
      has_state: w.kernel.cellsOf(name).length > 0,
      cells: BigInt(w.kernel.cellsOf(name).length),
    }));
    const info = {
      world: w.dir,
      height: BigInt(w.height),
      manifest_hash: w.defs.manifestHash,
      reducers,
      failures: BigInt(w.failureCount()),
      pending: {
        inbox: BigInt(await w.pendingInbox()),
        outbox: BigInt(w.kernel.outbox().length),
        plans: BigInt(w.kernel.plans().filter((p) => p.status !== "ok" && p.status !== "error").length),
      },
      snapshot: w.lastSnapshot ? { height: BigInt(w.lastSnapshot.height), hash: w.lastSnapshot.hash } : null,
    };
    if (options.json) printJson(io, info);
    else {
      io.out(`world     ${info.world}`);
      io.out(`height    ${info.height}`);
      io.out(`manifest  ${info.manifest_hash}`);
      io.out(
        `reducers  ${
          reducers.map((r) =>
            `${r.name}${!r.has_state ? " (no state)" : w.isKeyed(r.name) ? ` (${r.cells} cells)` : ""}`
          ).join(", ") || "(none)"
        }`,
      );
      io.out(`failures  ${info.failures} reducer error${info.failures === 1n ? "" : "s"}`);
      io.out(
        `pending   ${info.pending.inbox} queued in the inbox, ${info.pending.outbox} intents awaiting receipts, ` +
          `${info.pending.plans} plan instances running`,
      );
      io.out(`snapshot  ${info.snapshot ? `height ${info.snapshot.height} ${info.snapshot.hash}` : "none"}`);
    }
    return 0;
  });
}

/** `aos journal show`. */
export async function runJournalShow(
  io: CliIo,
  world: string | undefined,
  options: { from?: string; json?: boolean },
): Promise<number> {
  const from = options.from === undefined ? 0 : /^\d+$/.test(options.from) ? Number(options.from) : NaN;
  if (!Number.isSafeInteger(from) || from < 0) {
    throw new AosError("AOS_USAGE", `--from takes a seq (a whole number >= 0), got "${options.from}"`);
  }
  return await withWorld(io, world, (w) => {
    for (const entry of w.journal.entries(Math.min(from, w.height))) {
      io.out(options.json ? stringifyJson(entryJson(entry, w.defs)) : entryLine(entry, w.defs));
    }
    return 0;
  });
}

/** `aos journal verify`: the full check of the journal from genesis, read-only; exit 0 intact, 1 damaged. */
export async function runJournalVerify(
  io: CliIo,
  world: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const dir = await locateWorld(io, world);
  const r = await verifyJournal(dir);
  if (options.json) {
    printJson(io, {
      ok: r.ok,
      height: BigInt(r.height),
      segments: BigInt(r.segments),
      ...(r.error
        ? {
          error: {
            code: r.error.code,
            message: r.error.message,
            segment: r.error.context.segment ?? null,
            offset: r.error.context.offset === undefined ? null : BigInt(r.error.context.offset),
            seq: r.error.context.seq === undefined ? null : BigInt(r.error.context.seq),
          },
        }
        : {}),
    });
  } else if (r.ok) {
    io.out(
      `Journal OK: ${r.height} entries in ${r.segments} segment${r.segments === 1 ? "" : "s"}; ` +
        "every frame, CRC, encoding, seq and hash link checked from genesis, and the head matches",
    );
  } else {
    io.err(`Journal damaged: ${r.error?.message ?? "unknown problem"}`);
  }
  return r.ok ? 0 : 1;
}

/** `aos replay --verify`. */
export async function runReplay(
  io: CliIo,
  world: string | undefined,
  options: { verify?: boolean; json?: boolean },
): Promise<number> {
  if (!options.verify) throw new AosError("AOS_USAGE", "aos replay needs --verify (the only mode so far)");
  const dir = await locateWorld(io, world);
  const r = await verifyWorld(dir);
  if (options.json) {
    printJson(io, {
      ok: r.ok,
      height: BigInt(r.height),
      replayed: BigInt(r.replayed),
      reducers: r.reducers.map((x) => ({
        reducer: x.reducer,
        replayed: x.replayed ?? null,
        live: x.live ?? null,
      })),
      plans: r.plans === undefined ? null : BigInt(r.plans),
      outbox: r.outbox === undefined ? null : BigInt(r.outbox),
      divergence: r.divergence
        ? {
          seq: BigInt(r.divergence.seq),
          reducer: r.divergence.reducer ?? null,
          message: r.divergence.message,
        }
        : null,
      error: r.error
        ? {
          code: r.error.code,
          message: r.error.message,
          segment: r.error.context.segment ?? null,
          offset: r.error.context.offset === undefined ? null : BigInt(r.error.context.offset),
          seq: r.error.context.seq === undefined ? null : BigInt(r.error.context.seq),
        }
        : null,
    });
  } else if (r.ok) {
    io.out(`Replay OK: ${r.replayed} entries replayed from genesis, derived entries byte-identical`);
    if (r.plans || r.outbox) {
      io.out(`  ${r.plans ?? 0} plan instances and ${r.outbox ?? 0} pending intents identical`);
    }
    for (const x of r.reducers) io.out(`  ${x.reducer} ${x.replayed}`);
  } else if (r.error) {
    io.err(`Replay failed: ${r.error.message}`);
  } else if (r.divergence) {
    io.err(
      `Replay diverged at seq ${r.divergence.seq}${
        r.divergence.reducer ? ` (reducer ${r.divergence.reducer})` : ""
      }: ${r.divergence.message}`,
    );
  }
  return r.ok ? 0 : 1;
}
