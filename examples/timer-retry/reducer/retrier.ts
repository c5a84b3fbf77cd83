// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * demo/Retrier@1: retries a job with timer backoff until it has made `attempts_max` attempts.
 *
 * - `demo/Job@1 {id, attempts_max}` starts a job: attempts 0, and (unless `attempts_max` is 0) a
 *   `timer.set` micro-effect with `deliver_at_ns = ctx.now_ns + backoff(0)` and `key = id`.
 * - `sys/TimerFired@1` (the receipt of that timer, KERNEL §4) counts one attempt; the job is done when
 *   attempts reach `attempts_max`, otherwise the next timer is set `backoff(attempts)` after now.
 *
 * State `demo/RetrierState@1 {id, done, attempts, next_at_ns?, attempts_max}`; `next_at_ns` is the
 * deadline of the timer in flight (absent when none). The effect names no cap slot, so the kernel uses
 * the slot `default`, bound to the `timer_cap` grant in the manifest.
 *
 * AssemblyScript, compiled by `deno task build:examples` into ../modules/retrier.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../sdk/assemblyscript/assembly/index";

/** First retry delay: 10 ms in ns; each later attempt waits twice as long, up to BACKOFF_MAX_NS. */
const BACKOFF_BASE_NS: u64 = 10_000_000;
/** Longest delay between attempts: 1 s. */
const BACKOFF_MAX_NS: u64 = 1_000_000_000;

/** The ABI exports (KERNEL §3.1–3.2): the SDK's `alloc`, and `step`, which runs `reduce` on the envelopes. */
export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

/** `demo/RetrierState@1`. */
class RetrierState {
  id: string = "";
  done: bool = false;
  attempts: u64 = 0;
  hasNextAt: bool = false;
  nextAtNs: u64 = 0;
  attemptsMax: u64 = 0;
}

function reduce(state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  if (event.schema == "demo/Job@1") return startJob(state, event.value, ctx);
  if (event.schema == "sys/TimerFired@1") return timerFired(state, event.value, ctx);
  // Anything else was routed here by mistake; trapping discards the step (KERNEL §3.5).
  abort("retrier: unknown event schema");
  return new Output(state);
}

/** Delay before attempt `attempts + 1`: 10 ms, 20 ms, 40 ms, … capped at 1 s. */
function backoff(attempts: u64): u64 {
  if (attempts >= 7) return BACKOFF_MAX_NS; // 10 ms << 7 is already above the cap
  const delay = BACKOFF_BASE_NS << attempts;
  return delay < BACKOFF_MAX_NS ? delay : BACKOFF_MAX_NS;
}

function startJob(state: Uint8Array | null, value: Uint8Array, ctx: Ctx): Output {
  if (state !== null) {
    // One job at a time: a second one would leave the first job's timer to be counted against it.
    assert(readState(state).done, "retrier: a job is already running");
  }
  const job = new RetrierState();
  const reader = CborReader.of(value);
  reader.expectMapHeader(2);
  reader.expectKey("id");
  job.id = reader.readText();
  reader.expectKey("attempts_max");
  job.attemptsMax = reader.readUint();
  reader.expectEnd();
  if (job.attemptsMax == 0) {
    job.done = true;
    return new Output(writeState(job));
  }
  return armTimer(job, ctx);
}

function timerFired(state: Uint8Array | null, value: Uint8Array, ctx: Ctx): Output {
  const fired = readTimerFired(value);
  if (state === null) return new Output(null); // no job (the state was reset): nothing to retry
  const job = readState(state);
  // A timer of an earlier job, or one that fires after the job finished: not an attempt of this job.
  if (job.done || !fired.hasKey || fired.key != job.id) return new Output(state);
  // Every firing counts, whatever its status: a timer adapter that keeps failing must not keep the job
  // alive forever. (A status other than "ok" only means the wait may have been shorter.)
  job.attempts += 1;
  job.hasNextAt = false;
  if (job.attempts >= job.attemptsMax) {
    job.done = true;
    return new Output(writeState(job));
  }
  return armTimer(job, ctx);
}

/** Sets the timer for the next attempt and records its deadline in the state. */
function armTimer(job: RetrierState, ctx: Ctx): Output {
  assert(ctx.hasNowNs, "retrier: the host sent no ctx.now_ns");
  const deliverAt = ctx.nowNs + backoff(job.attempts);
  assert(deliverAt >= ctx.nowNs, "retrier: deadline overflows u64");
  job.hasNextAt = true;
  job.nextAtNs = deliverAt;
  return new Output(writeState(job)).effect("timer.set", writeTimerSetParams(deliverAt, job.id));
}

/** `sys/TimerSetParams@1 {deliver_at_ns: nat, key: option<text>}` with the key set. */
function writeTimerSetParams(deliverAtNs: u64, key: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("key");
  writer.writeText(key);
  writer.writeText("deliver_at_ns");
  writer.writeUint(deliverAtNs);
  return writer.finish();
}

/** What the reducer needs from `sys/TimerFired@1`: the key it set (`requested.key`). */
class TimerFired {
  hasKey: bool = false;
  key: string = "";
}

/**
 * `sys/TimerFired@1 {intent_hash, reducer, effect_kind, adapter_id, status, requested, receipt,
 * cost_cents?, signature}`: the fields are visited in whatever canonical order they come and the ones
 * this reducer does not use are skipped, so an optional field present or absent makes no difference.
 */
function readTimerFired(value: Uint8Array): TimerFired {
  const fired = new TimerFired();
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "effect_kind") {
      assert(reader.readText() == "timer.set", "retrier: TimerFired for another effect kind");
    } else if (field == "requested") {
      readRequested(reader, fired);
    } else {
      reader.skip();
    }
  }
  reader.expectEnd();
  return fired;
}

/** `requested`: `sys/TimerSetParams@1 {key?, deliver_at_ns}` (canonical order: `key` first). */
function readRequested(reader: CborReader, fired: TimerFired): void {
  const entries = reader.readMapHeader();
  assert(entries == 1 || entries == 2, "retrier: TimerSetParams needs deliver_at_ns and optional key");
  if (entries == 2) {
    reader.expectKey("key");
    fired.hasKey = true;
    fired.key = reader.readText();
  }
  reader.expectKey("deliver_at_ns");
  reader.readUint();
}

/** `demo/RetrierState@1` in canonical key order: id, done, attempts, next_at_ns?, attempts_max. */
function readState(state: Uint8Array): RetrierState {
  const job = new RetrierState();
  const reader = CborReader.of(state);
  const entries = reader.readMapHeader();
  assert(entries == 4 || entries == 5, "retrier: bad state");
  reader.expectKey("id");
  job.id = reader.readText();
  reader.expectKey("done");
  job.done = reader.readBool();
  reader.expectKey("attempts");
  job.attempts = reader.readUint();
  if (entries == 5) {
    reader.expectKey("next_at_ns");
    job.hasNextAt = true;
    job.nextAtNs = reader.readUint();
  }
  reader.expectKey("attempts_max");
  job.attemptsMax = reader.readUint();
  reader.expectEnd();
  return job;
}

function writeState(job: RetrierState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(job.hasNextAt ? 5 : 4);
  writer.writeText("id");
  writer.writeText(job.id);
  writer.writeText("done");
  writer.writeBool(job.done);
  writer.writeText("attempts");
  writer.writeUint(job.attempts);
  if (job.hasNextAt) {
    writer.writeText("next_at_ns");
    writer.writeUint(job.nextAtNs);
  }
  writer.writeText("attempts_max");
  writer.writeUint(job.attemptsMax);
  return writer.finish();
}
