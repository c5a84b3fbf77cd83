/**
 * SDK probe: a reducer that exercises every part of the SDK, so that scripts/build_examples_test.ts can
 * check it from TypeScript against air/cbor/. (AssemblyScript compiles only what is reachable, so an
 * SDK function no reducer calls would not even be type-checked without this module.) Built and committed
 * like the other modules (`deno task build:examples`).
 *
 * The event schema selects the behaviour:
 * - `probe/Transcode`: decodes any canonical value generically and re-encodes it as the state;
 * - `probe/Full`: an output with every optional part (annotation, two effects, a keyed domain event);
 * - `probe/Now`: state `{now: ctx.now_ns}`, or null state when the host sent no `now_ns`;
 * - `probe/Keys`: the value is `{<text>: null}`; the state is, for each of `KEY_CANDIDATES`, whether
 *   `peekKey` matches the key, and the key is then consumed by `expectKey` of the one that matched;
 * - `probe/Unsorted`, `probe/Incomplete`, `probe/TwoRoots`, `probe/LoneSurrogate`, `probe/RawNotCanonical`,
 *   `probe/StateNotCanonical`: writer misuse that must abort.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  MAJOR_ARRAY,
  MAJOR_BYTES,
  MAJOR_MAP,
  MAJOR_NEGINT,
  MAJOR_SIMPLE,
  MAJOR_TAG,
  MAJOR_TEXT,
  MAJOR_UINT,
  Output,
  runReducer,
} from "../assembly/index";

export { alloc } from "../assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

/** The names `probe/Keys` compares a key with: ASCII, empty, two- and three-byte UTF-8, a surrogate pair. */
const KEY_CANDIDATES: string[] = ["", "a", "ab", "ba", "é", "aé", "日本", "\u{1F600}"];

function reduce(_state: Uint8Array | null, event: Event, ctx: Ctx): Output {
  const schema = event.schema;
  if (schema == "probe/Keys") {
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(1);
    const writer = new CborWriter();
    writer.writeArrayHeader(KEY_CANDIDATES.length);
    let found = -1;
    for (let i = 0; i < KEY_CANDIDATES.length; i++) {
      const matches = reader.peekKey(KEY_CANDIDATES[i]);
      writer.writeBool(matches);
      if (matches) found = i;
    }
    if (found >= 0) reader.expectKey(KEY_CANDIDATES[found]);
    else reader.readText();
    reader.readNull();
    reader.expectEnd();
    return new Output(writer.finish());
  }
  if (schema == "probe/Transcode") {
    const writer = new CborWriter();
    const reader = CborReader.of(event.value);
    transcode(reader, writer);
    reader.expectEnd();
    return new Output(writer.finish());
  }
  if (schema == "probe/Full") {
    const output = new Output(event.value);
    output.emit("probe/Emitted@1", event.value, ctx.key);
    output.effect("blob.put", event.value, "store").effect("timer.set", event.value);
    return output.annotate(event.value);
  }
  if (schema == "probe/Now") {
    if (!ctx.hasNowNs) return new Output(null);
    const writer = new CborWriter();
    writer.writeMapHeader(1);
    writer.writeText("now");
    writer.writeUint(ctx.nowNs);
    return new Output(writer.finish());
  }
  const writer = new CborWriter();
  if (schema == "probe/Unsorted") {
    writer.writeMapHeader(2);
    writer.writeText("b");
    writer.writeNull();
    writer.writeText("a");
    writer.writeNull();
  } else if (schema == "probe/Incomplete") {
    writer.writeArrayHeader(2);
    writer.writeNull();
  } else if (schema == "probe/TwoRoots") {
    writer.writeNull();
    writer.writeNull();
  } else if (schema == "probe/LoneSurrogate") {
    writer.writeText(String.fromCharCode(0xd800));
  } else if (schema == "probe/RawNotCanonical") {
    const nonShortest = new Uint8Array(2);
    nonShortest[0] = 0x18;
    nonShortest[1] = 0x01;
    writer.writeRaw(nonShortest);
  } else if (schema == "probe/StateNotCanonical") {
    const notCbor = new Uint8Array(1);
    notCbor[0] = 0xff;
    return new Output(notCbor);
  } else {
    abort("probe: unknown event schema");
  }
  return new Output(writer.finish());
}

/** Copies one item from reader to writer through the typed read/write calls (not as raw bytes). */
function transcode(reader: CborReader, writer: CborWriter): void {
  const major = reader.peekMajor();
  if (major == MAJOR_UINT) {
    writer.writeUint(reader.readUint());
  } else if (major == MAJOR_NEGINT) {
    writer.writeInt(reader.readInt());
  } else if (major == MAJOR_BYTES) {
    writer.writeBytes(reader.readBytes());
  } else if (major == MAJOR_TEXT) {
    writer.writeText(reader.readText());
  } else if (major == MAJOR_ARRAY) {
    const count = reader.readArrayHeader();
    writer.writeArrayHeader(count);
    for (let i = 0; i < count; i++) transcode(reader, writer);
  } else if (major == MAJOR_MAP) {
    const count = reader.readMapHeader();
    writer.writeMapHeader(count);
    for (let i = 0; i < count * 2; i++) transcode(reader, writer);
  } else if (major == MAJOR_TAG) {
    writer.writeDec128(reader.readDec128());
  } else if (major == MAJOR_SIMPLE) {
    if (reader.peekNull()) {
      reader.readNull();
      writer.writeNull();
    } else {
      writer.writeBool(reader.readBool());
    }
  }
}
