/**
 * File helpers private to `adapters/`: atomic create-once and replace writes, directory fsync.
 *
 * @module
 */
import { toHex } from "../air/mod.ts";

/** Fsyncs a directory so a rename in it survives a crash; platforms that cannot do it are skipped. */
export function syncDirectory(path: string): void {
  if (Deno.build.os === "windows") return;
  let dir: Deno.FsFile;
  try {
    dir = Deno.openSync(path, { read: true });
  } catch {
    return; // Some file systems cannot open a directory; the rename is as durable as it gets there.
  }
  try {
    dir.syncSync();
  } catch {
    // Same as above: EINVAL/EBADF on file systems without directory fsync.
  } finally {
    dir.close();
  }
}

async function writeTemp(dir: string, bytes: Uint8Array, mode: number): Promise<string> {
  const temp = `${dir}/.${toHex(crypto.getRandomValues(new Uint8Array(8)))}.tmp`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode });
  try {
    if (Deno.build.os !== "windows") await Deno.chmod(temp, mode); // the umask may clear bits, never add
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  file.close();
  return temp;
}

/**
 * Creates `path` with `bytes` unless it exists: a temp file is written and fsynced, then hard-linked into
 * place (which fails on an existing file, so two racing creators never overwrite each other).
 * Returns false when `path` already existed.
 */
export async function createOnce(path: string, bytes: Uint8Array, mode: number): Promise<boolean> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const temp = await writeTemp(dir, bytes, mode);
  try {
    await Deno.link(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  syncDirectory(dir);
  return true;
}

/** Replaces `path` with `bytes` atomically (temp file, fsync, rename, directory fsync). */
export async function replaceFile(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const temp = await writeTemp(dir, bytes, mode);
  try {
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  syncDirectory(dir);
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
