/**
 * The provider port of the `llm.generate` adapter, and the v1 definition of an input blob: a JSON object
 * with a `messages` array (chat messages, passed on as they are) or any other UTF-8 text (one user message).
 *
 * @example Read an input blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLlmInput } from "./llm_provider.ts";
 *
 * const text = new TextEncoder().encode("Say hi");
 * assert.deepEqual(parseLlmInput(text), { ok: true, messages: [{ role: "user", content: "Say hi" }] });
 * const chat = new TextEncoder().encode('{"messages":[{"role":"system","content":"Be brief"}]}');
 * assert.deepEqual(parseLlmInput(chat), { ok: true, messages: [{ role: "system", content: "Be brief" }] });
 * ```
 *
 * @module
 */
import { z } from "zod";

/** One chat message: `role` and usually `content`; other fields (`name`, `tool_call_id`, …) pass through. */
export interface ChatMessage {
  role: string;
  content?: unknown;
  [field: string]: unknown;
}

/** What a provider is asked to do. */
export interface LlmRequest {
  model: string;
  /** The normalized dec128 text of the params' temperature, e.g. `"0.2"`. */
  temperature: string;
  maxTokens: bigint;
  /** The input blob as stored in the CAS. */
  input: Uint8Array;
  /** The input as chat messages (see {@linkcode parseLlmInput}). */
  messages: ChatMessage[];
  /** Tool definitions (each params `tools` entry parsed as JSON), or undefined when none were given. */
  tools: unknown[] | undefined;
  /** Hex of the intent hash, for providers that deduplicate requests. */
  idempotencyKey: string;
  /**
   * The params' `api_key`: a literal, or the value of the secret it references, resolved at dispatch. It
   * wins over a key the provider is configured with. Never log it or put it in a result.
   */
  apiKey?: string;
}

/** How a provider call ended. */
export type LlmResult =
  | {
    status: "ok";
    text: string;
    promptTokens: bigint;
    completionTokens: bigint;
    costCents: bigint;
    providerId: string;
  }
  | { status: "error" | "timeout"; reason: string; cause?: unknown };

/** A language-model provider. `generate` never rejects. */
export interface LlmProvider {
  generate(request: LlmRequest): Promise<LlmResult>;
}

const Messages = z.object({
  messages: z.array(z.looseObject({ role: z.string().min(1), content: z.unknown().optional() })).min(1),
});
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The chat messages of an input blob, or why it is not a valid input. */
export function parseLlmInput(
  input: Uint8Array,
): { ok: true; messages: ChatMessage[] } | { ok: false; reason: string; cause?: unknown } {
  let text: string;
  try {
    text = UTF8.decode(input);
  } catch (cause) {
    return { ok: false, reason: "LLM input is neither UTF-8 text nor JSON", cause };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined; // plain text
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json) && "messages" in json) {
    const parsed = Messages.safeParse(json);
    if (!parsed.success) {
      return {
        ok: false,
        reason: `LLM input has invalid messages: ${parsed.error.message}`,
        cause: parsed.error,
      };
    }
    return { ok: true, messages: parsed.data.messages };
  }
  return { ok: true, messages: [{ role: "user", content: text }] };
}
