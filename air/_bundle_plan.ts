/**
 * The bridge to the plan-internal rules of AIR §14 (`validatePlan` in `validate_plan.ts`, written
 * separately). Until that file exists the import is guarded: plans are then checked only by their zod
 * shape and the bundle-level rules.
 *
 * @module
 */
import type { Diagnostic } from "./_bundle_diagnostics.ts";
import type { CapType, DefModule, DefPlan, Manifest } from "./nodes.ts";
import type { SchemaResolver } from "./types.ts";

/** What `validatePlan` needs to know about the world around one plan. */
export interface PlanValidationContext {
  schemas: SchemaResolver & { has(name: string): boolean };
  modules: ReadonlyMap<string, DefModule>;
  manifest: Manifest;
  file: string;
  path: Array<string | number>;
  capTypeOf?: (capName: string) => CapType | undefined;
}

/** The signature of `validatePlan`. */
export type PlanValidator = (plan: DefPlan, ctx: PlanValidationContext) => Diagnostic[];

async function importPlanValidator(): Promise<PlanValidator | undefined> {
  // A computed specifier keeps `deno check` from requiring the file before it lands.
  const specifier = "./validate_plan.ts";
  try {
    const module = await import(specifier) as { validatePlan?: PlanValidator };
    return module.validatePlan;
  } catch (error) {
    if (error instanceof TypeError && /Module not found|Requires read access/.test(error.message)) {
      return undefined;
    }
    throw error;
  }
}

/** `validatePlan` of `validate_plan.ts`, or `undefined` while that file does not exist. */
export const planValidator: PlanValidator | undefined = await importPlanValidator();
