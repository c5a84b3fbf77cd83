import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { compareBytes } from "../air/mod.ts";
import { compareStepIds } from "./_plan_instance.ts";

Deno.test("compareStepIds() gives the sign of comparing the UTF-8 bytes, for any strings (surrogates too)", () => {
  const utf8 = new TextEncoder();
  // Units that pick every UTF-8 length and both sides of the surrogate block, lone and paired.
  const unit = fc.constantFrom(
    "a",
    "Z",
    "\u007f",
    "\u0080",
    "\u00e9",
    "\u0800",
    "\ud7ff",
    "\ud83d",
    "\ude00",
    "\ue000",
    "\uffff",
  );
  const id = fc.array(unit, { maxLength: 6 }).map((units) => units.join(""));
  fc.assert(
    fc.property(
      id,
      id,
      (a, b) => Math.sign(compareStepIds(a, b)) === Math.sign(compareBytes(utf8.encode(a), utf8.encode(b))),
    ),
    { numRuns: 5_000 },
  );
  assert.deepEqual(["b", "a_fetch", "\ue000", "\ud83d\ude00", "B"].sort(compareStepIds), [
    "B",
    "a_fetch",
    "b",
    "\ue000",
    "\ud83d\ude00",
  ]);
});
