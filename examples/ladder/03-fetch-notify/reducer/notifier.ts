// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 03 (the reducer of examples/fetch-notify), demo/Notifier@1: a reducer that asks a plan to fetch a
 * URL and records what came back (AIR §20).
 *
 * Events (the family `demo/NotifierEvent@1`; the envelope carries the actual schema):
 * - `demo/Configure@1 {url}` sets the URL to fetch (the first one creates the state);
 * - `demo/Notify@1 {request_id}` records the request as Pending and emits
 *   `demo/FetchRequested@1 {request_id, url}`, which triggers the plan `demo/fetch_plan@1`: reducers may not
 *   emit `http.request` (only micro-effects), so the plan does the call under the `http_local` grant;
 * - `demo/FetchSucceeded@1 {request_id, status, body_ref?}` / `demo/FetchFailed@1 {request_id}`, raised
 *   back by the plan, record the outcome.
 *
 * State `demo/NotifierState@1 {url, results: map<text, demo/FetchResult@1>}` where a result is the variant
 * `Pending | Succeeded {status, body_ref?} | Failed`.
 *
 * AssemblyScript, compiled by `deno task build:examples` into ../modules/notifier.wasm.
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

/** The ABI exports (KERNEL §3.1–3.2): the SDK's `alloc`, and `step`, which runs `reduce` on the envelopes. */
export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

/** `demo/NotifierState@1`, with the results map kept as encoded keys and values in canonical order. */
class NotifierState {
  url: string = "";
  keys: Array<Uint8Array> = [];
  values: Array<Uint8Array> = [];

  /** Index of the encoded key, or -1. */
  find(key: Uint8Array): i32 {
    for (let i = 0; i < this.keys.length; i++) {
      if (compareKeys(this.keys[i], key) == 0) return i;
    }
    return -1;
  }

  /** Sets the value of `key`, inserting it at its canonical place when new. */
  put(key: Uint8Array, value: Uint8Array): void {
    let at = 0;
    while (at < this.keys.length && compareKeys(this.keys[at], key) < 0) at++;
    if (at < this.keys.length && compareKeys(this.keys[at], key) == 0) {
      this.values[at] = value;
      return;
    }
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
  const schema = event.schema;
  if (schema == "demo/Configure@1") return configure(state, event.value);
  assert(state !== null, "notifier: send demo/Configure@1 {url} first");
  const current = readState(state!);
  if (schema == "demo/Notify@1") return notify(current, event.value);
  if (schema == "demo/FetchSucceeded@1") return succeeded(current, event.value);
  if (schema == "demo/FetchFailed@1") return failed(current, event.value);
  // Anything else was routed here by mistake; trapping discards the step (KERNEL §3.5).
  abort("notifier: unknown event schema");
  return new Output(state);
}

/** `demo/Configure@1 {url}`: sets the URL, keeping the results recorded so far. */
function configure(state: Uint8Array | null, value: Uint8Array): Output {
  const next = state === null ? new NotifierState() : readState(state);
  const reader = CborReader.of(value);
  reader.expectMapHeader(1);
  reader.expectKey("url");
  next.url = reader.readText();
  reader.expectEnd();
  return new Output(writeState(next));
}

/** `demo/Notify@1 {request_id}`: records Pending and asks for the fetch. */
function notify(state: NotifierState, value: Uint8Array): Output {
  const reader = CborReader.of(value);
  reader.expectMapHeader(1);
  reader.expectKey("request_id");
  const requestId = reader.readText();
  reader.expectEnd();
  const key = encodeText(requestId);
  assert(state.find(key) < 0, "notifier: request_id already used");
  state.put(key, writeUnitResult("Pending"));
  return new Output(writeState(state)).emit(
    "demo/FetchRequested@1",
    writeFetchRequested(requestId, state.url),
  );
}

/** `demo/FetchSucceeded@1 {status, body_ref?, request_id}` (canonical key order). */
function succeeded(state: NotifierState, value: Uint8Array): Output {
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  assert(entries == 2 || entries == 3, "notifier: FetchSucceeded needs request_id, status, body_ref?");
  reader.expectKey("status");
  const status = reader.readInt();
  let bodyRef: Uint8Array | null = null;
  if (entries == 3) {
    reader.expectKey("body_ref");
    bodyRef = reader.readBytes();
  }
  reader.expectKey("request_id");
  const key = encodeText(reader.readText());
  reader.expectEnd();
  assert(state.find(key) >= 0, "notifier: result for an unknown request_id");
  state.put(key, writeSucceededResult(status, bodyRef));
  return new Output(writeState(state));
}

/** `demo/FetchFailed@1 {request_id}`. */
function failed(state: NotifierState, value: Uint8Array): Output {
  const reader = CborReader.of(value);
  reader.expectMapHeader(1);
  reader.expectKey("request_id");
  const key = encodeText(reader.readText());
  reader.expectEnd();
  assert(state.find(key) >= 0, "notifier: result for an unknown request_id");
  state.put(key, writeUnitResult("Failed"));
  return new Output(writeState(state));
}

function encodeText(text: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeText(text);
  return writer.finish();
}

/** `demo/FetchRequested@1 {url, request_id}` (canonical key order). */
function writeFetchRequested(requestId: string, url: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("url");
  writer.writeText(url);
  writer.writeText("request_id");
  writer.writeText(requestId);
  return writer.finish();
}

/** A `demo/FetchResult@1` alternative without payload: `{"$tag": tag, "$value": null}`. */
function writeUnitResult(tag: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("$tag");
  writer.writeText(tag);
  writer.writeText("$value");
  writer.writeNull();
  return writer.finish();
}

/** `Succeeded {status, body_ref?}` (canonical key order). */
function writeSucceededResult(status: i64, bodyRef: Uint8Array | null): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("$tag");
  writer.writeText("Succeeded");
  writer.writeText("$value");
  writer.writeMapHeader(bodyRef === null ? 1 : 2);
  writer.writeText("status");
  writer.writeInt(status);
  if (bodyRef !== null) {
    writer.writeText("body_ref");
    writer.writeBytes(bodyRef);
  }
  return writer.finish();
}

/** `demo/NotifierState@1 {url, results}` (canonical key order). */
function readState(state: Uint8Array): NotifierState {
  const out = new NotifierState();
  const reader = CborReader.of(state);
  reader.expectMapHeader(2);
  reader.expectKey("url");
  out.url = reader.readText();
  reader.expectKey("results");
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    // Canonical input: the keys already come in order.
    out.keys.push(reader.readRaw());
    out.values.push(reader.readRaw());
  }
  reader.expectEnd();
  return out;
}

function writeState(state: NotifierState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("url");
  writer.writeText(state.url);
  writer.writeText("results");
  writer.writeMapHeader(state.keys.length);
  for (let i = 0; i < state.keys.length; i++) {
    writer.writeRaw(state.keys[i]);
    writer.writeRaw(state.values[i]);
  }
  return writer.finish();
}
