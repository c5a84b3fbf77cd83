/**
 * Diagnostics of the AIR loader and validator (AIR §14): the type, the stable codes and a collector that
 * locates each problem by file, JSON path, definition and step.
 *
 * @module
 */
import { jsonPath } from "../base/mod.ts";

/**
 * A validation problem; `code` is stable API, `message` is not. `path` is a JSON path within `file`
 * (`$[2].steps[0].kind`); `severity` absent means `"error"`. Only errors make a bundle invalid.
 */
export interface Diagnostic {
  code: string;
  message: string;
  severity?: "error" | "warning";
  file?: string;
  path?: string;
  def?: string;
  step?: string;
}

/** The diagnostic codes of the loader and validator (AIR §14, except the plan-internal rules). */
export const AIR_DIAGNOSTIC_CODES = [
  // Text and shape
  "AIR_JSON_INVALID",
  "AIR_SHAPE",
  "AIR_KIND_UNKNOWN",
  "AIR_KIND_RESERVED",
  "AIR_NAME_INVALID",
  "AIR_EFFECT_UNKNOWN",
  "AIR_CAP_TYPE_UNKNOWN",
  // Names and references
  "AIR_NAME_DUPLICATE",
  "AIR_SYS_RESERVED",
  "AIR_SCHEMA_UNKNOWN",
  "AIR_MODULE_UNKNOWN",
  "AIR_REF_UNKNOWN",
  // Types
  "AIR_TYPE_CYCLE",
  "AIR_TYPE_INVALID",
  // Manifest
  "AIR_MANIFEST_MISSING",
  "AIR_MANIFEST_DUPLICATE",
  "AIR_MANIFEST_HASH_MISMATCH",
  "AIR_VERSION_UNSUPPORTED",
  "AIR_ROUTE_NOT_ACCEPTED",
  "AIR_KEY_FIELD",
  "AIR_TRIGGER_INPUT",
  "AIR_CORRELATE_BY",
  "AIR_GRANT_PARAMS",
  "AIR_BINDING_SLOT",
  "AIR_CAP_TYPE_MISMATCH",
  // defmodule
  "AIR_EFFECT_NOT_MICRO",
  "AIR_EFFECT_NO_SLOT",
  "AIR_WASM_MISSING",
  "AIR_WASM_INVALID",
  // defeffect
  "AIR_EFFECT_MISMATCH",
  "AIR_EFFECT_ORIGIN_SCOPE",
  // defsecret
  "AIR_SECRET_BINDING",
  // defcap
  "AIR_CAP_SCHEMA",
  // defpolicy (warnings)
  "AIR_POLICY_ORIGIN_UNKNOWN",
  "AIR_POLICY_CAP_UNKNOWN",
  "AIR_POLICY_RULE_UNREACHABLE",
] as const;
/** A diagnostic code of the loader. */
export type AirDiagnosticCode = (typeof AIR_DIAGNOSTIC_CODES)[number];

/** True for an error (a diagnostic without `severity` is one). */
export function isErrorDiagnostic(diagnostic: Diagnostic): boolean {
  return diagnostic.severity !== "warning";
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: ReadonlyArray<Diagnostic>): boolean {
  return diagnostics.some(isErrorDiagnostic);
}

/** `file:path: [CODE] message (def NAME, step ID)`; warnings read `file:path: warning [CODE] message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const location = d.file === undefined ? "" : `${d.file}${d.path === undefined ? "" : `:${d.path}`}: `;
  const context = [d.def === undefined ? "" : `def ${d.def}`, d.step === undefined ? "" : `step ${d.step}`]
    .filter((part) => part !== "")
    .join(", ");
  const severity = d.severity === "warning" ? "warning " : "";
  return `${location}${severity}[${d.code}] ${d.message}${context === "" ? "" : ` (${context})`}`;
}

/** JSON path segments. */
export type Segments = Array<string | number>;

/** Where a problem is: the file, the path within it, the definition and the plan step. */
export interface Where {
  file?: string | undefined;
  at?: Segments | undefined;
  def?: string | undefined;
  step?: string | undefined;
}

/** Collects diagnostics in the order they are found. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  /** Adds an error. */
  error(code: AirDiagnosticCode, message: string, where: Where = {}): void {
    this.push(code, message, where, undefined);
  }

  /** Adds a warning. */
  warn(code: AirDiagnosticCode, message: string, where: Where = {}): void {
    this.push(code, message, where, "warning");
  }

  /** Adds diagnostics made elsewhere (the plan validator's). */
  addAll(diagnostics: ReadonlyArray<Diagnostic>): void {
    this.diagnostics.push(...diagnostics);
  }

  private push(code: string, message: string, where: Where, severity: "warning" | undefined): void {
    const diagnostic: Diagnostic = { code, message };
    if (severity !== undefined) diagnostic.severity = severity;
    if (where.file !== undefined) diagnostic.file = where.file;
    if (where.at !== undefined) diagnostic.path = jsonPath(where.at);
    if (where.def !== undefined) diagnostic.def = where.def;
    if (where.step !== undefined) diagnostic.step = where.step;
    this.diagnostics.push(diagnostic);
  }
}
