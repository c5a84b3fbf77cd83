/**
 * Private helpers of the scenario tests: compact text views of journal entries and plan steps, for exact
 * comparisons. Not a test file.
 *
 * @module
 */
import type { TestWorld, TypedEntry } from "../mod.ts";

/** `Schema (origin)` for a domain event, `kind #instance` for a plan's entry, else the kind. */
export function entryLine(x: TypedEntry): string {
  if (x.kind === "domain_event") return `${x.schema} (${x.origin})`;
  if (x.instance !== undefined) return `${x.kind} #${x.instance}`;
  return x.kind;
}

/** The steps of the first plan instance as `id:state`. */
export function stepStates(w: TestWorld): string[] {
  return w.plans()[0]!.steps.map((s) => `${s.id}:${s.state}`);
}
