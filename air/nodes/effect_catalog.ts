/**
 * The closed v1 effect catalog (AIR §9.1): for each effect kind, the capability type it needs, the
 * built-in schemas of its params and receipt, and — for the reducer micro-effects — the `sys/*` event its
 * receipt becomes (AIR §9.5).
 *
 * @module
 */
import type { CapType, EffectKind } from "./kinds.ts";

/** What the kernel and validator know about one effect kind. */
export interface EffectSpec {
  kind: EffectKind;
  capType: CapType;
  /** Built-in schema name of the params. */
  params: string;
  /** Built-in schema name of the receipt payload. */
  receipt: string;
  /** True for `blob.put`, `blob.get`, `timer.set`: the only kinds reducers may emit. */
  micro: boolean;
  /** The `sys/*` event a reducer receives when a micro-effect's receipt is accepted. */
  receiptEvent?: string;
}

/** The catalog, in a fixed order. */
export const EFFECT_CATALOG: ReadonlyMap<EffectKind, EffectSpec> = new Map<EffectKind, EffectSpec>([
  ["http.request", {
    kind: "http.request",
    capType: "http.out",
    params: "sys/HttpRequestParams@1",
    receipt: "sys/HttpRequestReceipt@1",
    micro: false,
  }],
  ["blob.put", {
    kind: "blob.put",
    capType: "blob",
    params: "sys/BlobPutParams@1",
    receipt: "sys/BlobPutReceipt@1",
    micro: true,
    receiptEvent: "sys/BlobPutResult@1",
  }],
  ["blob.get", {
    kind: "blob.get",
    capType: "blob",
    params: "sys/BlobGetParams@1",
    receipt: "sys/BlobGetReceipt@1",
    micro: true,
    receiptEvent: "sys/BlobGetResult@1",
  }],
  ["timer.set", {
    kind: "timer.set",
    capType: "timer",
    params: "sys/TimerSetParams@1",
    receipt: "sys/TimerSetReceipt@1",
    micro: true,
    receiptEvent: "sys/TimerFired@1",
  }],
  ["llm.generate", {
    kind: "llm.generate",
    capType: "llm.basic",
    params: "sys/LlmGenerateParams@1",
    receipt: "sys/LlmGenerateReceipt@1",
    micro: false,
  }],
]);

/** The spec of `kind`, or undefined for a kind outside the catalog. */
export function effectSpec(kind: string): EffectSpec | undefined {
  return EFFECT_CATALOG.get(kind as EffectKind);
}
