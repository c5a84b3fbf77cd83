/**
 * Private helpers of the scenario tests for `http.request`: receipt payloads for the fake adapter, the URL
 * of an intent, and fake answers. Not a test file (`deno test` runs only `*_test.ts`).
 *
 * @module
 */
import { decodeCanonical, SchemaIndex, toJsonValue, type Value, valueFromJson } from "../../air/mod.ts";
import type { FakeOutcome, TestWorld, TestWorldOptions } from "../mod.ts";

/** The fields of a `sys/HttpRequestReceipt@1` besides its status (each has a default). */
export interface HttpReceiptFields {
  headers?: Record<string, string>;
  body_ref?: string | null;
  timings?: { start_ns: number; end_ns: number };
  adapter_id?: string;
}

/** A `sys/HttpRequestReceipt@1` payload `Value` for a fake (default: no headers or body, adapter `fake`). */
export function httpReceipt(status: number, fields: HttpReceiptFields = {}): Value {
  const receipt = {
    status,
    headers: {},
    body_ref: null,
    timings: { start_ns: 0, end_ns: 0 },
    adapter_id: "fake",
    ...fields,
  };
  return valueFromJson({ ref: "sys/HttpRequestReceipt@1" }, toJsonValue(receipt), new SchemaIndex([]));
}

/** The URL of an `http.request` intent (its params are a canonical CBOR map). */
export function urlOf(params: Uint8Array): string {
  return String((decodeCanonical(params) as { url?: unknown }).url);
}

/** The URLs of the queued http intents, in journal order. */
export function queuedUrls(w: TestWorld): string[] {
  return w.journal().filter((x) => x.kind === "effect_queued").map((x) => urlOf(x.body.params as Uint8Array));
}

/** Fakes that answer every http request ok with HTTP 200, plus these outcome fields (`hold`, `delayNs`). */
export function httpOk(extra: Partial<FakeOutcome> = {}): TestWorldOptions {
  return { respond: { "http.request": () => ({ status: "ok", payload: httpReceipt(200), ...extra }) } };
}
