/**
 * The shape of a TypeExpr (AIR §2) as node text holds it: {@linkcode typeExprIssues} checks it
 * recursively, {@linkcode typeExprSchema} wraps that check for the node schemas.
 *
 * @module
 */
import { z } from "zod";
import { limits } from "../base/mod.ts";
import type { TypeExpr } from "../value/mod.ts";
import { isPlainObject, quote } from "./_fields.ts";
import type { NodeIssue } from "./node_issue.ts";
import { NAME_PATTERN } from "./patterns.ts";

const PRIMITIVES: ReadonlySet<string> = new Set([
  "bool",
  "int",
  "nat",
  "dec128",
  "bytes",
  "text",
  "time",
  "duration",
  "hash",
  "uuid",
  "unit",
]);

/**
 * Checks a TypeExpr's shape recursively (AIR §2) and returns the issues; semantic rules (refs resolve,
 * comparable keys, nested options) need the other schemas and are checked by the bundle loader.
 */
export function typeExprIssues(value: unknown, path: Array<string | number> = [], depth = 0): NodeIssue[] {
  const issues: NodeIssue[] = [];
  const add = (message: string, at: Array<string | number>, code = "AIR_SHAPE") =>
    issues.push({ code, message, path: at });
  if (depth > limits.nestingDepthMax) {
    add(`Invalid type expression: nested deeper than ${limits.nestingDepthMax}`, path);
    return issues;
  }
  if (!isPlainObject(value)) {
    add(
      `Invalid type expression: expected a one-key object, got ${
        Array.isArray(value) ? "array" : quote(value)
      }`,
      path,
    );
    return issues;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    add(
      `Invalid type expression: expected exactly one key, got ${keys.length} (${keys.map(quote).join(", ")})`,
      path,
    );
    return issues;
  }
  const key = keys[0]!;
  const payload = value[key];
  const at = [...path, key];
  if (PRIMITIVES.has(key)) {
    if (!isPlainObject(payload) || Object.keys(payload).length > 0) {
      add(`Invalid type expression: primitive "${key}" takes {}`, at);
    }
  } else if (key === "record" || key === "variant") {
    if (!isPlainObject(payload)) add(`Invalid type expression: "${key}" takes an object of types`, at);
    else if (key === "variant" && Object.keys(payload).length === 0) {
      // A closed union with no alternative has no values (and no zero value).
      add(`Invalid type expression: "variant" needs at least one alternative`, at);
    } else {
      for (const field of Object.keys(payload)) {
        issues.push(...typeExprIssues(payload[field], [...at, field], depth + 1));
      }
    }
  } else if (key === "list" || key === "set" || key === "option") {
    issues.push(...typeExprIssues(payload, at, depth + 1));
  } else if (key === "map") {
    if (!isPlainObject(payload)) add(`Invalid type expression: "map" takes {"key": T, "value": T}`, at);
    else {
      for (const field of Object.keys(payload)) {
        if (field !== "key" && field !== "value") add(`Unknown field "${field}"`, [...at, field]);
      }
      for (const field of ["key", "value"]) {
        if (!(field in payload)) add(`Missing field "${field}"`, [...at, field]);
        else issues.push(...typeExprIssues(payload[field], [...at, field], depth + 1));
      }
    }
  } else if (key === "ref") {
    if (typeof payload !== "string" || !NAME_PATTERN.test(payload)) {
      add(`Invalid name ${quote(payload)}: expected "namespace/Name@version"`, at, "AIR_NAME_INVALID");
    }
  } else {
    add(`Unknown type "${key}"`, at);
  }
  return issues;
}

/** A TypeExpr (AIR §2), checked by {@linkcode typeExprIssues}. */
export const typeExprSchema: z.ZodType<TypeExpr> = z.custom<TypeExpr>().superRefine((value, ctx) => {
  for (const issue of typeExprIssues(value)) {
    ctx.addIssue({
      code: "custom",
      message: issue.message,
      path: issue.path,
      params: { airCode: issue.code },
    });
  }
});
