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
export async function scaffoldFiles(name: string, root: URL = projectRoot()): Promise<Map<string, string>> {
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
  for (const [template, path] of SCAFFOLD_TEMPLATES) {
    files.set(path(n), await fillTemplate(template, name, n));
  }
  return files;
}

/** The template files of a new reducer world (`cli/templates/new_reducer/`), by their path in it. */
const SCAFFOLD_TEMPLATES: ReadonlyArray<[template: string, path: (n: ReducerNames) => string]> = [
  ["reducer.ts.tmpl", (n) => `reducer/${n.file}.ts`],
  ["build.ts.tmpl", () => "build.ts"],
  ["test.ts.tmpl", (n) => `${n.file}_test.ts`],
  ["README.md.tmpl", () => "README.md"],
];

/** A template with `{{name}}`, `{{file}}`, `{{module}}`, `{{state}}` and `{{event}}` filled in. */
async function fillTemplate(template: string, name: string, n: ReducerNames): Promise<string> {
  const text = await Deno.readTextFile(new URL(`templates/new_reducer/${template}`, import.meta.url));
  const values: Record<string, string> = { name, ...n };
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/** Runs `aos new reducer NAME [--dir DIR] [--force] [--json]`. */
export async function runNewReducer(
  io: CliIo,
  name: string,
  options: { dir?: string; force?: boolean; json?: boolean },
): Promise<number> {
  reducerNames(name);
  const root = projectRoot();
  const needs = [
    "testkit/mod.ts",
    "sdk/assemblyscript/assembly/index.ts",
    "cli/templates/new_reducer/build.ts.tmpl",
  ];
  for (const needed of needs) {
    if (!(await isFile(new URL(needed, root)))) {
      throw new AosError(
        "AOS_PATH_NOT_FOUND",
        `aos new needs the project's source folder, but "${
          new URL(needed, root).href
        }" is missing (a compiled aos has no SDK): install aos from the repository with \`deno task install\``,
      );
    }
  }
  const files = await scaffoldFiles(name, root);
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
