// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 04, demo/Aggregator@1: records what the fan-out/fan-in plan `demo/aggregator_plan@1` finds.
 *
 * - `demo/AggregateRequested@1 {request_id, topic, …_url}` (which also triggers the plan) records the
 *   request as `Pending`; a request_id already used traps.
 * - `demo/AggregateComplete@1` (all three fetches ok) and `demo/AggregateFailed@1` (at least one not ok),
 *   raised by the plan, replace it with `Complete {…}` or `Failed {…}`: the event's value as it came.
 *
 * State `demo/AggregatorState@1 {results: map<text, demo/AggregateResult@1>}`. Compiled by
 * `deno task build:examples` into ../modules/aggregator.wasm.
 */
import {
  CborReader,
  CborWriter,
  compareEncoded,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

/** The results map as encoded keys and values, in canonical key order. */
class Results {
  keys: Array<Uint8Array> = [];
  values: Array<Uint8Array> = [];

  find(key: Uint8Array): i32 {
    for (let i = 0; i < this.keys.length; i++) if (compareKeys(this.keys[i], key) == 0) return i;
    return -1;
  }

  /** Sets the value of `key`, inserting it at its canonical place when new. */
  put(key: Uint8Array, value: Uint8Array): void {
    const found = this.find(key);
    if (found >= 0) {
      this.values[found] = value;
      return;
    }
    let at = 0;
    while (at < this.keys.length && compareKeys(this.keys[at], key) < 0) at++;
    // Insert at `at`: append, then shift the larger keys up by one.
    this.keys.push(key);
    this.values.push(value);
    for (let i = this.keys.length - 1; i > at; i--) {
      this.keys[i] = this.keys[i - 1];
      this.values[i] = this.values[i - 1];
    }
    this.keys[at] = key;
    this.values[at] = value;
  }
}

function compareKeys(a: Uint8Array, b: Uint8Array): i32 {
  return compareEncoded(a.dataStart, <usize> a.length, b.dataStart, <usize> b.length);
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  const results = state === null ? new Results() : readState(state);
  const key = encodeText(requestIdOf(event.value));
  if (event.schema == "demo/AggregateRequested@1") {
    assert(results.find(key) < 0, "aggregator: request_id already used");
    results.put(key, writeVariant("Pending", null));
  } else if (event.schema == "demo/AggregateComplete@1" || event.schema == "demo/AggregateFailed@1") {
    assert(results.find(key) >= 0, "aggregator: result for an unknown request_id");
    const tag = event.schema == "demo/AggregateComplete@1" ? "Complete" : "Failed";
    results.put(key, writeVariant(tag, event.value));
  } else {
    abort("aggregator: unknown event schema");
  }
  return new Output(writeState(results));
}

/** The `request_id` field of a record; the other fields are skipped. */
function requestIdOf(value: Uint8Array): string {
  let id = "";
  let found = false;
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    if (reader.readText() == "request_id") {
      id = reader.readText();
      found = true;
    } else {
      reader.skip();
    }
  }
  reader.expectEnd();
  assert(found, "aggregator: the event has no request_id");
  return id;
}

function encodeText(text: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeText(text);
  return writer.finish();
}

/** `{"$tag": tag, "$value": payload}`, the payload `null` for a unit alternative. */
function writeVariant(tag: string, payload: Uint8Array | null): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("$tag");
  writer.writeText(tag);
  writer.writeText("$value");
  if (payload === null) writer.writeNull();
  else writer.writeRaw(payload);
  return writer.finish();
}

function readState(state: Uint8Array): Results {
  const out = new Results();
  const reader = CborReader.of(state);
  reader.expectMapHeader(1);
  reader.expectKey("results");
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    out.keys.push(reader.readRaw());
    out.values.push(reader.readRaw());
  }
  reader.expectEnd();
  return out;
}

function writeState(results: Results): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(1);
  writer.writeText("results");
  writer.writeMapHeader(results.keys.length);
  for (let i = 0; i < results.keys.length; i++) {
    writer.writeRaw(results.keys[i]);
    writer.writeRaw(results.values[i]);
  }
  return writer.finish();
}
