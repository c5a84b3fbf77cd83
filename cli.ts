/**
 * `aos`, the AgentOS command-line tool. Thin entry: all commands live in `cli/`.
 *
 * @module
 */
import { runCli } from "./cli/main.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
