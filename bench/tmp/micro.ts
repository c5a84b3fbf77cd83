import { encodeCanonical, sha256, decodeCanonical } from "../../air/mod.ts";
import { encodeEntry, decodeEntry, ZERO_HASH } from "../../journal/mod.ts";
import { ReducerHost, encodeInputEnvelope } from "../../kernel/mod.ts";
const N = 20000;
function time(label: string, fn: (i: number) => void) {
  for (let i = 0; i < 2000; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  console.log(label.padEnd(30), ((performance.now() - t) * 1000 / N).toFixed(2), "µs");
}
const body = { schema: "demo/Increment@1", value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x02]), origin: { kind: "external", source: "inbox:1:0" }, ingress_ns: 1_700_000_000_000_000_000n };
time("encodeCanonical entry", (i) => encodeCanonical({ seq: i, kind: "domain_event", body, prev: ZERO_HASH }));
const bytes = encodeCanonical({ seq: 5, kind: "domain_event", body, prev: ZERO_HASH });
time("sha256 150B", () => sha256(bytes));
time("encodeEntry", (i) => encodeEntry(i, { kind: "domain_event", body }, ZERO_HASH));
time("decodeEntry", () => decodeEntry(bytes));
time("decodeCanonical", () => decodeCanonical(bytes));
const host = new ReducerHost();
const wasm = Deno.readFileSync("/work/main/examples/counter/modules/counter.wasm");
const hash = "sha256:" + "0".repeat(64);
host.load(hash, wasm);
const state = encodeCanonical({ count: 5 });
const input = encodeInputEnvelope({ version: 1, state, event: { schema: "demo/Increment@1", value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x02]) }, ctx: { key: null, cellMode: false, nowNs: 1n } } as never);
time("encodeInputEnvelope", () => encodeInputEnvelope({ version: 1, state, event: { schema: "demo/Increment@1", value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x02]) }, ctx: { key: null, cellMode: false, nowNs: 1n } } as never));
time("reducer call", () => host.call(hash, input));
