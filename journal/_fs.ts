/**
 * File-system helpers shared by the CAS and the journal (private to `journal/`).
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
