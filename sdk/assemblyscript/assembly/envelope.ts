/**
 * The reducer envelopes of KERNEL §3.3–3.4, decoded and encoded with the strict CBOR reader/writer.
 *
 * Map keys are canonical, so they appear in one fixed order (bytewise order of their encodings: shorter
 * keys first). The decoder reads them in that order and aborts on any key it does not know, on a
 * missing required key and on an unknown `version`: a host that sends something else is not the host
 * this SDK was written for, and trapping is the only safe answer.
 */
import { assertCanonical, CborReader } from "./cbor_reader";
import { CborWriter } from "./cbor_writer";

/** The only envelope version this SDK understands. */
export const ENVELOPE_VERSION: u64 = 1;

/** `ctx` of the input envelope. */
export class Ctx {
  /** Canonical encoding of the cell key; null unless the reducer is routed keyed. */
  key: Uint8Array | null = null;
  /** True iff the route is keyed (one state per key). */
  cellMode: bool = false;
  /** Whether the host sent `now_ns` (logical time, KERNEL §2.5); read `nowNs` only if so. */
  hasNowNs: bool = false;
  nowNs: u64 = 0;
}

/** `event` of the input envelope: the actual schema name and the event's canonical value. */
export class Event {
  schema: string = "";
  /** Canonical CBOR of the event value; read it with `CborReader.of(event.value)`. */
  value: Uint8Array = new Uint8Array(0);
  key: Uint8Array | null = null;
}

/** The decoded input envelope. */
export class Input {
  /** Canonical CBOR of the current state, or null on the first call (or after a reset). */
  state: Uint8Array | null = null;
  event: Event = new Event();
  ctx: Ctx = new Ctx();
}

/** A domain event the reducer emits; the kernel validates it against `schema` and enqueues it. */
export class DomainEvent {
  constructor(
    public schema: string,
    public value: Uint8Array,
    public key: Uint8Array | null,
  ) {}
}

/** A micro-effect request (`blob.put`, `blob.get`, `timer.set`; at most one per step, KERNEL §4). */
export class Effect {
  constructor(
    public kind: string,
    public paramsCbor: Uint8Array,
    public capSlot: string | null,
  ) {}
}

/** What a reducer returns: the next state plus optional events, effects and annotation. */
export class Output {
  /** Canonical CBOR of the next state; null deletes the cell or resets the reducer. */
  state: Uint8Array | null;
  domainEvents: Array<DomainEvent> = [];
  effects: Array<Effect> = [];
  /** Optional annotation (canonical CBOR of the module's `annotations` schema); omitted when null. */
  ann: Uint8Array | null = null;

  constructor(state: Uint8Array | null) {
    this.state = state;
  }

  /** Emits a domain event; returns `this` so calls chain. */
  emit(schema: string, value: Uint8Array, key: Uint8Array | null = null): Output {
    this.domainEvents.push(new DomainEvent(schema, value, key));
    return this;
  }

  /** Requests a micro-effect; returns `this` so calls chain. */
  effect(kind: string, paramsCbor: Uint8Array, capSlot: string | null = null): Output {
    this.effects.push(new Effect(kind, paramsCbor, capSlot));
    return this;
  }

  /** Sets the annotation; returns `this` so calls chain. */
  annotate(ann: Uint8Array): Output {
    this.ann = ann;
    return this;
  }
}

/**
 * Decodes the input envelope
 * `{ctx: {key, now_ns?, cell_mode}, event: {key?, value, schema}, state, version}` (canonical key order).
 * Every item is read in this one layout, and the end checked, so a `CborReader.fixedLayout` reader (what
 * `runReducer` passes) is as strict here as a validating one without walking the envelope twice.
 */
export function decodeInput(reader: CborReader): Input {
  const input = new Input();
  reader.expectMapHeader(4);

  reader.expectKey("ctx");
  const ctx = input.ctx;
  const ctxEntries = reader.readMapHeader();
  assert(ctxEntries == 2 || ctxEntries == 3, "envelope: ctx needs key, cell_mode and optional now_ns");
  reader.expectKey("key");
  ctx.key = readBytesOrNull(reader);
  if (ctxEntries == 3) {
    reader.expectKey("now_ns");
    ctx.hasNowNs = true;
    ctx.nowNs = reader.readUint();
  }
  reader.expectKey("cell_mode");
  ctx.cellMode = reader.readBool();

  reader.expectKey("event");
  const event = input.event;
  const eventEntries = reader.readMapHeader();
  assert(eventEntries == 2 || eventEntries == 3, "envelope: event needs schema, value and optional key");
  if (eventEntries == 3) {
    reader.expectKey("key");
    event.key = reader.readBytes();
  }
  reader.expectKey("value");
  event.value = reader.readBytes();
  reader.expectKey("schema");
  event.schema = reader.readText();

  reader.expectKey("state");
  input.state = readBytesOrNull(reader);

  reader.expectKey("version");
  assert(reader.readUint() == ENVELOPE_VERSION, "envelope: unsupported version");
  reader.expectEnd();
  return input;
}

/**
 * Encodes the output envelope `{ann?, state, effects?, domain_events?}` (canonical key order), leaving
 * out empty lists and a null annotation. Embedded payloads are checked to be canonical CBOR first, so a
 * reducer's encoding mistake traps here with a clear message.
 */
export function encodeOutput(output: Output): Uint8Array {
  const writer = new CborWriter();
  const ann = output.ann;
  const hasAnn = ann !== null;
  const hasEffects = output.effects.length > 0;
  const hasEvents = output.domainEvents.length > 0;
  writer.writeMapHeader(1 + <i32> hasAnn + <i32> hasEffects + <i32> hasEvents);

  if (ann !== null) {
    writer.writeText("ann");
    writeCanonicalBytes(writer, ann);
  }

  writer.writeText("state");
  const state = output.state;
  if (state === null) writer.writeNull();
  else writeCanonicalBytes(writer, state);

  if (hasEffects) {
    writer.writeText("effects");
    writer.writeArrayHeader(output.effects.length);
    for (let i = 0; i < output.effects.length; i++) {
      const effect = output.effects[i];
      const capSlot = effect.capSlot;
      writer.writeMapHeader(capSlot === null ? 2 : 3);
      writer.writeText("kind");
      writer.writeText(effect.kind);
      if (capSlot !== null) {
        writer.writeText("cap_slot");
        writer.writeText(capSlot);
      }
      writer.writeText("params_cbor");
      writeCanonicalBytes(writer, effect.paramsCbor);
    }
  }

  if (hasEvents) {
    writer.writeText("domain_events");
    writer.writeArrayHeader(output.domainEvents.length);
    for (let i = 0; i < output.domainEvents.length; i++) {
      const event = output.domainEvents[i];
      const key = event.key;
      writer.writeMapHeader(key === null ? 2 : 3);
      if (key !== null) {
        writer.writeText("key");
        writeCanonicalBytes(writer, key);
      }
      writer.writeText("value");
      writeCanonicalBytes(writer, event.value);
      writer.writeText("schema");
      writer.writeText(event.schema);
    }
  }

  return writer.finish();
}

function readBytesOrNull(reader: CborReader): Uint8Array | null {
  if (reader.peekNull()) {
    reader.readNull();
    return null;
  }
  return reader.readBytes();
}

/** A byte string whose content must itself be one canonical CBOR item. */
function writeCanonicalBytes(writer: CborWriter, payload: Uint8Array): void {
  assertCanonical(payload);
  writer.writeBytes(payload);
}
