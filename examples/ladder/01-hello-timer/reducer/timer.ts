// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 01, demo/TimerSM@1: a reducer micro-effect. `demo/StartTimer@1 {key, delay_ns}` records the
 * deadline `ctx.now_ns + delay_ns` and emits `timer.set {deliver_at_ns, key}` through the cap slot
 * `timer`; the timer's receipt comes back as `sys/TimerFired@1`, and when its `requested.key` is the
 * state's key the reducer records `fired_at_ns` (the logical time of that block). A Start while a timer
 * is pending traps.
 *
 * State `demo/TimerState@1 {key, deadline_ns, fired_at_ns?}`. Compiled by `deno task build:examples`
 * into ../modules/timer.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

class TimerState {
  key: string = "";
  deadlineNs: u64 = 0;
  fired: bool = false;
  firedAtNs: u64 = 0;
}

function reduce(state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  assert(ctx.hasNowNs, "timer: the host sent no ctx.now_ns");
  if (event.schema == "demo/StartTimer@1") {
    assert(state === null || readState(state).fired, "timer: a timer is already pending");
    const next = new TimerState();
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(2);
    reader.expectKey("key");
    next.key = reader.readText();
    reader.expectKey("delay_ns");
    const delay = reader.readUint();
    reader.expectEnd();
    next.deadlineNs = ctx.nowNs + delay;
    assert(next.deadlineNs >= ctx.nowNs, "timer: deadline overflows u64");
    return new Output(writeState(next)).effect(
      "timer.set",
      writeTimerSetParams(next.deadlineNs, next.key),
      "timer",
    );
  }
  assert(event.schema == "sys/TimerFired@1", "timer: unknown event schema");
  if (state === null) return new Output(null);
  const current = readState(state);
  if (current.fired || firedKey(event.value) != current.key) return new Output(state);
  current.fired = true;
  current.firedAtNs = ctx.nowNs;
  return new Output(writeState(current));
}

/** `sys/TimerSetParams@1 {key?, deliver_at_ns}` with the key set (canonical order). */
function writeTimerSetParams(deliverAtNs: u64, key: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("key");
  writer.writeText(key);
  writer.writeText("deliver_at_ns");
  writer.writeUint(deliverAtNs);
  return writer.finish();
}

/** `requested.key` of a `sys/TimerFired@1` ("" when the timer had no key); other fields are skipped. */
function firedKey(value: Uint8Array): string {
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

/** `{key, deadline_ns, fired_at_ns?}` in canonical key order. */
function readState(state: Uint8Array): TimerState {
  const out = new TimerState();
  const reader = CborReader.of(state);
  const entries = reader.readMapHeader();
  reader.expectKey("key");
  out.key = reader.readText();
  reader.expectKey("deadline_ns");
  out.deadlineNs = reader.readUint();
  if (entries == 3) {
    reader.expectKey("fired_at_ns");
    out.fired = true;
    out.firedAtNs = reader.readUint();
  }
  reader.expectEnd();
  return out;
}

function writeState(state: TimerState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(state.fired ? 3 : 2);
  writer.writeText("key");
  writer.writeText(state.key);
  writer.writeText("deadline_ns");
  writer.writeUint(state.deadlineNs);
  if (state.fired) {
    writer.writeText("fired_at_ns");
    writer.writeUint(state.firedAtNs);
  }
  return writer.finish();
}
