/**
 * The `http.request` adapter (AIR §9.1) over the real `fetch`. The request body comes from the CAS
 * (`body_ref`), the response body goes to the CAS (`body_ref`, none when the response has no bytes),
 * response headers are lowercased and sorted (repeated ones joined with `", "`), `timings` come from the
 * adapter's clock, and every request carries `Idempotency-Key: <intent hash hex>` (KERNEL §6.3).
 * Any HTTP status is `ok` (a 500 too); no response at all is `error`; the deadline is `timeout`; a body
 * above the size bound is `error`. Redirects are not followed (a 3xx is the answer).
 *
 * @example
 * ```ts ignore
 * const http = new HttpAdapter({ key, cas, clock: new SystemClock(), timeoutMs: 10_000 });
 * const receipt = await http.execute(intent);
 * ```
 *
 * @module
 */
import {
  bytesToHashRef,
  hashRefToBytes,
  SchemaIndex,
  type SchemaResolver,
  toHex,
  type Value,
} from "../air/mod.ts";
import type { Cas } from "../journal/mod.ts";
import type { Clock, EffectAdapter, EffectIntent, Receipt } from "../kernel/mod.ts";
import type { AdapterFailure } from "./adapter_failure.ts";
import type { AdapterKey } from "./keys.ts";
import { adapterLimits } from "./limits.ts";
import { boundedFetch } from "./_fetch.ts";
import { type AdapterCore, executeOnce, field, fieldOf, Once, type Outcome, v } from "./_receipts.ts";

/** Options of an {@linkcode HttpAdapter}. */
export interface HttpAdapterOptions {
  key: AdapterKey;
  cas: Cas;
  /** Reads `timings.start_ns`/`end_ns`. */
  clock: Clock;
  /** Default `aos-http`. */
  adapterId?: string;
  /** Deadline of one request, retries included; default 30 s. */
  timeoutMs?: number;
  /** Response body bound; default 16 MiB. */
  responseSizeBytesMax?: number;
  /** Extra attempts after a transport failure (no response); default 0. */
  retries?: number;
  /** Wait before the first retry, doubled each time; default 100 ms. */
  retryBackoffMs?: number;
  /** Resolves the built-in schemas; default `new SchemaIndex([])`. */
  schemas?: SchemaResolver;
  /** Told why an intent got `error`/`timeout` (the receipt carries no reason). */
  onFailure?: (failure: AdapterFailure) => void;
}

function positive(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Invalid ${name} "${value}": expected an integer in 0..${max}`);
  }
  return value;
}

function textEntries(value: Value): Array<[string, string]> {
  if (value.kind !== "map") return [];
  return value.value.map((
    [k, val],
  ) => [k.kind === "text" ? k.value : "", val.kind === "text" ? val.value : ""]);
}

/** Lowercased names, sorted; repeated headers (such as `set-cookie`) joined with ", ". */
function responseHeaders(headers: Headers): Array<[string, string]> {
  const joined = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    joined.set(lower, [...(joined.get(lower) ?? []), value]);
  }
  return [...joined.keys()].sort().map((name) => [name, joined.get(name)!.join(", ")]);
}

/** `http.request` over `fetch`. */
export class HttpAdapter implements EffectAdapter {
  readonly kind = "http.request" as const;
  readonly adapterId: string;
  readonly publicKey: Uint8Array;
  readonly #core: AdapterCore;
  readonly #cas: Cas;
  readonly #clock: Clock;
  readonly #bounds: {
    timeoutMs: number;
    responseSizeBytesMax: number;
    retries: number;
    retryBackoffMs: number;
  };
  readonly #once = new Once();

  constructor(options: HttpAdapterOptions) {
    this.adapterId = options.adapterId ?? "aos-http";
    this.publicKey = options.key.publicKey;
    this.#cas = options.cas;
    this.#clock = options.clock;
    this.#bounds = {
      timeoutMs: positive("timeoutMs", options.timeoutMs ?? adapterLimits.httpTimeoutMsDefault, 2 ** 31 - 1),
      responseSizeBytesMax: positive(
        "responseSizeBytesMax",
        options.responseSizeBytesMax ?? adapterLimits.httpResponseSizeBytesMax,
      ),
      retries: positive("retries", options.retries ?? 0, adapterLimits.httpRetriesMax),
      retryBackoffMs: positive("retryBackoffMs", options.retryBackoffMs ?? 100),
    };
    this.#core = {
      kind: this.kind,
      adapterId: this.adapterId,
      key: options.key,
      schemas: options.schemas ?? new SchemaIndex([]),
      onFailure: options.onFailure,
    };
  }

  execute(intent: EffectIntent): Promise<Receipt> {
    return executeOnce(this.#core, this.#once, intent, (fields) => this.#request(intent, fields));
  }

  async #request(intent: EffectIntent, fields: Map<string, Value>): Promise<Outcome> {
    const method = fieldOf(fields, "method", "text").value;
    const url = fieldOf(fields, "url", "text").value;
    const bodyRef = field(fields, "body_ref");
    let body: Uint8Array<ArrayBuffer> | undefined;
    if (bodyRef.kind === "hash") {
      const ref = bytesToHashRef(bodyRef.value);
      try {
        body = new Uint8Array(await this.#cas.get("blobs", ref));
      } catch (cause) {
        return { status: "error", reason: `Request body "${ref}" cannot be read from the CAS`, cause };
      }
    }
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch (cause) {
      return { status: "error", reason: `Invalid URL "${url}"`, cause };
    }
    if (protocol !== "http:" && protocol !== "https:") {
      return { status: "error", reason: `Unsupported URL scheme "${protocol}": expected http: or https:` };
    }
    const build = (): Request => {
      const headers = new Headers(textEntries(field(fields, "headers")));
      headers.set("idempotency-key", toHex(intent.intentHash));
      return new Request(url, body === undefined ? { method, headers } : { method, headers, body });
    };
    try {
      build(); // an invalid method or header, or a body on GET, fails here without touching the network
    } catch (cause) {
      return { status: "error", reason: "Invalid request", cause };
    }
    const startNs = this.#clock.nowNs();
    const outcome = await boundedFetch(build, this.#bounds);
    const endNs = this.#clock.nowNs();
    if (outcome.kind === "timeout") return { status: "timeout", reason: outcome.reason };
    if (outcome.kind === "error") return { status: "error", reason: outcome.reason, cause: outcome.cause };
    const stored = outcome.body.length === 0 ? undefined : await this.#cas.put("blobs", outcome.body);
    return {
      status: "ok",
      payload: v.record({
        status: v.int(outcome.status),
        headers: v.textMap(responseHeaders(outcome.headers)),
        body_ref: stored === undefined ? v.none() : v.hash(hashRefToBytes(stored)),
        timings: v.record({ start_ns: v.nat(startNs), end_ns: v.nat(endNs) }),
        adapter_id: v.text(this.adapterId),
      }),
    };
  }
}
