/**
 * The reference grammar of Expr (AIR §12.3).
 *
 * @module
 */
import type { ExprRef } from "./expr_ast.ts";

/** A variable name or step id as references use it: an AIR identifier without `.` (AIR §1 Choice). */
export const REF_NAME_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** A path segment: a field name (AIR §2 Choice) or the `$tag`/`$value` of a variant value. */
export const REF_SEGMENT_PATTERN: RegExp = /^(?:[A-Za-z_][A-Za-z0-9_]*|\$tag|\$value)$/;

const INPUT = "@plan.input";
const PREFIXES = [["@var:", "var"], ["@step:", "step"]] as const;

/** The outcome of {@linkcode parseRef}. */
export type ParseRefResult = { ok: true; ref: ExprRef } | { ok: false; message: string };

function segmentsOf(rest: string | undefined, text: string): string[] | string {
  if (rest === undefined) return [];
  const segments = rest.split(".");
  const bad = segments.find((segment) => !REF_SEGMENT_PATTERN.test(segment));
  return bad === undefined
    ? segments
    : `Invalid reference ${JSON.stringify(text)}: path segment ${JSON.stringify(bad)} is not a field name`;
}

/**
 * Parses `@plan.input(.seg)*`, `@var:NAME(.seg)*` or `@step:ID(.seg)*`; NAME and ID are the text before
 * the first `.`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(parseRef("@var:resp.status"), {
 *   ok: true,
 *   ref: { root: "var", name: "resp", path: ["status"], text: "@var:resp.status" },
 * });
 * ```
 */
export function parseRef(text: string): ParseRefResult {
  if (text === INPUT || text.startsWith(`${INPUT}.`)) {
    const segments = segmentsOf(text === INPUT ? undefined : text.slice(INPUT.length + 1), text);
    return typeof segments === "string"
      ? { ok: false, message: segments }
      : { ok: true, ref: { root: "input", path: segments, text } };
  }
  for (const [prefix, root] of PREFIXES) {
    if (!text.startsWith(prefix)) continue;
    const body = text.slice(prefix.length);
    const dot = body.indexOf(".");
    const name = dot < 0 ? body : body.slice(0, dot);
    if (!REF_NAME_PATTERN.test(name)) {
      return {
        ok: false,
        message: `Invalid reference ${JSON.stringify(text)}: ${JSON.stringify(name)} is not a ${root} name`,
      };
    }
    const segments = segmentsOf(dot < 0 ? undefined : body.slice(dot + 1), text);
    return typeof segments === "string"
      ? { ok: false, message: segments }
      : { ok: true, ref: { root, name, path: segments, text } };
  }
  return {
    ok: false,
    message: `Invalid reference ${
      JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
    }: expected "@plan.input", "@var:NAME" or "@step:ID"`,
  };
}
