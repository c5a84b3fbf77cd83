/**
 * Secrets end to end (the original AgentOS's `defsecret`): a plan's `llm.generate` references a defsecret
 * in `api_key`; `aos run` resolves its `env:` binding at dispatch and the provider (a fake OpenAI-compatible
 * server on 127.0.0.1) receives it, while no file under `.aos/` (journal, CAS, snapshots) holds the value.
 * A grant, plan or secret the defsecret does not allow is rejected at the gate (`effect_rejected`, stage
 * `secret`), and a binding without a value gives an error receipt whose reason names the secret only.
 */
import assert from "node:assert/strict";
import { FsCas } from "../journal/mod.ts";
import { worldPaths } from "../world/mod.ts";
import { captureIo } from "./context.ts";
import { runCli } from "./main.ts";
import { type Run, withTempDir } from "./_test_helpers.ts";

const SECRET = "sk-secret-7f3a9c1e5b2d4068";
const ENV_NAME = "AOS_TEST_LLM_API_KEY";

/** Runs `aos ARGS` in process with the environment `env`. */
async function aosWithEnv(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  const captured = captureIo({ cwd, env });
  const code = await runCli(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

async function expectOk(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  const run = await aosWithEnv(cwd, env, ...args);
  assert.equal(run.code, 0, `aos ${args.join(" ")}: ${run.stdout}\n${run.stderr}`);
  return run;
}

/** A plan asking the model once with `cap`, its api_key the secret `alias@1`. */
function askPlan(name: string, cap: string, alias: string): unknown {
  return {
    $kind: "defplan",
    name,
    input: "demo/Ask@1",
    allowed_effects: ["llm.generate"],
    required_caps: [cap],
    steps: [
      {
        id: "ask",
        op: "emit_effect",
        kind: "llm.generate",
        cap,
        params: {
          record: {
            provider: { text: "local" },
            model: { text: "gpt-test" },
            temperature: { dec128: "0.2" },
            max_tokens: { nat: 64 },
            input_ref: { ref: "@plan.input.prompt" },
            api_key: {
              variant: { tag: "secret", value: { record: { alias: { text: alias }, version: { nat: 1 } } } },
            },
          },
        },
        bind: { effect_id_as: "req" },
      },
      { id: "wait", op: "await_receipt", for: { ref: "@var:req" }, bind: { as: "answer" } },
      { id: "done", op: "end" },
    ],
    edges: [{ from: "ask", to: "wait" }, { from: "wait", to: "done" }],
  };
}

const grant = (name: string) => ({ name, cap: "sys/llm.basic@1", params: { record: {} } });

/** Writes the AIR folder of the secrets world into `dir/src`. */
async function writeAir(dir: string, secret: Record<string, unknown>): Promise<string> {
  const src = `${dir}/src`;
  await Deno.mkdir(src, { recursive: true });
  const nodes = [
    { $kind: "defschema", name: "demo/Ask@1", type: { record: { prompt: { hash: {} } } } },
    askPlan("demo/ask@1", "llm_main", "llm/api"),
    askPlan("demo/ask_other_grant@1", "llm_other", "llm/api"),
    askPlan("demo/ask_other_plan@1", "llm_main", "llm/api"),
    askPlan("demo/ask_undeclared@1", "llm_main", "llm/nope"),
    { $kind: "defsecret", name: "llm/api@1", binding_id: `env:${ENV_NAME}`, ...secret },
  ];
  await Deno.writeTextFile(`${src}/world.air.json`, JSON.stringify(nodes, null, 2));
  const manifest = {
    $kind: "manifest",
    air_version: "1",
    schemas: [{ name: "demo/Ask@1" }],
    modules: [],
    plans: [
      { name: "demo/ask@1" },
      { name: "demo/ask_other_grant@1" },
      { name: "demo/ask_other_plan@1" },
      { name: "demo/ask_undeclared@1" },
    ],
    caps: [],
    policies: [],
    secrets: [{ name: "llm/api@1" }],
    defaults: { cap_grants: [grant("llm_main"), grant("llm_other")] },
  };
  await Deno.writeTextFile(`${src}/manifest.air.json`, JSON.stringify(manifest, null, 2));
  return src;
}

/** A fake OpenAI-compatible server on 127.0.0.1 recording the Authorization header of each request. */
async function withFakeOpenAi(body: (baseUrl: string, seen: Array<string | null>) => Promise<void>) {
  const seen: Array<string | null> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.json();
    seen.push(request.headers.get("authorization"));
    return Response.json({
      id: "chatcmpl-1",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
  });
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    await server.shutdown();
  }
}

/** Creates the world in `dir/w` with the LLM provider `local` at `baseUrl`; returns the prompt's hash. */
async function createWorld(dir: string, baseUrl: string, secret: Record<string, unknown>): Promise<string> {
  const src = await writeAir(dir, secret);
  await expectOk(dir, {}, "init", "w", "--from", src);
  const paths = worldPaths(`${dir}/w`);
  await Deno.writeTextFile(
    paths.config,
    JSON.stringify({ llm: { providers: { local: { baseUrl } } } }),
  );
  return await new FsCas(paths.store).put("blobs", new TextEncoder().encode("Say hi"));
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else if (entry.isFile) out.push(path);
  }
  return out;
}

function hex(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The `effect_rejected` and `receipt_appended` entries of the world's journal, as JSON. */
async function journal(dir: string): Promise<Array<{ kind: string; [key: string]: unknown }>> {
  const run = await expectOk(`${dir}/w`, {}, "journal", "show", "--json");
  return run.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("defsecret: the adapter gets the env value at dispatch; nothing under .aos/ holds it", async () => {
  await withTempDir(async (dir) => {
    await withFakeOpenAi(async (baseUrl, seen) => {
      const prompt = await createWorld(dir, baseUrl, {
        allowed_caps: ["llm_main"],
        allowed_plans: ["demo/ask@1"],
      });
      const env = { [ENV_NAME]: SECRET };
      const w = `${dir}/w`;
      await expectOk(w, env, "plan", "start", "demo/ask@1", JSON.stringify({ prompt }));
      const run = await expectOk(w, env, "run", "--json");
      assert.equal(JSON.parse(run.stdout).receipts, 1);
      assert.deepEqual(seen, [`Bearer ${SECRET}`], "the provider received the resolved secret");
      // The journaled intent holds only the reference (params are shown as CBOR hex).
      const entries = await journal(dir);
      const queued = JSON.stringify(entries.filter((e) => e.kind === "effect_queued"));
      assert.ok(queued.includes(hex("llm/api")), queued);
      const snapshot = JSON.parse((await expectOk(w, env, "snapshot", "--json")).stdout);
      const needle = new TextEncoder().encode(SECRET);
      const files = await filesUnder(`${w}/.aos`);
      const snapshotFile = `${snapshot.hash}`.slice("sha256:".length);
      assert.ok(files.some((f) => f.endsWith(snapshotFile)), `the snapshot is among the files checked`);
      // The scan finds what is there: the prompt blob is stored.
      const promptBytes = new TextEncoder().encode("Say hi");
      const found = await Promise.all(files.map(async (f) => contains(await Deno.readFile(f), promptBytes)));
      assert.ok(found.some((x) => x), "the prompt is found under .aos/");
      for (const file of files) {
        assert.ok(!contains(await Deno.readFile(file), needle), `${file} must not hold the secret`);
      }
    });
  });
});

Deno.test("defsecret: a grant, plan or secret it does not allow is rejected at stage secret", async () => {
  await withTempDir(async (dir) => {
    await withFakeOpenAi(async (baseUrl, seen) => {
      const prompt = await createWorld(dir, baseUrl, {
        allowed_caps: ["llm_main"],
        allowed_plans: ["demo/ask@1", "demo/ask_other_grant@1", "demo/ask_undeclared@1"],
      });
      const env = { [ENV_NAME]: SECRET };
      const w = `${dir}/w`;
      for (const plan of ["demo/ask_other_grant@1", "demo/ask_other_plan@1", "demo/ask_undeclared@1"]) {
        await expectOk(w, env, "plan", "start", plan, JSON.stringify({ prompt }));
      }
      await expectOk(w, env, "run");
      assert.deepEqual(seen, [], "no rejected effect reached the provider");
      const rejected = (await journal(dir)).filter((e) => e.kind === "effect_rejected");
      const text = rejected.map((e) => JSON.stringify(e));
      assert.equal(rejected.length, 3, text.join("\n"));
      assert.ok(text.every((t) => t.includes('"secret"')), text.join("\n"));
      assert.match(text[0]!, /secret \\"llm\/api@1\\" may not be used with grant \\"llm_other\\"/);
      assert.match(text[1]!, /may not be used by plan \\"demo\/ask_other_plan@1\\"/);
      assert.match(text[2]!, /secret \\"llm\/nope@1\\" is not declared/);
    });
  });
});

Deno.test("defsecret: a binding without a value gives an error receipt naming the secret, not a value", async () => {
  await withTempDir(async (dir) => {
    await withFakeOpenAi(async (baseUrl, seen) => {
      const prompt = await createWorld(dir, baseUrl, {});
      const w = `${dir}/w`;
      await expectOk(w, {}, "plan", "start", "demo/ask@1", JSON.stringify({ prompt }));
      const run = await expectOk(w, {}, "run");
      assert.deepEqual(seen, []);
      assert.match(run.stderr, /Secret "llm\/api@1" has no value: its binding "env:AOS_TEST_LLM_API_KEY"/);
      const receipts = (await journal(dir)).filter((e) => e.kind === "receipt_appended");
      assert.equal(receipts.length, 1);
      assert.match(JSON.stringify(receipts[0]), /"status":"error"/);
    });
  });
});

Deno.test("defsecret through governance: a proposal restricts it in a live world, which reopens with it", async () => {
  await withTempDir(async (dir) => {
    await withFakeOpenAi(async (baseUrl, seen) => {
      // Start with an unrestricted secret; the proposal replaces it with one restricted to llm_main.
      const prompt = await createWorld(dir, baseUrl, {});
      const w = `${dir}/w`;
      const src = `${dir}/src`;
      await writeAir(dir, { allowed_caps: ["llm_main"], allowed_plans: ["demo/ask@1"] });
      const submitted = await expectOk(w, {}, "proposal", "submit", "--air", src, "--json");
      assert.match(submitted.stdout, /"id"/);
      await expectOk(w, {}, "proposal", "shadow", "1");
      await expectOk(w, {}, "proposal", "approve", "1", "--approver", "bob");
      await expectOk(w, {}, "proposal", "apply", "1");
      const manifest = JSON.parse((await expectOk(w, {}, "manifest", "show", "--json")).stdout).manifest;
      assert.deepEqual(manifest.secrets.map((ref: { name: string }) => ref.name), ["llm/api@1"]);
      assert.match((await expectOk(w, {}, "manifest", "show")).stdout, /^secrets {3}llm\/api@1$/m);
      // Each command reopens the world from its store: the applied defsecret loads, and gates.
      const env = { [ENV_NAME]: SECRET };
      await expectOk(w, env, "plan", "start", "demo/ask_other_grant@1", JSON.stringify({ prompt }));
      await expectOk(w, env, "plan", "start", "demo/ask@1", JSON.stringify({ prompt }));
      await expectOk(w, env, "run");
      assert.deepEqual(seen, [`Bearer ${SECRET}`]);
      const rejected = (await journal(dir)).filter((e) => e.kind === "effect_rejected");
      assert.equal(rejected.length, 1);
      assert.match(JSON.stringify(rejected[0]), /may not be used with grant/);
    });
  });
});
