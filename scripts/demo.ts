/**
 * `deno task demo`: creates a counter world in a fresh folder, sends events, steps, prints the state
 * and verifies replay — the same commands a user types, run in-process through the CLI.
 *
 * @module
 */
import { runCli } from "../cli/main.ts";

const dir = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "aos-demo-" });
const events = `${dir}.events.jsonl`;
await Deno.writeTextFile(
  events,
  [3, 4, 1].map((by) => JSON.stringify({ schema: "demo/Increment@1", value: { by } })).join("\n") + "\n",
);

const script: string[][] = [
  ["init", dir, "--template", "counter"],
  ["--world", dir, "event", "send", "demo/Increment@1", '{"by": 2}'],
  ["--world", dir, "event", "send", "--file", events],
  ["--world", dir, "step"],
  ["--world", dir, "state", "get", "demo/Counter@1"],
  ["--world", dir, "info"],
  ["--world", dir, "journal", "show"],
  ["--world", dir, "replay", "--verify"],
];

for (const args of script) {
  console.log(`\n$ aos ${args.map((a) => (/^[\w@/.:=-]+$/.test(a) ? a : `'${a}'`)).join(" ")}`);
  const code = await runCli(args);
  if (code !== 0) {
    console.error(`demo: "aos ${args.join(" ")}" exited ${code}`);
    Deno.exit(code);
  }
}
await Deno.remove(events);
console.log(`\nThe world lives in ${dir} (try: deno task aos --world ${dir} journal show --json)`);
