import assert from "node:assert/strict";

/** Adapters depend on the kernel's ports and the data layers, never on drivers, the CLI or the testkit. */
Deno.test("tidy: adapters/ imports only air/, journal/ and the kernel's ports (effects, clock) and mod.ts", async () => {
  const allowedKernel = new Set(["effects.ts", "clock.ts", "mod.ts"]);
  const offenders: string[] = [];
  const dir = new URL(".", import.meta.url).pathname;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    // Doc examples may import anything; only the code counts.
    const text = (await Deno.readTextFile(`${dir}${entry.name}`)).replace(/\/\*[\s\S]*?\*\//g, "");
    for (const match of text.matchAll(/from "\.\.\/([^/"]+)\/([^"]+)"/g)) {
      const [, folder, file] = match;
      const ok = folder === "air" || folder === "journal" ||
        (folder === "kernel" && allowedKernel.has(file!));
      if (!ok) offenders.push(`${entry.name}: ../${folder}/${file}`);
    }
  }
  assert.deepEqual(offenders.sort(), []);
});
