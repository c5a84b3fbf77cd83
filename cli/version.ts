/**
 * `aos --version` and `aos version [--json]`: the release (from `deno.json`) and the journal format.
 *
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };
import { JOURNAL_FORMAT_VERSION } from "../journal/mod.ts";
import { type CliIo, printJson } from "./context.ts";

/** The release of this `aos`, as `deno.json` names it. */
export const AOS_VERSION: string = denoConfig.version;

/** The one line `aos --version` prints. */
export function versionLine(): string {
  return `aos ${AOS_VERSION} (journal format ${JOURNAL_FORMAT_VERSION}, deno ${Deno.version.deno})`;
}

/** Runs `aos version`. */
export function runVersion(io: CliIo, options: { json?: boolean }): Promise<number> {
  if (options.json) {
    printJson(io, {
      version: AOS_VERSION,
      journal_format: BigInt(JOURNAL_FORMAT_VERSION),
      deno: Deno.version.deno,
    });
  } else {
    io.out(versionLine());
  }
  return Promise.resolve(0);
}
