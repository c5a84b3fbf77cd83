/**
 * One HTTP exchange with a deadline, a response size bound and transport retries (private to
 * `adapters/`, shared by the http and llm adapters). Nothing here throws: every way an exchange can end
 * is a {@linkcode FetchOutcome}.
 *
 * @module
 */

/** How an exchange ended. */
export type FetchOutcome =
  | { kind: "response"; status: number; headers: Headers; body: Uint8Array }
  | { kind: "timeout"; reason: string }
  | { kind: "error"; reason: string; cause?: unknown };

/** Bounds of one exchange. */
export interface FetchBounds {
  /** Deadline of the whole exchange, retries and body included. */
  timeoutMs: number;
  /** A bigger response body is an `error`. */
  responseSizeBytesMax: number;
  /** Extra attempts after a transport failure (no response at all); 0 = none. */
  retries: number;
  /** Wait before the first retry; doubled for each next one. */
  retryBackoffMs: number;
}

class TooLarge extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const id = setTimeout(done, ms);
    function done(): void {
      clearTimeout(id);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

async function readBounded(response: Response, sizeBytesMax: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > sizeBytesMax) {
    await response.body?.cancel().catch(() => {});
    throw new TooLarge(`Response declares ${declared} bytes: the limit is ${sizeBytesMax}`);
  }
  if (response.body === null) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > sizeBytesMax) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(`Response body exceeds the limit of ${sizeBytesMax} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/**
 * Sends `request` (built by the caller, so an invalid method, header or URL fails before any I/O) and
 * reads the whole response. Redirects are not followed: a 3xx is the answer, so a redirect can never take
 * an effect to a host its capability did not allow.
 */
export async function boundedFetch(build: () => Request, bounds: FetchBounds): Promise<FetchOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, bounds.timeoutMs);
  try {
    for (let attempt = 0;; attempt++) {
      let response: Response;
      try {
        response = await fetch(build(), { signal: controller.signal, redirect: "manual" });
      } catch (cause) {
        if (timedOut) return { kind: "timeout", reason: `No response within ${bounds.timeoutMs} ms` };
        if (attempt >= bounds.retries) return { kind: "error", reason: "Transport failure", cause };
        await sleep(bounds.retryBackoffMs * 2 ** attempt, controller.signal);
        if (timedOut) return { kind: "timeout", reason: `No response within ${bounds.timeoutMs} ms` };
        continue;
      }
      try {
        const body = await readBounded(response, bounds.responseSizeBytesMax);
        return { kind: "response", status: response.status, headers: response.headers, body };
      } catch (cause) {
        if (cause instanceof TooLarge) return { kind: "error", reason: cause.message };
        if (timedOut) {
          return { kind: "timeout", reason: `Response not complete within ${bounds.timeoutMs} ms` };
        }
        return { kind: "error", reason: "Transport failure while reading the response", cause };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
