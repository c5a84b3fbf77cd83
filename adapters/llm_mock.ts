/**
 * A FAKE language model for offline worlds and tests (provider name `mock`): no network, no cost, and an
 * output that is a pure function of model and input, so runs and replays are reproducible.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockLlmProvider } from "./llm_mock.ts";
 *
 * const request = {
 *   model: "m",
 *   temperature: "0",
 *   maxTokens: 16n,
 *   input: new TextEncoder().encode("hi"),
 *   messages: [{ role: "user", content: "hi" }],
 *   tools: undefined,
 *   idempotencyKey: "00",
 * };
 * const first = await new MockLlmProvider().generate(request);
 * assert.deepEqual(await new MockLlmProvider().generate(request), first);
 * assert.equal(first.status === "ok" && first.text.startsWith("mock:"), true);
 * ```
 *
 * @module
 */
import { sha256, toHex } from "../air/mod.ts";
import type { LlmProvider, LlmRequest, LlmResult } from "./llm_provider.ts";

const TEXT = new TextEncoder();

/**
 * The fake provider: output `mock:<first 16 hex of sha256(model ‖ 0x00 ‖ input)>`, prompt tokens
 * ⌈input bytes / 4⌉, completion tokens ⌈output bytes / 4⌉, cost 0, provider id `mock-<same 16 hex>`.
 * Temperature, max tokens and tools are ignored.
 */
export class MockLlmProvider implements LlmProvider {
  generate(request: LlmRequest): Promise<LlmResult> {
    const model = TEXT.encode(request.model);
    const material = new Uint8Array(model.length + 1 + request.input.length);
    material.set(model);
    material.set(request.input, model.length + 1);
    const digest = toHex(sha256(material)).slice(0, 16);
    const text = `mock:${digest}`;
    return Promise.resolve({
      status: "ok",
      text,
      promptTokens: BigInt(Math.ceil(request.input.length / 4)),
      completionTokens: BigInt(Math.ceil(TEXT.encode(text).length / 4)),
      costCents: 0n,
      providerId: `mock-${digest}`,
    });
  }
}
