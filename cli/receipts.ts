/**
 * `aos receipts ls|show|submit`: journaled effect receipts, and receipts delivered from outside.
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
  refType,
  stringifyJson,
  toHex,
  valueToPlainJson,
} from "../air/mod.ts";
import type { JournalEntry } from "../journal/mod.ts";
import {
  amountsFromCbor,
  BUDGET_DIMENSIONS,
  type BudgetAmounts,
  type Receipt,
  receiptUsage,
} from "../kernel/mod.ts";
import { checkReceiptSize, decodeReceiptFile } from "../world/mod.ts";
import type { World } from "../world/mod.ts";
import { type CliIo, printJson, readWorld, resolvePath, withWorld } from "./context.ts";
import { decodeUtf8 } from "./event.ts";

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

async function receiptRows(world: World): Promise<ReceiptRow[]> {
  await world.loadHistory(0);
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
  return await readWorld(io, worldOption, async (world) => {
    const rows = await receiptRows(world);
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
  return await readWorld(io, worldOption, async (world) => {
    const wanted = hash.replace(/^sha256:/, "").replace(/…$/, "").toLowerCase();
    if (!/^[0-9a-f]+$/.test(wanted)) {
      throw new AosError(
        "AOS_USAGE",
        `Give an intent hash or a hex prefix of one (as "aos receipts ls" prints), got "${hash}"`,
      );
    }
    const matching = (await receiptRows(world)).filter((r) => r.intentHash.slice(7).startsWith(wanted));
    if (matching.length === 0) throw new AosError("AOS_USAGE", `No receipt for intent "${hash}"`);
    const intents = [...new Set(matching.map((r) => r.intentHash))].sort();
    if (intents.length > 1) {
      throw new AosError(
        "AOS_USAGE",
        `Intent prefix "${hash}" is ambiguous: it matches ${intents.join(", ")}; give more characters`,
      );
    }
    // One intent: its appended receipt (else the last ignored one).
    const rows = [matching.find((r) => r.kind === "receipt_appended") ?? matching[matching.length - 1]!];
    const out = rows.map((r) => {
      const body = r.entry.body;
      let payload: JsonValue = null;
      let decoded: ReturnType<typeof decodeTyped> | undefined;
      const spec = effectSpec(r.effectKind);
      if (spec && body.payload instanceof Uint8Array && body.payload.length > 0) {
        const type = refType(spec.receipt);
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
    if (options.json) printJson(io, out[0]!);
    else io.out(stringifyJson(out[0]!, 2));
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
  if (new TextDecoder().decode(bytes).trim().startsWith("{")) {
    const parsed = ReceiptJson.safeParse(parseJson(decodeUtf8(bytes, fileArg).trim(), fileArg));
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
  // Every check before anything is written: a refused receipt leaves nothing in the drop box.
  if (receipt.intentHash.length !== 32) {
    throw new AosError(
      "AOS_CBOR_INVALID",
      `${fileArg}: intent_hash must be 32 bytes, got ${receipt.intentHash.length}`,
      { context: { file: fileArg } },
    );
  }
  const intent = bytesToHashRef(receipt.intentHash);
  checkReceiptSize(receipt, `Receipt file "${fileArg}"`);
  return await withWorld(io, worldOption, async (world) => {
    const file = await world.receiptInbox.add(receipt);
    if (options.json) printJson(io, { queued: file.split("/").pop()! });
    else io.out(`Queued the receipt for ${intent}; run "aos step" to admit it`);
    return 0;
  });
}
