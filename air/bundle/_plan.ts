/**
 * The bridge to the plan-internal rules of AIR §14 (`validatePlan` in `validate_plan.ts`).
 *
 * @module
 */
import type { DefPlan } from "../nodes/mod.ts";
import type { Diagnostic } from "./_diagnostics.ts";
import { type PlanContext, validatePlan } from "./validate_plan.ts";

/** What `validatePlan` needs to know about the world around one plan. */
export type PlanValidationContext = PlanContext;

/** The signature of `validatePlan`. */
export type PlanValidator = (plan: DefPlan, ctx: PlanValidationContext) => Diagnostic[];

/** The plan validator the bundle loader uses. */
export const planValidator: PlanValidator = validatePlan;
