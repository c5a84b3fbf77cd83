/**
 * The pure, deterministic kernel (KERNEL §1–3): given the world and one journal entry it computes the
 * next world and the derived entries. No clock, randomness, I/O or unordered iteration lives here; the
 * driver (`world.ts`) owns all of that and replay calls only this.
 *
 * @module
 */
import { type CborValue, decodeCanonical, encodeCanonical, toHex } from "../air/cbor.ts";
import { AosError, assert } from "../air/errors.ts";
import { bytesToHashRef, hashRefToBytes, sha256 } from "../air/hash.ts";
import type { HashRef } from "../air/hash.ts";
import { limits } from "../air/limits.ts";
import type { DefModule, Manifest } from "../air/nodes.ts";
import type { SchemaResolver } from "../air/types.ts";
import { decodeTyped } from "../air/typed_codec.ts";
import { decodeOutputEnvelope, encodeInputEnvelope, type OutputEnvelope } from "./envelope.ts";
import type { ReducerHost } from "./reducer_host.ts";

/** A journal record the kernel produces or consumes (seq and chain are the journal's business). */
export interface KernelRecord {
  kind: string;
  body: { [key: string]: CborValue };
}

/** A journaled entry as the kernel sees it. */
export interface KernelEntry extends KernelRecord {
  seq: number;
}

/** A derived record with the seq the kernel expects the journal to give it. */
export interface DerivedRecord extends KernelRecord {
  seq: number;
}

/** The control plane a kernel runs: one manifest with its schemas and modules, already validated. */
export interface WorldDefs {
  manifestHash: HashRef;
  manifest: Manifest;
  schemas: SchemaResolver & { has(name: string): boolean };
  modules: ReadonlyMap<string, DefModule>;
}

interface QueuedEvent {
  seq: number;
  schema: string;
  value: Uint8Array;
}

/** Reducer failure codes of KERNEL §3.5 that this kernel emits. */
export type ReducerErrorCode =
  | "trap"
  | "bad_output"
  | "bad_state"
  | "bad_event"
  | "too_many_effects"
  | "effect_not_declared"
  | "effect_unsupported"
  | "runaway";

/** The deterministic world state machine. */
export class Kernel {
  readonly defs: WorldDefs;
  readonly #host: ReducerHost;
  #height = 0;
  #nowNs = 0n;
  #started = false;
  /** Reducer states by reducer name (cells come later); iteration is always sorted first. */
  readonly #states = new Map<string, Uint8Array>();
  readonly #queue: QueuedEvent[] = [];
  #derived: DerivedRecord[] = [];

  constructor(defs: WorldDefs, host: ReducerHost) {
    this.defs = defs;
    this.#host = host;
    for (const module of defs.modules.values()) {
      assert(host.has(module.wasm_hash), `module "${module.name}" was loaded into the host`);
    }
  }

  /** Number of journal entries applied. */
  get height(): number {
    return this.#height;
  }

  /** Logical time of the current (or last) block: its input's journaled ingress_ns. */
  get nowNs(): bigint {
    return this.#nowNs;
  }

  /** True once genesis (or a snapshot) has been applied. */
  get started(): boolean {
    return this.#started;
  }

  /** The state bytes of a reducer, or null when it has none. */
  reducerState(reducer: string): Uint8Array | null {
    return this.#states.get(reducer) ?? null;
  }

  /** Reducer names that hold state, sorted. */
  reducersWithState(): string[] {
    return [...this.#states.keys()].sort();
  }

  /** `[reducer, sha256(state)]` for every reducer with state, sorted by reducer. */
  stateHashes(): Array<{ reducer: string; hash: HashRef }> {
    return this.reducersWithState().map((reducer) => ({
      reducer,
      hash: bytesToHashRef(sha256(this.#states.get(reducer)!)),
    }));
  }

  /**
   * Applies one journaled entry (an input or a marker) and runs the kernel to idle.
   * Returns the derived records that must follow it in the journal, with their seqs.
   */
  apply(entry: KernelEntry): DerivedRecord[] {
    assert(entry.seq === this.#height, `entry seq ${entry.seq} equals kernel height ${this.#height}`);
    assert(this.#queue.length === 0, "inputs are admitted only when the kernel is idle");
    this.#derived = [];
    this.#height++;
    switch (entry.kind) {
      case "genesis": {
        if (this.#started || entry.seq !== 0) {
          throw new AosError("AOS_JOURNAL_CORRUPT", `Unexpected genesis at seq ${entry.seq}`, {
            context: { seq: entry.seq },
          });
        }
        const hash = entry.body.manifest_hash;
        if (!(hash instanceof Uint8Array) || bytesToHashRef(hash) !== this.defs.manifestHash) {
          throw new AosError(
            "AOS_JOURNAL_CORRUPT",
            "Genesis names a different manifest than the one loaded",
            {
              context: { seq: entry.seq },
            },
          );
        }
        this.#nowNs = asBigint(entry.body.ingress_ns, "genesis.ingress_ns", entry.seq);
        this.#started = true;
        break;
      }
      case "domain_event": {
        this.#requireStarted(entry.seq);
        const origin = entry.body.origin as { kind?: unknown } | undefined;
        if (!origin || origin.kind !== "external") {
          throw new AosError(
            "AOS_JOURNAL_CORRUPT",
            `Entry ${entry.seq}: a derived domain_event where an input belongs`,
            {
              context: { seq: entry.seq },
            },
          );
        }
        this.#nowNs = asBigint(entry.body.ingress_ns, "domain_event.ingress_ns", entry.seq);
        const schema = entry.body.schema;
        const value = entry.body.value;
        if (typeof schema !== "string" || !(value instanceof Uint8Array)) {
          throw new AosError("AOS_JOURNAL_CORRUPT", `Entry ${entry.seq}: malformed domain_event`, {
            context: { seq: entry.seq },
          });
        }
        this.#queue.push({ seq: entry.seq, schema, value });
        this.#runToIdle();
        break;
      }
      case "snapshot":
        this.#requireStarted(entry.seq);
        break;
      default:
        throw new AosError(
          "AOS_JOURNAL_CORRUPT",
          `Entry ${entry.seq}: kind "${entry.kind}" is not an input here`,
          {
            context: { seq: entry.seq },
          },
        );
    }
    const derived = this.#derived;
    this.#derived = [];
    return derived;
  }

  #requireStarted(seq: number): void {
    if (!this.#started) {
      throw new AosError("AOS_JOURNAL_CORRUPT", `Entry ${seq} comes before genesis`, { context: { seq } });
    }
  }

  #emit(record: KernelRecord): number {
    const seq = this.#height++;
    this.#derived.push({ seq, ...record });
    return seq;
  }

  #runToIdle(): void {
    let ticks = 0;
    while (this.#queue.length > 0) {
      const item = this.#queue.shift()!;
      if (++ticks > limits.ticksPerBlockMax) {
        // A reducer ping-pong must not hang the world: end the block deterministically.
        this.#queue.length = 0;
        this.#emit({
          kind: "reducer_error",
          body: {
            reducer: "",
            event_seq: item.seq,
            code: "runaway",
            message: `block exceeded ${limits.ticksPerBlockMax} ticks; remaining work dropped`,
          },
        });
        return;
      }
      this.#processEvent(item);
    }
  }

  #processEvent(event: QueuedEvent): void {
    const routes = this.defs.manifest.routing?.events ?? [];
    for (const route of routes) {
      if (route.event !== event.schema) continue;
      const module = this.defs.modules.get(route.reducer);
      assert(module, `routed reducer "${route.reducer}" is loaded`);
      this.#stepReducer(module, event);
    }
  }

  #stepReducer(module: DefModule, event: QueuedEvent): void {
    const reducer = module.name;
    const fail = (code: ReducerErrorCode, message: string) => {
      this.#emit({ kind: "reducer_error", body: { reducer, event_seq: event.seq, code, message } });
    };
    const input = encodeInputEnvelope({
      state: this.#states.get(reducer) ?? null,
      event: { schema: event.schema, value: event.value },
      ctx: { key: null, cellMode: false, nowNs: this.#nowNs },
    });
    const result = this.#host.call(module.wasm_hash, input);
    if (!result.ok) return fail(result.code, result.message);
    let output: OutputEnvelope;
    try {
      output = decodeOutputEnvelope(result.output);
    } catch (error) {
      return fail("bad_output", errorMessage(error));
    }
    if (output.state !== null) {
      try {
        decodeTyped({ ref: module.abi.reducer.state }, output.state, this.defs.schemas);
      } catch (error) {
        return fail("bad_state", `state is not a valid ${module.abi.reducer.state}: ${errorMessage(error)}`);
      }
    }
    if (output.domainEvents.length > limits.eventsPerReducerStepMax) {
      return fail(
        "bad_event",
        `emitted ${output.domainEvents.length} events, above ${limits.eventsPerReducerStepMax}`,
      );
    }
    for (const [i, emitted] of output.domainEvents.entries()) {
      if (!this.defs.schemas.has(emitted.schema) || emitted.schema.startsWith("sys/")) {
        return fail(
          "bad_event",
          `domain_events[${i}]: schema "${emitted.schema}" is not a user schema of the manifest`,
        );
      }
      try {
        decodeTyped({ ref: emitted.schema }, emitted.value, this.defs.schemas);
      } catch (error) {
        return fail("bad_event", `domain_events[${i}]: ${errorMessage(error)}`);
      }
      if (emitted.key !== undefined) {
        return fail("bad_event", `domain_events[${i}]: keys are only for keyed routes`);
      }
    }
    if (output.effects.length > limits.effectsPerReducerStepMax) {
      return fail("too_many_effects", "one effect per reducer step at most; orchestrate several in a plan");
    }
    const effect = output.effects[0];
    if (effect) {
      const declared = module.abi.reducer.effects_emitted ?? [];
      if (!declared.includes(effect.kind as never)) {
        return fail("effect_not_declared", `effect "${effect.kind}" is not in effects_emitted of ${reducer}`);
      }
      return fail(
        "effect_unsupported",
        `effect "${effect.kind}": reducer effects are not enabled in this world`,
      );
    }
    // Commit: state, then emitted events in array order (each queued behind the current work).
    if (output.state === null) this.#states.delete(reducer);
    else this.#states.set(reducer, output.state);
    for (const emitted of output.domainEvents) {
      const seq = this.#emit({
        kind: "domain_event",
        body: {
          schema: emitted.schema,
          value: emitted.value,
          origin: { kind: "reducer", name: reducer, event_seq: event.seq },
        },
      });
      this.#queue.push({ seq, schema: emitted.schema, value: emitted.value });
    }
  }

  /** Canonical snapshot of the world state (KERNEL §8.4), taken only when idle. */
  snapshot(): Uint8Array {
    assert(this.#queue.length === 0, "snapshots are taken only when idle");
    return encodeCanonical({
      version: 1,
      height: this.#height,
      generation: 0,
      manifest_hash: hashRefToBytes(this.defs.manifestHash),
      pinned_manifests: [],
      reducers: this.reducersWithState().map((reducer) => ({ reducer, state: this.#states.get(reducer)! })),
      plans: [],
      outbox: [],
      settled_recent: [],
      budgets: [],
      governance: { next_proposal_id: 1, proposals: [] },
      next_instance_id: 1,
      now_ns: this.#nowNs,
    });
  }

  /** Restores a kernel from snapshot bytes taken under the same manifest. */
  static restore(defs: WorldDefs, host: ReducerHost, bytes: Uint8Array): Kernel {
    const raw = decodeCanonical(bytes) as { [key: string]: CborValue };
    const bad = (what: string) => new AosError("AOS_JOURNAL_CORRUPT", `Snapshot is malformed: ${what}`);
    if (raw.version !== 1) throw bad("version");
    if (
      !(raw.manifest_hash instanceof Uint8Array) || bytesToHashRef(raw.manifest_hash) !== defs.manifestHash
    ) {
      throw bad("it was taken under another manifest");
    }
    const kernel = new Kernel(defs, host);
    kernel.#height = Number(asBigint(raw.height, "snapshot.height", 0));
    kernel.#nowNs = asBigint(raw.now_ns, "snapshot.now_ns", 0);
    kernel.#started = true;
    if (!Array.isArray(raw.reducers)) throw bad("reducers");
    for (const item of raw.reducers) {
      const r = item as { reducer?: unknown; state?: unknown };
      if (typeof r.reducer !== "string" || !(r.state instanceof Uint8Array)) throw bad("reducer entry");
      kernel.#states.set(r.reducer, r.state);
    }
    return kernel;
  }
}

function asBigint(value: CborValue | undefined, what: string, seq: number): bigint {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n) return value;
  throw new AosError("AOS_JOURNAL_CORRUPT", `Entry ${seq}: ${what} is not an unsigned integer`, {
    context: { seq },
  });
}

function errorMessage(error: unknown): string {
  if (error instanceof AosError) return error.message;
  throw error;
}

/** Hex of a reducer state hash, for display. */
export function stateHashHex(state: Uint8Array): string {
  return toHex(sha256(state));
}
