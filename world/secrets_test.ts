import assert from "node:assert/strict";
import { AosError, type DefSecret, sha256, toHex } from "../air/mod.ts";
import type { WorldDefs } from "../kernel/mod.ts";
import { EnvSecretResolver, resolveSecret } from "./secrets.ts";

const VALUE = "sk-live-0d9e8f";
const env = new EnvSecretResolver((
  name,
) => (name === "LLM_API_KEY" ? VALUE : name === "EMPTY" ? "" : undefined));

function defsWith(...secrets: DefSecret[]): WorldDefs {
  return { secrets: new Map(secrets.map((s) => [s.name, s])) } as unknown as WorldDefs;
}

const api: DefSecret = { $kind: "defsecret", name: "llm/api@1", binding_id: "env:LLM_API_KEY" };

/** Expects `AOS_SECRET_UNAVAILABLE` whose message matches `pattern` and never holds the value. */
async function expectUnavailable(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AosError);
    assert.equal(error.code, "AOS_SECRET_UNAVAILABLE");
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes(VALUE), error.message);
    return true;
  });
}

Deno.test("resolveSecret() reads the env binding of the declared defsecret alias@version", async () => {
  assert.equal(await resolveSecret(defsWith(api), env, { alias: "llm/api", version: 1n }), VALUE);
  await expectUnavailable(
    resolveSecret(defsWith(api), env, { alias: "llm/api", version: 2n }),
    /Secret "llm\/api@2" is not declared/,
  );
  await expectUnavailable(
    resolveSecret(defsWith({ ...api, binding_id: "env:EMPTY" }), env, { alias: "llm/api", version: 1n }),
    /Secret "llm\/api@1" has no value: its binding "env:EMPTY" is not set/,
  );
  await expectUnavailable(
    resolveSecret(defsWith({ ...api, binding_id: "vault:llm" }), env, { alias: "llm/api", version: 1n }),
    /binding "vault:llm" has an unknown scheme/,
  );
});

Deno.test("resolveSecret() checks expected_digest: a drifted value is refused without showing it", async () => {
  const digest = `sha256:${toHex(sha256(new TextEncoder().encode(VALUE)))}` as const;
  const ref = { alias: "llm/api", version: 1n };
  assert.equal(await resolveSecret(defsWith({ ...api, expected_digest: digest }), env, ref), VALUE);
  await expectUnavailable(
    resolveSecret(defsWith({ ...api, expected_digest: `sha256:${"0".repeat(64)}` }), env, ref),
    /does not match expected_digest/,
  );
});
