/**
 * `defeffect` (the original AgentOS's effect declaration): an effect kind with its params and receipt
 * schemas, the cap type it needs and where it may be emitted from. Our runtime supports only the built-in
 * catalog (`effect_catalog.ts`), so a declared defeffect must match the built-in of its kind.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { capTypeSchema, nameSchema } from "./_fields.ts";

/** Where an effect may be emitted from: a reducer (micro-effects), a plan, or both. */
export const ORIGIN_SCOPES = ["reducer", "plan", "both"] as const;

/** `defeffect`. */
export const defEffectSchema = z.strictObject({
  $kind: z.literal("defeffect"),
  name: nameSchema,
  kind: z.string(),
  params_schema: nameSchema,
  receipt_schema: nameSchema,
  cap_type: capTypeSchema,
  origin_scope: z.enum(ORIGIN_SCOPES),
  description: z.string().optional(),
});

/** `{"$kind":"defeffect"}`: an effect kind's schemas, cap type and origin scope. */
export type DefEffect = ExactOutput<typeof defEffectSchema>;
