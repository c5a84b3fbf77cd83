/**
 * Private helpers of the end-to-end CLI tests (`cli_test.ts`, `air_test.ts`, …): `aos` run in process
 * (`runCli` with a captured IO and its own cwd) or as a real `deno run cli.ts` subprocess, temporary
 * folders, and file-tree helpers. Not a test file, and no non-test module imports it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exists } from "../journal/mod.ts";
import { captureIo } from "./context.ts";
import { runCli } from "./main.ts";

const CLI = decodeURIComponent(new URL("../cli.ts", import.meta.url).pathname);
/** The path of the counter example folder (`air/`, `modules/`, `reducer/`). */
export const COUNTER_EXAMPLE = decodeURIComponent(new URL("../examples/counter", import.meta.url).pathname);
const RUN_PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-net=127.0.0.1"];

/** The exit code and the output of one `aos` run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `aos ARGS` in `cwd`, in this process: `runCli` with an IO that keeps the output, starts from `cwd`
 * and sees no environment variables. An error `runCli` does not handle ends the run as it would end the
 * `aos` process: printed on stderr, exit code 1.
 */
export async function aos(cwd: string, ...args: string[]): Promise<Run> {
  const captured = captureIo({ cwd });
  let code: number;
  try {
    code = await runCli(args, captured.io);
  } catch (error) {
    captured.io.err(`error: Uncaught (in promise) ${error instanceof Error ? error.stack : String(error)}`);
    code = 1;
  }
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

/**
 * Runs `aos ARGS` in `cwd` as a real `deno run cli.ts` subprocess (quiet, so a cold cache's download
 * lines never reach stderr). For the few tests that need a process of their own: the entry point and
 * its exit code, or several processes racing on one world.
 */
export async function aosProcess(cwd: string, ...args: string[]): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_PERMISSIONS, CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** Runs `aos ARGS` and demands `code`; the assertion message shows both streams. */
export async function expectAos(code: number, cwd: string, ...args: string[]): Promise<Run> {
  const run = await aos(cwd, ...args);
  assert.equal(
    run.code,
    code,
    `aos ${
      args.join(" ")
    } (in ${cwd}) exited ${run.code}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
  );
  return run;
}

/** Runs `fn` in a fresh temporary folder (real path) and removes it afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "aos-cli-test-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether anything (a file, folder or link) is at `path` (the project's one `exists`). */
export { exists };

/** Copies the folder `from` to `to`, recursively. */
export async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every file (its SHA-256) and folder under `dir`, by relative path, in sorted order. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(path: string, rel: string): Promise<void> {
    const names: Array<{ name: string; isDirectory: boolean }> = [];
    for await (const e of Deno.readDir(path)) names.push({ name: e.name, isDirectory: e.isDirectory });
    names.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of names) {
      const childRel = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) {
        out[`${childRel}/`] = "dir";
        await walk(`${path}/${e.name}`, childRel);
      } else {
        out[childRel] = await sha256Hex(await Deno.readFile(`${path}/${e.name}`));
      }
    }
  }
  await walk(dir, "");
  return out;
}
