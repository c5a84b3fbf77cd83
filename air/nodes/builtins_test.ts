import assert from "node:assert/strict";
import { toHex } from "../cbor/mod.ts";
import { encodeTyped, type SchemaResolver, valueFromJson } from "../value/mod.ts";
import {
  builtinCapHash,
  builtinCaps,
  builtinCapTypes,
  builtinSchemaHash,
  builtinSchemas,
  microEffectReceiptEvents,
  standardCapByType,
} from "./builtins.ts";
import { EFFECT_CATALOG } from "./effect_catalog.ts";
import { nodeHash } from "./node_hash.ts";

Deno.test("builtinSchemas holds the nine sys/* schemas of the built-in file, the four http/llm ones and the two secret refs", () => {
  assert.deepEqual([...builtinSchemas.keys()].sort(), [
    "sys/BlobGetParams@1",
    "sys/BlobGetReceipt@1",
    "sys/BlobGetResult@1",
    "sys/BlobPutParams@1",
    "sys/BlobPutReceipt@1",
    "sys/BlobPutResult@1",
    "sys/HttpRequestParams@1",
    "sys/HttpRequestReceipt@1",
    "sys/LlmGenerateParams@1",
    "sys/LlmGenerateReceipt@1",
    "sys/SecretRef@1",
    "sys/TextOrSecretRef@1",
    "sys/TimerFired@1",
    "sys/TimerSetParams@1",
    "sys/TimerSetReceipt@1",
  ]);
});

Deno.test("builtinSchemas: the timer key is optional in TimerSetParams and TimerSetReceipt (AIR §9.1)", () => {
  assert.deepEqual(builtinSchemas.get("sys/TimerSetParams@1")?.type, {
    record: { deliver_at_ns: { nat: {} }, key: { option: { text: {} } } },
  });
  assert.deepEqual(builtinSchemas.get("sys/TimerSetReceipt@1")?.type, {
    record: { delivered_at_ns: { nat: {} }, key: { option: { text: {} } } },
  });
  // Params without a key are valid and encode without it; the AIR §9.4 vector keeps its bytes.
  const index: SchemaResolver = { resolve: (name) => builtinSchemas.get(name)?.type };
  const type = { ref: "sys/TimerSetParams@1" };
  assert.equal(
    toHex(encodeTyped(type, valueFromJson(type, { deliver_at_ns: 1000n }, index), index)),
    "a16d64656c697665725f61745f6e731903e8",
  );
  assert.equal(
    toHex(encodeTyped(type, valueFromJson(type, { deliver_at_ns: 1000n, key: "retry" }, index), index)),
    "a2636b65796572657472796d64656c697665725f61745f6e731903e8",
  );
});

Deno.test("builtinSchemas: cost_cents is optional in the three receipt events (AIR §9.5)", () => {
  for (const name of ["sys/TimerFired@1", "sys/BlobPutResult@1", "sys/BlobGetResult@1"]) {
    const type = builtinSchemas.get(name)?.type;
    assert.ok(type !== undefined && "record" in type, name);
    assert.deepEqual(type.record["cost_cents"], { option: { nat: {} } }, name);
  }
});

Deno.test("builtinSchemas: the http.request and llm.generate schemas have the shapes of AIR §9.1", () => {
  const text = { text: {} };
  const textMap = { map: { key: text, value: text } };
  assert.deepEqual(builtinSchemas.get("sys/HttpRequestParams@1")?.type, {
    record: { method: text, url: text, headers: textMap, body_ref: { option: { hash: {} } } },
  });
  assert.deepEqual(builtinSchemas.get("sys/HttpRequestReceipt@1")?.type, {
    record: {
      status: { int: {} },
      headers: textMap,
      body_ref: { option: { hash: {} } },
      timings: { record: { start_ns: { nat: {} }, end_ns: { nat: {} } } },
      adapter_id: text,
    },
  });
  assert.deepEqual(builtinSchemas.get("sys/LlmGenerateParams@1")?.type, {
    record: {
      provider: text,
      model: text,
      temperature: { dec128: {} },
      max_tokens: { nat: {} },
      input_ref: { hash: {} },
      tools: { option: { list: text } },
      api_key: { option: { ref: "sys/TextOrSecretRef@1" } },
    },
  });
  // The API key is a literal text or a reference to a defsecret (`alias@version`).
  assert.deepEqual(builtinSchemas.get("sys/TextOrSecretRef@1")?.type, {
    variant: { literal: text, secret: { ref: "sys/SecretRef@1" } },
  });
  assert.deepEqual(builtinSchemas.get("sys/SecretRef@1")?.type, {
    record: { alias: text, version: { nat: {} } },
  });
  assert.deepEqual(builtinSchemas.get("sys/LlmGenerateReceipt@1")?.type, {
    record: {
      output_ref: { hash: {} },
      token_usage: { record: { prompt: { nat: {} }, completion: { nat: {} } } },
      cost_cents: { nat: {} },
      provider_id: text,
    },
  });
});

Deno.test("every schema the effect catalog names is a built-in", () => {
  for (const spec of EFFECT_CATALOG.values()) {
    assert.ok(builtinSchemas.has(spec.params), spec.params);
    assert.ok(builtinSchemas.has(spec.receipt), spec.receipt);
    if (spec.receiptEvent !== undefined) assert.ok(builtinSchemas.has(spec.receiptEvent), spec.receiptEvent);
  }
});

Deno.test("builtinSchemaHash() is the node hash of the built-in and undefined for other names", () => {
  const fired = builtinSchemas.get("sys/TimerFired@1");
  assert.ok(fired);
  assert.equal(builtinSchemaHash("sys/TimerFired@1"), nodeHash(fired));
  assert.equal(builtinSchemaHash("sys/Nope@1"), undefined);
  assert.equal(builtinSchemaHash("demo/CounterState@1"), undefined);
  assert.equal(builtinSchemaHash("sys/timer@1"), undefined);
});

Deno.test("builtinCaps holds the four standard defcaps of AIR §10.2 with exactly their schemas", () => {
  const textSet = { set: { text: {} } };
  const optional = (type: unknown) => ({ option: type });
  assert.deepEqual([...builtinCaps.values()], [
    {
      $kind: "defcap",
      name: "sys/http.out@1",
      cap_type: "http.out",
      schema: { record: { hosts: textSet, verbs: textSet, path_prefixes: optional(textSet) } },
    },
    {
      $kind: "defcap",
      name: "sys/llm.basic@1",
      cap_type: "llm.basic",
      schema: {
        record: {
          providers: optional(textSet),
          models: optional(textSet),
          max_tokens_max: optional({ nat: {} }),
          temperature_max: optional({ dec128: {} }),
          tools_allow: optional(textSet),
        },
      },
    },
    {
      $kind: "defcap",
      name: "sys/blob@1",
      cap_type: "blob",
      schema: { record: { namespaces: optional(textSet) } },
    },
    { $kind: "defcap", name: "sys/timer@1", cap_type: "timer", schema: { record: {} } },
  ]);
  for (const [name, cap] of builtinCaps) {
    assert.equal(builtinCapHash(name), nodeHash(cap));
    assert.equal(builtinCapTypes.get(name), cap.cap_type);
    assert.equal(standardCapByType.get(cap.cap_type), cap);
  }
  assert.equal(builtinCapHash("sys/TimerFired@1"), undefined);
});

Deno.test("every micro-effect's receipt event is a built-in schema", () => {
  assert.deepEqual([...microEffectReceiptEvents.keys()].sort(), ["blob.get", "blob.put", "timer.set"]);
  for (const event of microEffectReceiptEvents.values()) assert.ok(builtinSchemas.has(event), event);
  assert.equal(builtinCapTypes.get("sys/timer@1"), "timer");
});
