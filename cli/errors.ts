/**
 * Every error `aos` can meet, printed in one form: `error[AOS_CODE]: message`. Domain errors carry their
 * code; commander's usage errors become `AOS_USAGE`; Deno's file-system errors become `AosError`s naming
 * the path; an `InvariantError` (or anything else unexpected) is reported as a bug. No stack trace.
 *
 * @module
 */
import { CommanderError } from "commander";
import { AosError, type AosErrorCode, InvariantError } from "../air/mod.ts";
import type { CliIo } from "./context.ts";
import { EXIT_FAILED, EXIT_USAGE, exitCodeFor } from "./exit.ts";

const FS_ERRORS: ReadonlyArray<[new (...args: never[]) => Error, AosErrorCode, string]> = [
  [Deno.errors.NotFound, "AOS_PATH_NOT_FOUND", "no such file or folder"],
  [Deno.errors.AlreadyExists, "AOS_PATH_EXISTS", "already exists"],
  [Deno.errors.NotADirectory, "AOS_NOT_A_DIRECTORY", "a part of the path is not a folder"],
  [Deno.errors.IsADirectory, "AOS_IS_A_DIRECTORY", "is a folder"],
  [Deno.errors.PermissionDenied, "AOS_PERMISSION_DENIED", "permission denied"],
];

/**
 * Deno's file-system error as an {@linkcode AosError} naming the operation and the path (Deno's message
 * reads `Permission denied (os error 13): mkdir '/proc/x'`), or undefined when `error` is not one.
 */
export function fsErrorToAos(error: unknown): AosError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof Deno.errors.NotCapable) {
    return new AosError("AOS_PERMISSION_DENIED", `Not allowed by Deno's permissions: ${error.message}`, {
      cause: error,
    });
  }
  const match = FS_ERRORS.find(([type]) => error instanceof type);
  const located = /:\s*(\w+) '([^']*)'(?: -> '([^']*)')?\s*$/.exec(error.message);
  const what = located
    ? `${located[1]} "${located[2]}"${located[3] === undefined ? "" : ` -> "${located[3]}"`}`
    : error.message;
  const path = located?.[2];
  const context = path === undefined ? {} : { context: { file: path } };
  if (match) {
    const [, code, reason] = match;
    return new AosError(code, `Cannot ${what}: ${reason}`, { cause: error, ...context });
  }
  if (
    error instanceof Deno.errors.InvalidData || error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.WriteZero || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.Busy || error instanceof Deno.errors.FilesystemLoop ||
    error instanceof Deno.errors.NotSupported
  ) {
    return new AosError("AOS_IO", `Cannot ${what}: ${error.message.replace(/:\s*\w+ '.*$/, "")}`, {
      cause: error,
      ...context,
    });
  }
  return undefined;
}

/** What a user can do about errors of these codes. */
const HINTS: Partial<Record<AosErrorCode, string>> = {
  AOS_JOURNAL_CORRUPT: ' (nothing was changed; run "aos journal verify" to see the damage, then ' +
    '"aos journal repair --quarantine" to move the damaged segment and everything after it to .aos/quarantine/ ' +
    "and restore from the latest valid snapshot before it)",
  AOS_JOURNAL_TORN:
    ' (the last write was cut off by a crash; any writing command, e.g. "aos step", cuts it and keeps the bytes ' +
    "in .aos/quarantine/)",
  AOS_CAS_CORRUPT: " (a stored file does not match its hash; restore .aos/store/ from a copy)",
};

/** The hint for errors of `code` (what the user can do), or "". */
export function hintFor(code: string): string {
  return HINTS[code as AosErrorCode] ?? "";
}

/** One line: `message` without commander's `error: ` prefix, its lines joined. */
function commanderMessage(error: CommanderError): string {
  return error.message.replace(/^error:\s*/, "").split("\n").map((l) => l.trim()).filter((l) => l !== "")
    .join(" ");
}

/** Prints `error` in the one form and returns the exit code. */
export function reportError(io: CliIo, error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return error.exitCode === 0 ? 0 : EXIT_USAGE;
    io.err(`error[AOS_USAGE]: ${commanderMessage(error)}`);
    return EXIT_USAGE;
  }
  const aos = error instanceof AosError ? error : fsErrorToAos(error);
  if (aos) {
    io.err(`error[${aos.code}]: ${aos.message}${HINTS[aos.code] ?? ""}`);
    return exitCodeFor(aos);
  }
  if (error instanceof InvariantError) {
    io.err(`error[${error.code}]: ${error.message} (this is a bug)`);
    return EXIT_FAILED;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.err(`error[AOS_INTERNAL]: ${message.replace(/\s*\n\s*/g, " ")} (this is a bug)`);
  return EXIT_FAILED;
}
