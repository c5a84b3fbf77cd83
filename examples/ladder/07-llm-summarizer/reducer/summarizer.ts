// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 07, demo/Summarizer@1: drives two plans, a fetch and an LLM summary of what was fetched.
 *
 * - `demo/Summarize@1 {request_id, url}` records the request as `Fetching` and emits
 *   `demo/FetchRequested@1 {request_id, url}`, which triggers `demo/fetch_plan@1` (HTTP GET); a request_id
 *   already used traps.
 * - `demo/DocFetched@1 {request_id, status, body_ref?}` raised by that plan: with a body and a status
 *   below 400 the request is `Summarizing` and the reducer emits `demo/SummarizeRequested@1 {request_id,
 *   doc_ref}` (the body's ref, now known to be there), which triggers `demo/summarize_plan@1`
 *   (`llm.generate` with the mock provider and the API key of the defsecret `llm/api@1`); otherwise the
 *   request has `Failed {stage: "fetch"}`.
 * - `demo/SummarizeResult@1 {request_id, summary_ref, prompt_tokens, completion_tokens}` (the summary is
 *   in the CAS under `summary_ref`) and `demo/SummarizeFailed@1 {request_id, stage}`, raised by the
 *   plans, make it `Done {…}` or `Failed {…}`: the event's value as it came.
 *
 * State `demo/SummarizerState@1 {summaries: map<text, demo/Summary@1>}`. Compiled by
 * `deno task build:examples` into ../modules/summarizer.wasm.
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
  const requestId = requestIdOf(event.value);
  const key = encodeText(requestId);
  const schema = event.schema;
  if (schema == "demo/Summarize@1") {
    assert(results.find(key) < 0, "summarizer: request_id already used");
    results.put(key, writeVariant("Fetching", null));
    // `{request_id, url}` is also what the fetch plan takes: forwarded as it came.
    return new Output(writeState(results)).emit("demo/FetchRequested@1", event.value);
  }
  assert(results.find(key) >= 0, "summarizer: result for an unknown request_id");
  if (schema == "demo/DocFetched@1") {
    const docRef = usableBody(event.value);
    if (docRef === null) {
      results.put(key, writeVariant("Failed", writeFailed(requestId, "fetch")));
      return new Output(writeState(results));
    }
    results.put(key, writeVariant("Summarizing", null));
    return new Output(writeState(results)).emit("demo/SummarizeRequested@1", writeRequest(requestId, docRef));
  }
  if (schema == "demo/SummarizeResult@1") results.put(key, writeVariant("Done", event.value));
  else if (schema == "demo/SummarizeFailed@1") results.put(key, writeVariant("Failed", event.value));
  else abort("summarizer: unknown event schema");
  return new Output(writeState(results));
}

/**
 * The `body_ref` of a `demo/DocFetched@1 {status, body_ref?, request_id}` when the status is below 400
 * and there is a body; null otherwise.
 */
function usableBody(value: Uint8Array): Uint8Array | null {
  let status: i64 = 0;
  let bodyRef: Uint8Array | null = null;
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "status") status = reader.readInt();
    else if (field == "body_ref") bodyRef = reader.readBytes();
    else reader.skip();
  }
  reader.expectEnd();
  return status < 400 ? bodyRef : null;
}

/** `demo/SummarizeRequested@1 {doc_ref, request_id}` (canonical order). */
function writeRequest(requestId: string, docRef: Uint8Array): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("doc_ref");
  writer.writeBytes(docRef);
  writer.writeText("request_id");
  writer.writeText(requestId);
  return writer.finish();
}

/** `demo/SummarizeFailed@1 {stage, request_id}` (canonical order). */
function writeFailed(requestId: string, stage: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("stage");
  writer.writeText(stage);
  writer.writeText("request_id");
  writer.writeText(requestId);
  return writer.finish();
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
  assert(found, "summarizer: the event has no request_id");
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
  reader.expectKey("summaries");
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
  writer.writeText("summaries");
  writer.writeMapHeader(results.keys.length);
  for (let i = 0; i < results.keys.length; i++) {
    writer.writeRaw(results.keys[i]);
    writer.writeRaw(results.values[i]);
  }
  return writer.finish();
}
