/**
 * One writer per world: `.aos/LOCK` is held (an exclusive OS file lock) by every `World` open in a
 * process, so two `aos` processes never append to one journal at once or race on inbox batch numbers.
 * Within one process the lock is shared by reference count (OS locks are per open file, and a second lock
 * attempt from the same process would wait on itself). Taking the lock never changes the file's bytes, so a
 * refused command leaves every file under `.aos/` byte-for-byte unchanged (`init` creates the file).
 *
 * @module
 */

interface Held {
  file: Deno.FsFile;
  refs: number;
}

const held = new Map<string, Held>();

/** A held world lock; `release()` once. */
export interface WorldLock {
  release(): void;
}

/**
 * Takes the world lock at `path`, waiting while another process holds it (`onWait` is told once).
 */
export async function lockWorld(path: string, onWait?: (holder: string) => void): Promise<WorldLock> {
  const existing = held.get(path);
  if (existing) {
    existing.refs++;
  } else {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let locked = false;
    const waiting = setTimeout(() => {
      if (!locked) onWait?.("another process");
    }, 200);
    try {
      await file.lock(true);
      locked = true;
    } finally {
      clearTimeout(waiting);
    }
    held.set(path, { file, refs: 1 });
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const entry = held.get(path);
      if (!entry) return;
      if (--entry.refs > 0) return;
      held.delete(path);
      try {
        entry.file.unlockSync();
      } finally {
        entry.file.close();
      }
    },
  };
}
