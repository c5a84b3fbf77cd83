/**
 * The floor of one counter event on this runtime: each piece a step or a replay cannot skip, timed alone in
 * a tight loop over the real entries of a counter world, so a note can say how close the whole path is to
 * the sum of its parts. Not part of `deno task bench`:
 *
 * ```sh
 * deno run -A bench/floor_bench.ts WORLD_DIR   # a counter world whose journal holds stepped events
 * ```
 *
 * Pieces: one reducer call through `ReducerHost` (input copied in, instance reset, fuel, output lent as the
 * kernel takes it), the input envelope's encoding and the output envelope's decoding, SHA-256 of an entry (the
 * hash chain),
 * its CRC32C (the frame), the canonical encoding of its body and the decoding of its bytes (which includes
 * its SHA-256). Then what an `aos step` process costs without events (start, open, exit), and the time an
 * event may take for a step of inboxBatchMax events to reach ratio 0.25 to the raw append, next to the floor.
 *
 * @module
 */
import { encodeCanonical, hashRefOf, limits, sha256 } from "../air/mod.ts";
import { crc32c, decodeEntry, encodeFrame, FsJournal, type JournalEntry } from "../journal/mod.ts";
import { decodeOutputEnvelope, encodeInputEnvelope, ReducerHost } from "../kernel/mod.ts";
import { worldPaths } from "../world/mod.ts";

/** The V8 flags the `aos` launcher runs with (`deno task install`, `aos`, `compile` in deno.json). */
const LAUNCHER_V8_FLAGS = "--max-semi-space-size=2,--no-concurrent-array-buffer-sweeping";
const CLI = decodeURIComponent(new URL("../cli.ts", import.meta.url).pathname);

const dir = Deno.args[0];
if (dir === undefined) {
  console.error("usage: deno run -A bench/floor_bench.ts WORLD_DIR");
  Deno.exit(2);
}
const journal = await FsJournal.open(worldPaths(dir).journal);
const entries: JournalEntry[] = [];
for (const entry of journal.entries()) if (entry.kind === "domain_event") entries.push(entry);
journal.close();
const n = entries.length;
if (n < 1000) throw new Error(`need at least 1,000 domain_event entries, found ${n}`);

/** Nanoseconds per item of the fastest of five rounds of `fn` over all items. */
function perItem(fn: () => void): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return (best * 1e6) / n;
}

const wasm = Deno.readFileSync(new URL("../examples/counter/modules/counter.wasm", import.meta.url));
const hash = hashRefOf(wasm);
const host = new ReducerHost();
host.load(hash, wasm);
const event = encodeCanonical({ by: 1n });
let state: Uint8Array | null = null;
const inputs: Uint8Array[] = [];
const outputs: Uint8Array[] = [];
for (let i = 0; i < n; i++) {
  const input: Uint8Array = encodeInputEnvelope({
    state,
    event: { schema: "demo/Increment@1", value: event },
    ctx: { key: null, cellMode: false },
  });
  inputs.push(input);
  const result = host.call(hash, input);
  if (!result.ok) throw new Error(result.message);
  outputs.push(result.output);
  state = decodeOutputEnvelope(result.output).state ?? state;
}

const CALL = "reducer call through ReducerHost (reset, fuel, input copied in, output lent)";
const INPUT = "input envelope encode";
const OUTPUT = "output envelope decode";
const SHA = "SHA-256 of an entry (hash chain)";
const CRC = "CRC32C of an entry (frame)";
const DECODE = "decode an entry, its SHA-256 included (replay)";
const ENCODE = "canonical encode of an entry's body";
const rows: Array<[string, number]> = [
  [
    CALL,
    perItem(() => {
      for (const input of inputs) host.callLent(hash, input);
    }),
  ],
  [
    INPUT,
    perItem(() => {
      for (let i = 0; i < n; i++) {
        encodeInputEnvelope({
          state: null,
          event: { schema: "demo/Increment@1", value: event },
          ctx: { key: null, cellMode: false },
        });
      }
    }),
  ],
  [
    OUTPUT,
    perItem(() => {
      for (const output of outputs) decodeOutputEnvelope(output);
    }),
  ],
  [
    SHA,
    perItem(() => {
      for (const entry of entries) sha256(entry.bytes);
    }),
  ],
  [
    CRC,
    perItem(() => {
      for (const entry of entries) crc32c(entry.bytes);
    }),
  ],
  [
    DECODE,
    perItem(() => {
      for (const entry of entries) decodeEntry(entry.bytes);
    }),
  ],
  [
    ENCODE,
    perItem(() => {
      for (const entry of entries) encodeCanonical(entry.body);
    }),
  ],
];

// The raw baseline of `deno task bench`, in this run: the entries' frames appended one write each, one fsync.
const rawDir = await Deno.makeTempDir({ prefix: "aos-floor-raw-" });
const frames = entries.map((entry) => encodeFrame(entry));
let rawNs = Infinity;
for (let round = 0; round < 3; round++) {
  const file = Deno.openSync(`${rawDir}/raw.log`, { write: true, create: true, truncate: true });
  const start = performance.now();
  for (const frame of frames) file.writeSync(frame);
  file.syncSync();
  rawNs = Math.min(rawNs, ((performance.now() - start) * 1e6) / n);
  file.close();
}
await Deno.remove(rawDir, { recursive: true });

const ns = Object.fromEntries(rows);
const show = (what: string, value: number) =>
  console.log(`${(value / 1000).toFixed(2).padStart(7)} µs  ${what}`);
console.log(`${n} domain_event entries of ${entries[0]!.bytes.length}–${entries[n - 1]!.bytes.length} bytes`);
for (const [what, value] of rows) show(what, value);
show("raw append + one fsync, per frame (the bench's baseline)", rawNs);
// A step must at least call the reducer, pass its envelopes, encode, hash and frame the entry; a replay must
// at least decode (and hash) the entry and call the reducer with its envelopes.
const step = ns[CALL]! + ns[INPUT]! + ns[OUTPUT]! + ns[ENCODE]! + ns[SHA]! + ns[CRC]!;
const replay = ns[DECODE]! + ns[CALL]! + ns[INPUT]! + ns[OUTPUT]!;
show(
  `step floor: ${Math.round(1e9 / step)} events/s, ratio ${(rawNs / step).toFixed(3)} to raw append`,
  step,
);
show(`replay floor: ${Math.round(1e9 / replay)} events/s, ratio ${(rawNs / replay).toFixed(3)}`, replay);

// What a whole `aos step` process pays besides its events: start, open the world, look at an empty inbox,
// exit (the fastest of three, on a copy of the world), as `deno task bench` runs it (the launcher's flags).
// The bench's step figure is one such process admitting its N events, at most inboxBatchMax (100,000).
const copy = await Deno.makeTempDir({ prefix: "aos-floor-world-" });
await copyTree(dir, copy);
let fixedSec = Infinity;
for (let round = 0; round < 3; round++) {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", `--v8-flags=${LAUNCHER_V8_FLAGS}`, "-A", CLI, "step", "--world", copy, "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`aos step failed: ${new TextDecoder().decode(out.stderr)}`);
  fixedSec = Math.min(fixedSec, (performance.now() - start) / 1000);
}
await Deno.remove(copy, { recursive: true });
const events = limits.inboxBatchMax;
const fixedNs = (fixedSec * 1e9) / events;
show(`an aos step process without events: ${fixedSec.toFixed(3)} s, per event of ${events}`, fixedNs);
// Ratio 0.25 to the raw append: N events in at most 4 × N raw frames' time, the fixed cost included.
const budget = 4 * rawNs - fixedNs;
show(
  `step budget of ratio 0.25 at ${events} events (4 × raw − fixed): ${
    budget >= step ? "at or above" : "below"
  } the step floor by ${(Math.abs(budget - step) / 1000).toFixed(2)} µs`,
  budget,
);

/** Copies the files under `from` to `to` (folders made as needed). */
async function copyTree(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) {
      await Deno.mkdir(`${to}/${entry.name}`, { recursive: true });
      await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    } else if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
