/**
 * Authored modules without `wasm_hash` (issue 15), through `aos`: `air check` accepts them
 * with a warning, `init --from` and `proposal submit --air` fill the hash from the module's `.wasm` and
 * refuse clearly when none matches.
 */
import assert from "node:assert/strict";
import { hashRefOf } from "../air/mod.ts";
import { aos, copyDir, COUNTER_EXAMPLE, type Run, withTempDir } from "./_test_helpers.ts";

const COUNTER_WASM = await Deno.readFile(`${COUNTER_EXAMPLE}/modules/counter.wasm`);
const COUNTER_HASH = hashRefOf(COUNTER_WASM);
const EXAMPLES = decodeURIComponent(new URL("../examples", import.meta.url).pathname);

async function run(code: number, cwd: string, ...args: string[]): Promise<Run> {
  const result = await aos(cwd, ...args);
  assert.equal(
    result.code,
    code,
    `aos ${args.join(" ")}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
  return result;
}

/** The counter's AIR in `dir/src/air` with its module's wasm_hash removed, and its wasm in `src/modules`. */
async function authoredCounter(dir: string): Promise<string> {
  const src = `${dir}/src`;
  await copyDir(`${COUNTER_EXAMPLE}/air`, `${src}/air`);
  await copyDir(`${COUNTER_EXAMPLE}/modules`, `${src}/modules`);
  const path = `${src}/air/module.air.json`;
  const module = JSON.parse(await Deno.readTextFile(path));
  delete module.wasm_hash;
  await Deno.writeTextFile(path, JSON.stringify(module, null, 2));
  return src;
}

Deno.test("a module without wasm_hash: air check warns, init --from fills it from modules/counter.wasm", async () => {
  await withTempDir(async (dir) => {
    const src = await authoredCounter(dir);
    const check = await run(0, dir, "air", "check", "src");
    assert.match(check.stdout, /AIR_WASM_HASH_FILLED/);
    assert.ok(
      check.stdout.includes(`filled with ${COUNTER_HASH} from ${src}/modules/counter.wasm`),
      check.stdout,
    );
    await run(0, dir, "init", "w", "--from", "src");
    // The world's own AIR carries the hash, so checking it again is clean.
    const copied = JSON.parse(await Deno.readTextFile(`${dir}/w/air/module.air.json`));
    assert.equal(copied.wasm_hash, COUNTER_HASH);
    const again = await run(0, `${dir}/w`, "air", "check");
    assert.doesNotMatch(again.stdout, /AIR_WASM_HASH/);
    await run(0, `${dir}/w`, "event", "send", "demo/Increment@1", JSON.stringify({ by: 2 }));
  });
});

Deno.test("a module without wasm_hash and no matching .wasm: air check warns, init --from refuses naming it", async () => {
  await withTempDir(async (dir) => {
    const src = await authoredCounter(dir);
    await Deno.remove(`${src}/modules/counter.wasm`);
    const others = ["fetch-notify/modules/notifier.wasm", "timer-retry/modules/retrier.wasm"];
    for (const other of others) {
      await Deno.copyFile(`${EXAMPLES}/${other}`, `${src}/modules/${other.split("/").pop()}`);
    }
    const check = await run(0, dir, "air", "check", "src");
    assert.match(check.stdout, /AIR_WASM_HASH_MISSING/);
    assert.match(check.stdout, /"demo\/Counter@1" has no wasm_hash and no \.wasm file matches its name/);
    const init = await run(2, dir, "init", "w", "--from", "src");
    assert.match(init.stderr, /error\[AOS_AIR_INVALID\]: Module without wasm_hash: "demo\/Counter@1"/);
    assert.ok(init.stderr.includes(`${src}/modules`), "the folders searched are named");
    for (const other of others) {
      const bytes = await Deno.readFile(`${EXAMPLES}/${other}`);
      const name = other.split("/").pop()!;
      assert.ok(init.stderr.includes(`${src}/modules/${name} (${hashRefOf(bytes)})`), `${name} is listed`);
    }
    assert.equal(await Deno.stat(`${dir}/w/.aos`).then(() => true, () => false), false, "no world was made");
  });
});

Deno.test("proposal submit --air fills a missing wasm_hash, and refuses when the .wasm is gone", async () => {
  await withTempDir(async (dir) => {
    await run(0, dir, "init", "w", "--template", "counter");
    const edited = await authoredCounter(dir);
    // One real change besides the missing hash: a new schema.
    const schemas = JSON.parse(await Deno.readTextFile(`${edited}/air/schemas.air.json`));
    schemas.push({ $kind: "defschema", name: "demo/Note@1", type: { text: {} } });
    await Deno.writeTextFile(`${edited}/air/schemas.air.json`, JSON.stringify(schemas));
    const manifestPath = `${edited}/air/manifest.air.json`;
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    manifest.schemas.push({ name: "demo/Note@1" });
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));
    const dry = await run(0, `${dir}/w`, "proposal", "submit", "--air", edited, "--dry-run");
    assert.match(dry.stdout, /demo\/Note@1/);
    assert.doesNotMatch(dry.stdout, /defmodule/, "the filled module equals the live one: no module change");
    await Deno.remove(`${edited}/modules/counter.wasm`);
    const refused = await run(2, `${dir}/w`, "proposal", "submit", "--air", edited, "--dry-run");
    assert.match(refused.stderr, /Module without wasm_hash: "demo\/Counter@1"/);
    assert.match(refused.stderr, /found no \.wasm files/);
  });
});

Deno.test("aos init in a folder with its own air/ and modules/ fills a missing wasm_hash too", async () => {
  await withTempDir(async (dir) => {
    const src = await authoredCounter(dir);
    await run(0, src, "init");
    await run(0, src, "event", "send", "demo/Increment@1", JSON.stringify({ by: 1 }));
    await Deno.remove(`${src}/.aos`, { recursive: true });
    await Deno.remove(`${src}/modules/counter.wasm`);
    const refused = await run(2, src, "init");
    assert.match(refused.stderr, /Module without wasm_hash: "demo\/Counter@1"/);
  });
});
