/**
 * `defcap` (AIR §10.1): a capability type alias with its parameter schema.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { capTypeSchema, nameSchema } from "./_fields.ts";
import { typeExprSchema } from "./type_expr_schema.ts";

/** `defcap` (AIR §10.1). */
export const defCapSchema = z.strictObject({
  $kind: z.literal("defcap"),
  name: nameSchema,
  cap_type: capTypeSchema,
  schema: typeExprSchema,
});

/** `{"$kind":"defcap"}`: a capability type alias with its parameter schema (AIR §10.1). */
export type DefCap = ExactOutput<typeof defCapSchema>;
