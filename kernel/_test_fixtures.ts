/**
 * Test fixtures for the kernel tests (private to `kernel/`): the committed test reducers, in-memory
 * control planes built from AIR text, journal entry builders and temporary worlds on disk.
 *
 * @module
 */
import {
  type AirFile,
  AosError,
  type AosErrorCode,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  formatDiagnostic,
  type HashRef,
  hashRefOf,
  hashRefToBytes,
  InvariantError,
  loadAirBundle,
} from "../air/mod.ts";
import { Kernel, type KernelEntry, type WorldDefs } from "./kernel.ts";
import { defsFromBundle } from "./defs.ts";
import { ReducerHost } from "./reducer_host.ts";

/** The repository root, without a trailing slash. */
export const ROOT_DIR: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The counter example's AIR folder and module folder. */
export const COUNTER_AIR_DIR = `${ROOT_DIR}/examples/counter/air`;
export const COUNTER_MODULES_DIR = `${ROOT_DIR}/examples/counter/modules`;

/** The committed test reducers of `kernel/testdata/` and the counter example. */
export type TestReducer =
  | "counter"
  | "trap"
  | "garbage"
  | "bad_state"
  | "relay"
  | "multi_value"
  | "bad_import";

export const WASM_PATHS: Record<TestReducer, string> = {
  counter: "examples/counter/modules/counter.wasm",
  trap: "kernel/testdata/trap.wasm",
  garbage: "kernel/testdata/garbage.wasm",
  bad_state: "kernel/testdata/bad_state.wasm",
  relay: "kernel/testdata/relay.wasm",
  multi_value: "kernel/testdata/multi_value.wasm",
  bad_import: "kernel/testdata/bad_import.wasm",
};

const wasmCache = new Map<TestReducer, Uint8Array>();

/** The bytes of a committed test reducer (read once). */
export function wasmBytes(reducer: TestReducer): Uint8Array {
  let bytes = wasmCache.get(reducer);
  if (bytes === undefined) {
    bytes = Deno.readFileSync(`${ROOT_DIR}/${WASM_PATHS[reducer]}`);
    wasmCache.set(reducer, bytes);
  }
  return bytes;
}

/** The content hash of a committed test reducer, as a module's `wasm_hash`. */
export function wasmHash(reducer: TestReducer): HashRef {
  return hashRefOf(wasmBytes(reducer));
}

/** One reducer of a test world: its name, the wasm it runs, and its ABI schemas. */
export interface ModuleSpec {
  name: string;
  wasm: TestReducer;
  state: string;
  event: string;
}

/** A small world: schemas, reducers, and `routing.events` in the given (manifest) order. */
export interface WorldSpec {
  schemas: Array<{ name: string; type: CborValue }>;
  modules: ModuleSpec[];
  routes: Array<{ event: string; reducer: string }>;
}

const COUNTER_SCHEMAS: WorldSpec["schemas"] = [
  { name: "demo/CounterState@1", type: { record: { count: { nat: {} } } } },
  { name: "demo/Increment@1", type: { record: { by: { nat: {} } } } },
];

/** One reducer on `demo/Increment@1` with state `demo/CounterState@1`, running `wasm`. */
export function counterLikeSpec(wasm: TestReducer, name = "demo/Counter@1"): WorldSpec {
  return {
    schemas: COUNTER_SCHEMAS,
    modules: [{ name, wasm, state: "demo/CounterState@1", event: "demo/Increment@1" }],
    routes: [{ event: "demo/Increment@1", reducer: name }],
  };
}

/** Relay reducers (state `test/RelayState@1 {seen}`, event `test/Ping@1 {n}`), routed in the given order. */
export function relaySpec(names: string[] = ["test/Relay@1"]): WorldSpec {
  return {
    schemas: [
      { name: "test/RelayState@1", type: { record: { seen: { nat: {} } } } },
      { name: "test/Ping@1", type: { record: { n: { nat: {} } } } },
    ],
    modules: names.map((name) => ({ name, wasm: "relay", state: "test/RelayState@1", event: "test/Ping@1" })),
    routes: names.map((reducer) => ({ event: "test/Ping@1", reducer })),
  };
}

/** The AIR files (manifest, schemas, modules) of a spec, as authored JSON text. */
export function airFiles(spec: WorldSpec): AirFile[] {
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  return [
    {
      path: "manifest.air.json",
      text: json({
        $kind: "manifest",
        schemas: spec.schemas.map((s) => ({ name: s.name })),
        modules: spec.modules.map((m) => ({ name: m.name })),
        plans: [],
        caps: [],
        policies: [],
        routing: { events: spec.routes },
      }),
    },
    {
      path: "schemas.air.json",
      text: json(spec.schemas.map((s) => ({ $kind: "defschema", name: s.name, type: s.type }))),
    },
    {
      path: "modules.air.json",
      text: json(spec.modules.map((m) => ({
        $kind: "defmodule",
        name: m.name,
        module_kind: "reducer",
        wasm_hash: wasmHash(m.wasm),
        abi: { reducer: { state: m.state, event: m.event } },
      }))),
    },
  ];
}

/** Validates a spec and compiles its reducers: the in-memory control plane a `Kernel` runs. */
export function buildDefs(spec: WorldSpec): { defs: WorldDefs; host: ReducerHost } {
  const { bundle, diagnostics } = loadAirBundle(airFiles(spec));
  if (!bundle || diagnostics.length > 0) {
    throw new Error(`Test AIR does not validate:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const host = new ReducerHost();
  const wasm = new Map(spec.modules.map((m) => [wasmHash(m.wasm), wasmBytes(m.wasm)]));
  const defs: WorldDefs = defsFromBundle(bundle, host, (hash) => wasm.get(hash));
  return { defs, host };
}

/** The start of logical time in these tests. */
export const T0_NS = 1_700_000_000_000_000_000n;

/** The genesis entry (seq 0) of `defs`. */
export function genesisEntry(defs: WorldDefs, ingressNs: bigint = T0_NS): KernelEntry {
  return {
    seq: 0,
    kind: "genesis",
    body: { manifest_hash: hashRefToBytes(defs.manifestHash), ingress_ns: ingressNs },
  };
}

/** An external `domain_event` input at `seq`, the value given as a plain CBOR value. */
export function externalEvent(
  seq: number,
  schema: string,
  value: CborValue,
  ingressNs: bigint = T0_NS + BigInt(seq),
): KernelEntry {
  return {
    seq,
    kind: "domain_event",
    body: {
      schema,
      value: encodeCanonical(value),
      origin: { kind: "external", source: "test" },
      ingress_ns: ingressNs,
    },
  };
}

/** Given: a kernel for `spec` that has applied genesis. */
export function givenKernel(spec: WorldSpec): { kernel: Kernel; defs: WorldDefs; host: ReducerHost } {
  const { defs, host } = buildDefs(spec);
  const kernel = new Kernel(defs, host);
  const derived = kernel.apply(genesisEntry(defs));
  if (derived.length !== 0) throw new Error("genesis derived entries");
  return { kernel, defs, host };
}

/**
 * Given: a kernel for `spec` restored at `height` with the given reducer states (plain CBOR values),
 * built by rewriting the `reducers` list of a real snapshot.
 */
export function givenKernelWithStates(
  spec: WorldSpec,
  height: number,
  states: Record<string, CborValue>,
): { kernel: Kernel; defs: WorldDefs; host: ReducerHost } {
  const { kernel: base, defs, host } = givenKernel(spec);
  const snapshot = decodeCanonical(base.snapshot()) as { [key: string]: CborValue };
  snapshot.height = height;
  snapshot.reducers = Object.keys(states).sort().map((reducer) => ({
    reducer,
    state: encodeCanonical(states[reducer]!),
  }));
  return { kernel: Kernel.restore(defs, host, encodeCanonical(snapshot)), defs, host };
}

/** The decoded state of a reducer, or null. */
export function stateValue(kernel: Kernel, reducer: string): CborValue {
  const bytes = kernel.reducerState(reducer);
  return bytes === null ? null : decodeCanonical(bytes);
}

/** A predicate for `assert.throws`/`rejects`: an `AosError` with exactly this code. */
export function hasCode(code: AosErrorCode | "AOS_INVARIANT"): (error: unknown) => boolean {
  return (error: unknown) => {
    if (error instanceof AosError && error.code === code) return true;
    if (error instanceof InvariantError && code === "AOS_INVARIANT") return true;
    throw error;
  };
}

/** A fresh temporary directory, removed when the returned handle is disposed. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "aos_kernel_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
