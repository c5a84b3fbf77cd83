/**
 * An OpenAI-compatible chat-completions provider: `POST <baseUrl>/chat/completions` (so a `baseUrl` of
 * `https://api.openai.com/v1` gives `/v1/chat/completions`) with `Authorization: Bearer <key>`, the key
 * read at call time from the environment variable the config names. The completion text is
 * `choices[0].message.content`; when the message calls tools it is instead the JSON
 * `{"content": …, "tool_calls": […]}`. Token counts come from `usage` (0 when a server omits it), the cost
 * from the configured per-1k-token prices of the model (rounded up to a whole cent; 0 for an unpriced model),
 * and `provider_id` is the response `id`.
 *
 * @example The cost of a call
 * ```ts
 * import assert from "node:assert/strict";
 * import { llmCostCents } from "./llm_openai.ts";
 *
 * // 1,500 prompt tokens at 0.5 ¢/1k + 200 completion tokens at 1.5 ¢/1k = 1.05 ¢ → 2 ¢
 * assert.equal(llmCostCents({ promptPer1kCents: 0.5, completionPer1kCents: 1.5 }, 1_500n, 200n), 2n);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { adapterLimits } from "./limits.ts";
import type { LlmProvider, LlmRequest, LlmResult } from "./llm_provider.ts";
import { boundedFetch } from "./_fetch.ts";

/** Prices of one model in cents per 1,000 tokens (fractions allowed, e.g. 0.015). */
export interface LlmPrice {
  promptPer1kCents: number;
  completionPer1kCents: number;
}

/** A world's configuration of one OpenAI-compatible provider. */
export interface OpenAiProviderConfig {
  /** The API root the `/chat/completions` path is appended to, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Name of the environment variable holding the API key; no `Authorization` header when absent. */
  apiKeyEnv?: string;
  /** Prices per model. */
  prices?: { [model: string]: LlmPrice };
  /** Deadline of one call; default 120 s. */
  timeoutMs?: number;
}

const NANO = 1_000_000_000n;

function nanoCents(name: string, price: number): bigint {
  if (!Number.isFinite(price) || price < 0) throw new RangeError(`Invalid price ${name} "${price}"`);
  return BigInt(Math.round(price * 1e9));
}

/** `ceil(prompt × promptPrice / 1000 + completion × completionPrice / 1000)` in exact integer arithmetic. */
export function llmCostCents(price: LlmPrice, promptTokens: bigint, completionTokens: bigint): bigint {
  const total = promptTokens * nanoCents("promptPer1kCents", price.promptPer1kCents) +
    completionTokens * nanoCents("completionPer1kCents", price.completionPer1kCents);
  const divisor = 1_000n * NANO;
  return (total + divisor - 1n) / divisor;
}

const Completion = z.object({
  id: z.string(),
  choices: z.array(z.object({
    message: z.object({
      content: z.string().nullable().optional(),
      tool_calls: z.array(z.unknown()).optional(),
    }),
  })).min(1),
  usage: z.object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
  }).optional(),
});

/** Calls an OpenAI-compatible `/chat/completions` endpoint with real `fetch`. */
export class OpenAiProvider implements LlmProvider {
  readonly #config: OpenAiProviderConfig;
  readonly #url: string;
  readonly #getEnv: (name: string) => string | undefined;

  /** `getEnv` defaults to `Deno.env.get`. */
  constructor(
    config: OpenAiProviderConfig,
    getEnv: (name: string) => string | undefined = (n) => Deno.env.get(n),
  ) {
    const url = new URL(`${config.baseUrl.replace(/\/+$/, "")}/chat/completions`);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Invalid LLM base URL "${config.baseUrl}": expected http: or https:`);
    }
    for (const [model, price] of Object.entries(config.prices ?? {})) {
      nanoCents(`of "${model}"`, price.promptPer1kCents);
      nanoCents(`of "${model}"`, price.completionPer1kCents);
    }
    this.#config = config;
    this.#url = url.href;
    this.#getEnv = getEnv;
  }

  async generate(request: LlmRequest): Promise<LlmResult> {
    const headers = new Headers({
      "content-type": "application/json",
      "idempotency-key": request.idempotencyKey,
    });
    if (request.apiKey !== undefined) headers.set("authorization", `Bearer ${request.apiKey}`);
    else if (this.#config.apiKeyEnv !== undefined) {
      const apiKey = this.#getEnv(this.#config.apiKeyEnv);
      if (apiKey === undefined || apiKey.length === 0) {
        return { status: "error", reason: `Environment variable "${this.#config.apiKeyEnv}" is not set` };
      }
      headers.set("authorization", `Bearer ${apiKey}`);
    }
    const temperature = Number(request.temperature);
    if (!Number.isFinite(temperature)) {
      return { status: "error", reason: `Temperature "${request.temperature}" is not a finite number` };
    }
    const body = JSON.stringify({
      model: request.model,
      messages: request.messages,
      temperature,
      max_tokens: Number(request.maxTokens),
      ...(request.tools === undefined ? {} : { tools: request.tools }),
    });
    const outcome = await boundedFetch(() => new Request(this.#url, { method: "POST", headers, body }), {
      timeoutMs: this.#config.timeoutMs ?? adapterLimits.llmTimeoutMsDefault,
      responseSizeBytesMax: adapterLimits.llmResponseSizeBytesMax,
      retries: 0,
      retryBackoffMs: 0,
    });
    if (outcome.kind === "timeout") return { status: "timeout", reason: outcome.reason };
    if (outcome.kind === "error") return { status: "error", reason: outcome.reason, cause: outcome.cause };
    if (outcome.status < 200 || outcome.status > 299) {
      return { status: "error", reason: `LLM provider answered HTTP ${outcome.status}` };
    }
    let parsed;
    try {
      parsed = Completion.safeParse(JSON.parse(new TextDecoder().decode(outcome.body)));
    } catch (cause) {
      return { status: "error", reason: "LLM provider answered with invalid JSON", cause };
    }
    if (!parsed.success) {
      return {
        status: "error",
        reason: `Unexpected LLM response: ${parsed.error.message}`,
        cause: parsed.error,
      };
    }
    const message = parsed.data.choices[0]!.message;
    const text = message.tool_calls !== undefined && message.tool_calls.length > 0
      ? JSON.stringify({ content: message.content ?? null, tool_calls: message.tool_calls })
      : message.content ?? "";
    const promptTokens = BigInt(parsed.data.usage?.prompt_tokens ?? 0);
    const completionTokens = BigInt(parsed.data.usage?.completion_tokens ?? 0);
    const price = this.#config.prices?.[request.model];
    return {
      status: "ok",
      text,
      promptTokens,
      completionTokens,
      costCents: price === undefined ? 0n : llmCostCents(price, promptTokens, completionTokens),
      providerId: parsed.data.id,
    };
  }
}
