import assert from "node:assert/strict";
import { lockWorld } from "./lock.ts";

Deno.test("lockWorld() is shared within a process by reference count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await lockWorld(`${dir}/LOCK`);
    const b = await lockWorld(`${dir}/LOCK`); // would wait forever if it were a second OS lock
    a.release();
    b.release();
    b.release(); // releasing twice is harmless
    const c = await lockWorld(`${dir}/LOCK`);
    assert.equal((await Deno.readFile(`${dir}/LOCK`)).length, 0); // locking never writes the file
    c.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockWorld() waits while another process holds the lock, and says so", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/LOCK`;
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--quiet",
      "--no-config",
      `const f = await Deno.open(${JSON.stringify(path)}, {read: true, write: true, create: true});
       await f.lock(true);
       console.log("locked"); await new Promise((r) => setTimeout(r, 450)); f.unlockSync(); f.close();`,
    ],
    stdout: "piped",
  }).spawn();
  try {
    const reader = holder.stdout.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /locked/);
    reader.releaseLock();
    const waited: string[] = [];
    const lock = await lockWorld(path, (who) => waited.push(who));
    lock.release();
    assert.equal(waited.length, 1);
    assert.equal(waited[0], "another process");
  } finally {
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
