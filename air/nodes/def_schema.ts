/**
 * `defschema` (AIR §7): a named type.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { nameSchema } from "./_fields.ts";
import { typeExprSchema } from "./type_expr_schema.ts";

/** `defschema` (AIR §7). */
export const defSchemaSchema = z.strictObject({
  $kind: z.literal("defschema"),
  name: nameSchema,
  type: typeExprSchema,
});

/** `{"$kind":"defschema"}`: a named type (AIR §7). */
export type DefSchema = ExactOutput<typeof defSchemaSchema>;
