/**
 * Shared CLI plumbing: where output goes, how a world is found (like git: `--world DIR`, else the
 * current folder or the nearest parent holding `.aos/`), and how errors are printed.
 *
 * @module
 */
import { AosError, type JsonValue, stringifyJson } from "../air/mod.ts";
import { SystemClock } from "../adapters/system_clock.ts";
import type { Clock } from "../kernel/clock.ts";
import { type FileWorld, World } from "../world/mod.ts";

/** Output sinks and environment of one CLI invocation (injectable for tests). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  cwd: string;
  clock: Clock;
}

/** The process's real IO. */
export function processIo(): CliIo {
  const encoder = new TextEncoder();
  return {
    out: (line) => void Deno.stdout.writeSync(encoder.encode(line + "\n")),
    err: (line) => void Deno.stderr.writeSync(encoder.encode(line + "\n")),
    cwd: Deno.cwd(),
    clock: new SystemClock(),
  };
}

/** Resolves a path against the invocation's cwd. */
export function resolvePath(io: CliIo, path: string): string {
  return path.startsWith("/") ? path : `${io.cwd}/${path}`.replace(/\/\.$/, "");
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Finds the world folder: `--world`, else the cwd or its nearest ancestor holding `.aos/`. */
export async function locateWorld(io: CliIo, worldOption: string | undefined): Promise<string> {
  if (worldOption !== undefined) {
    const dir = resolvePath(io, worldOption);
    if (!(await isDir(`${dir}/.aos`))) {
      throw new AosError("AOS_WORLD_NOT_FOUND", `No world at "${dir}": it has no .aos/ folder`);
    }
    return dir;
  }
  let dir = io.cwd;
  for (let i = 0; i < 256; i++) {
    if (await isDir(`${dir}/.aos`)) return dir;
    const parent = dir.replace(/\/[^/]*$/, "") || "/";
    if (parent === dir) break;
    dir = parent;
  }
  throw new AosError(
    "AOS_WORLD_NOT_FOUND",
    `No world found in "${io.cwd}" or its parents: run "aos init" or pass --world DIR`,
  );
}

/** Opens the located world. */
export async function openWorld(io: CliIo, worldOption: string | undefined): Promise<FileWorld> {
  return await World.open(await locateWorld(io, worldOption), {
    clock: io.clock,
    onLockWait: (holder) => io.err(`Waiting for ${holder} to release the world…`),
  });
}

/** Prints one JSON value on one line. */
export function printJson(io: CliIo, value: JsonValue): void {
  io.out(stringifyJson(value));
}

/** Opens the located world, runs `fn` with it, and always closes it (releasing the world lock). */
export async function withWorld<T>(
  io: CliIo,
  worldOption: string | undefined,
  fn: (world: FileWorld) => T | Promise<T>,
): Promise<T> {
  const world = await openWorld(io, worldOption);
  try {
    return await fn(world);
  } finally {
    world.close();
  }
}
