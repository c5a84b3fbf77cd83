import assert from "node:assert/strict";
import { aos, expectAos, withTempDir } from "./_test_helpers.ts";
import { reducerNames, scaffoldFiles } from "./new.ts";

const REPO = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/**
 * Runs `deno ARGS` in `cwd` (quiet, no colors) and demands exit 0, showing both streams otherwise. Reducer
 * builds are cached in `buildCache` unless `AOS_BUILD_CACHE` says otherwise (`deno task test:long` turns the
 * cache off, so the scaffold's build compiles).
 */
async function deno(cwd: string, buildCache: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", AOS_BUILD_CACHE: Deno.env.get("AOS_BUILD_CACHE") ?? buildCache },
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  assert.equal(
    output.code,
    0,
    `deno ${args.join(" ")} (in ${cwd}) exited ${output.code}\nstdout: ${stdout}\nstderr: ${
      decoder.decode(output.stderr)
    }`,
  );
  return stdout;
}

/**
 * Runs `fn` in an empty folder outside the repository that is the same on every run from this checkout
 * (named by a hash of its path), and removes the folder afterwards. Deno caches a type check by the
 * modules' paths and contents, so `deno task test` in the scaffold (the same files at the same paths each
 * time) type-checks only on the first run after a change to the scaffold or to what it imports, as the
 * suite's own files do, instead of on every run (about 9 s of CPU). A file lock keeps two concurrent runs
 * from sharing the folder.
 */
async function withFixedTempDir(fn: (dir: string, buildCache: string) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(Deno.env.get("TMPDIR") ?? "/tmp");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(REPO)));
  const name = `aos-new-test-${
    Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  const dir = `${base}/${name}`;
  using lock = await Deno.open(`${dir}.lock`, { create: true, write: true });
  await lock.lock(true);
  try {
    await Deno.remove(dir, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    await Deno.mkdir(dir);
    // Beside the scaffold and kept: the same scaffold builds from the cache on later runs (the compiler
    // takes seconds; sdk/build_test.ts tests when the cache may answer).
    await fn(dir, `${dir}-builds`);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await lock.unlock();
  }
}

Deno.test("aos new reducer: a world outside the repository builds, passes its test and its AIR checks", async () => {
  await withFixedTempDir(async (tmp, buildCache) => {
    assert.ok(!tmp.startsWith(`${REPO}/`), `${tmp} must lie outside ${REPO}`);
    const dir = `${tmp}/hello`;
    const created = await aos(tmp, "new", "reducer", "hello", "--dir", dir);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, "");
    // Before the build the module has no wasm_hash and no .wasm: the AIR checks with a warning that
    // init --from would refuse it.
    const early = await aos(dir, "air", "check", "air");
    assert.equal(early.code, 0, early.stderr);
    assert.match(
      early.stdout + early.stderr,
      /warning \[AIR_WASM_HASH_MISSING\] Module "app\/Hello@1" has no wasm_hash/,
    );

    const built = await deno(dir, buildCache, "task", "--quiet", "build");
    const hash = /modules\/hello\.wasm {2}\d+ bytes {2}(sha256:[0-9a-f]{64})/.exec(built)?.[1];
    assert.ok(hash, built);
    const module = JSON.parse(await Deno.readTextFile(`${dir}/air/module.air.json`));
    assert.equal(module.wasm_hash, hash);
    // The same hash `aos air hash` prints for the file.
    const hashed = await expectAos(0, dir, "air", "hash", "modules/hello.wasm", "--json");
    assert.equal(JSON.parse(hashed.stdout)[0].hash, hash);

    const tested = await deno(dir, buildCache, "task", "--quiet", "test");
    assert.match(tested, /1 passed \| 0 failed/);

    const checked = await expectAos(0, dir, "air", "check", "air");
    assert.match(checked.stdout, /AIR OK: 3 files in .*\/hello\/air/);
    // And it runs as a world.
    await expectAos(0, dir, "init", "world", "--from", ".");
    await expectAos(0, dir, "--world", "world", "event", "send", "app/HelloEvent@1", '{"by": 4}');
    await expectAos(0, dir, "--world", "world", "step");
    const state = await expectAos(0, dir, "--world", "world", "state", "get", "app/Hello@1", "--json");
    assert.deepEqual(JSON.parse(state.stdout), { count: 4 });
  });
});

Deno.test("aos new reducer: the import map names this project by absolute file: URLs", async () => {
  const files = await scaffoldFiles("order-book");
  const config = JSON.parse(files.get("deno.json")!);
  assert.equal(config.imports["@aos/testkit"], new URL("../testkit/mod.ts", import.meta.url).href);
  assert.equal(config.imports["@aos/build"], new URL("../sdk/mod.ts", import.meta.url).href);
  assert.equal(config.imports["@aos/agentos"], new URL("../mod.ts", import.meta.url).href);
  assert.equal(config.imports["assemblyscript"], undefined, "the SDK build imports its compiler by npm: URL");
  assert.match(files.get("reducer/order_book.ts")!, /from "@aos\/sdk"/);
  assert.match(files.get("order_book_test.ts")!, /world\.state\("app\/OrderBook@1"\)/);
  for (const [path, text] of files) assert.doesNotMatch(text, /\{\{/, `${path} has an unfilled placeholder`);
  assert.deepEqual(reducerNames("order-book"), {
    file: "order_book",
    module: "app/OrderBook@1",
    state: "app/OrderBookState@1",
    event: "app/OrderBookEvent@1",
  });
});

Deno.test("aos new reducer: a bad name or a non-empty folder is refused with exit 2", async () => {
  await withTempDir(async (tmp) => {
    const bad = await aos(tmp, "new", "reducer", "Hello World");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error\[AOS_USAGE\]: Invalid reducer name "Hello World"/);
    await Deno.writeTextFile(`${tmp}/notes.txt`, "mine");
    const full = await aos(tmp, "new", "reducer", "hello", "--dir", ".");
    assert.equal(full.code, 2);
    assert.match(full.stderr, /^error\[AOS_DIR_NOT_EMPTY\]: .* is not empty \(notes\.txt\)/);
    assert.equal(await Deno.readTextFile(`${tmp}/notes.txt`), "mine");
    const forced = await expectAos(0, tmp, "new", "reducer", "hello", "--dir", ".", "--force", "--json");
    const report = JSON.parse(forced.stdout);
    assert.deepEqual(Object.keys(report), ["dir", "module", "schemas", "files"]);
    assert.equal(report.module, "app/Hello@1");
    assert.ok(report.files.includes("hello_test.ts"));
  });
});
