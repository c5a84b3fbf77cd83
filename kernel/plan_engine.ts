/**
 * Placeholder plan engine: worlds without plans. Replaced by the real engine (KERNEL §5).
 *
 * @module
 */
import type { CborValue } from "../air/cbor.ts";
import { AosError } from "../air/errors.ts";
import type { PlanEngine, PlanHost } from "./plan_types.ts";

/** Creates the plan engine for a kernel. */
export function createPlanEngine(_host: PlanHost): PlanEngine {
  const unsupported = (): never => {
    throw new AosError("AOS_INVARIANT", "Plans are not available in this build");
  };
  return {
    startFromTrigger: unsupported,
    startRequested: unsupported,
    onEvent: () => {},
    onReceipt: unsupported,
    run: unsupported,
    cancel: unsupported,
    instances: () => [],
    nextInstanceId: 1n,
    snapshot: () => ({ plans: [] as CborValue[], next_instance_id: 1n }),
    restore: () => {},
  };
}
