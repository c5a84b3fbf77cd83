// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 06, demo/Upgrader@1: the one reducer of both versions of the world; the upgrade changes only the
 * plans, grants, policy and routing around it.
 *
 * - `demo/FetchRequested@1 {request_id, url}` (which also triggers the fetch plan) records the request
 *   with no status yet; a request_id already used traps.
 * - `demo/FetchDone@1 {request_id, status}` (raised by either plan; -1 when the request failed) records
 *   `status`.
 * - `demo/FollowupDone@1 {request_id, status}` (raised only by v2's plan, after its follow-up request)
 *   records `followup_status`; v1 does not route it here.
 *
 * State `demo/UpgradeState@1 {results: map<text, {status?, followup_status?}>}`. Compiled by
 * `deno task build:examples` into ../modules/upgrader.wasm.
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

/** `demo/FetchRecord@1`. */
class FetchRecord {
  hasStatus: bool = false;
  status: i64 = 0;
  hasFollowup: bool = false;
  followupStatus: i64 = 0;
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
  let requestId = "";
  let status: i64 = 0;
  const reader = CborReader.of(event.value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "request_id") requestId = reader.readText();
    else if (field == "status") status = reader.readInt();
    else reader.skip();
  }
  reader.expectEnd();
  const key = encodeText(requestId);
  const found = results.find(key);
  if (event.schema == "demo/FetchRequested@1") {
    assert(found < 0, "upgrader: request_id already used");
    results.put(key, writeRecord(new FetchRecord()));
    return new Output(writeState(results));
  }
  assert(found >= 0, "upgrader: result for an unknown request_id");
  const record = readRecord(results.values[found]);
  if (event.schema == "demo/FetchDone@1") {
    record.hasStatus = true;
    record.status = status;
  } else if (event.schema == "demo/FollowupDone@1") {
    record.hasFollowup = true;
    record.followupStatus = status;
  } else {
    abort("upgrader: unknown event schema");
  }
  results.put(key, writeRecord(record));
  return new Output(writeState(results));
}

function encodeText(text: string): Uint8Array {
  const writer = new CborWriter();
  writer.writeText(text);
  return writer.finish();
}

function readRecord(value: Uint8Array): FetchRecord {
  const out = new FetchRecord();
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "status") {
      out.hasStatus = true;
      out.status = reader.readInt();
    } else if (field == "followup_status") {
      out.hasFollowup = true;
      out.followupStatus = reader.readInt();
    } else {
      abort("upgrader: unknown record field");
    }
  }
  reader.expectEnd();
  return out;
}

/** `{status?, followup_status?}` in canonical key order. */
function writeRecord(record: FetchRecord): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader((record.hasStatus ? 1 : 0) + (record.hasFollowup ? 1 : 0));
  if (record.hasStatus) {
    writer.writeText("status");
    writer.writeInt(record.status);
  }
  if (record.hasFollowup) {
    writer.writeText("followup_status");
    writer.writeInt(record.followupStatus);
  }
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
