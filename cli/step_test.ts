import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { entriesJson } from "./step.ts";

Deno.test("entriesJson() writes what JSON.stringify writes for the step's entries, kinds of any text", () => {
  const entry = fc.record({
    seq: fc.oneof(fc.nat(), fc.maxSafeNat()),
    // Any UTF-16, lone surrogates included (JSON.stringify escapes them).
    kind: fc.oneof(fc.constantFrom("domain_event", "snapshot"), fc.string(), fc.string({ unit: "binary" })),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 50 }), (entries) => {
      assert.equal(entriesJson(entries), JSON.stringify(entries));
    }),
  );
  assert.equal(entriesJson([]), "[]");
});
