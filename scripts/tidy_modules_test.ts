/**
 * Tidy checks for folder modules (the house style: a folder is a module, its `mod.ts` is its surface,
 * files starting with `_` are private to their folder). Applied to `air/`, whose subfolders are layered:
 *
 * - a file imports another folder of `air/` only through that folder's `mod.ts`, never an inner file;
 * - no inner file imports its own folder's `mod.ts` (that would be a cycle within the folder);
 * - the folders import each other without a cycle (tests included);
 * - every folder has a `mod.ts` with a `@module` doc and an `@example`, and `air/mod.ts` re-exports the
 *   public folders' `mod.ts` files and nothing else;
 * - code outside `air/` imports it through `air/mod.ts` only.
 *
 * Imports are read from the source text: static `import`/`export … from` at the start of a line (so doc
 * examples, which sit in comments, do not count) and dynamic `import("…")` outside comment lines.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const AIR = "air";
const SKIP_DIRS = new Set(["node_modules", "testdata", ".git"]);

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    if (entry.name.startsWith(".") || SKIP_DIRS.has(entry.name)) continue;
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await tsFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** The repo-relative paths a file imports by relative specifier. */
export function relativeImports(file: string, text: string): string[] {
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm)) {
    specifiers.push(match[1]!);
  }
  for (const match of text.matchAll(/^import\s*"([^"]+)"/gm)) specifiers.push(match[1]!);
  for (const line of text.split("\n")) {
    if (/^\s*(\*|\/\/)/.test(line)) continue;
    for (const match of line.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) specifiers.push(match[1]!);
  }
  return specifiers.filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => normalize(join(dirname(file), s)));
}

const isTest = (file: string) => /_test\.ts$/.test(file);

async function importsOf(files: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const file of files) out.set(file, relativeImports(file, await Deno.readTextFile(join(ROOT, file))));
  return out;
}

/** The folders of a directed graph that sit on a cycle, each cycle as `a -> b -> a`. */
export function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of [...(edges.get(node) ?? [])].sort()) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

const airFiles = (await tsFiles(AIR)).filter((file) => file !== `${AIR}/mod.ts`);
const airImports = await importsOf(airFiles);
const folderOf = (file: string) => dirname(file);
const airFolders = [...new Set(airFiles.map(folderOf))].filter((folder) => folder !== AIR).sort();

Deno.test("tidy: air/ folders import each other only through their mod.ts", () => {
  const offenders: string[] = [];
  for (const [file, targets] of airImports) {
    for (const target of targets) {
      if (!target.startsWith(`${AIR}/`) || folderOf(target) === folderOf(file)) continue;
      if (folderOf(target) === AIR || !target.endsWith("/mod.ts") || folderOf(target) !== dirname(target)) {
        offenders.push(`${file} -> ${target}`);
      } else if (target.split("/").length !== 3) {
        offenders.push(`${file} -> ${target} (not a direct subfolder)`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: no inner file of an air/ folder imports its own mod.ts", () => {
  const offenders: string[] = [];
  for (const [file, targets] of airImports) {
    if (file.endsWith("/mod.ts") || isTest(file)) continue;
    for (const target of targets) {
      if (target === `${folderOf(file)}/mod.ts`) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: the air/ folders import each other without a cycle", () => {
  const edges = new Map<string, Set<string>>(airFolders.map((folder) => [folder, new Set()]));
  for (const [file, targets] of airImports) {
    for (const target of targets) {
      if (target.startsWith(`${AIR}/`) && folderOf(target) !== folderOf(file)) {
        edges.get(folderOf(file))?.add(folderOf(target));
      }
    }
  }
  assert.deepEqual(folderCycles(edges), []);
});

Deno.test("tidy: folderCycles() finds a cycle between two folders", () => {
  const edges = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], [
    "d",
    new Set(["a"]),
  ]]);
  assert.deepEqual(folderCycles(edges), ["a -> b -> c -> a"]);
  assert.deepEqual(folderCycles(new Map([["a", new Set(["b"])], ["b", new Set<string>()]])), []);
});

Deno.test("tidy: every air/ folder is a module with a documented mod.ts; air/mod.ts re-exports them", async () => {
  const offenders: string[] = [];
  for (const folder of airFolders) {
    let text: string;
    try {
      text = await Deno.readTextFile(join(ROOT, folder, "mod.ts"));
    } catch {
      offenders.push(`${folder}: no mod.ts`);
      continue;
    }
    if (!/^\/\*\*[\s\S]*?@example[\s\S]*?@module[\s\S]*?\*\//.test(text)) {
      offenders.push(`${folder}/mod.ts: no leading doc comment with @example and @module`);
    }
  }
  const root = await Deno.readTextFile(join(ROOT, AIR, "mod.ts"));
  const reexported = [...root.matchAll(/^export \* from "\.\/([^"]+)\/mod\.ts";$/gm)].map((m) =>
    `${AIR}/${m[1]}`
  );
  const publicFolders = airFolders.filter((folder) => !folder.slice(AIR.length + 1).startsWith("_"));
  assert.deepEqual(offenders, []);
  assert.deepEqual(reexported.sort(), publicFolders, "air/mod.ts re-exports every public folder");
  const code = root.replace(/^\/\*\*[\s\S]*?\*\/\n/, "").replace(/^export \* from "[^"]+";\n/gm, "");
  assert.equal(code.trim(), "", "air/mod.ts holds nothing but its doc and the re-exports");
});

Deno.test("tidy: code outside air/ imports it through air/mod.ts", async () => {
  const others = (await tsFiles("")).filter((file) => !file.startsWith(`${AIR}/`));
  const offenders: string[] = [];
  for (const [file, targets] of await importsOf(others)) {
    for (const target of targets) {
      if (target.startsWith(`${AIR}/`) && target !== `${AIR}/mod.ts`) {
        offenders.push(`${file} -> ${relative(dirname(file), target)}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

/** The top-level folders that are modules (each with a `mod.ts`). */
const MODULE_FOLDERS = ["air", "journal", "kernel", "world", "adapters", "governance", "testkit"];
const topOf = (file: string) => file.split("/")[0]!;
const isTestCode = (file: string) =>
  isTest(file) || /\/_test[\w]*\.ts$/.test(file) || file.includes("/tests/") || file.includes("/testing/");

Deno.test("tidy: code imports another top-level folder only through its mod.ts", async () => {
  const files = (await tsFiles("")).filter((file) => !isTestCode(file) && file.includes("/"));
  const offenders: string[] = [];
  for (const [file, targets] of await importsOf(files)) {
    for (const target of targets) {
      const top = topOf(target);
      if (top === topOf(file) || !MODULE_FOLDERS.includes(top)) continue;
      if (target !== `${top}/mod.ts`) offenders.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: the top-level folders import each other without a cycle (tests included)", async () => {
  const files = (await tsFiles("")).filter((file) =>
    file.includes("/") && MODULE_FOLDERS.includes(topOf(file))
  );
  const edges = new Map<string, Set<string>>(MODULE_FOLDERS.map((folder) => [folder, new Set()]));
  for (const [file, targets] of await importsOf(files)) {
    for (const target of targets) {
      const top = topOf(target);
      if (top !== topOf(file) && MODULE_FOLDERS.includes(top)) edges.get(topOf(file))!.add(top);
    }
  }
  assert.deepEqual(folderCycles(edges), []);
});
