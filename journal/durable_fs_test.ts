import assert from "node:assert/strict";
import { makeDirDurable, parentOf } from "./durable_fs.ts";

Deno.test("makeDirDurable() creates missing folders and fsyncs the parent of each one it created", async () => {
  const root = await Deno.makeTempDir({ prefix: "aos_durable_fs_" });
  try {
    await Deno.mkdir(`${root}/a`);
    const synced: string[] = [];
    await makeDirDurable(`${root}/a/b/c`, { sync: (dir) => synced.push(dir) });
    assert.ok((await Deno.stat(`${root}/a/b/c`)).isDirectory);
    // b and c are new: their entries live in a and a/b; a existed, so root is not touched.
    assert.deepEqual(synced.sort(), [`${root}/a`, `${root}/a/b`]);
    // A folder that exists is left alone.
    const again: string[] = [];
    await makeDirDurable(`${root}/a/b/c`, { sync: (dir) => again.push(dir) });
    assert.deepEqual(again, []);
    // Without a test hook it really fsyncs (and works on this file system).
    await makeDirDurable(`${root}/x/y`);
    assert.ok((await Deno.stat(`${root}/x/y`)).isDirectory);
    assert.equal(parentOf(`${root}/x/y`), `${root}/x`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
