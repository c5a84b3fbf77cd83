/**
 * The run loop (KERNEL §2.7): admit the inbox, dispatch queued intents to adapters, admit receipts as they
 * come back (group commit of whatever is ready), until nothing is left to do or a deadline.
 *
 * @module
 */
import { limits } from "../air/mod.ts";
import type { AdapterDirectory } from "../kernel/mod.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { RunReport, World } from "./world.ts";

/** Options of {@linkcode runWorld}. */
export interface RunOptions {
  /** When to stop even if work is left (receipts in flight are then dropped). */
  deadline?: Promise<void>;
  /**
   * Release the world lock while waiting for receipts and timers, so other processes (`aos event send`) are
   * not blocked for the whole run. When another process wrote the journal meanwhile, the stale world is
   * closed and `reopen` must open it again; the loop goes on with that one (read it from `reopen`'s caller).
   */
  releaseWhileWaiting?: { reopen(): Promise<World> };
  /** Effects in flight at once (default `limits.effectsInFlightMax`); the rest wait in the outbox. */
  inflightMax?: number;
}

/**
 * Drives `world` until idle: admits the inbox, dispatches every outbox intent (only after the block that
 * queued it is fsynced — all journaled intents are), admits receipts as they arrive, and returns when the
 * inbox and outbox are empty, or at the deadline. Receipts still in flight at the deadline are dropped;
 * their intents stay in the outbox and are dispatched again next time (adapters are idempotent on the
 * intent hash).
 */
export async function runWorld(
  initial: World,
  directory: AdapterDirectory,
  options: RunOptions = {},
): Promise<RunReport> {
  let world = initial;
  const run: RunReport = {
    steps: [],
    receipts: 0,
    ignored: 0,
    dispatched: 0,
    idle: false,
    undispatchable: [],
  };
  const dispatcher = new Dispatcher({ inflightMax: options.inflightMax ?? limits.effectsInFlightMax });
  let timedOut = false;
  const deadline = options.deadline?.then(() => {
    timedOut = true;
  });
  for (let round = 0; round < limits.runRoundsMax; round++) {
    const step = await world.step();
    if (step.admitted > 0) run.steps.push(step);
    const dispatched = dispatcher.dispatch(world.kernel.outbox(), directory, world.secretAccess());
    run.dispatched += dispatched.dispatched;
    run.undispatchable = dispatched.undispatchable;
    if (dispatcher.inflight === 0 && dispatcher.readyCount === 0 && (await world.pendingInbox()) === 0) {
      run.idle = run.undispatchable.length === 0 &&
        !world.kernel.outbox().some((e) => dispatcher.isHeldBack(e.intentHash));
      break;
    }
    if (dispatcher.inflight === 0 && dispatcher.readyCount === 0) continue;
    const release = options.releaseWhileWaiting;
    if (release) world.releaseLock();
    let received: boolean;
    try {
      received = await dispatcher.waitForReceipt(deadline);
    } finally {
      if (release && !(await world.relock())) {
        // Another process admitted something meanwhile: this world is stale; open it again.
        world.close();
        world = await release.reopen();
      }
    }
    if (!received || timedOut) break;
    // Group commit: take every receipt that is ready now, not just the first.
    const admitted = await world.admitReceipts(dispatcher.takeReady(), directory);
    run.receipts += admitted.outcomes.filter((o) => !o.ignored).length;
    run.ignored += admitted.outcomes.filter((o) => o.ignored).length;
    for (const o of admitted.outcomes) if (o.ignored) dispatcher.holdBack(o.intentHash);
    run.steps.push(admitted);
  }
  return run;
}
