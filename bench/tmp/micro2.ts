import { encodeCanonical, encodeCanonicalReference } from "../../air/cbor/cbor.ts";
import { ZERO_HASH } from "../../journal/mod.ts";
const N = 50000;
function time(label: string, fn: (i: number) => void) {
  for (let i = 0; i < 5000; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  console.log(label.padEnd(30), ((performance.now() - t) * 1000 / N).toFixed(2), "µs");
}
const body = { schema: "demo/Increment@1", value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x02]), origin: { kind: "external", source: "inbox:1:0" }, ingress_ns: 1_700_000_000_000_000_000n };
time("fast", (i) => encodeCanonical({ seq: i, kind: "domain_event", body, prev: ZERO_HASH }));
time("cborg", (i) => encodeCanonicalReference({ seq: i, kind: "domain_event", body, prev: ZERO_HASH }));
time("fast", (i) => encodeCanonical({ seq: i, kind: "domain_event", body, prev: ZERO_HASH }));
