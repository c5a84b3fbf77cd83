/**
 * Fixtures of the world tests: the counter example and spec worlds created on disk (the pure kernel's
 * fixtures, `kernel/_test_fixtures.ts`, describe them).
 *
 * @module
 */
import { VirtualClock } from "../kernel/mod.ts";
import {
  airFiles,
  COUNTER_AIR_DIR,
  COUNTER_MODULES_DIR,
  T0_NS,
  WASM_PATHS,
  wasmBytes,
  type WorldSpec,
} from "../kernel/_test_fixtures.ts";
import { initWorld, readAirFolder, readWasmFolders } from "./init_world.ts";
import type { FileWorld } from "./world.ts";

/** Creates the counter example world in `dir` from `examples/counter`. */
export async function initCounterWorld(dir: string): Promise<{ world: FileWorld; clock: VirtualClock }> {
  const clock = new VirtualClock(T0_NS);
  const air = await readAirFolder(COUNTER_AIR_DIR);
  const wasm = await readWasmFolders([COUNTER_MODULES_DIR]);
  const world = await initWorld(dir, air, wasm, { clock });
  return { world, clock };
}

/** Creates a world for `spec` in `dir` (AIR authored in memory, wasm from the test reducers). */
export async function initSpecWorld(
  dir: string,
  spec: WorldSpec,
): Promise<{ world: FileWorld; clock: VirtualClock }> {
  const clock = new VirtualClock(T0_NS);
  const wasm = [...new Set(spec.modules.map((m) => m.wasm))].map((name) => ({
    path: WASM_PATHS[name],
    bytes: wasmBytes(name),
  }));
  const world = await initWorld(dir, airFiles(spec), wasm, { clock });
  return { world, clock };
}
