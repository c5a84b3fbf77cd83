import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import type { CborValue } from "../air/mod.ts";
import { bodyProblem, generalBodyProblem } from "./records.ts";

/** A value that is sometimes of the type a field wants and sometimes not. */
const anyValue: fc.Arbitrary<CborValue> = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.uint8Array({ maxLength: 4 }),
  fc.nat(),
  fc.bigInt({ min: -3n, max: 1n << 65n }),
  fc.constant(null),
  fc.constant(-1),
  fc.boolean(),
);

/** A well-formed admitted event's body, with or without `key`, `ingress_ns` and `origin.source`. */
const wellFormed = fc.record(
  {
    schema: fc.string({ maxLength: 6 }),
    value: fc.uint8Array({ maxLength: 4 }),
    origin: fc.oneof(
      fc.constant({ kind: "external" }),
      fc.string({ maxLength: 6 }).map((source) => ({ kind: "external", source })),
    ),
    key: fc.uint8Array({ maxLength: 4 }),
    ingress_ns: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  },
  { requiredKeys: ["schema", "value", "origin"] },
) as fc.Arbitrary<{ [key: string]: CborValue }>;

/** One field of a body or of its origin set to another value, added, or taken away. */
const damaged = fc.tuple(
  wellFormed,
  fc.boolean(),
  fc.constantFrom("schema", "value", "origin", "key", "ingress_ns", "extra", "kind", "source", "name"),
  fc.option(anyValue, { nil: undefined }),
  fc.boolean(),
).map(([body, inOrigin, field, value, remove]) => {
  const copy: { [key: string]: CborValue } = { ...body };
  const target = inOrigin ? (copy.origin = { ...(body.origin as { [key: string]: CborValue }) }) : copy;
  if (remove) delete target[field];
  else target[field] = value as CborValue;
  return copy;
});

const body = fc.oneof(wellFormed, damaged);

Deno.test("bodyProblem() of a domain_event passes exactly the bodies the field tables pass", () => {
  let passed = 0;
  fc.assert(
    fc.property(body, (b) => {
      const general = generalBodyProblem("domain_event", b);
      assert.equal(bodyProblem("domain_event", b), general);
      if (general === undefined) passed++;
    }),
    { numRuns: 3_000 },
  );
  // The direct path was taken: well-formed bodies came up.
  assert.ok(passed > 0, "no well-formed body was generated");
});

Deno.test("bodyProblem() of a well-formed admitted event is undefined, and an extra origin field is named", () => {
  const event = {
    schema: "demo/Increment@1",
    value: new Uint8Array([0xa0]),
    origin: { kind: "external", source: "inbox:1:0" },
    ingress_ns: 5n,
  };
  assert.equal(bodyProblem("domain_event", event), undefined);
  assert.equal(
    bodyProblem("domain_event", { ...event, origin: { ...event.origin, name: "x" } }),
    'domain_event.origin has an unknown field "name"',
  );
});
