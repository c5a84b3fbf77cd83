/**
 * Parsing the text form of AIR nodes (AIR §1, §6–§12): {@linkcode parseAirNode} picks the zod schema of a
 * node's `$kind` and turns zod's issues into {@linkcode NodeIssue}s with stable codes. Parsing is strict
 * (unknown fields are rejected) and integers are bigints, as `parseJson` produces them. Exprs inside plans
 * are only checked to be JSON values here (`air/expr/` checks them); `defmigration` is reserved.
 *
 * @example Parse one node
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAirNode } from "./parse_air_node.ts";
 *
 * const result = parseAirNode({ $kind: "defschema", name: "demo/Count@1", type: { nat: {} } });
 * assert.ok(result.ok);
 * assert.equal(result.node.$kind, "defschema");
 * ```
 *
 * @module
 */
import type { z } from "zod";
import { isPlainObject, quote } from "./_fields.ts";
import type { AirNode } from "./air_node.ts";
import { defCapSchema } from "./def_cap.ts";
import { defEffectSchema } from "./def_effect.ts";
import { defModuleSchema } from "./def_module.ts";
import { defPlanSchema, PLAN_STEP_OPS } from "./def_plan.ts";
import { defPolicySchema } from "./def_policy.ts";
import { defSecretSchema } from "./def_secret.ts";
import { defSchemaSchema } from "./def_schema.ts";
import { CAP_TYPES, EFFECT_KINDS, RESERVED_KINDS } from "./kinds.ts";
import { manifestSchema } from "./manifest.ts";
import type { NodeIssue } from "./node_issue.ts";
import { IDENTIFIER_PATTERN, NAME_PATTERN, VAR_NAME_PATTERN } from "./patterns.ts";

/** The outcome of {@linkcode parseAirNode}. */
export type ParseNodeResult =
  | { ok: true; node: AirNode }
  | { ok: false; issues: NodeIssue[] };

const NAME_REGEX_TEXTS: ReadonlySet<string> = new Set(
  [NAME_PATTERN, IDENTIFIER_PATTERN, VAR_NAME_PATTERN].map(String),
);

function isNameFormatIssue(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_format" && issue.format === "regex") {
    return issue.pattern !== undefined && NAME_REGEX_TEXTS.has(issue.pattern);
  }
  if (issue.code === "invalid_key") return issue.issues.some(isNameFormatIssue);
  return false;
}

function issueCode(issue: z.core.$ZodIssue): string {
  if (issue.code === "custom") {
    const airCode = (issue.params as { airCode?: unknown } | undefined)?.airCode;
    if (typeof airCode === "string") return airCode;
  }
  if (issue.code === "invalid_value" && sameList(issue.values, EFFECT_KINDS)) return "AIR_EFFECT_UNKNOWN";
  if (issue.code === "invalid_value" && sameList(issue.values, CAP_TYPES)) return "AIR_CAP_TYPE_UNKNOWN";
  return isNameFormatIssue(issue) ? "AIR_NAME_INVALID" : "AIR_SHAPE";
}

function sameList(a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const last = issue.path[issue.path.length - 1];
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? `Invalid key ${quote(last)}`;
  // zod marks a discriminated union whose discriminator matched no option with this note.
  if (issue.code === "invalid_union" && (issue as { note?: unknown }).note === "No matching discriminator") {
    const input = "input" in issue ? issue.input : undefined;
    const op = isPlainObject(input) ? input["op"] : undefined;
    return op === undefined
      ? `Missing field "op"`
      : `Unknown step op ${quote(op)}: expected one of ${PLAN_STEP_OPS.join(", ")}`;
  }
  // Issues carry their input only when parsed with `reportInput`; an absent input is a missing field.
  if (
    issue.code === "invalid_type" && "input" in issue && issue.input === undefined && typeof last === "string"
  ) {
    return `Missing field "${last}"`;
  }
  return issue.message;
}

/** Converts zod issues to node issues: one per unknown key, names and identifiers as `AIR_NAME_INVALID`. */
function zodIssuesToNodeIssues(issues: ReadonlyArray<z.core.$ZodIssue>): NodeIssue[] {
  const out: NodeIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ code: "AIR_SHAPE", message: `Unknown field "${key}"`, path: [...path, key] });
      }
      continue;
    }
    out.push({ code: issueCode(issue), message: issueMessage(issue), path });
  }
  return out;
}

const SCHEMA_BY_KIND: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ["defschema", defSchemaSchema],
  ["defmodule", defModuleSchema],
  ["defplan", defPlanSchema],
  ["defcap", defCapSchema],
  ["defpolicy", defPolicySchema],
  ["defeffect", defEffectSchema],
  ["defsecret", defSecretSchema],
  ["manifest", manifestSchema],
]);

/**
 * Parses the text form of one node (a JSON value with bigint integers). The `$kind` picks the schema;
 * `defmigration` yields `AIR_KIND_RESERVED`, a kind outside AIR v1 `AIR_KIND_UNKNOWN`. Unknown effect kinds
 * and cap types are `AIR_EFFECT_UNKNOWN` and `AIR_CAP_TYPE_UNKNOWN`, malformed names and identifiers
 * `AIR_NAME_INVALID`, any other problem `AIR_SHAPE`.
 */
export function parseAirNode(value: unknown): ParseNodeResult {
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? "array" : quote(value);
    return {
      ok: false,
      issues: [{ code: "AIR_SHAPE", message: `Expected an AIR node object, got ${got}`, path: [] }],
    };
  }
  const kind = value["$kind"];
  const fail = (code: string, message: string): ParseNodeResult => ({
    ok: false,
    issues: [{ code, message, path: ["$kind"] }],
  });
  if (typeof kind !== "string") return fail("AIR_SHAPE", `Missing or non-text "$kind"`);
  if (RESERVED_KINDS.has(kind)) return fail("AIR_KIND_RESERVED", `Kind "${kind}" is reserved in AIR v1`);
  const schema = SCHEMA_BY_KIND.get(kind);
  if (schema === undefined) return fail("AIR_KIND_UNKNOWN", `Unknown kind "${kind}"`);
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) return { ok: false, issues: zodIssuesToNodeIssues(result.error.issues) };
  return { ok: true, node: result.data as AirNode };
}
