/**
 * The world driver: a live kernel on injected ports (journal, CAS, clock, head, inbox, receipt drop box,
 * adapters). It admits inputs and receipts with group commit, runs effects through adapters, snapshots,
 * reopens from the latest snapshot plus the journal tail, and verifies replay. `World.open` wires the file
 * ports of a world folder (`.aos/`); `World.openOn` takes any ports, e.g. in-memory ones.
 *
 * @example Create a counter world, send events, read the state, verify replay
 * ```ts
 * import assert from "node:assert/strict";
 * import { VirtualClock } from "../kernel/mod.ts";
 * import { initWorld, readAirFolder, readWasmFolders, verifyWorld, World } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const example = new URL("../examples/counter", import.meta.url).pathname;
 * const clock = new VirtualClock();
 * (await initWorld(dir, await readAirFolder(`${example}/air`), await readWasmFolders([`${example}/modules`]), { clock }))
 *   .close();
 * const world = await World.open(dir, { clock });
 * await world.send([{ schema: "demo/Increment@1", value: { by: 2n } }]);
 * assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 2n });
 * world.close();
 * assert.equal((await verifyWorld(dir)).ok, true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  checkEventSize,
  checkReceiptSize,
  type EventInput,
  type FileWorld,
  type ReceiptReport,
  type RollbackReport,
  type RunReport,
  type StepReport,
  World,
  type WorldOptions,
  type WorldPorts,
  type WorldRunOptions,
} from "./world.ts";
export { type WorldPaths, worldPaths } from "./paths.ts";
export { EventCodec } from "./event_codec.ts";
export { Dispatcher, type DispatchRound } from "./dispatcher.ts";
export { EnvSecretResolver, resolveSecret, secretAccess, type SecretResolver } from "./secrets.ts";
export { type RunOptions, runWorld } from "./run_loop.ts";
export { checkHead, FileHeadStore, type Head, type HeadStore, MemoryHeadStore, requireHead } from "./head.ts";
export {
  batchCountOf,
  Inbox,
  type InboxBatch,
  type InboxBatchRef,
  type InboxEvent,
  type InboxRows,
  type InboxStore,
  MemoryInbox,
  RowInbox,
} from "./inbox.ts";
export {
  decodeReceiptFile,
  type DroppedReceipt,
  encodeReceiptFile,
  MemoryReceiptDropBox,
  type ReceiptDropBox,
  ReceiptInbox,
  registeredKeys,
  registeredKinds,
} from "./receipt_inbox.ts";
export {
  type AirSource,
  initWorld,
  readAirFolder,
  readWasmFolders,
  storeAirSource,
  validateAirSource,
  type WasmFile,
} from "./init_world.ts";
export { AirInvalidError, loadDefs, readNode } from "./load_defs.ts";
export { ControlPlaneLibrary } from "./content.ts";
export {
  divergenceError,
  genesisOf,
  type InboxPosition,
  lastAdmittedPosition,
  replayWithContent,
  restoreLatest,
  type UnusableSnapshot,
} from "./restore.ts";
export {
  type JournalVerifyReport,
  verifyJournal,
  verifyReplay,
  type VerifyReport,
  verifyWorld,
} from "./verify.ts";
export { openFilePorts, type WorldFileOptions } from "./file_ports.ts";
export { type RepairReport, repairWorld } from "./repair.ts";
export { type TransferReport, transferWorld } from "./transfer.ts";
export {
  type EffectPrice,
  parseWorldConfig,
  readWorldConfig,
  type StoreConfig,
  storeConfigJson,
  type WorldConfig,
} from "./config.ts";
