/**
 * The `llm.generate` adapter (AIR §9.1): reads the prompt from `input_ref` in the CAS (UTF-8 text = one
 * user message, or a JSON `{messages: […]}`; see `parseLlmInput`), asks the provider the params name,
 * writes the completion text to the CAS (`output_ref`), and answers
 * `{output_ref, token_usage: {prompt, completion}, cost_cents, provider_id}` with the same `cost_cents` on
 * the receipt. Providers: `mock` (the fake {@linkcode MockLlmProvider}) unless the config replaces it, and
 * the OpenAI-compatible ones a world configures. Each `tools` entry must be one tool definition as JSON.
 * `api_key` (optional) is a literal text or a `sys/SecretRef@1` to a defsecret, whose value the driver
 * resolves at dispatch (`intent.resolveSecret`); it is sent to the provider and nowhere else.
 *
 * @example An offline world's mock model
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCas } from "../journal/cas.ts";
 * import { AdapterKey } from "./keys.ts";
 * import { LlmAdapter } from "./llm.ts";
 *
 * const llm = new LlmAdapter({ key: AdapterKey.generate(), cas: new MemoryCas() });
 * assert.deepEqual(llm.providerNames(), ["mock"]);
 * ```
 *
 * @module
 */
import {
  assert,
  bytesToHashRef,
  hashRefToBytes,
  SchemaIndex,
  type SchemaResolver,
  secretName,
  toHex,
  type Value,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import { type EffectAdapter, type EffectIntent, type Receipt, secretRefOf } from "../kernel/mod.ts";
import type { AdapterFailure } from "./adapter_failure.ts";
import type { AdapterKey } from "./keys.ts";
import { adapterLimits } from "./limits.ts";
import { MockLlmProvider } from "./llm_mock.ts";
import { OpenAiProvider, type OpenAiProviderConfig } from "./llm_openai.ts";
import { type LlmProvider, parseLlmInput } from "./llm_provider.ts";
import { type AdapterCore, executeOnce, field, fieldOf, Once, type Outcome, v } from "./_receipts.ts";

/** A world's LLM configuration: OpenAI-compatible providers by the name `params.provider` uses. */
export interface LlmConfig {
  providers: { [name: string]: OpenAiProviderConfig };
}

/** Options of an {@linkcode LlmAdapter}. */
export interface LlmAdapterOptions {
  key: AdapterKey;
  cas: Cas;
  /** OpenAI-compatible providers by name. */
  config?: LlmConfig;
  /** Providers by name given directly (tests, custom providers); they win over `config`. */
  providers?: { [name: string]: LlmProvider };
  /** Reads API keys; default `Deno.env.get`. */
  getEnv?: (name: string) => string | undefined;
  /** Default `aos-llm`. */
  adapterId?: string;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
  /** Told why an intent got `error`/`timeout` (the receipt carries no reason). */
  onFailure?: (failure: AdapterFailure) => void;
}

/** `llm.generate` over named providers. */
export class LlmAdapter implements EffectAdapter {
  readonly kind = "llm.generate" as const;
  readonly adapterId: string;
  readonly publicKey: Uint8Array;
  readonly #core: AdapterCore;
  readonly #cas: Cas;
  readonly #providers = new Map<string, LlmProvider>();
  readonly #once = new Once();

  constructor(options: LlmAdapterOptions) {
    this.adapterId = options.adapterId ?? "aos-llm";
    this.publicKey = options.key.publicKey;
    this.#cas = options.cas;
    this.#providers.set("mock", new MockLlmProvider());
    for (const [name, config] of Object.entries(options.config?.providers ?? {})) {
      this.#providers.set(name, new OpenAiProvider(config, options.getEnv));
    }
    for (const [name, provider] of Object.entries(options.providers ?? {})) {
      this.#providers.set(name, provider);
    }
    this.#core = {
      kind: this.kind,
      adapterId: this.adapterId,
      key: options.key,
      schemas: options.schemas ?? new SchemaIndex([]),
      onFailure: options.onFailure,
    };
  }

  /** The provider names `params.provider` may use, sorted. */
  providerNames(): string[] {
    return [...this.#providers.keys()].sort();
  }

  execute(intent: EffectIntent): Promise<Receipt> {
    return executeOnce(this.#core, this.#once, intent, (fields) => this.#generate(intent, fields));
  }

  /** The params' `api_key` (`sys/TextOrSecretRef@1`): none, a literal, or a secret resolved at dispatch. */
  async #apiKey(intent: EffectIntent, value: Value): Promise<string | undefined | Outcome> {
    if (value.kind === "none") return undefined;
    assert(value.kind === "record", "api_key is a variant");
    const tag = value.value.get("$tag");
    const inner = value.value.get("$value");
    if (tag?.kind === "text" && tag.value === "literal" && inner?.kind === "text") return inner.value;
    const ref = inner === undefined ? undefined : secretRefOf(inner);
    assert(
      tag?.kind === "text" && tag.value === "secret" && ref !== undefined,
      "api_key is literal or secret",
    );
    if (intent.resolveSecret === undefined) {
      return {
        status: "error",
        reason: `api_key references secret "${secretName(ref)}", but no resolver was given`,
      };
    }
    try {
      return await intent.resolveSecret(ref);
    } catch (cause) {
      // The resolver's message names the secret and its binding, never the value.
      const reason = cause instanceof Error ? cause.message : `secret "${secretName(ref)}" is unavailable`;
      return { status: "error", reason, cause };
    }
  }

  async #generate(intent: EffectIntent, fields: Map<string, Value>): Promise<Outcome> {
    const name = fieldOf(fields, "provider", "text").value;
    const provider = this.#providers.get(name);
    if (provider === undefined) return { status: "error", reason: `Unknown LLM provider "${name}"` };
    const inputRef = bytesToHashRef(fieldOf(fields, "input_ref", "hash").value);
    let input: Uint8Array;
    try {
      input = await this.#cas.get("blobs", inputRef);
    } catch (cause) {
      return { status: "error", reason: `LLM input "${inputRef}" cannot be read from the CAS`, cause };
    }
    if (input.length > adapterLimits.llmInputSizeBytesMax) {
      return {
        status: "error",
        reason: `LLM input is ${input.length} bytes: the limit is ${adapterLimits.llmInputSizeBytesMax}`,
      };
    }
    const parsed = parseLlmInput(input);
    if (!parsed.ok) return { status: "error", reason: parsed.reason, cause: parsed.cause };
    const toolTexts = field(fields, "tools");
    let tools: unknown[] | undefined;
    if (toolTexts.kind === "list") {
      tools = [];
      for (const item of toolTexts.value) {
        try {
          tools.push(JSON.parse(item.kind === "text" ? item.value : ""));
        } catch (cause) {
          return { status: "error", reason: "A tools entry is not a JSON tool definition", cause };
        }
      }
    }
    const apiKey = await this.#apiKey(intent, field(fields, "api_key"));
    if (typeof apiKey !== "string" && apiKey !== undefined) return apiKey;
    const result = await provider.generate({
      model: fieldOf(fields, "model", "text").value,
      temperature: fieldOf(fields, "temperature", "dec128").value,
      maxTokens: fieldOf(fields, "max_tokens", "nat").value,
      input,
      messages: parsed.messages,
      tools,
      idempotencyKey: toHex(intent.intentHash),
      ...(apiKey === undefined ? {} : { apiKey }),
    });
    if (result.status !== "ok") return result;
    const outputRef = await this.#cas.put("blobs", new TextEncoder().encode(result.text));
    return {
      status: "ok",
      costCents: result.costCents,
      payload: v.record({
        output_ref: v.hash(hashRefToBytes(outputRef)),
        token_usage: v.record({
          prompt: v.nat(result.promptTokens),
          completion: v.nat(result.completionTokens),
        }),
        cost_cents: v.nat(result.costCents),
        provider_id: v.text(result.providerId),
      }),
    };
  }
}
