/**
 * Private assertions of the bundle tests. Not a test file, and no non-test module imports it.
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { type AirFile, type Diagnostic, formatDiagnostic, loadAirBundle } from "./bundle.ts";

/** A diagnostic as the bundle tests compare it: everything but its message. */
export type Expected = Omit<Diagnostic, "message">;

/** The diagnostics without their messages. */
export function located(diagnostics: Diagnostic[]): Expected[] {
  return diagnostics.map(({ message: _message, ...rest }) => rest);
}

/** Loads `files`; asserts exactly these diagnostics, in order, each with a message, and no bundle. */
export function expectErrors(files: AirFile[], expected: Expected[]): Diagnostic[] {
  const { bundle, diagnostics } = loadAirBundle(files);
  deepStrictEqual(located(diagnostics), expected, diagnostics.map(formatDiagnostic).join("\n"));
  equal(bundle, undefined, "no bundle when there are errors");
  for (const d of diagnostics) ok(d.message.length > 0);
  return diagnostics;
}
