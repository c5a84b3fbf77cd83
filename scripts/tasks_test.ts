/**
 * The `deno task`s a newcomer runs: `install` puts a real `aos` on the PATH that works in any folder, `ok`
 * calls nothing outside the repository, and `demo` loads only the runtime's packages.
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const tasks: Record<string, string> = denoConfig.tasks;
const decoder = new TextDecoder();

async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

Deno.test("deno task install: an aos on the PATH that runs in the current folder, outside the repository", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "aos-install-" }));
  try {
    const words = tasks.install!.split(/\s+/);
    assert.deepEqual(words.slice(0, 2), ["deno", "install"]);
    // The task as written, into a private install root instead of ~/.deno.
    const installed = await run(
      Deno.execPath(),
      [...words.slice(1, 2), "--root", root, ...words.slice(2)],
      ROOT,
    );
    assert.equal(installed.code, 0, installed.out);
    const aos = `${root}/bin/aos`;
    await Deno.mkdir(`${root}/elsewhere`);
    const version = await run(aos, ["--version"], `${root}/elsewhere`);
    assert.equal(version.code, 0, version.out);
    assert.match(version.out, new RegExp(`^aos ${denoConfig.version.replaceAll(".", "\\.")} `));
    const init = await run(aos, ["init", "--json"], `${root}/elsewhere`);
    assert.equal(init.code, 0, init.out);
    assert.equal(JSON.parse(init.out).world, `${root}/elsewhere`);
    const step = await run(aos, ["step"], `${root}/elsewhere`);
    assert.equal(step.code, 0, step.out);
    assert.doesNotMatch(step.out, /Download|Warning/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task ok runs nothing outside the repository", () => {
  for (const [name, command] of Object.entries(tasks)) {
    assert.doesNotMatch(command, /(^|\s)\.\.\/|\/shared\/|before-stop/, `task ${name}: ${command}`);
  }
});

Deno.test("deno task demo loads only the runtime's packages, not the test or build ones", async () => {
  assert.match(tasks.demo!, /--no-lock/, "with a lock file, deno would fetch every package it lists");
  // `deno task` installs every npm package deno.json's import map and deno.lock name before it runs a task
  // (denoland/deno#28999): both name only the runtime's; tests and build scripts import theirs by full
  // `npm:` specifiers, pinned in tests.lock (deno task test, sim and build:examples pass --lock=tests.lock).
  const pinned = Object.keys(JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).imports).sort();
  const locked = Object.keys(JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`)).specifiers)
    .map((s) => s.replace(/^npm:/, "").replace(/@[^@]+$/, "")).sort();
  assert.deepEqual(locked, pinned, "deno.lock pins exactly the import map's packages");
  for (const name of ["test", "test:weights", "sim", "build:examples"]) {
    assert.match(tasks[name]!, /--lock=tests\.lock/, `task ${name} uses tests.lock`);
  }
  const info = await run(
    Deno.execPath(),
    ["info", "--json", "--no-lock", "scripts/demo.ts"],
    ROOT,
  );
  assert.equal(info.code, 0, info.out);
  const packages = Object.keys(JSON.parse(info.out.slice(0, info.out.lastIndexOf("}") + 1)).npmPackages)
    .map((p) => p.replace(/@[^@]+$/, "")).sort();
  // `postgres` is a runtime package too: `deno info` lists the dynamic import that loads it, which runs only
  // when a world's config names a PostgreSQL store.
  assert.deepEqual(packages, ["commander", "crc-32", "postgres", "zod"]);
  // `cborg` is the import map's too (the canonical CBOR reference), but only the tests load it
  // (`air/cbor/cbor_reference.ts`): no command does.
  assert.deepEqual(pinned, [...packages, "cborg"].sort());
});
