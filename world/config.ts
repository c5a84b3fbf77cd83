/**
 * A world's optional runtime configuration, `.aos/config.json`, parsed with a schema: unknown keys and
 * wrong types are refused with the file and the JSON path (`AOS_CONFIG_INVALID`), never half-read.
 *
 * ```json
 * {"http": {"timeout_ms": 5000},
 *  "llm": {"providers": {"openai": {"baseUrl": "https://api.openai.com/v1", "apiKeyEnv": "OPENAI_API_KEY",
 *          "prices": {"gpt-4o-mini": {"promptPer1kCents": 0.015, "completionPer1kCents": 0.06}}}}},
 *  "governance": {"prices": {"http.request": {"per_effect_cents": 1}, "llm.generate": {"per_1k_tokens_cents": 6}}},
 *  "effects": {"inflight_max": 16}}
 * ```
 *
 * `effects.inflight_max` bounds the effects `aos run` has in flight at once (default 16).
 *
 * `governance.prices` is the price table shadow runs estimate effect costs with (KERNEL §10.3): per effect
 * kind, whole cents per effect, per 1,000 tokens and per KiB, each optional.
 *
 * `store` (written by `aos init --store`) puts the journal, the CAS and the head in PostgreSQL:
 * `{"store": {"kind": "postgres", "url": "postgres://aos@db:5432/aos", "world_id": "…"}}`.
 *
 * @module
 */
import { z } from "zod";
import { AosError } from "../air/mod.ts";
import { readIfExists } from "../journal/mod.ts";

const price = z.strictObject({
  promptPer1kCents: z.number().nonnegative(),
  completionPer1kCents: z.number().nonnegative(),
});

const provider = z.strictObject({
  baseUrl: z.string().min(1),
  apiKeyEnv: z.string().min(1).optional(),
  prices: z.record(z.string(), price).optional(),
  timeoutMs: z.number().int().positive().optional(),
});

const cents = z.number().int().nonnegative().optional();
const effectPrice = z.strictObject({
  per_effect_cents: cents,
  per_1k_tokens_cents: cents,
  per_kb_cents: cents,
});

const store = z.strictObject({
  kind: z.literal("postgres"),
  url: z.string().min(1),
  world_id: z.string().min(1),
});

const configSchema = z.strictObject({
  store: store.optional(),
  http: z.strictObject({ timeout_ms: z.number().int().positive().optional() }).optional(),
  llm: z.strictObject({ providers: z.record(z.string(), provider) }).optional(),
  governance: z.strictObject({ prices: z.record(z.string(), effectPrice).optional() }).optional(),
  effects: z.strictObject({ inflight_max: z.number().int().positive().max(65_536).optional() }).optional(),
});

/** The price of one effect kind in a shadow run's estimates (whole cents). */
export interface EffectPrice {
  perEffectCents?: number;
  per1kTokensCents?: number;
  perKbCents?: number;
}

/**
 * Where a world keeps its journal, store and head when not in its `.aos/` folder: a PostgreSQL database
 * (`postgres://USER@HOST:PORT/DB`, no password: `PGPASSWORD` supplies it) and the world's id in it.
 */
export interface StoreConfig {
  kind: "postgres";
  url: string;
  worldId: string;
}

/** The parsed configuration, in the shape the adapters take. */
export interface WorldConfig {
  /** The journal/store location; absent for the file store under `.aos/`. */
  store?: StoreConfig;
  httpTimeoutMs?: number;
  llm?: {
    providers: {
      [name: string]: {
        baseUrl: string;
        apiKeyEnv?: string;
        prices?: { [model: string]: { promptPer1kCents: number; completionPer1kCents: number } };
        timeoutMs?: number;
      };
    };
  };
  /** Shadow-run price table, by effect kind. */
  prices?: { [kind: string]: EffectPrice };
  /** Effects `aos run` keeps in flight at once (default `limits.effectsInFlightMax`). */
  effectsInflightMax?: number;
}

/** Parses the text of a config file; `AOS_CONFIG_INVALID` names the file and the first bad JSON path. */
export function parseWorldConfig(text: string, file: string): WorldConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AosError("AOS_CONFIG_INVALID", `Config "${file}" is not JSON: ${(cause as Error).message}`, {
      cause,
      context: { file },
    });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = "$" + issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    throw new AosError("AOS_CONFIG_INVALID", `Config "${file}" is invalid at ${path}: ${issue.message}`, {
      context: { file, path },
    });
  }
  const config: WorldConfig = {};
  const stored = parsed.data.store;
  if (stored !== undefined) config.store = { kind: stored.kind, url: stored.url, worldId: stored.world_id };
  if (parsed.data.http?.timeout_ms !== undefined) config.httpTimeoutMs = parsed.data.http.timeout_ms;
  if (parsed.data.effects?.inflight_max !== undefined) {
    config.effectsInflightMax = parsed.data.effects.inflight_max;
  }
  if (parsed.data.llm !== undefined) config.llm = parsed.data.llm as WorldConfig["llm"] & object;
  const prices = parsed.data.governance?.prices;
  if (prices !== undefined) {
    config.prices = {};
    for (const [kind, p] of Object.entries(prices)) {
      const price: EffectPrice = {};
      if (p.per_effect_cents !== undefined) price.perEffectCents = p.per_effect_cents;
      if (p.per_1k_tokens_cents !== undefined) price.per1kTokensCents = p.per_1k_tokens_cents;
      if (p.per_kb_cents !== undefined) price.perKbCents = p.per_kb_cents;
      config.prices[kind] = price;
    }
  }
  return config;
}

/** Reads `path` (a world's `.aos/config.json`); an absent file is the empty configuration. */
export async function readWorldConfig(path: string): Promise<WorldConfig> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return {};
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new AosError("AOS_CONFIG_INVALID", `Config "${path}" is not UTF-8`, {
      cause,
      context: { file: path },
    });
  }
  return parseWorldConfig(text, path);
}

/** The JSON of a store config as `config.json` holds it. */
export function storeConfigJson(store: StoreConfig): { kind: string; url: string; world_id: string } {
  return { kind: store.kind, url: store.url, world_id: store.worldId };
}
