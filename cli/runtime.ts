/**
 * The runtime commands of `aos`: run (dispatch effects, admit receipts), plan start|cancel|ls|show,
 * receipts ls|show, state ls.
 *
 * @module
 */
import { z } from "zod";
import {
  AosError,
  bytesToHashRef,
  decodeTyped,
  effectSpec,
  fromHex,
  jsonPath,
  type JsonValue,
  parseJson,
  stringifyJson,
  toHex,
  valueToPlainJson,
} from "../air/mod.ts";
import { createWorldAdapters } from "../adapters/registry.ts";
import { FsCas } from "../journal/cas.ts";
import type { JournalEntry } from "../journal/mod.ts";
import type { AdapterDirectory, Receipt } from "../kernel/effects.ts";
import { amountsFromCbor, BUDGET_DIMENSIONS, type BudgetAmounts, receiptUsage } from "../kernel/mod.ts";
import { decodeReceiptFile } from "../world/mod.ts";
import { readWorldConfig, type World, worldPaths } from "../world/mod.ts";
import { type CliIo, openWorld, printJson, resolvePath, withWorld } from "./context.ts";

/** Parses `30s`, `500ms`, `2m`, `1h` or a plain number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new AosError("AOS_USAGE", `Invalid duration "${text}": use e.g. 500ms, 30s, 2m`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return n * (unit === "ms" ? 1 : unit === "s" ? 1_000 : unit === "m" ? 60_000 : 3_600_000);
}

/** `aos run [--until-idle] [--timeout 30s] [--json]`. */
export async function runRun(
  io: CliIo,
  worldOption: string | undefined,
  options: { untilIdle?: boolean; timeout?: string; json?: boolean },
): Promise<number> {
  const timeoutMs = parseDuration(options.timeout ?? "30s");
  const world = await openWorld(io, worldOption);
  const registry = await createWorldAdapters(world.dir, {
    clock: io.clock,
    cas: new FsCas(worldPaths(world.dir).store),
    ...(await readWorldConfig(worldPaths(world.dir).config)),
  });
  const directory: AdapterDirectory = {
    adapterFor: (kind) => registry.get(kind),
    publicKeyOf: (id) => registry.publicKey(id),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    const heightBefore = world.height;
    const report = await world.run(directory, { deadline });
    const pending = world.kernel.outbox().length;
    const summary = {
      idle: report.idle,
      height_before: BigInt(heightBefore),
      height: BigInt(world.height),
      dispatched: BigInt(report.dispatched),
      receipts: BigInt(report.receipts),
      ignored: BigInt(report.ignored),
      pending_intents: BigInt(pending),
      reducer_errors: report.steps.flatMap((s) => s.reducerErrors).map((e) => ({
        seq: BigInt(e.seq),
        reducer: e.reducer,
        code: e.code,
        message: e.message,
      })),
      plans: world.kernel.plans().map((p) => ({ id: p.id, plan: p.plan, status: p.status })),
    };
    if (options.json) printJson(io, summary);
    else {
      io.out(
        `${report.idle ? "Idle" : "Stopped at the timeout"}: height ${heightBefore} -> ${world.height}, ` +
          `${report.dispatched} dispatched, ${report.receipts} receipts, ${report.ignored} ignored, ${pending} pending`,
      );
      for (const e of summary.reducer_errors) io.out(`  seq ${e.seq}: ${e.reducer}: ${e.code}: ${e.message}`);
      for (const u of report.undispatchable) io.out(`  no adapter for ${u.kind} (${u.intentHash})`);
    }
    return 0;
  } finally {
    clearTimeout(timer);
    registry.close();
    world.close();
  }
}

/** `aos plan start NAME JSON [--locals JSON]`. */
export async function runPlanStart(
  io: CliIo,
  worldOption: string | undefined,
  plan: string,
  inputText: string,
  options: { locals?: string; json?: boolean },
): Promise<number> {
  const input = parseJson(inputText, "<input argument>");
  const locals = options.locals === undefined ? {} : parseJson(options.locals, "<--locals argument>");
  if (locals === null || typeof locals !== "object" || Array.isArray(locals)) {
    throw new AosError("AOS_USAGE", "--locals takes a JSON object {name: value}");
  }
  return await withWorld(io, worldOption, async (world) => {
    const { instanceId, report } = await world.startPlan(plan, input, locals);
    if (options.json) printJson(io, { instance_id: instanceId, height: BigInt(report.height) });
    else io.out(`Started plan ${plan} as instance #${instanceId}; run "aos run" to execute its effects`);
    return 0;
  });
}

/** `aos plan cancel ID`. */
export async function runPlanCancel(
  io: CliIo,
  worldOption: string | undefined,
  id: string,
  options: { reason?: string },
): Promise<number> {
  if (!/^\d+$/.test(id)) throw new AosError("AOS_USAGE", `Plan instance id must be a number, got "${id}"`);
  return await withWorld(io, worldOption, async (world) => {
    await world.cancelPlan(BigInt(id), options.reason);
    io.out(`Cancelled plan instance #${id}`);
    return 0;
  });
}

function planJson(world: World, p: ReturnType<World["kernel"]["plans"]>[number]): JsonValue {
  return {
    id: p.id,
    plan: p.plan,
    manifest_hash: p.manifestHash,
    status: p.status,
    steps: p.steps.map((s) => ({ id: s.id, state: s.state, waiting_for: s.waitingFor ?? null })),
    error: p.error ? { code: p.error.code, message: p.error.message, step: p.error.step ?? null } : null,
    result: p.result === undefined ? null : resultJson(world, p.plan, p.result),
  };
}

function resultJson(world: World, plan: string, result: Uint8Array): JsonValue {
  const output = world.defs.plans.get(plan)?.output;
  if (output === undefined) return toHex(result);
  try {
    const type = { ref: output };
    return valueToPlainJson(type, decodeTyped(type, result, world.defs.schemas), world.defs.schemas);
  } catch {
    return toHex(result);
  }
}

/** `aos plan ls [--json]`. */
export async function runPlanLs(
  io: CliIo,
  worldOption: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, worldOption, (world) => {
    const plans = world.kernel.plans();
    if (options.json) printJson(io, plans.map((p) => planJson(world, p)));
    else if (plans.length === 0) io.out("No plan instances");
    else {
      for (const p of plans) {
        const waiting = p.steps.filter((s) => s.state.startsWith("waiting")).map((s) =>
          `${s.id} (${s.state})`
        );
        io.out(
          `#${p.id}  ${p.plan.padEnd(24)} ${p.status.padEnd(8)} ${
            p.error ? `${p.error.code}: ${p.error.message}` : waiting.join(", ")
          }`
            .trimEnd(),
        );
      }
    }
    return 0;
  });
}

/** `aos plan show ID [--json]`. */
export async function runPlanShow(
  io: CliIo,
  worldOption: string | undefined,
  id: string,
  options: { json?: boolean },
): Promise<number> {
  if (!/^\d+$/.test(id)) throw new AosError("AOS_USAGE", `Plan instance id must be a number, got "${id}"`);
  return await withWorld(io, worldOption, (world) => {
    const p = world.kernel.plans().find((x) => x.id === BigInt(id));
    if (!p) throw new AosError("AOS_USAGE", `No plan instance #${id}`);
    const json = planJson(world, p);
    if (options.json) printJson(io, json);
    else {
      io.out(`instance  #${p.id}`);
      io.out(`plan      ${p.plan} (manifest ${p.manifestHash})`);
      io.out(`status    ${p.status}${p.error ? ` — ${p.error.code}: ${p.error.message}` : ""}`);
      for (const s of p.steps) {
        io.out(`  ${s.id.padEnd(20)} ${s.state}${s.waitingFor ? ` (${s.waitingFor})` : ""}`);
      }
      if (p.result !== undefined) io.out(`result    ${stringifyJson(resultJson(world, p.plan, p.result))}`);
    }
    return 0;
  });
}

interface ReceiptRow {
  seq: number;
  kind: string;
  intentHash: string;
  adapterId: string;
  status: string;
  effectKind: string;
  entry: JournalEntry;
  /** The intent's `effect_queued` entry. */
  queued?: JournalEntry;
  /** The `budget_exceeded` entries right after a `receipt_appended` (its settlement's overdrafts). */
  exceeded: JournalEntry[];
}

function receiptRows(world: World): ReceiptRow[] {
  const queued = new Map<string, JournalEntry>();
  const rows: ReceiptRow[] = [];
  for (const e of world.journal.entries()) {
    const hash = e.body.intent_hash;
    if (e.kind === "effect_queued" && hash instanceof Uint8Array) queued.set(toHex(hash), e);
    const last = rows.at(-1);
    if (e.kind === "budget_exceeded" && last?.kind === "receipt_appended") {
      if (e.seq === last.seq + 1 + last.exceeded.length) last.exceeded.push(e);
    }
    if (e.kind !== "receipt_appended" && e.kind !== "receipt_ignored") continue;
    const hex = hash instanceof Uint8Array ? toHex(hash) : "";
    const intent = queued.get(hex);
    rows.push({
      seq: e.seq,
      kind: e.kind,
      intentHash: hex === "" ? "" : bytesToHashRef(hash as Uint8Array),
      adapterId: typeof e.body.adapter_id === "string" ? e.body.adapter_id : "",
      status: e.kind === "receipt_ignored" ? `ignored: ${String(e.body.reason)}` : String(e.body.status),
      effectKind: intent ? String(intent.body.kind) : "",
      entry: e,
      ...(intent ? { queued: intent } : {}),
      exceeded: [],
    });
  }
  return rows;
}

const bigOf = (
  value: unknown,
): bigint => (typeof value === "number" || typeof value === "bigint" ? BigInt(value) : 0n);

/**
 * What a receipt settled on its grant's budget (AIR §10.5): the reservation it released and the usage it
 * spent, per budgeted dimension, and the overdrafts journaled with it. Null for an ignored receipt (it
 * settles nothing) or a grant without a budget.
 */
function settledJson(
  world: World,
  row: ReceiptRow,
  payload: ReturnType<typeof decodeTyped> | undefined,
): JsonValue {
  if (row.kind !== "receipt_appended" || !row.queued) return null;
  const grantName = String(row.queued.body.cap_name);
  const budget = world.defs.manifest.defaults?.cap_grants?.find((g) => g.name === grantName)?.budget;
  const dimensions = BUDGET_DIMENSIONS.filter((d) => budget?.[d] !== undefined);
  const spec = effectSpec(row.effectKind);
  if (dimensions.length === 0 || !spec) return null;
  const body = row.entry.body;
  const usage = receiptUsage(spec.kind, payload, {
    costCents: body.cost_cents === undefined ? undefined : bigOf(body.cost_cents),
    bodySize: body.body_size === undefined ? undefined : bigOf(body.body_size),
  });
  const reserved = row.queued.body.reserved;
  const released = reserved && typeof reserved === "object" && !Array.isArray(reserved) &&
      !(reserved instanceof Uint8Array)
    ? amountsFromCbor(reserved as { [key: string]: never })
    : {};
  const pick = (amounts: BudgetAmounts) => Object.fromEntries(dimensions.map((d) => [d, amounts[d] ?? 0n]));
  return {
    grant: grantName,
    released: pick(released),
    spent: pick(usage),
    exceeded: row.exceeded.map((x) => ({
      dimension: String(x.body.dimension),
      delta: bigOf(x.body.delta),
      new_balance: bigOf(x.body.new_balance),
    })),
  };
}

/** `aos receipts ls [--json]`. */
export async function runReceiptsLs(
  io: CliIo,
  worldOption: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, worldOption, (world) => {
    const rows = receiptRows(world);
    if (options.json) {
      printJson(
        io,
        rows.map((r) => ({
          seq: BigInt(r.seq),
          kind: r.kind,
          intent_hash: r.intentHash || null,
          adapter_id: r.adapterId || null,
          effect_kind: r.effectKind || null,
          status: r.status,
        })),
      );
    } else if (rows.length === 0) io.out("No receipts");
    else {
      for (const r of rows) {
        io.out(
          `${String(r.seq).padStart(6)}  ${r.effectKind.padEnd(12)} ${r.status.padEnd(10)} ${
            r.adapterId.padEnd(10)
          } ${r.intentHash}`,
        );
      }
    }
    return 0;
  });
}

/** `aos receipts show HASH [--json]` (a full `sha256:` hash or a unique hex prefix). */
export async function runReceiptsShow(
  io: CliIo,
  worldOption: string | undefined,
  hash: string,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, worldOption, (world) => {
    const wanted = hash.replace(/^sha256:/, "").toLowerCase();
    const rows = receiptRows(world).filter((r) => r.intentHash.slice(7).startsWith(wanted));
    if (rows.length === 0) throw new AosError("AOS_USAGE", `No receipt for intent "${hash}"`);
    const out = rows.map((r) => {
      const body = r.entry.body;
      let payload: JsonValue = null;
      let decoded: ReturnType<typeof decodeTyped> | undefined;
      const spec = effectSpec(r.effectKind);
      if (spec && body.payload instanceof Uint8Array && body.payload.length > 0) {
        const type = { ref: spec.receipt };
        decoded = decodeTyped(type, body.payload, world.defs.schemas);
        payload = valueToPlainJson(type, decoded, world.defs.schemas);
      }
      return {
        seq: BigInt(r.seq),
        kind: r.kind,
        intent_hash: r.intentHash,
        adapter_id: r.adapterId || null,
        effect_kind: r.effectKind || null,
        status: r.status,
        cost_cents: typeof body.cost_cents === "bigint" || typeof body.cost_cents === "number"
          ? BigInt(body.cost_cents)
          : null,
        payload,
        signature: body.signature instanceof Uint8Array ? toHex(body.signature) : null,
        settled: settledJson(world, r, decoded),
      } satisfies { [key: string]: JsonValue };
    });
    if (options.json) printJson(io, out.length === 1 ? out[0]! : out);
    else for (const r of out) io.out(stringifyJson(r, 2));
    return 0;
  });
}

/** `aos state ls REDUCER [--json]`: the cells of a keyed reducer (or the one state of a plain one). */
export async function runStateLs(
  io: CliIo,
  worldOption: string | undefined,
  reducer: string,
  options: { json?: boolean },
): Promise<number> {
  return await withWorld(io, worldOption, (world) => {
    world.stateJson(reducer); // names an unknown reducer precisely
    const cells = world.kernel.cellsOf(reducer).map((c) => ({
      key: c.key === null ? null : world.cellKeyJson(reducer, c.key),
      state: world.stateJson(reducer, c.key),
    }));
    if (options.json) printJson(io, cells as unknown as JsonValue);
    else if (cells.length === 0) io.out(`${reducer} has no state`);
    else {for (const c of cells) {
        io.out(`${c.key === null ? "(no key)" : stringifyJson(c.key)}  ${stringifyJson(c.state)}`);
      }}
    return 0;
  });
}

/** A receipt written as JSON: hashes as `sha256:…`, byte fields as lowercase hex. */
const ReceiptJson = z.object({
  intent_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  adapter_id: z.string(),
  status: z.enum(["ok", "error", "timeout"]),
  payload: z.string().regex(/^(?:[0-9a-f]{2})*$/),
  cost_cents: z.union([z.bigint(), z.string().regex(/^\d+$/)]).optional(),
  fence: z.object({ generation: z.bigint(), height: z.bigint() }).strict(),
  signature: z.string().regex(/^(?:[0-9a-f]{2})*$/),
}).strict();

/** `aos receipts submit FILE`: queue a signed receipt (CBOR, or JSON with hex fields) for `aos step`. */
export async function runReceiptsSubmit(
  io: CliIo,
  worldOption: string | undefined,
  fileArg: string,
  options: { json?: boolean },
): Promise<number> {
  const path = resolvePath(io, fileArg);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    throw new AosError("AOS_USAGE", `Cannot read receipt file "${fileArg}": ${String(cause)}`, { cause });
  }
  let receipt: Receipt;
  const text = new TextDecoder().decode(bytes).trim();
  if (text.startsWith("{")) {
    const parsed = ReceiptJson.safeParse(parseJson(text, fileArg));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = jsonPath(issue.path as Array<string | number>);
      throw new AosError("AOS_JSON_INVALID", `${fileArg} at ${at}: ${issue.message}`, {
        context: { file: fileArg, path: at },
      });
    }
    const r = parsed.data;
    receipt = {
      intentHash: fromHex(r.intent_hash.slice(7)),
      adapterId: r.adapter_id,
      status: r.status,
      payload: fromHex(r.payload),
      fence: { generation: r.fence.generation, height: r.fence.height },
      signature: fromHex(r.signature),
      ...(r.cost_cents === undefined ? {} : { costCents: BigInt(r.cost_cents) }),
    };
  } else {
    receipt = decodeReceiptFile(bytes, fileArg);
  }
  return await withWorld(io, worldOption, async (world) => {
    const file = await world.receiptInbox.add(receipt);
    if (options.json) printJson(io, { queued: file.split("/").pop()! });
    else io.out(`Queued the receipt for ${bytesToHashRef(receipt.intentHash)}; run "aos step" to admit it`);
    return 0;
  });
}
