/**
 * Shared CLI plumbing: where output goes, how a world is found (like git: `--world DIR`, else the
 * current folder or the nearest parent holding `.aos/`), and how errors are printed.
 *
 * @module
 */
import { AosError, type JsonValue, stringifyJson } from "../air/mod.ts";
import { SystemClock } from "../adapters/mod.ts";
import type { Clock } from "../kernel/mod.ts";
import type { TornTail } from "../journal/mod.ts";
import { EnvSecretResolver, type FileWorld, World } from "../world/mod.ts";

/**
 * Everything one CLI invocation may learn from or say to its surroundings: output sinks, the folder it
 * runs in, the environment, the clock and the terminal. Commands read nothing of the process themselves
 * (no `Deno.cwd()`, `Deno.env`, `Deno.stdout`), so `runCli` runs as faithfully in a test as in `aos`.
 */
export interface CliIo {
  /** Prints one line on stdout. */
  out(line: string): void;
  /** Prints one line on stderr. */
  err(line: string): void;
  /** Writes out what `out` holds back, if it buffers (the process's stdout does); `runCli` calls it last. */
  flush?(): void;
  /** The folder relative paths and the world search start from. */
  cwd: string;
  clock: Clock;
  /** Reads an environment variable (LLM API keys). */
  env(name: string): string | undefined;
  /**
   * What the help text may assume of the output: its width (undefined: 80 columns) and whether it shows
   * colors. Omitted: the process's real stdout and stderr, as commander sees them.
   */
  terminal?: { columns?: number; colors: boolean };
}

/** Prints lines; with a buffer, {@linkcode LineWriter.flush} writes what it holds. */
export interface LineWriter {
  (line: string): void;
  flush(): void;
}

/** Bytes of output the process's stdout holds back before writing (one write instead of one per line). */
export const STDOUT_BUFFER_BYTES = 64 * 1024;

/**
 * A line writer to `stream` that writes every byte (a pipe may take part of a write) and, once the reader
 * is gone (`BrokenPipe`, as in `aos journal show | head -1`), stops writing instead of crashing. With
 * `bufferBytes`, lines are held until that much text is waiting, or until the code running now yields (a
 * microtask): a loop printing a million lines makes a few thousand writes instead of a million, and a
 * command that prints and then waits still shows its lines at once.
 */
export function lineWriter(
  stream: { writeSync(bytes: Uint8Array): number },
  options: { bufferBytes?: number } = {},
): LineWriter {
  const encoder = new TextEncoder();
  const limit = options.bufferBytes ?? 0;
  let closed = false;
  let pending: string[] = [];
  let pendingChars = 0;
  let scheduled = false;
  const write = (text: string) => {
    if (closed) return;
    let bytes = encoder.encode(text);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      closed = true;
    }
  };
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    pendingChars = 0;
    write(text);
  };
  const out = (line: string) => {
    if (closed) return;
    if (limit <= 0) return write(line + "\n");
    pending.push(line, "\n");
    // A character is at least one byte: the buffer writes no later than at `limit` bytes.
    pendingChars += line.length + 1;
    if (pendingChars >= limit) return flush();
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        flush();
      });
    }
  };
  return Object.assign(out, { flush });
}

/** The process's real IO: stdout buffered ({@linkcode STDOUT_BUFFER_BYTES}), stderr written at once after it. */
export function processIo(): CliIo {
  const out = lineWriter(Deno.stdout, { bufferBytes: STDOUT_BUFFER_BYTES });
  const err = lineWriter(Deno.stderr);
  return {
    out,
    // What was printed on stdout comes first, as it would line by line.
    err: (line) => {
      out.flush();
      err(line);
    },
    flush: out.flush,
    cwd: Deno.cwd(),
    clock: new SystemClock(),
    env: (name) => Deno.env.get(name),
  };
}

/** What {@linkcode captureIo} needs: the folder to run in, and optionally variables and a clock. */
export interface CaptureOptions {
  cwd: string;
  /** The whole environment the command sees; default none. */
  env?: Record<string, string>;
  /** Default: the system clock. */
  clock?: Clock;
}

/** An in-memory IO that keeps what a command prints, as a non-terminal process's stdout and stderr. */
export interface CapturedIo {
  io: CliIo;
  /** Everything printed on stdout so far, each line ending in a newline. */
  stdout(): string;
  /** Everything printed on stderr so far, each line ending in a newline. */
  stderr(): string;
}

/** An IO for running `aos` in process (tests, scripts): output is kept, nothing of the process is read. */
export function captureIo(options: CaptureOptions): CapturedIo {
  let stdout = "";
  let stderr = "";
  const env = options.env ?? {};
  return {
    io: {
      out: (line) => void (stdout += line + "\n"),
      err: (line) => void (stderr += line + "\n"),
      cwd: options.cwd,
      clock: options.clock ?? new SystemClock(),
      env: (name) => Object.hasOwn(env, name) ? env[name] : undefined,
      terminal: { colors: false },
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** Resolves a path against the invocation's cwd, normalized (no `.`, `..` or repeated and trailing `/`). */
export function resolvePath(io: CliIo, path: string): string {
  const full = path.startsWith("/") ? path : `${io.cwd}/${path}`;
  const parts: string[] = [];
  for (const part of full.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
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

/** How a command opens its world. */
export interface OpenOptions {
  /** The command only reads: no file under `.aos/` is changed (a torn journal tail is reported, not cut). */
  readOnly?: boolean;
}

/**
 * The warning line for a torn journal tail (a crash mid-write) found on open: where, how many bytes, and
 * where they went (cut into `.aos/quarantine/`) or that a read-only command left them.
 */
export function tornTailWarning(torn: TornTail, root: string): string {
  const where = `${torn.segment} at offset ${torn.offset}, ${torn.sizeBytes} byte${
    torn.sizeBytes === 1 ? "" : "s"
  }`;
  if (torn.cut) {
    const kept = torn.quarantineFile?.startsWith(`${root}/`)
      ? torn.quarantineFile.slice(root.length + 1)
      : torn.quarantineFile;
    return `warning: cut a torn journal tail (a write interrupted by a crash, never acknowledged): ${where} ` +
      `(${torn.reason}); the bytes are kept in ${kept}`;
  }
  return `warning: torn journal tail (a write interrupted by a crash, never acknowledged): ${where} ` +
    `(${torn.reason}); left in place by this read-only command, the next writing command cuts it ` +
    "and keeps the bytes in .aos/quarantine/";
}

/** The JSON form of a torn tail (`null` when there is none); file paths relative to the world folder. */
export function tornTailJson(torn: TornTail | undefined, root: string): JsonValue {
  if (torn === undefined) return null;
  const file = torn.quarantineFile;
  return {
    segment: torn.segment,
    offset: BigInt(torn.offset),
    bytes_cut: BigInt(torn.cut ? torn.sizeBytes : 0),
    size_bytes: BigInt(torn.sizeBytes),
    cut: torn.cut,
    reason: torn.reason,
    quarantine_file: file === undefined
      ? null
      : file.startsWith(`${root}/`)
      ? file.slice(root.length + 1)
      : file,
  };
}

/** Opens the located world, and says on stderr what opening had to recover from. */
export async function openWorld(
  io: CliIo,
  worldOption: string | undefined,
  options: OpenOptions = {},
): Promise<FileWorld> {
  const world = await World.open(await locateWorld(io, worldOption), {
    clock: io.clock,
    secrets: new EnvSecretResolver((name) => io.env(name)),
    onLockWait: (holder) => io.err(`Waiting for ${holder} to release the world…`),
    ...(options.readOnly === true ? { readOnly: true } : {}),
  });
  if (world.tornTail !== undefined) io.err(tornTailWarning(world.tornTail, world.dir));
  for (const s of world.unusableSnapshots) {
    io.err(
      `warning: snapshot at height ${s.height} is unusable (${s.code}: ${s.message}); ` +
        `opened from ${
          world.lastSnapshot ? `the snapshot at height ${world.lastSnapshot.height}` : "genesis"
        }`,
    );
  }
  return world;
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
  options: OpenOptions = {},
): Promise<T> {
  const world = await openWorld(io, worldOption, options);
  try {
    return await fn(world);
  } finally {
    world.close();
    await world.closed;
  }
}

/**
 * Like {@linkcode withWorld} for a command that only reads: no file under `.aos/` is changed, and a torn
 * journal tail is reported (on stderr), not cut.
 */
export async function readWorld<T>(
  io: CliIo,
  worldOption: string | undefined,
  fn: (world: FileWorld) => T | Promise<T>,
): Promise<T> {
  return await withWorld(io, worldOption, fn, { readOnly: true });
}
