/**
 * The WASM reducer host (KERNEL §3): validates a module's imports and exports once per wasm hash, then runs
 * every call in an instance that is exactly as a fresh one would be, so no state survives between calls.
 * By default one instance per module is reused: before each call the host copies back the memory image and
 * the mutable globals the instance had right after instantiation (see `_reducer_reuse.ts`); after a trap,
 * a timeout, bad output or memory growth it instantiates anew. Modules whose state JavaScript cannot reset
 * (table mutation, several memories, ...) get a fresh instance per call.
 *
 * @module
 */
import { AosError, bytesEqual, InvariantError, limits } from "../air/mod.ts";
import {
  analyzeReuse,
  capture,
  type GlobalType,
  type Pristine,
  restore,
  type ReusableGlobal,
} from "./_reducer_reuse.ts";
import {
  abortImport,
  clearWritten,
  faultResult,
  type Guest,
  type GuestMemorySlot,
  memoryViews,
  runStep,
  writtenRange,
} from "./_reducer_call.ts";
import { FUEL_EXPORT, instrumentFuel, WRITE_HI_EXPORT, WRITE_LO_EXPORT } from "./fuel.ts";

/** Which calling convention a module's `step` export uses (KERNEL §3.2). */
export type CallingConvention = "multi_value" | "result_pointer";

/** The outcome of one reducer call: output bytes, or a failure to journal as `reducer_error`. */
export type ReducerCallResult =
  | { ok: true; output: Uint8Array }
  | { ok: false; code: "trap" | "timeout" | "bad_output"; message: string };

/** Options of {@linkcode ReducerHost}. */
export interface ReducerHostOptions {
  /**
   * Reuse one instance per module between calls, reset to its state right after instantiation before each
   * call (default true). false: a fresh instance per call, the reference the reuse path is tested against.
   */
  reuseInstances?: boolean;
  /**
   * Fuel per call (default `limits.reducerFuelMax`). Part of a world's semantics: only tests that need
   * a runaway call to stop sooner set it.
   */
  fuelMax?: number;
}

interface CompiledReducer {
  module: WebAssembly.Module;
  convention: CallingConvention;
  /** Export names and types of the mutable globals while instances are reused; undefined: fresh each call. */
  reuse: { names: string[]; types: GlobalType[] } | undefined;
  /** The state right after instantiation, taken from the first instance. */
  pristine: Pristine | undefined;
  /** The instance of the last clean call, to restore and reuse. */
  idle: Guest | undefined;
  /** Shared by every instance of the module: `env.abort` reads the memory of the instance that runs. */
  imports: WebAssembly.Imports;
  running: GuestMemorySlot;
}

function detectConvention(module: WebAssembly.Module, wasmHash: string, fuelMax: number): CallingConvention {
  const exports = WebAssembly.Module.exports(module);
  const kinds = new Map(exports.map((e) => [e.name, e.kind]));
  for (const [name, kind] of [["memory", "memory"], ["alloc", "function"], ["step", "function"]] as const) {
    if (kinds.get(name) !== kind) {
      throw new AosError("AOS_WASM_INVALID", `Reducer module "${wasmHash}" must export ${kind} "${name}"`);
    }
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!(imp.module === "env" && imp.name === "abort" && imp.kind === "function")) {
      throw new AosError(
        "AOS_WASM_INVALID",
        `Reducer module "${wasmHash}" imports "${imp.module}.${imp.name}": only env.abort is allowed`,
      );
    }
  }
  // The JS API does not expose function signatures; probe arity with a throwaway instance.
  let probe: WebAssembly.Instance;
  try {
    probe = new WebAssembly.Instance(module, { env: { abort: () => {} } });
  } catch (cause) {
    // A start function runs at instantiation on the module's initial fuel: a loop runs out of it and traps.
    if (!(cause instanceof WebAssembly.RuntimeError)) throw cause;
    throw new AosError(
      "AOS_WASM_INVALID",
      `Reducer module "${wasmHash}": its start function trapped at instantiation (${cause.message}); ` +
        `a start function runs on at most ${fuelMax} fuel units`,
      { cause },
    );
  }
  const step = probe.exports.step as (...args: number[]) => unknown;
  if (step.length === 2) return "multi_value";
  if (step.length === 3) return "result_pointer";
  throw new AosError(
    "AOS_WASM_INVALID",
    `Reducer module "${wasmHash}": step takes ${step.length} params, expected 2 or 3`,
  );
}

/** What loading a module yields that does not depend on the host: immutable, so hosts share it. */
interface LoadedModule {
  /** The module as uploaded: a hit must be these very bytes, not just the same hash claimed for others. */
  bytes: Uint8Array;
  module: WebAssembly.Module;
  convention: CallingConvention;
  /** The mutable globals exported for reuse; undefined: fresh instances. */
  globals: ReusableGlobal[] | undefined;
}

/**
 * Modules loaded in this process, by wasm hash, fuel and reuse setting, most recently loaded last: every
 * world a process opens (each in-process command, a shadow run, the testkit's worlds) builds a new host, and
 * instrumenting, compiling and probing the same bytes again gave the same module. A `WebAssembly.Module` is
 * immutable and holds no instance state, so sharing it changes no result. Bounded by
 * {@linkcode LOADED_MODULES_MAX}; failures are not kept (they throw again, with the same error).
 */
const loadedModules = new Map<string, LoadedModule>();

/** How many compiled modules the process keeps for new hosts (oldest dropped first). */
export const LOADED_MODULES_MAX = 64;

/** How many compiled modules the process keeps now (a diagnostic for tests). */
export function loadedModuleCount(): number {
  return loadedModules.size;
}

/** Compiles reducer modules once per wasm hash and calls them in pristine instances. */
export class ReducerHost {
  readonly #compiled = new Map<string, CompiledReducer>();
  readonly #reuseInstances: boolean;
  readonly #fuelMax: number;
  #instantiations = 0;

  constructor(options: ReducerHostOptions = {}) {
    this.#reuseInstances = options.reuseInstances ?? true;
    this.#fuelMax = options.fuelMax ?? limits.reducerFuelMax;
  }

  /**
   * Instruments the module with deterministic fuel (KERNEL §3.6), compiles and checks it (exports, imports,
   * calling convention). Idempotent per hash.
   */
  load(wasmHash: string, wasmBytes: Uint8Array): CallingConvention {
    const known = this.#compiled.get(wasmHash);
    if (known) return known.convention;
    const key = `${wasmHash} ${this.#fuelMax} ${this.#reuseInstances}`;
    let loaded = loadedModules.get(key);
    if (loaded === undefined || !bytesEqual(loaded.bytes, wasmBytes)) {
      loaded = loadModule(wasmHash, wasmBytes, this.#reuseInstances, this.#fuelMax);
      loadedModules.set(key, loaded);
      if (loadedModules.size > LOADED_MODULES_MAX) loadedModules.delete(loadedModules.keys().next().value!);
    }
    const { module, convention, globals } = loaded;
    const running: GuestMemorySlot = { memory: undefined };
    this.#compiled.set(wasmHash, {
      module,
      convention,
      reuse: globals && { names: globals.map((g) => g.name), types: globals.map((g) => g.type) },
      pristine: undefined,
      idle: undefined,
      imports: { env: { abort: abortImport(running) } },
      running,
    });
    return convention;
  }

  /** True when the module was loaded. */
  has(wasmHash: string): boolean {
    return this.#compiled.has(wasmHash);
  }

  /** True while calls of a loaded module reuse an instance (false: a fresh instance per call). */
  reusesInstances(wasmHash: string): boolean {
    return this.#compiled.get(wasmHash)?.reuse !== undefined;
  }

  /** Instantiations for calls so far (load-time probes excluded): a diagnostic for tests and benches. */
  get instantiations(): number {
    return this.#instantiations;
  }

  /** Calls `step` with the canonical input envelope in a pristine instance; never throws for guest faults. */
  call(wasmHash: string, input: Uint8Array): ReducerCallResult {
    return this.#call(wasmHash, input, false);
  }

  /**
   * {@linkcode call}, but a successful call's output is a view of the instance's memory instead of a copy:
   * valid only until the next call of this module, which puts the memory back into its pristine state. For
   * a caller that reads the output at once and copies what it keeps (the kernel: an `ArrayBuffer` of its own
   * for every output cost 0.4–0.6 µs on the build machine, an eighth of a counter event's reducer call).
   */
  callLent(wasmHash: string, input: Uint8Array): ReducerCallResult {
    return this.#call(wasmHash, input, true);
  }

  #call(wasmHash: string, input: Uint8Array, lend: boolean): ReducerCallResult {
    const reducer = this.#compiled.get(wasmHash);
    if (!reducer) throw new InvariantError(`Reducer module "${wasmHash}" was not loaded`);
    if (input.length > limits.envelopeSizeBytesMax) {
      return {
        ok: false,
        code: "bad_output",
        message: `input envelope of ${input.length} bytes exceeds the limit`,
      };
    }
    let guest = reducer.idle;
    reducer.idle = undefined; // taken: only a clean call gives it back
    if (guest !== undefined) {
      restore(memoryViews(guest).bytes, guest.globals, reducer.pristine!, writtenRange(guest));
      clearWritten(guest);
    }
    try {
      guest ??= this.#instantiate(reducer);
      guest.fuel.value = this.#fuelMax;
      const result = runStep(guest, reducer.convention, input, lend);
      if (
        result.ok && reducer.pristine !== undefined &&
        guest.memory.buffer.byteLength === reducer.pristine.image.length
      ) {
        reducer.idle = guest;
      }
      return result;
    } catch (cause) {
      return faultResult(cause, guest, this.#fuelMax);
    }
  }

  /** A new instance (start function run); the first one of a reusable module gives the pristine state. */
  #instantiate(reducer: CompiledReducer): Guest {
    reducer.running.memory = undefined; // as in a fresh instance: an abort during start sees no memory
    this.#instantiations++;
    const instance = new WebAssembly.Instance(reducer.module, reducer.imports);
    const exports = instance.exports;
    const guest: Guest = {
      memory: exports.memory as WebAssembly.Memory,
      alloc: exports.alloc as (len: number) => number,
      step: exports.step as (...args: number[]) => unknown,
      fuel: exportedGlobal(exports, FUEL_EXPORT),
      globals: reducer.reuse?.names.map((name) => exportedGlobal(exports, name)) ?? [],
    };
    const lo = exports[WRITE_LO_EXPORT];
    const hi = exports[WRITE_HI_EXPORT];
    if (reducer.reuse !== undefined && lo instanceof WebAssembly.Global && hi instanceof WebAssembly.Global) {
      // Fresh: its memory is the pristine image, whatever its start function wrote.
      guest.written = { lo, hi, hostLo: Infinity, hostHi: 0 };
      clearWritten(guest);
    }
    reducer.running.memory = guest.memory;
    if (reducer.reuse !== undefined && reducer.pristine === undefined) {
      reducer.pristine = capture(guest.memory, guest.globals, reducer.reuse.types);
      if (reducer.pristine === undefined) reducer.reuse = undefined;
    }
    return guest;
  }
}

/** Analyzes, instruments, compiles and probes a module (see {@linkcode ReducerHost.load}). */
function loadModule(wasmHash: string, wasmBytes: Uint8Array, reuse: boolean, fuelMax: number): LoadedModule {
  const analysis = reuse ? analyzeReuse(wasmBytes) : undefined;
  let globals = analysis?.reusable ? analysis.globals : undefined;
  let module: WebAssembly.Module;
  try {
    module = compile(wasmBytes, globals, fuelMax);
  } catch (cause) {
    if (globals === undefined) throw compileError(wasmHash, cause);
    // The engine's message may name byte offsets, which the reuse exports shift: report the plain module's.
    globals = undefined;
    try {
      module = compile(wasmBytes, undefined, fuelMax);
    } catch (plainCause) {
      throw compileError(wasmHash, plainCause);
    }
  }
  return {
    bytes: wasmBytes.slice(),
    module,
    convention: detectConvention(module, wasmHash, fuelMax),
    globals,
  };
}

/** Instruments and compiles; `globals` are the mutable globals to export for reuse. */
function compile(
  wasmBytes: Uint8Array,
  globals: ReadonlyArray<{ name: string; index: number }> | undefined,
  fuelMax: number,
): WebAssembly.Module {
  return new WebAssembly.Module(
    instrumentFuel(wasmBytes, {
      initialFuel: fuelMax,
      exportGlobals: globals ?? [],
      memoryPagesMax: limits.reducerMemoryPagesMax,
      // A reused instance is reset before each call: tracking its writes lets the host copy back only those.
      trackWrites: globals !== undefined,
    }),
  );
}

function compileError(wasmHash: string, cause: unknown): AosError {
  return new AosError("AOS_WASM_INVALID", `Reducer module "${wasmHash}" does not compile: ${String(cause)}`, {
    cause,
  });
}

function exportedGlobal(exports: WebAssembly.Exports, name: string): WebAssembly.Global {
  const global = exports[name];
  if (!(global instanceof WebAssembly.Global)) {
    throw new InvariantError(`The reducer instance exports no "${name}" global`);
  }
  return global;
}
