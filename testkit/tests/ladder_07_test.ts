/**
 * Ladder rung 07 (`examples/ladder/07-llm-summarizer`): a reducer drives a fetch plan and then a summary
 * plan whose `llm.generate` runs on the REAL LLM adapter with the mock provider, under a grant with a
 * token budget, its `api_key` the defsecret `llm/api@1` bound to `env:LLM_API_KEY`. The scenario gives the
 * world its own environment (an `EnvSecretResolver`); the provider is the mock, wrapped to record the key
 * it was handed. The fake `http.request` adapter answers with a document stored in the world's CAS.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  AdapterKey,
  LlmAdapter,
  type LlmProvider,
  type LlmRequest,
  type LlmResult,
  MockLlmProvider,
} from "../../adapters/mod.ts";
import { EnvSecretResolver } from "../../world/mod.ts";
import { exampleWorld } from "../_examples.ts";
import { orderOf } from "../journal_view.ts";
import { TestWorld, type TestWorldOptions } from "../test_world.ts";
import { httpReceipt } from "./_receipts.ts";

const RUNG = "ladder/07-llm-summarizer";
const API_KEY = "sk-ladder-07-4f1c9a";
const TEXT = new TextEncoder();

/** The mock provider, recording the API key of each request (a test wrapper, not a provider of its own). */
class KeyRecordingMock implements LlmProvider {
  readonly keys: Array<string | undefined> = [];
  readonly #mock = new MockLlmProvider();
  generate(request: LlmRequest): Promise<LlmResult> {
    this.keys.push(request.apiKey);
    return this.#mock.generate(request);
  }
}

interface Setup {
  options: TestWorldOptions;
  provider: KeyRecordingMock;
  /** Set once the world exists: the document's ref in its CAS, which the fake HTTP answers with. */
  doc: { ref: string };
}

function setup(env: { [name: string]: string }): Setup {
  const provider = new KeyRecordingMock();
  const doc = { ref: "" };
  const options: TestWorldOptions = {
    secrets: new EnvSecretResolver((name) => env[name]),
    adapters: ({ cas }) => [
      new LlmAdapter({
        key: AdapterKey.fromSeed(new Uint8Array(32).fill(7)),
        cas,
        providers: { mock: provider },
      }),
    ],
    respond: { "http.request": () => ({ status: "ok", payload: httpReceipt(200, { body_ref: doc.ref }) }) },
  };
  return { options, provider, doc };
}

const tokensOf = (w: TestWorld) => w.world.kernel.budgets().find((b) => b.grant === "llm_summarize");

Deno.test("ladder 07 llm-summarizer: fetch, summarize with the mock and the secret's key, tokens charged to the budget", async () => {
  const { options, provider, doc } = setup({ LLM_API_KEY: API_KEY });
  await using w = await TestWorld.create(await exampleWorld(RUNG), options);
  const document = TEXT.encode("AgentOS worlds are event-sourced; every effect is audited and budgeted.");
  doc.ref = await w.world.cas.put("blobs", document);
  await w.send("demo/Summarize@1", { request_id: "r1", url: "https://example.com/doc" });
  assert.deepEqual(w.state("demo/Summarizer@1"), { summaries: { r1: { Fetching: null } } });
  await w.runToIdle();

  const state = w.state("demo/Summarizer@1") as { summaries: { r1: { Done: Record<string, unknown> } } };
  const done = state.summaries.r1.Done;
  const promptTokens = BigInt(Math.ceil(document.length / 4));
  assert.equal(done.prompt_tokens, promptTokens);
  const summary = new TextDecoder().decode(
    await w.world.cas.get("blobs", done.summary_ref as `sha256:${string}`),
  );
  assert.match(summary, /^mock:[0-9a-f]{16}$/);
  assert.equal(done.completion_tokens, BigInt(Math.ceil(summary.length / 4)));
  assert.deepEqual(provider.keys, [API_KEY]);
  assert.deepEqual(tokensOf(w), {
    grant: "llm_summarize",
    dimension: "tokens",
    limit: 2000n,
    spent: promptTokens + (done.completion_tokens as bigint),
    reserved: 0n,
    exhausted: false,
  });
  assert.deepEqual(orderOf(w.journal()).slice(1), [
    "domain_event:demo/Summarize@1",
    "domain_event:demo/FetchRequested@1",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:demo/DocFetched@1",
    "domain_event:demo/SummarizeRequested@1",
    "plan_ended",
    "plan_started",
    "policy_decision",
    "effect_queued",
    "receipt_appended",
    "domain_event:demo/SummarizeResult@1",
    "plan_ended",
  ]);
  // The key reached the provider only: nothing the world wrote holds it.
  for await (const file of walk(w.dir)) {
    const bytes = await Deno.readFile(file);
    assert.equal(new TextDecoder("latin1").decode(bytes).includes(API_KEY), false, file);
  }
  await w.assertReplay();
});

Deno.test("ladder 07 llm-summarizer: without LLM_API_KEY the request fails at the llm stage and spends no tokens", async () => {
  const { options, provider, doc } = setup({});
  await using w = await TestWorld.create(await exampleWorld(RUNG), options);
  doc.ref = await w.world.cas.put("blobs", TEXT.encode("some document"));
  await w.send("demo/Summarize@1", { request_id: "r1", url: "https://example.com/doc" });
  await w.runToIdle();
  assert.deepEqual(w.state("demo/Summarizer@1"), {
    summaries: { r1: { Failed: { request_id: "r1", stage: "llm" } } },
  });
  assert.deepEqual(provider.keys, []);
  const llmReceipt = w.journal().filter((x) => x.kind === "receipt_appended").at(-1)!;
  assert.equal(llmReceipt.body.status, "error");
  assert.equal(tokensOf(w)?.spent, 0n);
  assert.equal(tokensOf(w)?.reserved, 0n);
  await w.assertReplay();
});

Deno.test("ladder 07 llm-summarizer: a long document overdraws the token budget; the next summary is refused", async () => {
  const { options, provider, doc } = setup({ LLM_API_KEY: API_KEY });
  await using w = await TestWorld.create(await exampleWorld(RUNG), options);
  doc.ref = await w.world.cas.put("blobs", TEXT.encode("x".repeat(8000)));
  await w.send("demo/Summarize@1", { request_id: "r1", url: "https://example.com/long" });
  await w.runToIdle();
  const first = w.state("demo/Summarizer@1") as { summaries: { r1: { Done: { prompt_tokens: bigint } } } };
  assert.equal(first.summaries.r1.Done.prompt_tokens, 2000n);
  assert.equal(tokensOf(w)?.exhausted, true);
  assert.equal(w.kinds().filter((k) => k === "budget_exceeded").length, 1);

  await w.send("demo/Summarize@1", { request_id: "r2", url: "https://example.com/short" });
  await w.runToIdle();
  assert.equal(provider.keys.length, 1, "the second llm.generate never reached the provider");
  const summaries = (w.state("demo/Summarizer@1") as { summaries: Record<string, unknown> }).summaries;
  assert.deepEqual(summaries.r2, { Summarizing: null });
  const [, , , second] = w.plans();
  assert.equal(second?.plan, "demo/summarize_plan@1");
  assert.equal(second?.status, "error");
  await w.assertReplay();
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}
