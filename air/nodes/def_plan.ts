/**
 * `defplan` (AIR §12): a finite DAG of steps joined by guarded edges. Exprs inside a plan are checked only
 * to be JSON values here; `air/expr/` checks their form and type.
 *
 * @module
 */
import { z } from "zod";
import type { JsonValue } from "../base/mod.ts";
import { limits } from "../base/mod.ts";
import type { ExactOutput } from "./_exact.ts";
import { effectKindSchema, identifierSchema, nameSchema, varNameSchema } from "./_fields.ts";
import { jsonValueSchema } from "./json_value_schema.ts";

/** An Expr in its JSON text form (AIR §12.3); checked by `air/expr/`. */
export type ExprJson = JsonValue;

/** An Expr (AIR §12.3), checked here only as a JSON value; `air/expr/` checks its form and type. */
const exprSchema = jsonValueSchema;
const bindAsSchema = z.strictObject({ as: varNameSchema });

/** One plan step (AIR §12.1), discriminated by `op`. */
export const planStepSchema = z.discriminatedUnion("op", [
  z.strictObject({ id: varNameSchema, op: z.literal("assign"), expr: exprSchema, bind: bindAsSchema }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("emit_effect"),
    kind: effectKindSchema,
    params: exprSchema,
    cap: identifierSchema,
    bind: z.strictObject({ effect_id_as: varNameSchema }),
  }),
  z.strictObject({ id: varNameSchema, op: z.literal("await_receipt"), for: exprSchema, bind: bindAsSchema }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("await_event"),
    event: nameSchema,
    where: exprSchema.optional(),
    bind: bindAsSchema,
  }),
  z.strictObject({
    id: varNameSchema,
    op: z.literal("raise_event"),
    reducer: nameSchema,
    event: exprSchema,
    key: exprSchema.optional(),
  }),
  z.strictObject({ id: varNameSchema, op: z.literal("end"), result: exprSchema.optional() }),
]);

/** One step of a plan (AIR §12.1), discriminated by `op`. */
export type PlanStep = ExactOutput<typeof planStepSchema>;

/** The step ops of AIR §12.1. */
export const PLAN_STEP_OPS = [
  "assign",
  "emit_effect",
  "await_receipt",
  "await_event",
  "raise_event",
  "end",
] as const;

/** An edge between two steps, with an optional guard (AIR §12.2). */
export const planEdgeSchema = z.strictObject({
  from: varNameSchema,
  to: varNameSchema,
  when: exprSchema.optional(),
});

/** An edge between two steps, with an optional guard (AIR §12.2). */
export type PlanEdge = ExactOutput<typeof planEdgeSchema>;

/** `defplan` (AIR §12). */
export const defPlanSchema = z.strictObject({
  $kind: z.literal("defplan"),
  name: nameSchema,
  input: nameSchema,
  output: nameSchema.optional(),
  locals: z.record(varNameSchema, nameSchema).optional(),
  steps: z.array(planStepSchema).min(1, { error: "A plan needs at least one step" }).max(
    limits.planStepsMax,
    {
      error: `A plan has at most ${limits.planStepsMax} steps`,
    },
  ),
  edges: z.array(planEdgeSchema).optional(),
  required_caps: z.array(identifierSchema).optional(),
  allowed_effects: z.array(effectKindSchema).optional(),
  invariants: z.array(exprSchema).optional(),
});

/** `{"$kind":"defplan"}`: a finite DAG of steps (AIR §12). */
export type DefPlan = ExactOutput<typeof defPlanSchema>;
