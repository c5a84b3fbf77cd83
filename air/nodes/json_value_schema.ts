/**
 * {@linkcode jsonValueSchema}: any JSON value as `parseJson` produces it.
 *
 * @module
 */
import { z } from "zod";
import type { JsonValue } from "../base/mod.ts";

/** Any JSON value with bigint integers (what `parseJson` produces). */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.string(),
    z.bigint(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ])
);
