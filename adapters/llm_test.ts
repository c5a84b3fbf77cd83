import assert from "node:assert/strict";
import { bytesToHashRef, hashRefToBytes, type Value } from "../air/mod.ts";
import { type Cas, MemoryCas } from "../journal/mod.ts";
import { AdapterKey } from "./keys.ts";
import { LlmAdapter } from "./llm.ts";
import { llmCostCents } from "./llm_openai.ts";
import { checkReceipt, integer, makeIntent, text, withServer } from "./_test_support.ts";

const key = AdapterKey.generate();
const API_KEY_ENV = "AOS_ADAPTERS_TEST_LLM_KEY";

async function llmIntent(
  cas: Cas,
  input: string,
  options: { provider?: string; model?: string; tools?: string[]; seed?: number } = {},
) {
  const inputRef = await cas.put("blobs", new TextEncoder().encode(input));
  const tools: Value = options.tools === undefined
    ? { kind: "none" }
    : { kind: "list", value: options.tools.map((t): Value => ({ kind: "text", value: t })) };
  return makeIntent("llm.generate", {
    provider: { kind: "text", value: options.provider ?? "local" },
    model: { kind: "text", value: options.model ?? "gpt-test" },
    temperature: { kind: "dec128", value: "0.2" },
    max_tokens: { kind: "nat", value: 64n },
    input_ref: { kind: "hash", value: hashRefToBytes(inputRef) },
    tools,
  }, { idempotencySeed: options.seed ?? 0 });
}

async function output(cas: Cas, payload: Map<string, Value>): Promise<string> {
  const ref = payload.get("output_ref");
  assert.equal(ref?.kind, "hash");
  return new TextDecoder().decode(
    await cas.get("blobs", bytesToHashRef(ref.kind === "hash" ? ref.value : new Uint8Array())),
  );
}

function usage(payload: Map<string, Value>): [bigint, bigint] {
  const tokens = payload.get("token_usage");
  assert.equal(tokens?.kind, "record");
  return tokens.kind === "record"
    ? [integer(tokens.value.get("prompt")), integer(tokens.value.get("completion"))]
    : [0n, 0n];
}

interface Seen {
  path: string;
  authorization: string | null;
  body: { [key: string]: unknown };
}

/** A fake OpenAI-compatible server on 127.0.0.1: records each request, answers with a fixed completion. */
async function withFakeOpenAi(body: (baseUrl: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  await withServer(async (request) => {
    const json = await request.json();
    seen.push({
      path: new URL(request.url).pathname,
      authorization: request.headers.get("authorization"),
      body: json,
    });
    if (json.model === "broken") return new Response("overloaded", { status: 500 });
    const message = json.tools === undefined
      ? { role: "assistant", content: "Hello!" }
      : { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function" }] };
    return Response.json({
      id: "chatcmpl-42",
      object: "chat.completion",
      choices: [{ index: 0, message, finish_reason: "stop" }],
      usage: { prompt_tokens: 1_500, completion_tokens: 200, total_tokens: 1_700 },
    });
  }, (baseUrl) => body(baseUrl, seen));
}

Deno.test("llm.generate calls the configured chat-completions endpoint with the env API key and prices the usage", async () => {
  Deno.env.set(API_KEY_ENV, "sk-test-123");
  try {
    await withFakeOpenAi(async (baseUrl, seen) => {
      const cas = new MemoryCas();
      const adapter = new LlmAdapter({
        key,
        cas,
        config: {
          providers: {
            local: {
              baseUrl: `${baseUrl}/v1/`,
              apiKeyEnv: API_KEY_ENV,
              prices: { "gpt-test": { promptPer1kCents: 0.5, completionPer1kCents: 1.5 } },
            },
          },
        },
      });
      const intent = await llmIntent(cas, "Say hi");
      const receipt = await adapter.execute(intent);
      assert.equal(receipt.status, "ok");
      assert.equal(receipt.adapterId, "aos-llm");
      assert.equal(receipt.costCents, 2n, "1500 × 0.5/1k + 200 × 1.5/1k = 1.05 ¢, rounded up");
      const payload = checkReceipt(intent, receipt, key.publicKey)!;
      assert.equal(integer(payload.get("cost_cents")), 2n);
      assert.deepEqual(usage(payload), [1_500n, 200n]);
      assert.equal(text(payload.get("provider_id")), "chatcmpl-42");
      assert.equal(await output(cas, payload), "Hello!");

      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.path, "/v1/chat/completions");
      assert.equal(seen[0]!.authorization, "Bearer sk-test-123");
      assert.deepEqual(seen[0]!.body, {
        model: "gpt-test",
        messages: [{ role: "user", content: "Say hi" }],
        temperature: 0.2,
        max_tokens: 64,
      });
    });
  } finally {
    Deno.env.delete(API_KEY_ENV);
  }
});

Deno.test("llm.generate sends JSON messages and tools as given, without a /v1 base path or an API key", async () => {
  await withFakeOpenAi(async (baseUrl, seen) => {
    const cas = new MemoryCas();
    const adapter = new LlmAdapter({ key, cas, config: { providers: { local: { baseUrl } } } });
    const messages = [{ role: "system", content: "Be brief" }, { role: "user", content: "Weather?" }];
    const tool = { type: "function", function: { name: "weather", parameters: { type: "object" } } };
    const intent = await llmIntent(cas, JSON.stringify({ messages }), { tools: [JSON.stringify(tool)] });
    const receipt = await adapter.execute(intent);
    const payload = checkReceipt(intent, receipt, key.publicKey)!;
    assert.equal(receipt.costCents, 0n, "an unpriced model costs 0");
    assert.deepEqual(JSON.parse(await output(cas, payload)), {
      content: null,
      tool_calls: [{ id: "call_1", type: "function" }],
    });
    assert.equal(seen[0]!.path, "/chat/completions");
    assert.equal(seen[0]!.authorization, null);
    assert.deepEqual(seen[0]!.body.messages, messages);
    assert.deepEqual(seen[0]!.body.tools, [tool]);
  });
});

Deno.test("llm.generate answers error for a missing API key, an HTTP error, bad input and an unknown provider", async () => {
  await withFakeOpenAi(async (baseUrl, seen) => {
    const cas = new MemoryCas();
    const failures: string[] = [];
    const adapter = new LlmAdapter({
      key,
      cas,
      config: {
        providers: {
          local: { baseUrl },
          secured: { baseUrl, apiKeyEnv: API_KEY_ENV },
        },
      },
      onFailure: (failure) => failures.push(failure.reason),
    });
    const intents = [
      await llmIntent(cas, "hi", { provider: "secured" }),
      await llmIntent(cas, "hi", { model: "broken" }),
      await llmIntent(cas, '{"messages": []}'),
      await llmIntent(cas, "hi", { tools: ["not json"] }),
      await llmIntent(cas, "hi", { provider: "nowhere" }),
    ];
    for (const intent of intents) {
      const receipt = await adapter.execute(intent);
      assert.equal(receipt.status, "error");
      checkReceipt(intent, receipt, key.publicKey);
    }
    assert.equal(seen.length, 1, "only the broken model reached the server");
    assert.match(failures[0]!, new RegExp(API_KEY_ENV));
    assert.match(failures[1]!, /HTTP 500/);
  });
});

Deno.test("llm.generate with the mock provider is deterministic, offline and free", async () => {
  const cas = new MemoryCas();
  const first = new LlmAdapter({ key, cas });
  const second = new LlmAdapter({ key: AdapterKey.generate(), cas });
  const intent = await llmIntent(cas, "Summarize the journal", { provider: "mock", model: "tiny" });
  const a = checkReceipt(intent, await first.execute(intent), key.publicKey)!;
  const b = checkReceipt(intent, await second.execute(intent), second.publicKey)!;
  assert.deepEqual(a, b);
  assert.match(await output(cas, a), /^mock:[0-9a-f]{16}$/);
  assert.deepEqual(usage(a), [6n, 6n], "⌈21 bytes / 4⌉ and ⌈21 bytes / 4⌉");
  assert.equal(integer(a.get("cost_cents")), 0n);
  assert.match(text(a.get("provider_id")), /^mock-[0-9a-f]{16}$/);

  const otherModel = await llmIntent(cas, "Summarize the journal", { provider: "mock", model: "big" });
  const otherInput = await llmIntent(cas, "Summarize the inbox", { provider: "mock", model: "tiny" });
  const c = checkReceipt(otherModel, await first.execute(otherModel), key.publicKey)!;
  const d = checkReceipt(otherInput, await first.execute(otherInput), key.publicKey)!;
  assert.notEqual(await output(cas, c), await output(cas, a));
  assert.notEqual(await output(cas, d), await output(cas, a));
});

Deno.test("llmCostCents() rounds up to a whole cent and is exact for fractional prices", () => {
  assert.equal(llmCostCents({ promptPer1kCents: 0.015, completionPer1kCents: 0.06 }, 1_000_000n, 0n), 15n);
  assert.equal(llmCostCents({ promptPer1kCents: 0.015, completionPer1kCents: 0.06 }, 1n, 0n), 1n);
  assert.equal(llmCostCents({ promptPer1kCents: 0, completionPer1kCents: 0 }, 9n, 9n), 0n);
  assert.throws(() => llmCostCents({ promptPer1kCents: -1, completionPer1kCents: 0 }, 1n, 1n), RangeError);
});
