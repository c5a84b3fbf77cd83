/**
 * `deno run -A bench/open_bench.ts [EVENTS]` (default 1,000,000): how long `aos info` takes on a world of
 * EVENTS counter events against a fresh world, and its peak RSS (issue 9: opening reads only the tail).
 *
 * Building such a world through the reducer takes as long as replaying it, so the world is synthesized:
 * its journal is written directly (an external `demo/Increment@1` per event, a snapshot marker every 1,000
 * entries) with snapshots made from the kernel's own snapshot of the fresh world, the count patched in. Run
 * `aos replay --verify` on it to see that it is exactly what stepping would have written.
 *
 * @module
 */
import { type CborValue, decodeCanonical, encodeCanonical, hashRefToBytes } from "../air/mod.ts";
import { SystemClock } from "../adapters/mod.ts";
import { type EntryRecord, FsCas, FsJournal } from "../journal/mod.ts";
import { FileHeadStore } from "../world/mod.ts";
import { initWorld, readAirFolder, readWasmFolders, worldPaths } from "../world/mod.ts";

const events = Number(Deno.args[0] ?? 1_000_000);
const root = new URL("..", import.meta.url).pathname;
const SNAPSHOT_EVERY = 1_000;

/** A counter world of `count` events, written without running the reducer. */
async function syntheticWorld(count: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "aos-bench-open-" });
  const world = await initWorld(
    dir,
    await readAirFolder(`${root}examples/counter/air`),
    await readWasmFolders([`${root}examples/counter/modules`]),
    { clock: new SystemClock() },
  );
  const template = decodeCanonical(world.kernel.snapshot()) as { [key: string]: CborValue };
  const [genesis] = world.journal.entries(0);
  world.close();
  const paths = worldPaths(dir);
  const cas = new FsCas(paths.store);
  const journal = await FsJournal.open(paths.journal);
  let total = 0n;
  let height = journal.height;
  let lastSnapshot = 0;
  let ingressNs = genesis!.body.ingress_ns as bigint;
  let batch: EntryRecord[] = [];
  for (let i = 0; i < count; i++) {
    const by = BigInt(1 + (i % 5));
    ingressNs += 1_000n;
    batch.push({
      kind: "domain_event",
      body: {
        schema: "demo/Increment@1",
        value: encodeCanonical({ by }),
        origin: { kind: "external", source: `inbox:1:${i}` },
        ingress_ns: ingressNs,
      },
    });
    height++;
    total += by;
    if (height - lastSnapshot >= SNAPSHOT_EVERY) {
      const snapshot = {
        ...template,
        height,
        now_ns: ingressNs,
        reducers: [{ reducer: "demo/Counter@1", state: encodeCanonical({ count: total }) }],
      };
      const hash = await cas.put("blobs", encodeCanonical(snapshot));
      batch.push({ kind: "snapshot", body: { height, snapshot_hash: hashRefToBytes(hash) } });
      lastSnapshot = height++;
    }
    if (batch.length >= 10_000 || i === count - 1) {
      journal.append(batch);
      batch = [];
      await journal.sync();
    }
  }
  await new FileHeadStore(paths.head).write({
    height: journal.height,
    hash: journal.lastHash,
    inbox: count === 0 ? { batch: 0, index: -1 } : { batch: 1, index: count - 1 },
    failures: 0,
  });
  journal.close();
  return dir;
}

/** Runs `aos ARGS` on `dir`; its wall time (best of `runs`) and peak RSS (from /usr/bin/time, if present). */
async function aos(
  dir: string,
  runs: number,
  ...args: string[]
): Promise<{ seconds: number; rssMb?: number }> {
  const timer = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  let best = Infinity;
  let rssMb: number | undefined;
  for (let run = 0; run < runs; run++) {
    const cli = [Deno.execPath(), "run", "-A", `${root}cli.ts`, "--world", dir, ...args];
    const command = timer ? ["/usr/bin/time", "-f", "%M", ...cli] : cli;
    const t = performance.now();
    const output = await new Deno.Command(command[0]!, {
      args: command.slice(1),
      stdout: "null",
      stderr: "piped",
    })
      .output();
    best = Math.min(best, (performance.now() - t) / 1000);
    if (!output.success) {
      throw new Error(`aos ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    if (timer) {
      const kb = Number(new TextDecoder().decode(output.stderr).trim().split("\n").at(-1));
      rssMb = Math.max(rssMb ?? 0, kb / 1024);
    }
  }
  return rssMb === undefined ? { seconds: best } : { seconds: best, rssMb };
}

const fresh = await syntheticWorld(0);
const big = await syntheticWorld(events);
await aos(big, 1, "info"); // the first open stores the tail checkpoint
const freshInfo = await aos(fresh, 3, "info");
const bigInfo = await aos(big, 3, "info");
const rows: Array<[string, string]> = [
  ["events", String(events)],
  ["aos info, fresh world (s, best of 3)", freshInfo.seconds.toFixed(3)],
  [`aos info, ${events}-event world (s, best of 3)`, bigInfo.seconds.toFixed(3)],
  ["ratio", (bigInfo.seconds / freshInfo.seconds).toFixed(2)],
  [
    "aos info peak RSS, fresh / big (MB)",
    `${freshInfo.rssMb?.toFixed(0) ?? "?"} / ${bigInfo.rssMb?.toFixed(0) ?? "?"}`,
  ],
];
for (const [k, v] of rows) console.log(`${k.padEnd(46)} ${v}`);
await Deno.remove(fresh, { recursive: true });
await Deno.remove(big, { recursive: true });
