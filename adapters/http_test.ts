import assert from "node:assert/strict";
import { bytesToHashRef, hashRefToBytes, toHex, type Value } from "../air/mod.ts";
import { FsCas, MemoryCas } from "../journal/mod.ts";
import type { Clock } from "../kernel/mod.ts";
import { HttpAdapter } from "./http.ts";
import { AdapterKey } from "./keys.ts";
import { checkReceipt, integer, makeIntent, text, withServer } from "./_test_support.ts";

const key = AdapterKey.generate();

/** A fake clock that moves 10 ns on every reading, so start and end timings differ. */
class TickingClockFake implements Clock {
  #nowNs = 1_000n;
  nowNs(): bigint {
    return this.#nowNs += 10n;
  }
}

function params(
  method: string,
  url: string,
  options: { headers?: Array<[string, string]>; bodyRef?: string } = {},
) {
  const headers: Value = {
    kind: "map",
    value: (options.headers ?? []).map((
      [k, v],
    ): [Value, Value] => [{ kind: "text", value: k }, { kind: "text", value: v }]),
  };
  const bodyRef: Value = options.bodyRef === undefined
    ? { kind: "none" }
    : { kind: "hash", value: hashRefToBytes(options.bodyRef) };
  return {
    method: { kind: "text", value: method },
    url: { kind: "text", value: url },
    headers,
    body_ref: bodyRef,
  } as const;
}

function headerMap(value: Value | undefined): Array<[string, string]> {
  assert.equal(value?.kind, "map");
  return value?.kind === "map" ? value.value.map(([k, v]) => [text(k), text(v)]) : [];
}

Deno.test("http.request 200: request body from the CAS, response body into the CAS, Idempotency-Key sent", async () => {
  const dir = await Deno.makeTempDir();
  const seen: Array<
    { method: string; path: string; idempotencyKey: string | null; custom: string | null; body: string }
  > = [];
  try {
    const cas = new FsCas(`${dir}/.aos/store`);
    const requestRef = await cas.put("blobs", new TextEncoder().encode('{"q":1}'));
    await withServer(async (request) => {
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        idempotencyKey: request.headers.get("idempotency-key"),
        custom: request.headers.get("x-custom"),
        body: await request.text(),
      });
      const headers = new Headers({ "X-Zeta": "z", "Content-Type": "text/plain" });
      headers.append("Set-Cookie", "a=1");
      headers.append("Set-Cookie", "b=2");
      return new Response("hello from the server", { status: 200, headers });
    }, async (baseUrl) => {
      const adapter = new HttpAdapter({ key, cas, clock: new TickingClockFake() });
      const intent = makeIntent(
        "http.request",
        params("POST", `${baseUrl}/echo`, { headers: [["X-Custom", "yes"]], bodyRef: requestRef }),
      );
      const receipt = await adapter.execute(intent);
      assert.equal(receipt.status, "ok");
      assert.equal(receipt.adapterId, "aos-http");
      const payload = checkReceipt(intent, receipt, key.publicKey)!;

      assert.deepEqual(seen, [{
        method: "POST",
        path: "/echo",
        idempotencyKey: toHex(intent.intentHash),
        custom: "yes",
        body: '{"q":1}',
      }]);
      assert.equal(integer(payload.get("status")), 200n);
      const headers = headerMap(payload.get("headers"));
      const names = headers.map(([name]) => name);
      // A map is encoded in canonical key order (AIR §4), whatever order the adapter built it in.
      assert.deepEqual([...names].sort(), ["content-length", "content-type", "date", "set-cookie", "x-zeta"]);
      assert.deepEqual(headers.find(([name]) => name === "x-zeta"), ["x-zeta", "z"]);
      assert.deepEqual(headers.find(([name]) => name === "set-cookie"), ["set-cookie", "a=1, b=2"]);
      const bodyRef = payload.get("body_ref");
      assert.equal(bodyRef?.kind, "hash");
      const stored = await cas.get(
        "blobs",
        bytesToHashRef(bodyRef.kind === "hash" ? bodyRef.value : new Uint8Array()),
      );
      assert.equal(new TextDecoder().decode(stored), "hello from the server");
      const timings = payload.get("timings");
      assert.equal(timings?.kind, "record");
      if (timings?.kind === "record") {
        assert.equal(integer(timings.value.get("start_ns")), 1_010n);
        assert.equal(integer(timings.value.get("end_ns")), 1_020n);
      }
      assert.equal(text(payload.get("adapter_id")), "aos-http");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("http.request 500 is status ok with status 500; a redirect is answered, not followed", async () => {
  const cas = new MemoryCas();
  await withServer((request) => {
    if (new URL(request.url).pathname === "/moved") {
      return new Response(null, { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } });
    }
    return new Response("boom", { status: 500 });
  }, async (baseUrl) => {
    const adapter = new HttpAdapter({ key, cas, clock: new TickingClockFake() });
    const intent = makeIntent("http.request", params("GET", `${baseUrl}/fail`));
    const receipt = await adapter.execute(intent);
    assert.equal(receipt.status, "ok");
    assert.equal(integer(checkReceipt(intent, receipt, key.publicKey)!.get("status")), 500n);

    const moved = makeIntent("http.request", params("GET", `${baseUrl}/moved`));
    const payload = checkReceipt(moved, await adapter.execute(moved), key.publicKey)!;
    assert.equal(integer(payload.get("status")), 302n);
    assert.deepEqual(payload.get("body_ref"), { kind: "none" }, "no bytes, no body_ref");
    assert.ok(headerMap(payload.get("headers")).some(([name]) => name === "location"));
  });
});

Deno.test("http.request to a refused connection is status error with an empty payload", async () => {
  let port = 0;
  await withServer(() => new Response("unused"), (baseUrl) => {
    port = Number(new URL(baseUrl).port);
    return Promise.resolve();
  });
  const failures: string[] = [];
  const adapter = new HttpAdapter({
    key,
    cas: new MemoryCas(),
    clock: new TickingClockFake(),
    retries: 1,
    retryBackoffMs: 1,
    onFailure: (failure) => failures.push(failure.reason),
  });
  const intent = makeIntent("http.request", params("GET", `http://127.0.0.1:${port}/gone`));
  const receipt = await adapter.execute(intent);
  assert.equal(receipt.status, "error");
  checkReceipt(intent, receipt, key.publicKey);
  assert.deepEqual(failures, ["Transport failure"]);
});

Deno.test("http.request past its deadline is status timeout", async () => {
  let answer = (): void => {};
  const never = new Promise<void>((resolve) => answer = resolve);
  await withServer(async () => {
    await never; // answered only when the test ends, long after the deadline
    return new Response("too late");
  }, async (baseUrl) => {
    const adapter = new HttpAdapter({
      key,
      cas: new MemoryCas(),
      clock: new TickingClockFake(),
      timeoutMs: 100,
    });
    const intent = makeIntent("http.request", params("GET", `${baseUrl}/slow`));
    const started = performance.now();
    const receipt = await adapter.execute(intent);
    assert.equal(receipt.status, "timeout");
    assert.ok(performance.now() - started < 2_000);
    checkReceipt(intent, receipt, key.publicKey);
  }, () => answer());
});

Deno.test("http.request with a body above the bound, a bad scheme or a missing body blob is status error", async () => {
  const cas = new MemoryCas();
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/chunked") {
      const chunk = new Uint8Array(64);
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }));
    }
    return new Response("x".repeat(100));
  }, async (baseUrl) => {
    const adapter = new HttpAdapter({ key, cas, clock: new TickingClockFake(), responseSizeBytesMax: 8 });
    const missing = "sha256:" + "ab".repeat(32);
    const intents = [
      makeIntent("http.request", params("GET", `${baseUrl}/big`)),
      makeIntent("http.request", params("GET", `${baseUrl}/chunked`)),
      makeIntent("http.request", params("GET", "file:///etc/passwd")),
      makeIntent("http.request", params("POST", `${baseUrl}/x`, { bodyRef: missing })),
      makeIntent("http.request", params("BAD METHOD", `${baseUrl}/x`)),
    ];
    for (const intent of intents) {
      const receipt = await adapter.execute(intent);
      assert.equal(receipt.status, "error", new TextDecoder().decode(intent.params));
      checkReceipt(intent, receipt, key.publicKey);
    }
  });
});

Deno.test("HttpAdapter rejects invalid bounds with a RangeError", () => {
  const base = { key, cas: new MemoryCas(), clock: new TickingClockFake() };
  assert.throws(() => new HttpAdapter({ ...base, timeoutMs: -1 }), RangeError);
  assert.throws(() => new HttpAdapter({ ...base, retries: 11 }), RangeError);
  assert.throws(() => new HttpAdapter({ ...base, responseSizeBytesMax: 1.5 }), RangeError);
});
