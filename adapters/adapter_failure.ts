/**
 * Why an adapter answered `error` or `timeout`. A receipt carries no reason (AIR §9.3), so adapters tell
 * an optional `onFailure` callback instead — for logs and operators, never for the kernel.
 *
 * @module
 */
import type { EffectKind, HashRef } from "../air/mod.ts";

/** One failed execution. */
export interface AdapterFailure {
  adapterId: string;
  kind: EffectKind;
  intentHash: HashRef;
  status: "error" | "timeout";
  /** A sentence-case message, not API. */
  reason: string;
  cause?: unknown;
}
