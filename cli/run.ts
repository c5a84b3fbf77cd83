/**
 * `aos run`: dispatches effects to the world's adapters, waits for receipts and due timers, admits them,
 * and returns when idle (or at the timeout).
 *
 * @module
 */
import { AosError } from "../air/mod.ts";
import { createWorldAdapters } from "../adapters/mod.ts";
import type { AdapterDirectory } from "../kernel/mod.ts";
import { type FileWorld, readWorldConfig, runWorld, worldPaths } from "../world/mod.ts";
import { count } from "./render.ts";
import { type CliIo, openWorld, printJson } from "./context.ts";

/** Parses `30s`, `500ms`, `2m`, `1h` or a plain number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new AosError("AOS_USAGE", `Invalid duration "${text}": use e.g. 500ms, 30s, 2m`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const ms = n * (unit === "ms" ? 1 : unit === "s" ? 1_000 : unit === "m" ? 60_000 : 3_600_000);
  // A timer cannot wait longer: beyond this, setTimeout fires at once.
  if (ms > TIMEOUT_MS_MAX) {
    throw new AosError(
      "AOS_USAGE",
      `Invalid duration "${text}": at most ${TIMEOUT_MS_MAX}ms (about 24 days)`,
    );
  }
  return ms;
}

/** The longest wait a timer supports (2^31 - 1 ms). */
const TIMEOUT_MS_MAX = 2_147_483_647;

/** `aos run [--until-idle] [--timeout 30s] [--json]`. */
export async function runRun(
  io: CliIo,
  worldOption: string | undefined,
  options: { untilIdle?: boolean; timeout?: string; json?: boolean },
): Promise<number> {
  const timeoutMs = parseDuration(options.timeout ?? "30s");
  let world: FileWorld = await openWorld(io, worldOption);
  const config = await readWorldConfig(worldPaths(world.dir).config);
  const registry = await createWorldAdapters(world.dir, {
    clock: io.clock,
    cas: world.cas,
    getEnv: (name) => io.env(name),
    // A receipt carries no reason: say on stderr why an effect failed (never a secret's value).
    onFailure: (f) => io.err(`warning: ${f.kind} ${f.intentHash} ${f.status}: ${f.reason}`),
    ...config,
  });
  const directory: AdapterDirectory = registry.directory();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    const heightBefore = world.height;
    // The world lock is released while the loop waits for receipts and timers, so `aos event send` (and
    // `aos step`) from other processes go through; a world another process changed is opened again.
    const report = await runWorld(world, directory, {
      deadline,
      ...(config.effectsInflightMax === undefined ? {} : { inflightMax: config.effectsInflightMax }),
      releaseWhileWaiting: {
        reopen: async () => (world = await openWorld(io, world.dir)),
      },
    });
    const pending = world.kernel.outbox().length;
    const summary = {
      idle: report.idle,
      height_before: BigInt(heightBefore),
      height: BigInt(world.height),
      dispatched: BigInt(report.dispatched),
      receipts: BigInt(report.receipts),
      ignored: BigInt(report.ignored),
      pending_intents: BigInt(pending),
      reducer_errors: report.steps.flatMap((s) => s.reducerErrors).map((e) => ({
        seq: BigInt(e.seq),
        reducer: e.reducer,
        code: e.code,
        message: e.message,
      })),
      plans: world.kernel.plans().map((p) => ({ id: p.id, plan: p.plan, status: p.status })),
    };
    if (options.json) printJson(io, summary);
    else {
      io.out(
        `${report.idle ? "Idle" : "Stopped at the timeout"}: height ${heightBefore} -> ${world.height}, ` +
          `${report.dispatched} dispatched, ${
            count(report.receipts, "receipt")
          }, ${report.ignored} ignored, ` +
          `${pending} pending`,
      );
      for (const e of summary.reducer_errors) io.out(`  seq ${e.seq}: ${e.reducer}: ${e.code}: ${e.message}`);
      for (const u of report.undispatchable) io.out(`  no adapter for ${u.kind} (${u.intentHash})`);
    }
    return 0;
  } finally {
    clearTimeout(timer);
    registry.close();
    world.close();
    await world.closed;
  }
}
