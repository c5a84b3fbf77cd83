/**
 * Private assertions of the `air/` unit tests. Not a test file, and no non-test module imports it.
 *
 * @module
 */
import { deepStrictEqual, equal, fail, ok, strictEqual } from "node:assert/strict";
import { type AirFile, type Diagnostic, formatDiagnostic, loadAirBundle } from "./bundle.ts";
import { AosError, type AosErrorCode } from "./errors.ts";

/** Asserts `fn` throws an `AosError` with `code` (and `context.path`, if given); returns the error. */
export function assertAosError(fn: () => unknown, code: AosErrorCode, path?: string): AosError {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof AosError)) throw error;
    strictEqual(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    if (path !== undefined) strictEqual(error.context.path, path, error.message);
    return error;
  }
  fail(`expected an AosError ${code}, nothing was thrown`);
}

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
