/**
 * The one place where error codes become exit codes: 0 ok, 1 failed or diverged, 2 usage or invalid input.
 *
 * @module
 */
import { AosError, type AosErrorCode } from "../air/mod.ts";

/** Exit codes of `aos`. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const INVALID_INPUT: ReadonlySet<AosErrorCode> = new Set<AosErrorCode>([
  "AOS_USAGE",
  "AOS_JSON_INVALID",
  "AOS_AIR_INVALID",
  "AOS_TYPE_MISMATCH",
  "AOS_SCHEMA_UNKNOWN",
  "AOS_CBOR_INVALID",
  "AOS_CBOR_NON_CANONICAL",
  "AOS_WORLD_EXISTS",
  "AOS_WORLD_NOT_FOUND",
  "AOS_REDUCER_UNKNOWN",
  "AOS_WASM_INVALID",
  "AOS_PATH_NOT_FOUND",
  "AOS_PATH_EXISTS",
  "AOS_NOT_A_DIRECTORY",
  "AOS_IS_A_DIRECTORY",
  "AOS_PERMISSION_DENIED",
  "AOS_DIR_NOT_EMPTY",
  "AOS_INPUT_TOO_LARGE",
]);

/** Exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof AosError) return INVALID_INPUT.has(error.code) ? EXIT_USAGE : EXIT_FAILED;
  return EXIT_FAILED;
}
