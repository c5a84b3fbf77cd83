/**
 * Scripted reducers: real WebAssembly reducer modules (KERNEL §3) whose output is chosen per input by an
 * ordered rule table, so kernel and driver tests need no compiler.
 *
 * Each rule has byte *patterns* and a *result*. The module receives the canonical input envelope and picks
 * the first rule whose patterns all occur in it as substrings; that rule's result is returned verbatim
 * (an output envelope, or raw bytes) or makes the module trap. When no rule matches, the `otherwise`
 * result applies; without one the module traps. Matching works because canonical CBOR writes each map
 * entry as its key's bytes followed by its value's bytes, so `{schema: "demo/Ping@1"}` in the `when` of a
 * rule becomes the pattern `66 "schema" 6b "demo/Ping@1"`. Patterns are plain substrings: a pattern can
 * also occur inside some other byte string of the envelope (a state that embeds the same map entry).
 *
 * The module uses the result-pointer convention (`step(ret, ptr, len)`), exports `memory`, `alloc` (a
 * bump allocator that grows memory) and `step`, imports only `env.abort` (so a trap carries a message),
 * and is deterministic.
 *
 * @example A reducer that answers a ping and starts from a known state
 * ```ts
 * import { encodeCanonical as cbor } from "../air/mod.ts";
 * import { decodeOutputEnvelope, encodeInputEnvelope } from "../kernel/envelope.ts";
 * import { ReducerHost } from "../kernel/reducer_host.ts";
 * import { scriptedReducer } from "./scripted_reducer.ts";
 *
 * const { wasm, hash } = scriptedReducer({
 *   rules: [
 *     {
 *       when: { schema: "demo/Ping@1", value: cbor({ n: 1 }) },
 *       then: { state: cbor({ seen: 1 }), domainEvents: [{ schema: "demo/Pong@1", value: cbor({ n: 1 }) }] },
 *     },
 *     { when: { state: null }, then: { state: cbor({ seen: 0 }) } },
 *     { when: {}, then: { trap: true, message: "unexpected event" } },
 *   ],
 * });
 * const host = new ReducerHost();
 * host.load(hash, wasm);
 * const result = host.call(hash, encodeInputEnvelope({
 *   state: null,
 *   event: { schema: "demo/Ping@1", value: cbor({ n: 1 }) },
 *   ctx: { key: null, cellMode: false },
 * }));
 * if (!result.ok) throw new Error(result.message);
 * const output = decodeOutputEnvelope(result.output);
 * if (output.domainEvents[0]?.schema !== "demo/Pong@1") throw new Error("expected a pong");
 * ```
 *
 * @module
 */
import { type CborValue, encodeCanonical, type HashRef, hashRefOf, limits } from "../air/mod.ts";
import type { EmittedEffect, EmittedEvent } from "../kernel/mod.ts";
import {
  assembleScriptedModule,
  PATTERN_PAIR_BYTES,
  RULE_OUTPUT,
  RULE_RECORD_BYTES,
  RULE_TRAP,
} from "./_scripted_module.ts";

/**
 * What a rule looks for in the input envelope (KERNEL §3.3). Every field given adds one pattern; all must
 * occur. `{}` matches every input.
 */
export interface ScriptWhen {
  /** `event.schema` equals this name. */
  schema?: string;
  /** `event.value` equals these canonical bytes. */
  value?: Uint8Array;
  /** `state` equals these canonical bytes, or is null. */
  state?: Uint8Array | null;
  /** `event.key` or `ctx.key` equals these bytes; `null` matches a null `ctx.key`. */
  key?: Uint8Array | null;
  /** `ctx.cell_mode` equals this. */
  cellMode?: boolean;
  /** `ctx.now_ns` equals this. */
  nowNs?: bigint;
  /** Raw patterns that must also occur. */
  bytes?: readonly Uint8Array[];
}

/** An output envelope to return (KERNEL §3.4); field names follow `OutputEnvelope`. */
export interface ScriptedOutput {
  state: Uint8Array | null;
  /** Written as `domain_events` when given (even if empty). */
  domainEvents?: readonly EmittedEvent[];
  /** Written as `effects` when given (even if empty). */
  effects?: readonly EmittedEffect[];
  /** Written as `ann` when given. */
  ann?: Uint8Array | null;
}

/** Trap through `env.abort`; the host reports `code: "trap"` with the message. */
export interface ScriptedTrap {
  trap: true;
  message?: string;
}

/** Return these bytes as the output, unchecked (for `bad_output` tests). */
export interface ScriptedRaw {
  raw: Uint8Array;
}

/** What a matching rule does. */
export type ScriptThen = ScriptedOutput | ScriptedTrap | ScriptedRaw;

/** One rule of a script. */
export interface ScriptRule {
  when: ScriptWhen;
  then: ScriptThen;
}

/** An ordered rule table; the first matching rule wins. */
export interface ReducerScript {
  rules: readonly ScriptRule[];
  /** What to do when no rule matches; default: trap with "no scripted rule matched the input". */
  otherwise?: ScriptThen;
}

/** A compiled scripted reducer: the module bytes and their hash, ready for `ReducerHost.load`. */
export interface ScriptedReducer {
  wasm: Uint8Array<ArrayBuffer>;
  hash: HashRef;
}

function entry(key: string, value: CborValue): Uint8Array {
  const keyBytes = encodeCanonical(key);
  const valueBytes = encodeCanonical(value);
  const out = new Uint8Array(keyBytes.length + valueBytes.length);
  out.set(keyBytes);
  out.set(valueBytes, keyBytes.length);
  return out;
}

/** The byte patterns a `when` stands for, in field order: schema, value, state, key, cellMode, nowNs, bytes. */
export function whenPatterns(when: ScriptWhen): Uint8Array[] {
  const patterns: Uint8Array[] = [];
  if (when.schema !== undefined) patterns.push(entry("schema", when.schema));
  if (when.value !== undefined) patterns.push(entry("value", when.value));
  if (when.state !== undefined) patterns.push(entry("state", when.state));
  if (when.key !== undefined) patterns.push(entry("key", when.key));
  if (when.cellMode !== undefined) patterns.push(entry("cell_mode", when.cellMode));
  if (when.nowNs !== undefined) patterns.push(entry("now_ns", when.nowNs));
  for (const raw of when.bytes ?? []) patterns.push(raw.slice());
  return patterns;
}

/** The canonical output envelope bytes for a scripted output. */
export function encodeScriptedOutput(output: ScriptedOutput): Uint8Array {
  const envelope: Record<string, CborValue> = { state: output.state };
  if (output.domainEvents !== undefined) {
    envelope.domain_events = output.domainEvents.map((e) => {
      const event: Record<string, CborValue> = { schema: e.schema, value: e.value };
      if (e.key !== undefined) event.key = e.key;
      return event;
    });
  }
  if (output.effects !== undefined) {
    envelope.effects = output.effects.map((e) => {
      const effect: Record<string, CborValue> = { kind: e.kind, params_cbor: e.paramsCbor };
      if (e.capSlot !== undefined) effect.cap_slot = e.capSlot;
      return effect;
    });
  }
  if (output.ann !== undefined) envelope.ann = output.ann;
  return encodeCanonical(envelope);
}

/** Bytes placed in memory at fixed addresses; the image starts at a fixed address too. */
class ImageWriter {
  readonly #chunks: { offset: number; bytes: Uint8Array }[] = [];
  #size = 0;

  constructor(readonly base: number) {}

  /** Reserves `length` bytes aligned to 4; returns their absolute address. */
  reserve(length: number): number {
    this.#size = Math.ceil(this.#size / 4) * 4;
    const address = this.base + this.#size;
    this.#size += length;
    return address;
  }

  write(address: number, bytes: Uint8Array): void {
    this.#chunks.push({ offset: address - this.base, bytes });
  }

  /** Reserves and writes; returns the address. */
  put(bytes: Uint8Array): number {
    const address = this.reserve(bytes.length);
    this.write(address, bytes);
    return address;
  }

  /** An AssemblyScript-style string (UTF-16LE, byte length before it); returns the address of its text. */
  putGuestString(text: string): number {
    const bytes = new Uint8Array(4 + text.length * 2);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, text.length * 2, true);
    for (let i = 0; i < text.length; i += 1) view.setUint16(4 + i * 2, text.charCodeAt(i), true);
    return this.put(bytes) + 4;
  }

  /** Little-endian i32s (the only integer layout the module reads). */
  static i32s(values: readonly number[]): Uint8Array {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setInt32(i * 4, v, true));
    return bytes;
  }

  image(): Uint8Array {
    const out = new Uint8Array(this.#size);
    for (const chunk of this.#chunks) out.set(chunk.bytes, chunk.offset);
    return out;
  }
}

/** The image starts past address 0 so that no pattern, output or message sits at a null pointer. */
const IMAGE_ADDRESS = 16;
const NO_MATCH_MESSAGE = "no scripted rule matched the input";

/** Builds a real reducer module from a script; see the module documentation for the matching rule. */
export function scriptedReducer(script: ReducerScript): ScriptedReducer {
  const rules = script.otherwise !== undefined && !("trap" in script.otherwise)
    ? [...script.rules, { when: {}, then: script.otherwise }]
    : script.rules;
  const writer = new ImageWriter(IMAGE_ADDRESS);
  const tableAddress = writer.reserve(4 + rules.length * RULE_RECORD_BYTES);
  const records: number[] = [rules.length];
  rules.forEach((rule, index) => {
    const patterns = whenPatterns(rule.when);
    const pairs = patterns.flatMap((p) => [writer.put(p), p.length]);
    const patternsAddress = writer.reserve(patterns.length * PATTERN_PAIR_BYTES);
    writer.write(patternsAddress, ImageWriter.i32s(pairs));
    const then = rule.then;
    if ("trap" in then) {
      const message = writer.putGuestString(`rule ${index}: ${then.message ?? "scripted trap"}`);
      records.push(RULE_TRAP, message, 0, patterns.length, patternsAddress);
    } else {
      const output = "raw" in then ? then.raw : encodeScriptedOutput(then);
      records.push(RULE_OUTPUT, writer.put(output), output.length, patterns.length, patternsAddress);
    }
  });
  writer.write(tableAddress, ImageWriter.i32s(records));
  const otherwise = script.otherwise;
  const noMatchText = otherwise !== undefined && "trap" in otherwise
    ? `otherwise: ${otherwise.message ?? "scripted trap"}`
    : NO_MATCH_MESSAGE;
  const noMatchMessageAddress = writer.putGuestString(noMatchText);
  const image = writer.image();
  const memoryBytesMax = limits.reducerMemoryPagesMax * 65_536;
  if (IMAGE_ADDRESS + image.length > memoryBytesMax) {
    throw new RangeError(
      `Script needs ${image.length} bytes of memory: above the reducer limit of ${memoryBytesMax}`,
    );
  }
  const wasm = assembleScriptedModule({
    imageAddress: IMAGE_ADDRESS,
    image,
    tableAddress,
    noMatchMessageAddress,
  });
  return { wasm, hash: hashRefOf(wasm) };
}
