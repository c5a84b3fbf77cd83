import assert from "node:assert/strict";
import type { z } from "zod";
import type { Exact } from "./_exact.ts";
import type { DefPlan, defPlanSchema } from "./def_plan.ts";
import type { CapGrant } from "./manifest.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

// zod's own output admits an explicit `undefined` in optional fields; the node types do not.
type ZodPlan = z.output<typeof defPlanSchema>;
export type ExactChecks = [
  Assert<Same<{ output?: string | undefined } extends Pick<ZodPlan, "output"> ? true : false, true>>,
  Assert<Same<{ output?: string | undefined } extends Pick<DefPlan, "output"> ? true : false, false>>,
  Assert<Same<Pick<DefPlan, "output">, { output?: string }>>,
  Assert<Same<NonNullable<CapGrant["budget"]>, { tokens?: bigint; bytes?: bigint; cents?: bigint }>>,
  Assert<Same<Exact<{ a?: Array<{ b?: number | undefined }> | undefined }>, { a?: Array<{ b?: number }> }>>,
];

Deno.test("Exact: node types keep optional fields optional and without undefined (checked at compile time)", () => {
  const plan: DefPlan = {
    $kind: "defplan",
    name: "demo/p@1",
    input: "demo/In@1",
    steps: [{ id: "e", op: "end" }],
  };
  assert.equal("output" in plan, false);
});
