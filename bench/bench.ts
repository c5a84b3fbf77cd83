/**
 * `deno task bench`: events stepped per second (durable, batch ingest) and events replayed per second
 * on the counter world, against a raw append+fsync baseline measured in the same run.
 *
 * Usage: deno task bench [EVENTS]   (default 10000)
 *
 * @module
 */
import { SystemClock } from "../adapters/system_clock.ts";
import { encodeEntry, encodeFrame, ZERO_HASH } from "../journal/mod.ts";
import { initWorld, readAirFolder, readWasmFolders } from "../world/mod.ts";
import { World } from "../world/mod.ts";
import { verifyWorld } from "../world/mod.ts";

const events = Number(Deno.args[0] ?? 10_000);
const root = new URL("..", import.meta.url).pathname;
const clock = new SystemClock();

function seconds(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/** The largest resident set size seen at the end of a phase, in bytes. */
let peakRss = 0;
function sampleRss(): void {
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
}

async function baseline(
  frameCount: number,
): Promise<{ batchPerSec: number; eachPerSec: number; frameBytes: number }> {
  const dir = await Deno.makeTempDir({ prefix: "aos-bench-raw-" });
  // A frame as large as a counter domain_event entry, so the baseline writes the same bytes.
  const entry = encodeEntry(1, {
    kind: "domain_event",
    body: {
      schema: "demo/Increment@1",
      value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x02]),
      origin: { kind: "external", source: "inbox:1:0" },
      ingress_ns: 1_700_000_000_000_000_000n,
    },
  }, ZERO_HASH);
  const frame = encodeFrame(entry);
  let file = Deno.openSync(`${dir}/batch.log`, { append: true, create: true });
  let t = performance.now();
  for (let i = 0; i < frameCount; i++) file.writeSync(frame);
  file.syncSync();
  const batchPerSec = frameCount / seconds(t);
  file.close();
  const each = Math.min(frameCount, 1_000);
  file = Deno.openSync(`${dir}/each.log`, { append: true, create: true });
  t = performance.now();
  for (let i = 0; i < each; i++) {
    file.writeSync(frame);
    file.syncSync();
  }
  const eachPerSec = each / seconds(t);
  file.close();
  await Deno.remove(dir, { recursive: true });
  return { batchPerSec, eachPerSec, frameBytes: frame.length };
}

async function counterWorld(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "aos-bench-world-" });
  const world = await initWorld(
    dir,
    await readAirFolder(`${root}examples/counter/air`),
    await readWasmFolders([`${root}examples/counter/modules`]),
    { clock },
  );
  world.close();
  return dir;
}

const raw = await baseline(events);
const dir = await counterWorld();
const inputs = Array.from(
  { length: events },
  (_, i) => ({ schema: "demo/Increment@1", value: BigInt(1 + (i % 5)) }),
)
  .map((e) => ({ schema: e.schema, value: { by: e.value } }));

let world = await World.open(dir, { clock });
let t = performance.now();
await world.enqueue(inputs);
const enqueueSec = seconds(t);
t = performance.now();
const report = await world.step();
const stepSec = seconds(t);
sampleRss();
world.close();
if (report.admitted !== events) throw new Error(`admitted ${report.admitted} of ${events}`);

t = performance.now();
const verify = await verifyWorld(dir);
const verifySec = seconds(t);
sampleRss();
if (!verify.ok) throw new Error(`verify failed: ${JSON.stringify(verify.divergence ?? verify.error)}`);

t = performance.now();
world = await World.open(dir, { clock });
const openSec = seconds(t);
sampleRss();
const height = world.height;
world.close();

// The library path without the inbox: one send() of all events, one fsync.
const dir2 = await counterWorld();
world = await World.open(dir2, { clock });
t = performance.now();
await world.send(inputs);
const sendSec = seconds(t);
world.close();

const stepPerSec = events / stepSec;
const replayPerSec = events / verifySec;
const rows: Array<[string, string]> = [
  ["events", String(events)],
  ["raw append, one fsync (frames/s)", raw.batchPerSec.toFixed(0)],
  ["raw append, fsync each (frames/s)", raw.eachPerSec.toFixed(0)],
  ["aos event send (validate + inbox, events/s)", (events / enqueueSec).toFixed(0)],
  ["aos step (durable batch ingest, events/s)", stepPerSec.toFixed(0)],
  ["World.send (no inbox, events/s)", (events / sendSec).toFixed(0)],
  ["replay --verify from genesis (events/s)", replayPerSec.toFixed(0)],
  ["open (snapshot + tail) seconds", openSec.toFixed(3)],
  ["peak RSS after step, verify, open (MB)", (peakRss / 1e6).toFixed(0)],
  ["step / raw batch ratio", (stepPerSec / raw.batchPerSec).toFixed(4)],
  ["replay / raw batch ratio", (replayPerSec / raw.batchPerSec).toFixed(4)],
  ["journal height", String(height)],
  ["frame bytes", String(raw.frameBytes)],
];
for (const [k, v] of rows) console.log(`${k.padEnd(46)} ${v}`);
await Deno.remove(dir, { recursive: true });
await Deno.remove(dir2, { recursive: true });

const runtimeRows = await (await import("./runtime_bench.ts")).runtimeBench(
  Number(Deno.args[1] ?? 500),
  Number(Deno.args[2] ?? 10_000),
);
for (const [k, v] of runtimeRows) console.log(`${k.padEnd(46)} ${v}`);
