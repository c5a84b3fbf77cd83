/**
 * Private `Value` builders and byte damage of the `air/` codec tests. Not a test file, and no non-test module
 * imports it.
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

/** How {@linkcode damaged} leaves bytes: as they are (twice as likely), a byte changed, cut, one added. */
export const DAMAGES = ["as is", "as is", "flip", "cut", "add"] as const;

/** `bytes` as they are, or with the byte at `at` changed to `byte`, cut there, or with `byte` added. */
export function damaged(
  bytes: Uint8Array,
  at: number,
  byte: number,
  how: (typeof DAMAGES)[number],
): Uint8Array {
  if (how === "as is" || bytes.length === 0) return bytes;
  const i = at % bytes.length;
  if (how === "flip") {
    const copy = bytes.slice();
    copy[i] = byte;
    return copy;
  }
  if (how === "cut") return bytes.slice(0, i);
  return Uint8Array.of(...bytes, byte);
}
