/**
 * The WASM reducer host (KERNEL §3): validates a module's imports and exports once per wasm hash,
 * then runs every call in a fresh instance so no state survives between calls.
 *
 * @module
 */
import { AosError, InvariantError, limits } from "../air/mod.ts";
import { instrumentFuel, outOfFuel, setFuel } from "./fuel.ts";

/** Which calling convention a module's `step` export uses (KERNEL §3.2). */
export type CallingConvention = "multi_value" | "result_pointer";

/** The outcome of one reducer call: output bytes, or a failure to journal as `reducer_error`. */
export type ReducerCallResult =
  | { ok: true; output: Uint8Array }
  | { ok: false; code: "trap" | "timeout" | "bad_output"; message: string };

interface CompiledReducer {
  module: WebAssembly.Module;
  convention: CallingConvention;
}

const WASM_PAGE_BYTES = 65_536;

/** Thrown by the host's `env.abort` so AssemblyScript aborts become traps with a readable message. */
class ReducerAbort extends Error {}

function detectConvention(module: WebAssembly.Module, wasmHash: string): CallingConvention {
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
  const probe = new WebAssembly.Instance(module, { env: { abort: () => {} } });
  const step = probe.exports.step as (...args: number[]) => unknown;
  if (step.length === 2) return "multi_value";
  if (step.length === 3) return "result_pointer";
  throw new AosError(
    "AOS_WASM_INVALID",
    `Reducer module "${wasmHash}": step takes ${step.length} params, expected 2 or 3`,
  );
}

/** Compiles reducer modules once per wasm hash and calls them in fresh instances. */
export class ReducerHost {
  readonly #compiled = new Map<string, CompiledReducer>();

  /**
   * Instruments the module with deterministic fuel (KERNEL §3.6), compiles and checks it (exports, imports,
   * calling convention). Idempotent per hash.
   */
  load(wasmHash: string, wasmBytes: Uint8Array): CallingConvention {
    const known = this.#compiled.get(wasmHash);
    if (known) return known.convention;
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(instrumentFuel(wasmBytes, { initialFuel: limits.reducerFuelMax }));
    } catch (cause) {
      throw new AosError(
        "AOS_WASM_INVALID",
        `Reducer module "${wasmHash}" does not compile: ${String(cause)}`,
        {
          cause,
        },
      );
    }
    const convention = detectConvention(module, wasmHash);
    this.#compiled.set(wasmHash, { module, convention });
    return convention;
  }

  /** True when the module was loaded. */
  has(wasmHash: string): boolean {
    return this.#compiled.has(wasmHash);
  }

  /** Calls `step` on a fresh instance with the canonical input envelope; never throws for guest faults. */
  call(wasmHash: string, input: Uint8Array): ReducerCallResult {
    const compiled = this.#compiled.get(wasmHash);
    if (!compiled) throw new InvariantError(`Reducer module "${wasmHash}" was not loaded`);
    if (input.length > limits.envelopeSizeBytesMax) {
      return {
        ok: false,
        code: "bad_output",
        message: `input envelope of ${input.length} bytes exceeds the limit`,
      };
    }
    let instance: WebAssembly.Instance | undefined;
    try {
      const guest: { memory?: WebAssembly.Memory } = {};
      instance = new WebAssembly.Instance(compiled.module, {
        env: {
          abort: (message: number, file: number, line: number, column: number) => {
            const text = readGuestString(guest.memory, message) ?? "abort";
            const where = readGuestString(guest.memory, file);
            throw new ReducerAbort(
              `${text}${where ? ` (${where}:${line}:${column})` : ` (line ${line}, column ${column})`}`,
            );
          },
        },
      });
      setFuel(instance, limits.reducerFuelMax);
      const memory = instance.exports.memory as WebAssembly.Memory;
      guest.memory = memory;
      const alloc = instance.exports.alloc as (len: number) => number;
      let outPtr: number;
      let outLen: number;
      if (compiled.convention === "result_pointer") {
        const ret = alloc(8) >>> 0;
        const ptr = alloc(input.length) >>> 0;
        checkRange(memory, ptr, input.length, "alloc returned");
        new Uint8Array(memory.buffer, ptr, input.length).set(input);
        (instance.exports.step as (r: number, p: number, l: number) => void)(ret, ptr, input.length);
        checkRange(memory, ret, 8, "result pointer");
        const view = new DataView(memory.buffer, ret, 8);
        outPtr = view.getInt32(0, true);
        outLen = view.getInt32(4, true);
      } else {
        const ptr = alloc(input.length) >>> 0;
        checkRange(memory, ptr, input.length, "alloc returned");
        new Uint8Array(memory.buffer, ptr, input.length).set(input);
        const result = (instance.exports.step as (p: number, l: number) => unknown)(ptr, input.length);
        if (!Array.isArray(result) || result.length !== 2) {
          return { ok: false, code: "bad_output", message: "step did not return (out_ptr, out_len)" };
        }
        outPtr = Number(result[0]);
        outLen = Number(result[1]);
      }
      if (memory.buffer.byteLength > limits.reducerMemoryPagesMax * WASM_PAGE_BYTES) {
        return {
          ok: false,
          code: "trap",
          message: `memory grew to ${
            memory.buffer.byteLength / WASM_PAGE_BYTES
          } pages, above the limit of ${limits.reducerMemoryPagesMax}`,
        };
      }
      if (outPtr < 0 || outLen < 0 || outPtr + outLen > memory.buffer.byteLength) {
        return {
          ok: false,
          code: "bad_output",
          message: `output range [${outPtr}, +${outLen}) is outside memory`,
        };
      }
      if (outLen > limits.envelopeSizeBytesMax) {
        return {
          ok: false,
          code: "bad_output",
          message: `output envelope of ${outLen} bytes exceeds the limit`,
        };
      }
      return { ok: true, output: new Uint8Array(memory.buffer, outPtr, outLen).slice() };
    } catch (cause) {
      if (cause instanceof OutOfRange) return { ok: false, code: "bad_output", message: cause.message };
      if (cause instanceof WebAssembly.RuntimeError && instance !== undefined && outOfFuel(instance)) {
        return {
          ok: false,
          code: "timeout",
          message: `reducer ran out of fuel (${limits.reducerFuelMax} units)`,
        };
      }
      if (
        cause instanceof WebAssembly.RuntimeError || cause instanceof ReducerAbort ||
        cause instanceof RangeError
      ) {
        return { ok: false, code: "trap", message: cause.message };
      }
      throw cause;
    }
  }
}

class OutOfRange extends Error {}

/**
 * Reads an AssemblyScript string (UTF-16LE, byte length in the u32 before it) for abort messages; returns
 * undefined for anything that does not look like one. Bounded to 1 KiB.
 */
function readGuestString(memory: WebAssembly.Memory | undefined, ptr: number): string | undefined {
  if (!memory || ptr < 4 || ptr >= memory.buffer.byteLength) return undefined;
  const byteLength = new DataView(memory.buffer).getUint32(ptr - 4, true);
  if (byteLength % 2 !== 0 || ptr + byteLength > memory.buffer.byteLength) return undefined;
  const units = new Uint16Array(memory.buffer.slice(ptr, ptr + Math.min(byteLength, 1024)));
  return String.fromCharCode(...units);
}

function checkRange(memory: WebAssembly.Memory, ptr: number, len: number, what: string): void {
  if (ptr + len > memory.buffer.byteLength) {
    throw new OutOfRange(`${what} range [${ptr}, +${len}) is outside memory`);
  }
}
