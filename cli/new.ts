/**
 * `aos new reducer NAME [--dir DIR]`: scaffolds a world folder of your own, anywhere — a reducer in
 * AssemblyScript using the SDK, its AIR (manifest, schemas, module, route), a `deno.json` whose import map
 * points at this installed project (`@aos/testkit`, `@aos/agentos`, `@aos/build` and the npm packages they
 * use), `deno task build` (compile, write the `.wasm`, stamp its `wasm_hash`) and a testkit test that
 * passes as generated.
 *
 * @module
 */
import { AosError, type JsonValue } from "../air/mod.ts";
import denoConfig from "../deno.json" with { type: "json" };
import { type CliIo, printJson, resolvePath } from "./context.ts";

/** The namespace of the scaffolded module and schemas. */
export const NEW_NAMESPACE = "app";

/** The project folder this `aos` runs from (holds `testkit/`, `sdk/`, `mod.ts`). */
function projectRoot(): URL {
  return new URL("../", import.meta.url);
}

/** `my-counter` → `MyCounter`. */
function pascalCase(name: string): string {
  return name.split(/[-_]/).filter((p) => p !== "").map((p) => p[0]!.toUpperCase() + p.slice(1)).join("");
}

/** The names one scaffolded reducer uses. */
export interface ReducerNames {
  /** The file stem, e.g. `hello`. */
  file: string;
  module: string;
  state: string;
  event: string;
}

/** The module and schema names of a reducer called `name`. */
export function reducerNames(name: string): ReducerNames {
  if (!/^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/.test(name)) {
    throw new AosError(
      "AOS_USAGE",
      `Invalid reducer name "${name}": use lowercase letters and digits, words joined by - or _ (e.g. hello, order-book)`,
    );
  }
  const pascal = pascalCase(name);
  return {
    file: name.replaceAll("-", "_"),
    module: `${NEW_NAMESPACE}/${pascal}@1`,
    state: `${NEW_NAMESPACE}/${pascal}State@1`,
    event: `${NEW_NAMESPACE}/${pascal}Event@1`,
  };
}

/** The import map of a user's world: this project's entry points, and the npm packages they import. */
export function worldImportMap(root: URL = projectRoot()): Record<string, string> {
  return {
    "@aos/agentos": new URL("mod.ts", root).href,
    "@aos/testkit": new URL("testkit/mod.ts", root).href,
    "@aos/build": new URL("sdk/mod.ts", root).href,
    ...denoConfig.imports,
  };
}

/** The files of a new reducer world, by path relative to its folder. */
export function scaffoldFiles(name: string, root: URL = projectRoot()): Map<string, string> {
  const n = reducerNames(name);
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  const files = new Map<string, string>();
  files.set(
    "deno.json",
    json({
      imports: worldImportMap(root),
      compilerOptions: denoConfig.compilerOptions,
      tasks: {
        build: "deno run --allow-read --allow-write --allow-env build.ts",
        test: "deno test --allow-read --allow-write --allow-env",
      },
      lint: { exclude: ["reducer/"] },
    }),
  );
  files.set(".gitignore", ".aos/\n");
  files.set(
    "air/manifest.air.json",
    json({
      $kind: "manifest",
      schemas: [{ name: n.event }, { name: n.state }],
      modules: [{ name: n.module }],
      plans: [],
      caps: [],
      policies: [],
      routing: { events: [{ event: n.event, reducer: n.module }] },
    }),
  );
  files.set(
    "air/schemas.air.json",
    json([
      { $kind: "defschema", name: n.event, type: { record: { by: { nat: {} } } } },
      { $kind: "defschema", name: n.state, type: { record: { count: { nat: {} } } } },
    ]),
  );
  files.set(
    "air/module.air.json",
    json({
      $kind: "defmodule",
      name: n.module,
      module_kind: "reducer",
      wasm_hash: `sha256:${"0".repeat(64)}`,
      abi: { reducer: { state: n.state, event: n.event } },
    }),
  );
  files.set(`reducer/${n.file}.ts`, reducerSource(n));
  files.set("build.ts", buildScript(n));
  files.set(`${n.file}_test.ts`, testSource(n));
  files.set("README.md", readme(name, n));
  return files;
}

function reducerSource(n: ReducerNames): string {
  return `// AssemblyScript, compiled by \`deno task build\` into ../modules/${n.file}.wasm.
/**
 * ${n.module}: state \`${n.state} = {count: nat}\`, event \`${n.event} = {by: nat}\`.
 * The first call gets a null state (count 0); every event adds \`by\`.
 */
import { CborReader, CborWriter, Ctx, Event, Output, runReducer } from "@aos/sdk";

// The ABI exports: the SDK's \`alloc\`, and \`step\`, which runs \`reduce\` on the envelopes.
export { alloc } from "@aos/sdk";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  assert(event.schema == "${n.event}", "${n.file}: unknown event schema");
  const count = state === null ? <u64>0 : readNat(state, "count");
  const next = count + readNat(event.value, "by");
  assert(next >= count, "${n.file}: count overflows u64");
  return new Output(writeCount(next));
}

/** Reads a record \`{KEY: nat}\` of one field. */
function readNat(bytes: Uint8Array, key: string): u64 {
  const reader = CborReader.of(bytes);
  reader.expectMapHeader(1);
  reader.expectKey(key);
  const value = reader.readUint();
  reader.expectEnd();
  return value;
}

function writeCount(count: u64): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("count");
  writer.writeUint(count);
  return writer.finish();
}
`;
}

function buildScript(n: ReducerNames): string {
  return `/**
 * \`deno task build\`: compiles reducer/${n.file}.ts into modules/${n.file}.wasm and sets the \`wasm_hash\`
 * of ${n.module} in air/module.air.json (the hash \`aos air hash modules/${n.file}.wasm\` prints).
 */
import { buildReducer } from "@aos/build";

const built = await buildReducer({
  dir: import.meta.dirname!,
  source: "reducer/${n.file}.ts",
  wasm: "modules/${n.file}.wasm",
  moduleAir: "air/module.air.json",
  module: "${n.module}",
});
console.log(\`modules/${n.file}.wasm  \${built.bytes.length} bytes  \${built.wasmHash}\`);
console.log(built.stamped ? "air/module.air.json: wasm_hash updated" : "air/module.air.json: wasm_hash up to date");
`;
}

function testSource(n: ReducerNames): string {
  return `// Run \`deno task build\` first: the test loads air/ and the built modules/${n.file}.wasm.
import assert from "node:assert/strict";
import { TestWorld, worldFromFolder } from "@aos/testkit";

Deno.test("${n.module} adds up its events, and its journal replays", async () => {
  await using world = await TestWorld.create(await worldFromFolder(new URL(".", import.meta.url)));
  await world.send("${n.event}", { by: 2 });
  await world.send("${n.event}", { by: 3 });
  assert.deepEqual(world.state("${n.module}"), { count: 5n });
  await world.assertReplay();
});
`;
}

function readme(name: string, n: ReducerNames): string {
  return `# ${name}

A world with one reducer, ${n.module}, made by \`aos new reducer ${name}\`.

\`\`\`sh
deno task build                  # reducer/${n.file}.ts -> modules/${n.file}.wasm, stamps air/module.air.json
deno task test                   # the testkit test: ${n.file}_test.ts
aos air check air                # validate the AIR with the built module
aos init world --from .          # a world from this folder; then:
aos --world world event send ${n.event} '{"by": 2}'
aos --world world step
aos --world world state get ${n.module}
\`\`\`
`;
}

/** Runs `aos new reducer NAME [--dir DIR] [--force] [--json]`. */
export async function runNewReducer(
  io: CliIo,
  name: string,
  options: { dir?: string; force?: boolean; json?: boolean },
): Promise<number> {
  const files = scaffoldFiles(name);
  const root = projectRoot();
  for (const needed of ["testkit/mod.ts", "sdk/assemblyscript/assembly/index.ts"]) {
    if (!(await isFile(new URL(needed, root)))) {
      throw new AosError(
        "AOS_PATH_NOT_FOUND",
        `aos new needs the project's source folder, but "${
          new URL(needed, root).href
        }" is missing (a compiled aos has no SDK): install aos from the repository with \`deno task install\``,
      );
    }
  }
  const dir = resolvePath(io, options.dir ?? name);
  if (options.force !== true) await checkEmpty(dir);
  const written: string[] = [];
  for (const [path, text] of files) {
    const target = `${dir}/${path}`;
    await Deno.mkdir(target.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(target, text);
    written.push(path);
  }
  const names = reducerNames(name);
  if (options.json) {
    const value: JsonValue = {
      dir,
      module: names.module,
      schemas: [names.event, names.state],
      files: written,
    };
    printJson(io, value);
    return 0;
  }
  io.out(`Created ${names.module} in ${dir}`);
  for (const path of written) io.out(`  ${path}`);
  io.out(`Next: cd ${dir} && deno task build && deno task test && aos air check air`);
  return 0;
}

async function isFile(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch {
    return false;
  }
}

async function checkEmpty(dir: string): Promise<void> {
  const entries: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push(e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    if (error instanceof Deno.errors.NotADirectory) {
      throw new AosError("AOS_NOT_A_DIRECTORY", `"${dir}" is a file, not a folder`);
    }
    throw error;
  }
  if (entries.length > 0) {
    entries.sort();
    throw new AosError(
      "AOS_DIR_NOT_EMPTY",
      `"${dir}" is not empty (${entries.slice(0, 5).join(", ")}${
        entries.length > 5 ? ", …" : ""
      }): choose a new folder with --dir, or pass --force to write the files there anyway`,
    );
  }
}
