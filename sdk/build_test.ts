import assert from "node:assert/strict";
import { hashRefOf } from "../air/mod.ts";
import { buildCacheDir, cachedBuild, type SourceRead, storeBuild } from "./build.ts";

const textHash = (text: string) => hashRefOf(new TextEncoder().encode(text));

/** A world folder with `files` (path → text) in a fresh temporary folder. */
async function worldWith(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "aos-build-cache-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
  }
  return root;
}

Deno.test("build cache: a build is reused while every file the compiler read reads the same, and only then", async () => {
  const files = {
    "reducer/hello.ts": "export function step(): void {}",
    "reducer/util.ts": "export const a = 1;",
  };
  const root = await worldWith(files);
  const elsewhere = await worldWith(files);
  const cache = await Deno.makeTempDir({ prefix: "aos-build-cache-dir-" });
  try {
    const reads: SourceRead[] = [
      { baseDir: "", name: "reducer/hello.ts", hash: textHash(files["reducer/hello.ts"]) },
      { baseDir: "reducer", name: "util.ts", hash: textHash(files["reducer/util.ts"]) },
      { baseDir: "reducer", name: "util/index.ts", hash: null }, // asked for, absent
      { baseDir: "", name: "asconfig.json", hash: null }, // refused: not a .ts file
    ];
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined, "empty cache: a miss");
    await storeBuild(cache, root, "reducer/hello.ts", reads, bytes);
    assert.deepEqual(await cachedBuild(cache, root, "reducer/hello.ts"), bytes);
    assert.deepEqual(
      await cachedBuild(cache, elsewhere, "reducer/hello.ts"),
      bytes,
      "the same files elsewhere",
    );
    // An imported file changes: a miss; back as it was: a hit again.
    await Deno.writeTextFile(`${root}/reducer/util.ts`, "export const a = 2;");
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined);
    await Deno.writeTextFile(`${root}/reducer/util.ts`, files["reducer/util.ts"]);
    assert.deepEqual(await cachedBuild(cache, root, "reducer/hello.ts"), bytes);
    // A file the compiler found absent appears: a miss (it would now resolve to it).
    await Deno.mkdir(`${root}/reducer/util`);
    await Deno.writeTextFile(`${root}/reducer/util/index.ts`, "export const a = 3;");
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined);
    await Deno.remove(`${root}/reducer/util`, { recursive: true });
    // The entry file changes: another key, a miss.
    await Deno.writeTextFile(`${root}/reducer/hello.ts`, "export function step(): void { }");
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined);
    await Deno.writeTextFile(`${root}/reducer/hello.ts`, files["reducer/hello.ts"]);
    // Damaged cached bytes: a miss, never the damaged module.
    const [wasm] = [...Deno.readDirSync(cache)].filter((e) => e.name.endsWith(".wasm")).map((e) => e.name);
    await Deno.writeFile(`${cache}/${wasm}`, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 1]));
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined);
  } finally {
    for (const dir of [root, elsewhere, cache]) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build cache: a cache that cannot be written is no error, and stays a miss", async () => {
  const root = await worldWith({ "reducer/hello.ts": "export function step(): void {}" });
  try {
    // A file where the cache folder would be: every write fails (ENOTDIR).
    const blocked = `${root}/not-a-folder`;
    await Deno.writeTextFile(blocked, "");
    const reads: SourceRead[] = [{ baseDir: "", name: "reducer/hello.ts", hash: textHash("x") }];
    await storeBuild(
      `${blocked}/cache`,
      root,
      "reducer/hello.ts",
      reads,
      new Uint8Array([0, 0x61, 0x73, 0x6d]),
    );
    assert.equal(await cachedBuild(`${blocked}/cache`, root, "reducer/hello.ts"), undefined);
    assert.equal(await Deno.readTextFile(blocked), "", "nothing written over the file");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("build cache: AOS_BUILD_CACHE names the folder, off turns the cache off, else the user's cache folder", () => {
  const saved = Object.fromEntries(
    ["AOS_BUILD_CACHE", "XDG_CACHE_HOME", "HOME"].map((name) => [name, Deno.env.get(name)]),
  );
  try {
    Deno.env.set("AOS_BUILD_CACHE", "/somewhere/builds");
    assert.equal(buildCacheDir(), "/somewhere/builds");
    Deno.env.set("AOS_BUILD_CACHE", "off");
    assert.equal(buildCacheDir(), undefined);
    Deno.env.delete("AOS_BUILD_CACHE");
    Deno.env.set("XDG_CACHE_HOME", "/xdg");
    assert.equal(buildCacheDir(), "/xdg/aos/reducer-builds");
    Deno.env.delete("XDG_CACHE_HOME");
    Deno.env.set("HOME", "/home/u");
    assert.equal(buildCacheDir(), "/home/u/.cache/aos/reducer-builds");
    Deno.env.delete("HOME");
    assert.equal(buildCacheDir(), undefined);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});

Deno.test("build cache: a build is stored under the entry text it read, even when the file changed meanwhile", async () => {
  const built = "export function step(): void {}";
  const root = await worldWith({ "reducer/hello.ts": built });
  const cache = await Deno.makeTempDir({ prefix: "aos-build-cache-dir-" });
  try {
    const reads: SourceRead[] = [{ baseDir: "", name: "reducer/hello.ts", hash: textHash(built) }];
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    // Edited after the compiler read it, before the build was stored.
    await Deno.writeTextFile(`${root}/reducer/hello.ts`, "export function step(): void { /* edited */ }");
    await storeBuild(cache, root, "reducer/hello.ts", reads, bytes);
    assert.equal(await cachedBuild(cache, root, "reducer/hello.ts"), undefined, "the edited file: a miss");
    await Deno.writeTextFile(`${root}/reducer/hello.ts`, built);
    assert.deepEqual(await cachedBuild(cache, root, "reducer/hello.ts"), bytes, "the text it built: a hit");
  } finally {
    for (const dir of [root, cache]) await Deno.remove(dir, { recursive: true });
  }
});
