/**
 * Reducer envelopes (KERNEL §3.3–3.4): the canonical CBOR maps passed into and out of `step`.
 *
 * @module
 */
import {
  AosError,
  CanonicalCursor,
  type CanonicalSink,
  canonicalTexts,
  type CborValue,
  decodeCanonical,
  encodeCanonicalLent,
  encodeCanonicalWith,
} from "../air/mod.ts";

/** What the kernel hands a reducer. */
export interface InputEnvelope {
  state: Uint8Array | null;
  event: { schema: string; value: Uint8Array; key?: Uint8Array };
  ctx: { key: Uint8Array | null; cellMode: boolean; nowNs?: bigint };
}

/** A domain event emitted by a reducer. */
export interface EmittedEvent {
  schema: string;
  value: Uint8Array;
  key?: Uint8Array;
}

/** An effect emitted by a reducer (KERNEL §3.4; `params_cbor` on the wire). */
export interface EmittedEffect {
  kind: string;
  paramsCbor: Uint8Array;
  capSlot?: string;
}

/** What a reducer returns, after strict shape checks. */
export interface OutputEnvelope {
  state: Uint8Array | null;
  domainEvents: EmittedEvent[];
  effects: EmittedEffect[];
  ann: Uint8Array | null;
}

/**
 * Encodes the input envelope canonically, written in key order without sorting (one per reducer call):
 * `{ctx: {key, now_ns?, cell_mode}, event: {key?, value, schema}, state, version}`, keys shorter first, then
 * bytewise. envelope_test.ts compares it with `encodeCanonical` of the same map.
 */
export function encodeInputEnvelope(input: InputEnvelope): Uint8Array {
  return encodeCanonicalWith((w) => writeInputEnvelope(w, input));
}

/** {@linkcode encodeInputEnvelope}, handing `use` a view valid only while it runs (see `encodeCanonicalLent`). */
export function withInputEnvelope<T>(input: InputEnvelope, use: (bytes: Uint8Array) => T): T {
  return encodeCanonicalLent((w) => writeInputEnvelope(w, input), use);
}

/** `{"ctx": ` of the envelope, a 4-key map. */
const CTX_HEAD = Uint8Array.of(0xa4, ...canonicalTexts("ctx"));
const KEY_KEY = canonicalTexts("key");
const NOW_NS_KEY = canonicalTexts("now_ns");
const CELL_MODE_KEY = canonicalTexts("cell_mode");
const EVENT_KEY = canonicalTexts("event");
const VALUE_KEY = canonicalTexts("value");
const SCHEMA_KEY = canonicalTexts("schema");
const STATE_KEY = canonicalTexts("state");
/** `"version": 1`, the envelope's last entry. */
const VERSION_TAIL = Uint8Array.of(...canonicalTexts("version"), 0x01);

function writeInputEnvelope(w: CanonicalSink, input: InputEnvelope): void {
  // The fixed keys go in as bytes encoded once (see CanonicalSink.raw).
  const { state, event, ctx } = input;
  w.raw(CTX_HEAD);
  w.map(ctx.nowNs === undefined ? 2 : 3);
  w.raw(KEY_KEY);
  w.value(ctx.key);
  if (ctx.nowNs !== undefined) {
    w.raw(NOW_NS_KEY);
    w.value(ctx.nowNs);
  }
  w.raw(CELL_MODE_KEY);
  w.value(ctx.cellMode);
  w.raw(EVENT_KEY);
  w.map(event.key === undefined ? 2 : 3);
  if (event.key !== undefined) {
    w.raw(KEY_KEY);
    w.bytes(event.key);
  }
  w.raw(VALUE_KEY);
  w.bytes(event.value);
  w.raw(SCHEMA_KEY);
  w.text(event.schema);
  w.raw(STATE_KEY);
  w.value(state);
  w.raw(VERSION_TAIL);
}

function shapeError(message: string): AosError {
  return new AosError("AOS_CBOR_INVALID", `Bad output envelope: ${message}`);
}

function isRecord(v: CborValue | undefined): v is { [key: string]: CborValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    !(v instanceof Map) && Object.getPrototypeOf(v) === Object.prototype;
}

function onlyKeys(record: { [key: string]: CborValue }, allowed: string[], where: string): void {
  for (const key in record) {
    if (!allowed.includes(key)) throw shapeError(`unknown field "${key}" in ${where}`);
  }
}

/** The empty lists of a `{state}` envelope, shared (frozen: no caller adds to an envelope's lists). */
const NO_EVENTS: EmittedEvent[] = Object.freeze([]) as unknown as EmittedEvent[];
const NO_EFFECTS: EmittedEffect[] = Object.freeze([]) as unknown as EmittedEffect[];

/** `{"state": ` of an output envelope holding nothing else. */
const STATE_ONLY_HEAD = Uint8Array.of(0xa1, 0x65, 0x73, 0x74, 0x61, 0x74, 0x65);

/**
 * Decodes and shape-checks an output envelope; throws `AosError` (the caller journals `bad_output`). The
 * common `{state}` alone is read directly; anything else the general way.
 */
export function decodeOutputEnvelope(bytes: Uint8Array): OutputEnvelope {
  // The state may be a view of `bytes`: the kernel decodes a lent output (a view of the reducer's memory) and
  // its cell store copies the state; the general decoder below copies every byte string.
  const cursor = new CanonicalCursor(bytes, "objects", true);
  if (cursor.skip(STATE_ONLY_HEAD)) {
    let state: CborValue | undefined;
    try {
      state = cursor.item(1);
    } catch (error) {
      if (!(error instanceof AosError)) throw error;
    }
    if ((state === null || state instanceof Uint8Array) && cursor.done) {
      return { state, domainEvents: NO_EVENTS, effects: NO_EFFECTS, ann: null };
    }
  }
  return decodeOutputEnvelopeReference(bytes);
}

/** {@linkcode decodeOutputEnvelope} for every envelope, the general way: the reference its fast path is tested against. */
export function decodeOutputEnvelopeReference(bytes: Uint8Array): OutputEnvelope {
  const raw = decodeCanonical(bytes);
  if (!isRecord(raw)) throw shapeError("not a map");
  onlyKeys(raw, ["state", "domain_events", "effects", "ann"], "envelope");
  if (!("state" in raw)) throw shapeError(`missing "state"`);
  const state = raw.state;
  if (state !== null && !(state instanceof Uint8Array)) throw shapeError(`"state" must be bytes or null`);
  const domainEvents: EmittedEvent[] = [];
  const rawEvents = raw.domain_events ?? [];
  if (!Array.isArray(rawEvents)) throw shapeError(`"domain_events" must be an array`);
  rawEvents.forEach((item, i) => {
    if (!isRecord(item)) throw shapeError(`domain_events[${i}] is not a map`);
    onlyKeys(item, ["schema", "value", "key"], `domain_events[${i}]`);
    if (typeof item.schema !== "string") throw shapeError(`domain_events[${i}].schema must be text`);
    if (!(item.value instanceof Uint8Array)) throw shapeError(`domain_events[${i}].value must be bytes`);
    if (item.key !== undefined && !(item.key instanceof Uint8Array)) {
      throw shapeError(`domain_events[${i}].key must be bytes`);
    }
    domainEvents.push(
      item.key === undefined ? { schema: item.schema, value: item.value } : {
        schema: item.schema,
        value: item.value,
        key: item.key,
      },
    );
  });
  const effects: EmittedEffect[] = [];
  const rawEffects = raw.effects ?? [];
  if (!Array.isArray(rawEffects)) throw shapeError(`"effects" must be an array`);
  rawEffects.forEach((item, i) => {
    if (!isRecord(item)) throw shapeError(`effects[${i}] is not a map`);
    onlyKeys(item, ["kind", "params_cbor", "cap_slot"], `effects[${i}]`);
    if (typeof item.kind !== "string") throw shapeError(`effects[${i}].kind must be text`);
    if (!(item.params_cbor instanceof Uint8Array)) {
      throw shapeError(`effects[${i}].params_cbor must be bytes`);
    }
    if (item.cap_slot !== undefined && typeof item.cap_slot !== "string") {
      throw shapeError(`effects[${i}].cap_slot must be text`);
    }
    effects.push(
      item.cap_slot === undefined
        ? { kind: item.kind, paramsCbor: item.params_cbor }
        : { kind: item.kind, paramsCbor: item.params_cbor, capSlot: item.cap_slot },
    );
  });
  const ann = raw.ann ?? null;
  if (ann !== null && !(ann instanceof Uint8Array)) throw shapeError(`"ann" must be bytes or null`);
  return { state, domainEvents, effects, ann };
}
