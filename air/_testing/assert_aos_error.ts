import { fail, strictEqual } from "node:assert/strict";
import { AosError, type AosErrorCode } from "../base/mod.ts";

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
