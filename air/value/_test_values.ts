/**
 * Private `Value` builders of the `air/` codec tests. Not a test file, and no non-test module imports it.
 *
 * @module
 */
import type { Value } from "./value.ts";

/** A `nat` value. */
export const nat = (value: bigint): Value => ({ kind: "nat", value });
/** An `int` value. */
export const int = (value: bigint): Value => ({ kind: "int", value });
/** A `text` value. */
export const text = (value: string): Value => ({ kind: "text", value });
/** A `record` value with these fields, in this order. */
export const record = (fields: Record<string, Value>): Value => ({
  kind: "record",
  value: new Map(Object.entries(fields)),
});
/** A variant value in its record form `{$tag, $value}`. */
export const variant = (tag: string, payload: Value): Value => record({ $tag: text(tag), $value: payload });
