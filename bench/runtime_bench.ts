/**
 * Runtime throughput (issue: plans, effects, cells): the `fetch-notify` world (reducer → triggered plan →
 * real http.request to a local server → receipt → raised result) and the `cells` world with 10,000
 * distinct cells. Prints step and replay throughput, and what an event to an existing cell costs with one
 * cell and with 10,000 (issue 9: within 1.5×), the two worlds taking turns. Called by `bench/bench.ts`.
 *
 * @module
 */
import { createWorldAdapters, SystemClock } from "../adapters/mod.ts";
import { FsCas } from "../journal/mod.ts";
import type { AdapterDirectory } from "../kernel/mod.ts";
import { initWorld, readAirFolder, readWasmFolders } from "../world/mod.ts";
import { verifyWorld } from "../world/mod.ts";
import { World, worldPaths } from "../world/mod.ts";

const root = new URL("..", import.meta.url).pathname;
const clock = new SystemClock();

async function exampleWorld(name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `aos-bench-${name}-` });
  const example = `${root}examples/${name}`;
  (await initWorld(
    dir,
    await readAirFolder(`${example}/air`),
    await readWasmFolders([`${example}/modules`]),
    { clock },
  ))
    .close();
  return dir;
}

function seconds(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/**
 * Seconds of the fastest of three `replay --verify` runs of the world at `dir`: one run of these small
 * worlds lasts under a second in a process that has just stepped and run them, and a garbage collection of
 * that process's heap in it moved single figures by up to 2×.
 */
async function bestVerify(dir: string, what: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const verify = await verifyWorld(dir);
    best = Math.min(best, seconds(t));
    if (!verify.ok) throw new Error(`${what}: verify failed`);
  }
  return best;
}

/** Events per world of {@linkcode cellEventsUs}: enough for several snapshots of 10,000 cells, whose cost it includes. */
const CELL_EVENTS = 20_000;

/** Events per durable send of {@linkcode cellEventsUs}. */
const CELL_SEND_EVENTS = 2_000;

/** A durable send of {@linkcode CELL_SEND_EVENTS} events to existing cells of `world`, which holds `keys`; seconds. */
async function cellSend(world: World, keys: number, at: number): Promise<number> {
  const batch = Array.from({ length: CELL_SEND_EVENTS }, (_, i) => ({
    schema: "demo/CellIncrement@1",
    value: { user: `u${((at + i) * 7_919) % keys}`, by: 1n },
  }));
  const t = performance.now();
  await world.send(batch);
  return seconds(t);
}

/**
 * Microseconds an event to an existing cell costs in a cells world of one cell (a fresh one) and in `many`,
 * holding `keys` cells: the mean over {@linkcode CELL_EVENTS} events each in durable sends of
 * {@linkcode CELL_SEND_EVENTS}, keys spread over all cells, snapshots included (a snapshot writes every
 * cell). The two worlds take turns, send by send, so a drift of the host's speed (a third within minutes on
 * the build machine) falls on both alike.
 */
async function cellEventsUs(many: World, keys: number): Promise<{ oneUs: number; manyUs: number }> {
  const dir = await exampleWorld("cells");
  const one = await World.open(dir, { clock });
  try {
    await one.send([{ schema: "demo/CellIncrement@1", value: { user: "u0", by: 1n } }]);
    // A first round of each warms the JIT.
    await cellSend(one, 1, 0);
    await cellSend(many, keys, 0);
    let oneSec = 0;
    let manySec = 0;
    for (let at = 0; at < CELL_EVENTS; at += CELL_SEND_EVENTS) {
      oneSec += await cellSend(one, 1, at);
      manySec += await cellSend(many, keys, at);
    }
    return { oneUs: (oneSec * 1e6) / CELL_EVENTS, manyUs: (manySec * 1e6) / CELL_EVENTS };
  } finally {
    one.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Rows of `[label, value]`. */
export async function runtimeBench(requests: number, cells: number): Promise<Array<[string, string]>> {
  const rows: Array<[string, string]> = [];

  // fetch-notify against a local server on 127.0.0.1.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
  try {
    const dir = await exampleWorld("fetch-notify");
    const world = await World.open(dir, { clock });
    const url = `http://127.0.0.1:${server.addr.port}/ping`;
    const notify = Array.from(
      { length: requests },
      (_, i) => ({ schema: "demo/Notify@1", value: { request_id: `r${i}`, url } }),
    );
    let t = performance.now();
    await world.send(notify);
    const stepSec = seconds(t);
    const registry = await createWorldAdapters(dir, { clock, cas: new FsCas(worldPaths(dir).store) });
    const directory: AdapterDirectory = registry.directory();
    t = performance.now();
    const run = await world.run(directory);
    const runSec = seconds(t);
    registry.close();
    const height = world.height;
    world.close();
    if (run.receipts !== requests) throw new Error(`fetch-notify: ${run.receipts} receipts of ${requests}`);
    const verifySec = await bestVerify(dir, "fetch-notify");
    rows.push(["fetch-notify requests", String(requests)]);
    rows.push([
      "fetch-notify step: notify → plan start → effect queued (req/s)",
      (requests / stepSec).toFixed(0),
    ]);
    rows.push([
      "fetch-notify run: http round trip → receipt → raise (req/s)",
      (requests / runSec).toFixed(0),
    ]);
    rows.push(["fetch-notify replay --verify (entries/s, best of 3)", (height / verifySec).toFixed(0)]);
    rows.push(["fetch-notify journal entries", String(height)]);
    await Deno.remove(dir, { recursive: true });
  } finally {
    await server.shutdown();
  }

  // cells: one event per distinct key.
  const dir = await exampleWorld("cells");
  const world = await World.open(dir, { clock });
  const events = Array.from(
    { length: cells },
    (_, i) => ({ schema: "demo/CellIncrement@1", value: { user: `u${i}`, by: 1n } }),
  );
  let t = performance.now();
  await world.send(events);
  const stepSec = seconds(t);
  const count = world.kernel.cellsOf("demo/CellCounter@1").length;
  world.close();
  if (count !== cells) throw new Error(`cells: ${count} cells of ${cells}`);
  const verifySec = await bestVerify(dir, "cells");
  t = performance.now();
  const reopened = await World.open(dir, { clock });
  const openSec = seconds(t);
  // Then an event to an existing cell, with one cell and with all of them.
  const { oneUs, manyUs } = await cellEventsUs(reopened, cells);
  reopened.close();
  rows.push(["cells", String(cells)]);
  rows.push(["cells step (events/s, one new cell each)", (cells / stepSec).toFixed(0)]);
  rows.push(["cells replay --verify (events/s, best of 3)", (cells / verifySec).toFixed(0)]);
  rows.push(["cells open (snapshot + tail) seconds", openSec.toFixed(3)]);
  rows.push(["cells: event to an existing cell, 1 cell (µs/event)", oneUs.toFixed(1)]);
  rows.push([`cells: event to an existing cell, ${cells} cells (µs/event)`, manyUs.toFixed(1)]);
  rows.push([`cells: ratio ${cells} / 1 cell`, (manyUs / oneUs).toFixed(2)]);
  await Deno.remove(dir, { recursive: true });
  return rows;
}
