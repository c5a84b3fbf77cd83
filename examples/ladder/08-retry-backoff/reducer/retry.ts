// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 08, demo/RetrySM@1: a reducer-driven retry with timer back-off around a plan that does the work.
 *
 * - `demo/RetryStart@1 {job_id, max_attempts}` → `running`, attempt 1: emits `demo/WorkRequested@1
 *   {job_id, attempt}`, which triggers `demo/work_plan@1` (one HTTP POST); the plan raises
 *   `demo/WorkResult@1 {job_id, attempt, ok}` back.
 * - A result that is ok → `succeeded`. One that is not → `gave_up` at `max_attempts`, otherwise `waiting`:
 *   the reducer sets a timer (`timer.set`, key = job_id) `backoff(attempt)` after now — 1 s, 2 s, 4 s, …
 *   capped at 60 s — and records its deadline in `next_retry_ns`.
 * - `sys/TimerFired@1` for the job while `waiting` → the next attempt: `running`, WorkRequested again.
 *
 * A result for another job or attempt, or a stray timer, changes nothing; a Start while a job runs traps.
 * State `demo/RetryState@1 {stage, job_id, attempt, max_attempts, next_retry_ns?}`. Compiled by
 * `deno task build:examples` into ../modules/retry.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../../sdk/assemblyscript/assembly/index";

/** First back-off: 1 s; each later one doubles, up to BACKOFF_MAX_NS. */
const BACKOFF_BASE_NS: u64 = 1_000_000_000;
const BACKOFF_MAX_NS: u64 = 60_000_000_000;

export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

class RetryState {
  stage: string = "";
  jobId: string = "";
  attempt: u64 = 0;
  maxAttempts: u64 = 0;
  hasNextRetry: bool = false;
  nextRetryNs: u64 = 0;
}

/** The wait after failed attempt `attempt` (1-based). */
function backoff(attempt: u64): u64 {
  if (attempt > 6) return BACKOFF_MAX_NS;
  const delay = BACKOFF_BASE_NS << (attempt - 1);
  return delay < BACKOFF_MAX_NS ? delay : BACKOFF_MAX_NS;
}

function reduce(state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  if (event.schema == "demo/RetryStart@1") {
    if (state !== null) {
      const stage = readState(state).stage;
      assert(stage == "succeeded" || stage == "gave_up", "retry: a job is running");
    }
    const job = new RetryState();
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(2);
    reader.expectKey("job_id");
    job.jobId = reader.readText();
    reader.expectKey("max_attempts");
    job.maxAttempts = reader.readUint();
    reader.expectEnd();
    assert(job.maxAttempts > 0, "retry: max_attempts must be at least 1");
    job.attempt = 1;
    return request(job);
  }
  if (state === null) return new Output(null);
  const job = readState(state);
  if (event.schema == "demo/WorkResult@1") {
    let jobId = "";
    let attempt: u64 = 0;
    let ok = false;
    const reader = CborReader.of(event.value);
    const entries = reader.readMapHeader();
    for (let i = 0; i < entries; i++) {
      const field = reader.readText();
      if (field == "ok") ok = reader.readBool();
      else if (field == "job_id") jobId = reader.readText();
      else if (field == "attempt") attempt = reader.readUint();
      else reader.skip();
    }
    reader.expectEnd();
    if (job.stage != "running" || jobId != job.jobId || attempt != job.attempt) return new Output(state);
    if (ok) {
      job.stage = "succeeded";
      return new Output(writeState(job));
    }
    if (job.attempt >= job.maxAttempts) {
      job.stage = "gave_up";
      return new Output(writeState(job));
    }
    assert(ctx.hasNowNs, "retry: the host sent no ctx.now_ns");
    job.stage = "waiting";
    job.hasNextRetry = true;
    job.nextRetryNs = ctx.nowNs + backoff(job.attempt);
    return new Output(writeState(job)).effect("timer.set", writeTimerSet(job), "timer");
  }
  assert(event.schema == "sys/TimerFired@1", "retry: unknown event schema");
  if (job.stage != "waiting" || timerKey(event.value) != job.jobId) return new Output(state);
  job.attempt += 1;
  job.hasNextRetry = false;
  return request(job);
}

/** `running`, and emits `demo/WorkRequested@1 {job_id, attempt}` (canonical order). */
function request(job: RetryState): Output {
  job.stage = "running";
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("job_id");
  writer.writeText(job.jobId);
  writer.writeText("attempt");
  writer.writeUint(job.attempt);
  return new Output(writeState(job)).emit("demo/WorkRequested@1", writer.finish());
}

/** `sys/TimerSetParams@1 {key, deliver_at_ns}`. */
function writeTimerSet(job: RetryState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("key");
  writer.writeText(job.jobId);
  writer.writeText("deliver_at_ns");
  writer.writeUint(job.nextRetryNs);
  return writer.finish();
}

/** `requested.key` of a `sys/TimerFired@1` ("" when none). */
function timerKey(value: Uint8Array): string {
  let key = "";
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    if (reader.readText() != "requested") {
      reader.skip();
      continue;
    }
    const fields = reader.readMapHeader();
    for (let j = 0; j < fields; j++) {
      if (reader.readText() == "key") key = reader.readText();
      else reader.skip();
    }
  }
  reader.expectEnd();
  return key;
}

/** `{stage, job_id, attempt, max_attempts, next_retry_ns?}` in canonical key order. */
function readState(state: Uint8Array): RetryState {
  const out = new RetryState();
  const reader = CborReader.of(state);
  const entries = reader.readMapHeader();
  reader.expectKey("stage");
  out.stage = reader.readText();
  reader.expectKey("job_id");
  out.jobId = reader.readText();
  reader.expectKey("attempt");
  out.attempt = reader.readUint();
  reader.expectKey("max_attempts");
  out.maxAttempts = reader.readUint();
  if (entries == 5) {
    reader.expectKey("next_retry_ns");
    out.hasNextRetry = true;
    out.nextRetryNs = reader.readUint();
  }
  reader.expectEnd();
  return out;
}

function writeState(job: RetryState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(job.hasNextRetry ? 5 : 4);
  writer.writeText("stage");
  writer.writeText(job.stage);
  writer.writeText("job_id");
  writer.writeText(job.jobId);
  writer.writeText("attempt");
  writer.writeUint(job.attempt);
  writer.writeText("max_attempts");
  writer.writeUint(job.maxAttempts);
  if (job.hasNextRetry) {
    writer.writeText("next_retry_ns");
    writer.writeUint(job.nextRetryNs);
  }
  return writer.finish();
}
