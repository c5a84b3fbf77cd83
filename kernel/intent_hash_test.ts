import assert from "node:assert/strict";
import { encodeTyped, fromHex, SchemaIndex, toHex } from "../air/mod.ts";
import { intentHash } from "./intent_hash.ts";

Deno.test("intentHash() reproduces the AIR §9.4 vector from typed params", () => {
  const params = encodeTyped(
    { ref: "sys/TimerSetParams@1" },
    {
      kind: "record",
      value: new Map([["deliver_at_ns", { kind: "nat", value: 1000n }], ["key", {
        kind: "text",
        value: "retry",
      }]]),
    },
    new SchemaIndex([]),
  );
  assert.equal(toHex(params), "a2636b65796572657472796d64656c697665725f61745f6e731903e8");
  const hash = intentHash({
    kind: "timer.set",
    capName: "timer_cap",
    params,
    idempotencyKey: new Uint8Array(32),
  });
  assert.equal(toHex(hash), "8630fa99c34ebb35edcfcf503aee8819f0ffdb1c2f763f2882c7ae22cd78e547");
});

Deno.test("intentHash() rejects an idempotency key that is not 32 bytes", () => {
  assert.throws(
    () =>
      intentHash({
        kind: "timer.set",
        capName: "c",
        params: fromHex("a0"),
        idempotencyKey: new Uint8Array(31),
      }),
    RangeError,
  );
});
