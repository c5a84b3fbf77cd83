/**
 * One reducer call on a live instance (private to `kernel/`, used by `reducer_host.ts`): copy the input
 * envelope in, run `step` in either calling convention (KERNEL §3.2), check and copy the output out, and
 * map guest faults to `trap`, `timeout` or `bad_output`.
 *
 * @module
 */
import { limits } from "../air/mod.ts";
import { growFailed } from "./fuel.ts";
import type { CallingConvention, ReducerCallResult } from "./reducer_host.ts";

/** A live instance with its exports looked up once. */
export interface Guest {
  memory: WebAssembly.Memory;
  alloc: (len: number) => number;
  step: (...args: number[]) => unknown;
  fuel: WebAssembly.Global;
  /** The module's mutable globals, exported for reuse (empty for fresh-instance modules). */
  globals: WebAssembly.Global[];
  /** Views of the memory's current buffer (see {@linkcode memoryViews}). */
  views?: MemoryViews;
  /**
   * The range of memory written since the instance was last pristine, for a module instrumented with write
   * tracking: the guest's own writes widen the exported marks `lo` and `hi` (i32 globals, read unsigned),
   * the host's (the input it copies in) widen `hostLo` and `hostHi`.
   */
  written?: { lo: WebAssembly.Global; hi: WebAssembly.Global; hostLo: number; hostHi: number };
}

/** Marks that nothing was written since the instance was pristine (see {@linkcode Guest.written}). */
export function clearWritten(guest: Guest): void {
  const written = guest.written;
  if (written === undefined) return;
  written.lo.value = -1;
  written.hi.value = 0;
  written.hostLo = Infinity;
  written.hostHi = 0;
}

/** [lo, hi) covering every write since the instance was pristine; undefined when it is not tracked. */
export function writtenRange(guest: Guest): { lo: number; hi: number } | undefined {
  const written = guest.written;
  if (written === undefined) return undefined;
  return {
    lo: Math.min((written.lo.value as number) >>> 0, written.hostLo),
    hi: Math.max((written.hi.value as number) >>> 0, written.hostHi),
  };
}

/**
 * Copies `input` into the guest's memory at `ptr` (through `bytes`, a view of its current buffer), recording
 * the write.
 */
function copyIn(guest: Guest, bytes: Uint8Array, input: Uint8Array, ptr: number): void {
  bytes.set(input, ptr);
  const written = guest.written;
  if (written !== undefined) {
    if (ptr < written.hostLo) written.hostLo = ptr;
    if (ptr + input.length > written.hostHi) written.hostHi = ptr + input.length;
  }
}

/** A byte view and a data view of one buffer of a guest's memory. */
export interface MemoryViews {
  buffer: ArrayBufferLike;
  bytes: Uint8Array;
  data: DataView;
}

/**
 * Views of the guest's memory, kept between calls: a memory that grows gets a new buffer (the old one is
 * detached), and only then are they made again. Saves three view objects a call.
 */
export function memoryViews(guest: Guest): MemoryViews {
  const buffer = guest.memory.buffer;
  const views = guest.views;
  if (views !== undefined && views.buffer === buffer) return views;
  return guest.views = { buffer, bytes: new Uint8Array(buffer), data: new DataView(buffer) };
}

/** The memory of the instance running, for `env.abort`; undefined while a start function runs. */
export interface GuestMemorySlot {
  memory: WebAssembly.Memory | undefined;
}

const WASM_PAGE_BYTES = 65_536;

/** Thrown by the host's `env.abort` so AssemblyScript aborts become traps with a readable message. */
class ReducerAbort extends Error {}

class OutOfRange extends Error {}

/** `env.abort`, bound once per module: AssemblyScript aborts become traps with a readable message. */
export function abortImport(
  running: GuestMemorySlot,
): (message: number, file: number, line: number, column: number) => never {
  return (message: number, file: number, line: number, column: number): never => {
    const text = readGuestString(running.memory, message) ?? "abort";
    const where = readGuestString(running.memory, file);
    throw new ReducerAbort(
      `${text}${where ? ` (${where}:${line}:${column})` : ` (line ${line}, column ${column})`}`,
    );
  };
}

/**
 * Copies the input in, runs `step` and checks the output (copied out, or with `lend` a view of the guest's
 * memory); throws for guest faults ({@linkcode faultResult}).
 * The memory's buffer is read twice, after the allocations and after `step` (only those can grow it): each
 * read is a call into the engine.
 */
export function runStep(
  guest: Guest,
  convention: CallingConvention,
  input: Uint8Array,
  lend = false,
): ReducerCallResult {
  const alloc = guest.alloc;
  let outPtr: number;
  let outLen: number;
  let views: MemoryViews;
  if (convention === "result_pointer") {
    const ret = alloc(8) >>> 0;
    const ptr = alloc(input.length) >>> 0;
    const bytes = memoryViews(guest).bytes;
    checkRange(bytes, ptr, input.length, "alloc returned");
    copyIn(guest, bytes, input, ptr);
    guest.step(ret, ptr, input.length);
    views = memoryViews(guest);
    checkRange(views.bytes, ret, 8, "result pointer");
    outPtr = views.data.getInt32(ret, true);
    outLen = views.data.getInt32(ret + 4, true);
  } else {
    const ptr = alloc(input.length) >>> 0;
    const bytes = memoryViews(guest).bytes;
    checkRange(bytes, ptr, input.length, "alloc returned");
    copyIn(guest, bytes, input, ptr);
    const result = guest.step(ptr, input.length);
    if (!Array.isArray(result) || result.length !== 2) {
      return { ok: false, code: "bad_output", message: "step did not return (out_ptr, out_len)" };
    }
    outPtr = Number(result[0]);
    outLen = Number(result[1]);
    views = memoryViews(guest);
  }
  const size = views.bytes.length;
  if (size > limits.reducerMemoryPagesMax * WASM_PAGE_BYTES) {
    return {
      ok: false,
      code: "trap",
      message: `memory grew to ${
        size / WASM_PAGE_BYTES
      } pages, above the limit of ${limits.reducerMemoryPagesMax}`,
    };
  }
  if (outPtr < 0 || outLen < 0 || outPtr + outLen > size) {
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
  // Lent: a view of the guest's memory (see ReducerHost.callLent); otherwise a copy, an ArrayBuffer of its own.
  const output = lend
    ? views.bytes.subarray(outPtr, outPtr + outLen)
    : views.bytes.slice(outPtr, outPtr + outLen);
  return { ok: true, output };
}

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

/** Throws unless [ptr, ptr + len) lies inside `memory` (a view of the guest's whole memory). */
function checkRange(memory: Uint8Array, ptr: number, len: number, what: string): void {
  if (ptr + len > memory.length) {
    throw new OutOfRange(`${what} range [${ptr}, +${len}) is outside memory`);
  }
}

/**
 * The result for what a call threw: `guest` is undefined when instantiation itself failed. Anything that is
 * not a guest fault is a host bug and is rethrown.
 */
export function faultResult(
  cause: unknown,
  guest: Guest | undefined,
  fuelMax: number = limits.reducerFuelMax,
): ReducerCallResult {
  if (cause instanceof OutOfRange) return { ok: false, code: "bad_output", message: cause.message };
  if (cause instanceof WebAssembly.RuntimeError && guest !== undefined && growFailed(guest.fuel)) {
    return {
      ok: false,
      code: "trap",
      message: `memory.grow past the limit of ${limits.reducerMemoryPagesMax} pages (at ${
        guest.memory.buffer.byteLength / WASM_PAGE_BYTES
      })`,
    };
  }
  if (cause instanceof WebAssembly.RuntimeError && guest !== undefined && (guest.fuel.value as number) < 0) {
    return {
      ok: false,
      code: "timeout",
      message: `reducer ran out of fuel (${fuelMax} units)`,
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
