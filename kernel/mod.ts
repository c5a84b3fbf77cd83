/**
 * The AgentOS kernel: the pure deterministic stepper (`Kernel`), the WASM reducer host, replay, and the
 * world driver that journals, fsyncs and snapshots (`World`).
 *
 * @example Create a counter world, send events, read the state
 * ```ts
 * import assert from "node:assert/strict";
 * import { initWorld, readAirFolder, readWasmFolders, VirtualClock } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const example = new URL("../examples/counter", import.meta.url).pathname;
 * const world = await initWorld(dir, await readAirFolder(`${example}/air`), await readWasmFolders([`${example}/modules`]), {
 *   clock: new VirtualClock(),
 * });
 * await world.send([{ schema: "demo/Increment@1", value: { by: 2n } }]);
 * assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 2n });
 * world.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { type Clock, VirtualClock } from "./clock.ts";
export {
  type DerivedRecord,
  Kernel,
  type KernelEntry,
  type KernelRecord,
  type ReducerErrorCode,
  type WorldDefs,
} from "./kernel.ts";
export { type CallingConvention, type ReducerCallResult, ReducerHost } from "./reducer_host.ts";
export { type Divergence, isFedOnReplay, replayInto } from "./replay.ts";
export {
  divergenceError,
  type EventInput,
  restoreLatest,
  type StepReport,
  World,
  type WorldOptions,
  worldPaths,
} from "./world.ts";
export { AirInvalidError, initWorld, readAirFolder, readWasmFolders, type WasmFile } from "./init_world.ts";
export { type VerifyReport, verifyWorld } from "./verify.ts";
export { loadDefs } from "./defs.ts";
export { Inbox, type InboxBatch, type InboxEvent } from "./inbox.ts";
