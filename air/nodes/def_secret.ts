/**
 * `defsecret` (the original AgentOS's secret declaration): a named secret whose value lives outside the
 * world, behind an opaque `binding_id` the node resolves at dispatch (`env:NAME` reads an environment
 * variable). Effect params reference it with a `sys/SecretRef@1` value `{alias, version}` (the name
 * `alias@version`); the value itself is never in AIR, the journal, the CAS or a snapshot. `allowed_caps`
 * (grant names) and `allowed_plans` (plan names), when given, restrict which effects may reference it.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { hashSchema, identifierSchema, nameSchema } from "./_fields.ts";

/** `defsecret`. */
export const defSecretSchema = z.strictObject({
  $kind: z.literal("defsecret"),
  name: nameSchema,
  binding_id: z.string().min(1, { error: 'binding_id must not be empty (e.g. "env:LLM_API_KEY")' }),
  /** `sha256:` of the value's UTF-8 bytes: a resolved value that hashes otherwise is refused (drift). */
  expected_digest: hashSchema.optional(),
  allowed_caps: z.array(identifierSchema).optional(),
  allowed_plans: z.array(nameSchema).optional(),
});

/** `{"$kind":"defsecret"}`: a secret's binding and who may use it. */
export type DefSecret = ExactOutput<typeof defSecretSchema>;

/** A reference to a secret in effect params (`sys/SecretRef@1`): the defsecret named `alias@version`. */
export interface SecretRef {
  alias: string;
  version: bigint;
}

/** The defsecret name a {@linkcode SecretRef} points at: `alias@version`. */
export function secretName(ref: SecretRef): string {
  return `${ref.alias}@${ref.version}`;
}
