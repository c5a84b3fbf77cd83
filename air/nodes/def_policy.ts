/**
 * `defpolicy` (AIR §11): ordered rules over effects, first match decides, default deny.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { effectKindSchema, identifierSchema, nameSchema } from "./_fields.ts";

/** One policy rule (AIR §11). */
export const policyRuleSchema = z.strictObject({
  when: z.strictObject({
    effect_kind: effectKindSchema.optional(),
    cap_name: identifierSchema.optional(),
    host: z.string().optional(),
    method: z.string().optional(),
    origin_kind: z.enum(["plan", "reducer"]).optional(),
    origin_name: nameSchema.optional(),
  }),
  decision: z.enum(["allow", "deny"]),
});

/** One ordered policy rule (AIR §11). */
export type PolicyRule = ExactOutput<typeof policyRuleSchema>;

/** `defpolicy` (AIR §11). */
export const defPolicySchema = z.strictObject({
  $kind: z.literal("defpolicy"),
  name: nameSchema,
  rules: z.array(policyRuleSchema),
});

/** `{"$kind":"defpolicy"}`: ordered rules, first match decides, default deny (AIR §11). */
export type DefPolicy = ExactOutput<typeof defPolicySchema>;
