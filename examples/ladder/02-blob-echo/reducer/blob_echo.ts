// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 02, demo/BlobEcho@1: a blob round trip with two reducer micro-effects, one at a time.
 *
 * - `demo/Echo@1 {namespace, blob_ref}` (a blob already in the world's CAS) emits
 *   `blob.put {namespace, blob_ref}`: stage `putting`.
 * - `sys/BlobPutResult@1` ok records `stored_size` and emits `blob.get {namespace, key: "sha256:…"}`:
 *   stage `getting`.
 * - `sys/BlobGetResult@1` ok records `echoed_ref` and `echoed_size`: stage `done` when the ref that came
 *   back is the one that went in, `mismatch` otherwise. A receipt that is not ok ends in `failed`.
 *
 * An Echo while one is in flight traps. State `demo/EchoState@1 {stage, blob_ref, namespace, echoed_ref?,
 * echoed_size?, stored_size?}`. Compiled by `deno task build:examples` into ../modules/blob_echo.wasm.
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

class EchoState {
  stage: string = "";
  blobRef: Uint8Array = new Uint8Array(0);
  namespace: string = "";
  echoedRef: Uint8Array | null = null;
  hasEchoedSize: bool = false;
  echoedSize: u64 = 0;
  hasStoredSize: bool = false;
  storedSize: u64 = 0;
}

/** What the reducer reads from a `sys/Blob*Result@1`: the status and the receipt's ref and size. */
class BlobResult {
  status: string = "";
  blobRef: Uint8Array = new Uint8Array(0);
  size: u64 = 0;
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  if (event.schema == "demo/Echo@1") {
    if (state !== null) {
      const stage = readState(state).stage;
      assert(stage != "putting" && stage != "getting", "blob-echo: an echo is in flight");
    }
    const next = new EchoState();
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(2);
    reader.expectKey("blob_ref");
    next.blobRef = reader.readBytes();
    reader.expectKey("namespace");
    next.namespace = reader.readText();
    reader.expectEnd();
    next.stage = "putting";
    return new Output(writeState(next)).effect("blob.put", writePutParams(next), "blob");
  }
  const isPut = event.schema == "sys/BlobPutResult@1";
  assert(isPut || event.schema == "sys/BlobGetResult@1", "blob-echo: unknown event schema");
  if (state === null) return new Output(null);
  const current = readState(state);
  if (current.stage != (isPut ? "putting" : "getting")) return new Output(state);
  const result = readResult(event.value);
  if (result.status != "ok") {
    current.stage = "failed";
    return new Output(writeState(current));
  }
  if (isPut) {
    current.hasStoredSize = true;
    current.storedSize = result.size;
    current.stage = "getting";
    return new Output(writeState(current)).effect("blob.get", writeGetParams(current), "blob");
  }
  current.echoedRef = result.blobRef;
  current.hasEchoedSize = true;
  current.echoedSize = result.size;
  current.stage = sameBytes(result.blobRef, current.blobRef) ? "done" : "mismatch";
  return new Output(writeState(current));
}

/** `sys/BlobPutParams@1 {blob_ref, namespace}` (canonical order). */
function writePutParams(state: EchoState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("blob_ref");
  writer.writeBytes(state.blobRef);
  writer.writeText("namespace");
  writer.writeText(state.namespace);
  return writer.finish();
}

/** `sys/BlobGetParams@1 {key, namespace}`: the key is the blob's `sha256:` reference. */
function writeGetParams(state: EchoState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("key");
  writer.writeText("sha256:" + toHex(state.blobRef));
  writer.writeText("namespace");
  writer.writeText(state.namespace);
  return writer.finish();
}

function toHex(bytes: Uint8Array): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += digits.charAt(bytes[i] >> 4) + digits.charAt(bytes[i] & 15);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}

/** `status` and `receipt {blob_ref, size}` of a blob result event; the other fields are skipped. */
function readResult(value: Uint8Array): BlobResult {
  const out = new BlobResult();
  const reader = CborReader.of(value);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "status") {
      out.status = reader.readText();
    } else if (field == "receipt") {
      const fields = reader.readMapHeader();
      for (let j = 0; j < fields; j++) {
        const name = reader.readText();
        if (name == "blob_ref") out.blobRef = reader.readBytes();
        else if (name == "size") out.size = reader.readUint();
        else reader.skip();
      }
    } else {
      reader.skip();
    }
  }
  reader.expectEnd();
  return out;
}

/** Reads the fields by name, so optional ones may be present or absent. */
function readState(state: Uint8Array): EchoState {
  const out = new EchoState();
  const reader = CborReader.of(state);
  const entries = reader.readMapHeader();
  for (let i = 0; i < entries; i++) {
    const field = reader.readText();
    if (field == "stage") out.stage = reader.readText();
    else if (field == "blob_ref") out.blobRef = reader.readBytes();
    else if (field == "namespace") out.namespace = reader.readText();
    else if (field == "echoed_ref") out.echoedRef = reader.readBytes();
    else if (field == "echoed_size") {
      out.hasEchoedSize = true;
      out.echoedSize = reader.readUint();
    } else if (field == "stored_size") {
      out.hasStoredSize = true;
      out.storedSize = reader.readUint();
    } else abort("blob-echo: unknown state field");
  }
  reader.expectEnd();
  return out;
}

/** Canonical key order: stage, blob_ref, namespace, echoed_ref, echoed_size, stored_size. */
function writeState(state: EchoState): Uint8Array {
  const echoedRef = state.echoedRef;
  let entries = 3;
  if (echoedRef !== null) entries++;
  if (state.hasEchoedSize) entries++;
  if (state.hasStoredSize) entries++;
  const writer = new CborWriter();
  writer.writeMapHeader(entries);
  writer.writeText("stage");
  writer.writeText(state.stage);
  writer.writeText("blob_ref");
  writer.writeBytes(state.blobRef);
  writer.writeText("namespace");
  writer.writeText(state.namespace);
  if (echoedRef !== null) {
    writer.writeText("echoed_ref");
    writer.writeBytes(echoedRef);
  }
  if (state.hasEchoedSize) {
    writer.writeText("echoed_size");
    writer.writeUint(state.echoedSize);
  }
  if (state.hasStoredSize) {
    writer.writeText("stored_size");
    writer.writeUint(state.storedSize);
  }
  return writer.finish();
}
