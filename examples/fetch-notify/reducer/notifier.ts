// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * demo/Notifier@1: a keyed reducer (one cell per request, KERNEL §9) that asks a plan to fetch a URL and
 * records what came back (AIR §20).
 *
 * Every event it receives is routed with `key_field: "request_id"`, so the kernel keeps one small cell per
 * request (key `demo/RequestId@1`, a text) and calls the reducer with that cell's state and
 * `ctx {key, cell_mode: true}`: the cost of an event does not grow with the number of requests.
 *
 * Events (the family `demo/NotifierEvent@1`; the envelope carries the actual schema):
 * - `demo/Notify@1 {request_id, url}` creates the cell as Pending and emits
 *   `demo/FetchRequested@1 {request_id, url}`, which triggers the plan `demo/fetch@1`: reducers may not
 *   emit `http.request` (only micro-effects), so the plan does the call under the `http_local` grant;
 * - `demo/FetchSucceeded@1 {request_id, status, body_ref?}` / `demo/FetchFailed@1 {request_id}`, raised
 *   back by the plan, record the outcome in the request's cell.
 *
 * Cell state `demo/NotifierState@1 {url, result: demo/FetchResult@1}` where a result is the variant
 * `Pending | Succeeded {status, body_ref?} | Failed`.
 *
 * AssemblyScript, compiled by `deno task build:examples` into ../modules/notifier.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../sdk/assemblyscript/assembly/index";

/** The ABI exports (KERNEL §3.1–3.2): the SDK's `alloc`, and `step`, which runs `reduce` on the envelopes. */
export { alloc } from "../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

function reduce(state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  assert(ctx.cellMode, 'notifier: not in cell mode (route its events with key_field "request_id")');
  const key = ctx.key;
  assert(key !== null, "notifier: cell mode without a key");
  const requestId = readKey(key!);
  const schema = event.schema;
  if (schema == "demo/Notify@1") return notify(state, requestId, event.value);
  assert(state !== null, "notifier: result for an unknown request_id");
  if (schema == "demo/FetchSucceeded@1") return succeeded(state!, requestId, event.value);
  if (schema == "demo/FetchFailed@1") return failed(state!, requestId, event.value);
  // Anything else was routed here by mistake; trapping discards the step (KERNEL §3.5).
  abort("notifier: unknown event schema");
  return new Output(state);
}

/** The cell key: the canonical encoding of a `demo/RequestId@1`, i.e. a CBOR text. */
function readKey(key: Uint8Array): string {
  const reader = CborReader.of(key);
  const requestId = reader.readText();
  reader.expectEnd();
  return requestId;
}

/** `demo/Notify@1 {url, request_id}` (canonical key order): records Pending and asks for the fetch. */
function notify(state: Uint8Array | null, requestId: string, value: Uint8Array): Output {
  assert(state === null, "notifier: request_id already used");
  const reader = CborReader.of(value);
  reader.expectMapHeader(2);
  reader.expectKey("url");
  const url = reader.readText();
  reader.expectKey("request_id");
  assert(reader.readText() == requestId, "notifier: the cell key is not the event's request_id");
  reader.expectEnd();
  return new Output(writeState(url, writeUnitResult("Pending"))).emit(
    "demo/FetchRequested@1",
    writeFetchRequested(requestId, url),
  );
}

/** `demo/FetchSucceeded@1 {status, body_ref?, request_id}` (canonical key order). */
function succeeded(state: Uint8Array, requestId: string, value: Uint8Array): Output {
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
  assert(reader.readText() == requestId, "notifier: the cell key is not the event's request_id");
  reader.expectEnd();
  return new Output(writeState(readUrl(state), writeSucceededResult(status, bodyRef)));
}

/** `demo/FetchFailed@1 {request_id}`. */
function failed(state: Uint8Array, requestId: string, value: Uint8Array): Output {
  const reader = CborReader.of(value);
  reader.expectMapHeader(1);
  reader.expectKey("request_id");
  assert(reader.readText() == requestId, "notifier: the cell key is not the event's request_id");
  reader.expectEnd();
  return new Output(writeState(readUrl(state), writeUnitResult("Failed")));
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

/** The `url` of a cell state `demo/NotifierState@1 {url, result}` (canonical key order). */
function readUrl(state: Uint8Array): string {
  const reader = CborReader.of(state);
  reader.expectMapHeader(2);
  reader.expectKey("url");
  const url = reader.readText();
  reader.expectKey("result");
  reader.readRaw();
  reader.expectEnd();
  return url;
}

function writeState(url: string, result: Uint8Array): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("url");
  writer.writeText(url);
  writer.writeText("result");
  writer.writeRaw(result);
  return writer.finish();
}
