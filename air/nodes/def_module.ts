/**
 * `defmodule` (AIR §8): a WASM reducer and its ABI.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { capTypeSchema, effectKindSchema, hashSchema, identifierSchema, nameSchema } from "./_fields.ts";

/** The reducer ABI of a module (AIR §8). */
export const reducerAbiSchema = z.strictObject({
  state: nameSchema,
  event: nameSchema,
  annotations: nameSchema.optional(),
  effects_emitted: z.array(effectKindSchema).optional(),
  cap_slots: z.record(identifierSchema, capTypeSchema).optional(),
});

/** The reducer ABI of a module (AIR §8). */
export type ReducerAbi = ExactOutput<typeof reducerAbiSchema>;

/** `defmodule` (AIR §8). */
export const defModuleSchema = z.strictObject({
  $kind: z.literal("defmodule"),
  name: nameSchema,
  module_kind: z.literal("reducer"),
  wasm_hash: hashSchema,
  key_schema: nameSchema.optional(),
  abi: z.strictObject({ reducer: reducerAbiSchema }),
});

/** `{"$kind":"defmodule"}`: a WASM reducer (AIR §8). */
export type DefModule = ExactOutput<typeof defModuleSchema>;
