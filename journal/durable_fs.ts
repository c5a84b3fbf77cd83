/**
 * Durable file helpers, one of each for the whole project: crash-safe replace ({@linkcode writeFileAtomic})
 * and create-once ({@linkcode createFileOnce}) writes (temp file, fsync, rename or link, directory fsync),
 * directory fsync, complete writes, and existence checks. The CAS, the journal, the world driver's files
 * under `.aos/` and the adapters all write through these.
 *
 * @module
 */

/**
 * Fsyncs a directory so a file created or renamed in it survives a crash. Some platforms cannot open or
 * sync a directory (Windows; some network file systems); there the rename is as durable as it gets, so
 * those specific failures are ignored and every other error propagates.
 */
export function syncDirectory(path: string): void {
  // Windows cannot fsync a directory handle; NTFS journals the rename itself.
  if (Deno.build.os === "windows") return;
  let dir: Deno.FsFile;
  try {
    dir = Deno.openSync(path, { read: true });
  } catch (error) {
    if (isUnsupportedDirectorySync(error)) return;
    throw error;
  }
  try {
    dir.syncSync();
  } catch (error) {
    if (!isUnsupportedDirectorySync(error)) throw error;
  } finally {
    dir.close();
  }
}

function isUnsupportedDirectorySync(error: unknown): boolean {
  if (error instanceof Deno.errors.IsADirectory || error instanceof Deno.errors.NotSupported) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EINVAL" || code === "EISDIR" || code === "EBADF" || code === "ENOTSUP";
}

/** Writes all of `bytes`; `writeSync` may write fewer bytes than asked. */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    const n = file.writeSync(bytes.subarray(written));
    if (n <= 0) {
      throw new Error(`Cannot write file: write returned "${n}" with ${bytes.length - written} bytes left`);
    }
    written += n;
  }
}

/** Writes all of `bytes` asynchronously. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const n = await file.write(bytes.subarray(written));
    if (n <= 0) {
      throw new Error(`Cannot write file: write returned "${n}" with ${bytes.length - written} bytes left`);
    }
    written += n;
  }
}

/** True when `path` exists (any kind of entry). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs `fn` and turns its result or synchronous throw into a promise, so async ports always reject. */
export function attempt<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The bytes of `path`, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Creates the folder `path` and any missing parents durably: each folder created is made to survive a
 * crash by fsyncing the folder that holds it (a file fsynced and renamed into a folder whose own entry was
 * never synced can vanish with it). Does nothing for a folder that exists. `sync` is for tests.
 */
export async function makeDirDurable(
  path: string,
  options: { mode?: number; sync?: (dir: string) => void } = {},
): Promise<void> {
  const missing: string[] = [];
  for (let dir = path.replace(/\/+$/, ""); dir !== "" && dir !== "." && dir !== "/"; dir = parentOf(dir)) {
    if (await exists(dir)) break;
    missing.push(dir);
  }
  if (missing.length === 0) return;
  await Deno.mkdir(path, { recursive: true, ...(options.mode === undefined ? {} : { mode: options.mode }) });
  const sync = options.sync ?? syncDirectory;
  // Innermost first: each new folder's entry is fsynced in its parent.
  for (const dir of missing) sync(parentOf(dir));
}

/** The folder part of `path` (`"."` for a bare name, `"/"` for a file at the root). */
export function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : ".") : trimmed.slice(0, slash);
}

/** A fresh temp-file name in `dir`: hidden, random, so concurrent writers never share one. */
function tempName(dir: string): string {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0"),
  );
  return `${dir}/.${random.join("")}.tmp`;
}

/** Writes `bytes` to a new temp file in `dir` and fsyncs it; returns its path. Removes it on failure. */
async function writeTemp(dir: string, bytes: Uint8Array, mode: number | undefined): Promise<string> {
  const temp = tempName(dir);
  const file = await Deno.open(temp, {
    write: true,
    createNew: true,
    ...(mode === undefined ? {} : { mode }),
  });
  try {
    // The umask may clear bits of `mode`, never add them: set exactly what was asked.
    if (mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(temp, mode);
    await writeAll(file, bytes);
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {/* never created, or already gone */});
    throw error;
  }
  file.close();
  return temp;
}

/** Options of {@linkcode writeFileAtomic} and {@linkcode createFileOnce}. */
export interface DurableWriteOptions {
  /** File mode bits (e.g. `0o600` for a secret key); default: the platform default. */
  mode?: number;
}

/**
 * Replaces `path` with `bytes` crash-safely: a temp file in the same folder is written and fsynced, renamed
 * over `path`, and the folder is fsynced. After a crash `path` holds either the old or the new bytes, never
 * a mix; the temp file is removed when anything fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./durable_fs.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/head`, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await Deno.readFile(`${dir}/head`), new Uint8Array([1, 2, 3]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: DurableWriteOptions = {},
): Promise<void> {
  const dir = parentOf(path);
  const temp = await writeTemp(dir, bytes, options.mode);
  try {
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {/* already gone */});
    throw error;
  }
  syncDirectory(dir);
}

/**
 * Creates `path` with `bytes` unless something is there already, crash-safely: a temp file is written and
 * fsynced, then hard-linked into place (a link fails on an existing name, so two racing creators never
 * overwrite each other) and the folder is fsynced. Returns false when `path` already existed.
 */
export async function createFileOnce(
  path: string,
  bytes: Uint8Array,
  options: DurableWriteOptions = {},
): Promise<boolean> {
  const dir = parentOf(path);
  const temp = await writeTemp(dir, bytes, options.mode);
  try {
    await Deno.link(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  } finally {
    await Deno.remove(temp).catch(() => {/* already gone */});
  }
  syncDirectory(dir);
  return true;
}

/**
 * Moves the file `from` into the folder `toDir` (created if absent) crash-safely, keeping its name, or
 * `name.1`, `name.2`, … when that is taken: it is hard-linked into `toDir` (a link never overwrites), the
 * original is removed, and both folders are fsynced. After a crash the file is in one place or both, never
 * lost. Returns the new path.
 */
export async function moveFileDurable(from: string, toDir: string): Promise<string> {
  await Deno.mkdir(toDir, { recursive: true });
  const name = from.slice(parentOf(from).length + 1);
  for (let n = 0;; n++) {
    const to = `${toDir}/${n === 0 ? name : `${name}.${n}`}`;
    try {
      await Deno.link(from, to);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    syncDirectory(toDir);
    await Deno.remove(from);
    syncDirectory(parentOf(from));
    return to;
  }
}
