/**
 * Tidy checks (TigerBeetle's tidy.zig in spirit): the deterministic core must not reach for ambient
 * time, randomness or I/O, and imports must point one way.
 */
import assert from "node:assert/strict";

const BANNED = [
  /\bDate\.now\b/,
  /\bnew Date\b/,
  /\bMath\.random\b/,
  /\bperformance\.now\b/,
  /\bcrypto\.randomUUID\b/,
  /\bcrypto\.getRandomValues\b/,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bfetch\(/,
];

/** Source files of `dir` and its subfolders, tests and test helpers (`_test*`, `*_test*`) left out. */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && e.name !== "testdata") out.push(...await sourceFiles(`${dir}/${e.name}`));
    else if (e.isFile && e.name.endsWith(".ts") && !/(^_test|_test)\w*\.ts$/.test(e.name)) {
      out.push(`${dir}/${e.name}`);
    }
  }
  return out.sort();
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("tidy: air/ and kernel/ use no ambient time, randomness or timers", async () => {
  const offenders: string[] = [];
  for (const dir of ["air", "kernel"]) {
    for (const file of await sourceFiles(dir)) {
      const text = stripComments(await Deno.readTextFile(file));
      for (const pattern of BANNED) if (pattern.test(text)) offenders.push(`${file}: ${pattern.source}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: sourceFiles() scans subfolders (air/expr/ is checked too)", async () => {
  const files = await sourceFiles("air");
  assert.ok(files.some((f) => f.startsWith("air/expr/")), files.join(", "));
});

Deno.test("tidy: air/ and kernel/ do not touch Deno APIs (no exemptions: the driver lives in world/)", async () => {
  const offenders: string[] = [];
  for (const dir of ["air", "kernel"]) {
    for (const file of await sourceFiles(dir)) {
      const text = stripComments(await Deno.readTextFile(file));
      if (/\bDeno\./.test(text)) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: imports point one way (cli → governance → world → kernel → journal/air)", async () => {
  const offenders: string[] = [];
  const rules: Array<[string, RegExp]> = [
    ["air", /from "(\.\.\/)+(kernel|journal|world|cli|adapters|governance|testkit)\//],
    ["journal", /from "(\.\.\/)+(kernel|world|cli|adapters|governance|testkit)\//],
    ["kernel", /from "(\.\.\/)+(world|cli|adapters|governance|testkit)\//],
    ["world", /from "(\.\.\/)+(cli|adapters|governance|testkit)\//],
  ];
  for (const [dir, pattern] of rules) {
    for (const file of await sourceFiles(dir)) {
      if (pattern.test(stripComments(await Deno.readTextFile(file)))) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});
