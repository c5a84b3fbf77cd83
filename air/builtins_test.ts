import assert from "node:assert/strict";
import { builtinCapTypes, builtinSchemaHash, builtinSchemas, microEffectReceiptEvents } from "./builtins.ts";
import { nodeHash } from "./node_hash.ts";

Deno.test("builtinSchemas holds the nine sys/* schemas of the built-in file, verbatim", () => {
  assert.deepEqual([...builtinSchemas.keys()].sort(), [
    "sys/BlobGetParams@1",
    "sys/BlobGetReceipt@1",
    "sys/BlobGetResult@1",
    "sys/BlobPutParams@1",
    "sys/BlobPutReceipt@1",
    "sys/BlobPutResult@1",
    "sys/TimerFired@1",
    "sys/TimerSetParams@1",
    "sys/TimerSetReceipt@1",
  ]);
  // Verbatim file: the timer key is still required text (AIR §9.5 amends it later).
  assert.deepEqual(builtinSchemas.get("sys/TimerSetParams@1")?.type, {
    record: { deliver_at_ns: { nat: {} }, key: { text: {} } },
  });
});

Deno.test("builtinSchemaHash() is the node hash of the built-in and undefined for other names", () => {
  const fired = builtinSchemas.get("sys/TimerFired@1");
  assert.ok(fired);
  assert.equal(builtinSchemaHash("sys/TimerFired@1"), nodeHash(fired));
  assert.equal(builtinSchemaHash("sys/Nope@1"), undefined);
  assert.equal(builtinSchemaHash("demo/CounterState@1"), undefined);
});

Deno.test("every micro-effect's receipt event is a built-in schema", () => {
  assert.deepEqual([...microEffectReceiptEvents.keys()].sort(), ["blob.get", "blob.put", "timer.set"]);
  for (const event of microEffectReceiptEvents.values()) assert.ok(builtinSchemas.has(event), event);
  assert.equal(builtinCapTypes.get("sys/timer@1"), "timer");
});
