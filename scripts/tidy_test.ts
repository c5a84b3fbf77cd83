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

/** Pure files: no Deno APIs either. The driver files of kernel/ are the only I/O there. */
const KERNEL_DRIVER_FILES = new Set([
  "world.ts",
  "inbox.ts",
  "init_world.ts",
  "verify.ts",
  "defs.ts",
  "head.ts",
  "receipt_inbox.ts",
]);

/** The non-test `.ts` files of `dir`; of its subfolders too for `air/`, whose folders are modules. */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && dir.split("/")[0] === "air") out.push(...await sourceFiles(`${dir}/${e.name}`));
    if (e.isFile && e.name.endsWith(".ts") && !/(^_test|_test)\w*\.ts$/.test(e.name)) {
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

Deno.test("tidy: air/ and the pure kernel files do not touch Deno APIs", async () => {
  const offenders: string[] = [];
  for (const dir of ["air", "kernel"]) {
    for (const file of await sourceFiles(dir)) {
      if (dir === "kernel" && KERNEL_DRIVER_FILES.has(file.split("/").pop()!)) continue;
      const text = stripComments(await Deno.readTextFile(file));
      if (/\bDeno\./.test(text)) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("tidy: imports point one way (air and journal never import kernel, cli or testkit)", async () => {
  const offenders: string[] = [];
  const rules: Array<[string, RegExp]> = [
    ["air", /from "(\.\.\/)+(kernel|journal|cli|adapters|governance|testkit)\//],
    ["journal", /from "\.\.\/(kernel|cli|adapters|governance|testkit)\//],
    ["kernel", /from "\.\.\/(cli|governance|testkit)\//],
  ];
  for (const [dir, pattern] of rules) {
    for (const file of await sourceFiles(dir)) {
      if (pattern.test(await Deno.readTextFile(file))) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});
