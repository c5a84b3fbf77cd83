/**
 * The field schemas the node schemas share: names, identifiers, hashes, u64 integers, variable names,
 * effect kinds and cap types, each with the error message its issue reports.
 *
 * @module
 */
import { z } from "zod";
import type { HashRef } from "../cbor/mod.ts";
import { CAP_TYPES, EFFECT_KINDS } from "./kinds.ts";
import { HASH_PATTERN, IDENTIFIER_PATTERN, NAME_PATTERN, VAR_NAME_PATTERN } from "./patterns.ts";

const U64_MAX = (1n << 64n) - 1n;

/** A value as an issue message quotes it: strings as JSON, bigints as digits, anything else by type. */
export function quote(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "bigint"
    ? `${value}`
    : typeof value;
}

/** True for an object that is neither `null` nor an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A definition name `namespace/Name@version`. */
export const nameSchema = z.string().regex(NAME_PATTERN, {
  error: (issue) => `Invalid name ${quote(issue.input)}: expected "namespace/Name@version"`,
});
/** A grant or slot name. */
export const identifierSchema = z.string().regex(IDENTIFIER_PATTERN, {
  error: (issue) => `Invalid identifier ${quote(issue.input)}: expected ${String(IDENTIFIER_PATTERN)}`,
});
/** A `sha256:` hash reference. */
export const hashSchema = z.custom<HashRef>(
  (value) => typeof value === "string" && HASH_PATTERN.test(value),
  {
    error: (issue) => `Invalid hash ${quote(issue.input)}: expected "sha256:" and 64 lowercase hex digits`,
  },
);
/** A u64 as a bigint. */
export const natSchema = z.bigint().min(0n).max(U64_MAX);
/** A variable name or step id. */
export const varNameSchema = z.string().regex(VAR_NAME_PATTERN, {
  error: (issue) =>
    `Invalid variable name or step id ${quote(issue.input)}: expected ${
      String(VAR_NAME_PATTERN)
    } (no ".", the reference path separator)`,
});
/** An effect kind of the v1 catalog. */
export const effectKindSchema = z.enum(EFFECT_KINDS, {
  error: (issue) => `Unknown effect kind ${quote(issue.input)}: expected one of ${EFFECT_KINDS.join(", ")}`,
});
/** A capability type of v1. */
export const capTypeSchema = z.enum(CAP_TYPES, {
  error: (issue) => `Unknown cap type ${quote(issue.input)}: expected one of ${CAP_TYPES.join(", ")}`,
});
