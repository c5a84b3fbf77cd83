/**
 * The `aos` command tree (commander). Every action returns an exit code; errors are mapped to exit
 * codes in one place (`exit.ts`) and printed with their stable code.
 *
 * @module
 */
import { Command } from "commander";
import { runAirCheck, runAirFmt, runAirHash } from "./air.ts";
import { type CliIo, locateWorld, processIo, resolvePath } from "./context.ts";
import { runEventSend } from "./event.ts";
import { reportError } from "./errors.ts";
import { runInfo } from "./info.ts";
import { type InitOptions, runInit, runTransfer, storeOption, TEMPLATES } from "./init.ts";
import { runNewReducer } from "./new.ts";
import { runJournalRepair, runJournalShow, runJournalVerify } from "./journal.ts";
import { runPlanCancel, runPlanLs, runPlanShow, runPlanStart } from "./plan.ts";
import { runReceiptsLs, runReceiptsShow, runReceiptsSubmit } from "./receipts.ts";
import { runReplay } from "./replay.ts";
import { runRollback } from "./rollback.ts";
import { runRun } from "./run.ts";
import { runSnapshot, runSnapshotLs } from "./snapshot.ts";
import { runStateGet, runStateLs } from "./state.ts";
import { runStep } from "./step.ts";
import { runVersion, versionLine } from "./version.ts";
import { registerManifestCommands } from "./manifest.ts";
import { registerProposalCommands } from "./proposal.ts";

/**
 * Runs `aos` with `args` (without the program name) and returns the exit code. Everything the command
 * reads of or writes to its surroundings goes through `io` (default: this process's), so it runs in
 * process as it would as `aos` in `io.cwd`; it never exits the process.
 */
export async function runCli(args: string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const program = new Command("aos")
    .description("AgentOS: deterministic, event-sourced worlds of WASM reducers")
    .option(
      "--world <dir>",
      "the world folder (default: the current folder or its nearest parent with .aos/)",
    )
    .version(versionLine(), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // Commander's own error messages are printed by `reportError`, in the one form.
      outputError: () => {},
      ...(io.terminal === undefined ? {} : terminalOutput(io.terminal)),
    })
    .showHelpAfterError(false);
  const world = () => program.opts<{ world?: string }>().world;
  const act = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => async (...args: A) => {
    code = await fn(...args);
  };

  program.command("init")
    .description("create a world (from a template, or from DIR/air and DIR/modules)")
    .argument("[dir]", "folder of the new world", ".")
    .option("--template <name>", `template to start from: ${TEMPLATES.join(", ")}`)
    .option("--from <path>", "start from a folder of AIR files (and the .wasm its modules name)")
    .option("--force", "create the world in a non-empty folder, or inside another world")
    .option(
      "--store <url>",
      "keep journal, store and head in PostgreSQL: postgres://USER@HOST:PORT/DB (password from PGPASSWORD)",
    )
    .option("--world-id <id>", "the world's id in the --store database (default: a new random id)")
    .option(
      "--import <world>",
      "copy an existing world (journal, store, head, inbox, files) into the new one",
    )
    .option("--json", "print a JSON summary")
    .action(act((dir: string, o: InitOptions) => runInit(io, dir, o)));

  program.command("world")
    .description("move worlds between stores")
    .command("export")
    .description("copy this world into a new world folder, on the file store or (--store) in PostgreSQL")
    .argument("<dir>", "folder of the copy")
    .option(
      "--store <url>",
      "put the copy in PostgreSQL: postgres://USER@HOST:PORT/DB (password from PGPASSWORD)",
    )
    .option("--world-id <id>", "the copy's id in the --store database (default: a new random id)")
    .option("--json", "print a JSON summary")
    .action(
      act(async (dir: string, o: { store?: string; worldId?: string; json?: boolean }) =>
        runTransfer(io, await locateWorld(io, world()), resolvePath(io, dir), storeOption(o), o.json === true)
      ),
    );

  const scaffold = program.command("new").description("scaffold a folder of your own, anywhere");
  scaffold.command("reducer")
    .description(
      "a world folder with an AssemblyScript reducer, its AIR, deno task build and a testkit test",
    )
    .argument("<name>", "reducer name, e.g. hello (module app/Hello@1)")
    .option("--dir <dir>", "the folder to create (default: ./NAME)")
    .option("--force", "write into a non-empty folder")
    .option("--json", 'print {"dir", "module", "schemas", "files"}')
    .action(
      act((name: string, o: { dir?: string; force?: boolean; json?: boolean }) => runNewReducer(io, name, o)),
    );

  const air = program.command("air").description("check, hash and format AIR");
  air.command("check")
    .description("validate a folder of AIR files (default: the world's air/); exit 0 valid, 2 invalid")
    .argument("[path]", "folder or file")
    .option("--json", 'print {"ok", "diagnostics": [{code, message, file, path, def, step}]}')
    .action(act((path: string | undefined, o: { json?: boolean }) => runAirCheck(io, world(), path, o)));
  air.command("hash")
    .description("print each node's hash, kind and name, or a .wasm file's wasm_hash")
    .argument("<path>", "an AIR file, a .wasm file, or a folder (its AIR files and .wasm files)")
    .option("--json", "print JSON")
    .action(act((path: string, o: { json?: boolean }) => runAirHash(io, path, o)));
  air.command("fmt")
    .description("rewrite AIR JSON in one stable layout")
    .argument("[path]", "folder or file (default: the world's air/)")
    .option("--check", "only report files that are not formatted (exit 1)")
    .option("--json", 'print {"check", "files", "changed": [path]}')
    .action(
      act((path: string | undefined, o: { check?: boolean; json?: boolean }) =>
        runAirFmt(io, world(), path, o)
      ),
    );

  const event = program.command("event").description("send domain events");
  event.command("send")
    .description("validate events and queue them durably in the world's inbox")
    .argument("[schema]", "event schema name, e.g. demo/Increment@1")
    .argument("[json]", "the event value in plain JSON, e.g. '{\"by\": 2}'")
    .option("--key <json>", "cell key (keyed routes)")
    .option("--file <events.jsonl>", "one {schema, value, key?} object per line")
    .option("--json", "print a JSON summary")
    .action(
      act((
        schema: string | undefined,
        json: string | undefined,
        o: { key?: string; file?: string; json?: boolean },
      ) => runEventSend(io, world(), schema, json, o)),
    );

  program.command("step")
    .description("admit queued inputs (one block each, one fsync for the batch) and report")
    .option("--json", "print a JSON report")
    .action(act((o: { json?: boolean }) => runStep(io, world(), o)));

  const snapshot = program.command("snapshot")
    .description("take a snapshot now (snapshot ls: list them)")
    .option("--json", 'print {"height", "hash"}')
    .action(act((o: { json?: boolean }) => runSnapshot(io, world(), o)));
  snapshot.command("ls")
    .description("list the snapshots the journal records, newest first")
    .option("--json", 'print [{"height", "hash"}]')
    // `--json` after `ls` is parsed by `snapshot` itself (it has the same option): read both.
    .action(
      act((o: { json?: boolean }) =>
        runSnapshotLs(io, world(), {
          json: o.json === true || snapshot.opts<{ json?: boolean }>().json === true,
        })
      ),
    );

  const state = program.command("state").description("read reducer state");
  state.command("get")
    .description("print a reducer's state")
    .argument("<reducer>", "reducer module name, e.g. demo/Counter@1")
    .option("--key <json>", "cell key (keyed reducers)")
    .option("--json", "print the plain JSON form on one line")
    .action(
      act((reducer: string, o: { key?: string; json?: boolean }) => runStateGet(io, world(), reducer, o)),
    );

  state.command("ls")
    .description("list a reducer's cells (keys and states, by key bytes)")
    .argument("<reducer>", "reducer module name")
    .option("--json", "print JSON")
    .action(act((reducer: string, o: { json?: boolean }) => runStateLs(io, world(), reducer, o)));

  program.command("run")
    .description("dispatch effects, wait for receipts and due timers, admit them; return when idle")
    .option(
      "--until-idle",
      "run until nothing is pending or the timeout (the only mode; accepted for scripts)",
      true,
    )
    .option("--timeout <duration>", "stop waiting after this long (e.g. 500ms, 30s, 2m)", "30s")
    .option("--json", "print a JSON report")
    .action(act((o: { untilIdle?: boolean; timeout?: string; json?: boolean }) => runRun(io, world(), o)));

  const plan = program.command("plan").description("start, cancel and inspect plan instances");
  plan.command("start")
    .description("start a plan instance manually (journaled as plan_start_requested)")
    .argument("<plan>", "plan name")
    .argument("<json>", "the plan input in plain JSON")
    .option("--locals <json>", "initial locals {name: value}")
    .option("--json", "print JSON")
    .action(
      act((name: string, json: string, o: { locals?: string; json?: boolean }) =>
        runPlanStart(io, world(), name, json, o)
      ),
    );
  plan.command("cancel")
    .description("cancel a running plan instance")
    .argument("<id>", "instance id")
    .option("--reason <text>", "why")
    .option("--json", 'print {"cancelled", "outbox"}')
    .action(act((id: string, o: { reason?: string; json?: boolean }) => runPlanCancel(io, world(), id, o)));
  plan.command("ls")
    .description("list plan instances")
    .option("--json", "print JSON")
    .action(act((o: { json?: boolean }) => runPlanLs(io, world(), o)));
  plan.command("show")
    .description("show one plan instance")
    .argument("<id>", "instance id")
    .option("--json", "print JSON")
    .action(act((id: string, o: { json?: boolean }) => runPlanShow(io, world(), id, o)));

  const receipts = program.command("receipts").description("inspect effect receipts");
  receipts.command("ls")
    .description("list journaled receipts (appended and ignored)")
    .option("--json", "print JSON")
    .action(act((o: { json?: boolean }) => runReceiptsLs(io, world(), o)));
  receipts.command("submit")
    .description("queue a signed receipt from outside (CBOR, or JSON with hex fields); aos step admits it")
    .argument("<file>", "the receipt")
    .option("--json", "print JSON")
    .action(act((file: string, o: { json?: boolean }) => runReceiptsSubmit(io, world(), file, o)));
  receipts.command("show")
    .description("show the receipt of an intent")
    .argument("<intent>", "intent hash (sha256:… or a hex prefix)")
    .option("--json", "print JSON")
    .action(act((hash: string, o: { json?: boolean }) => runReceiptsShow(io, world(), hash, o)));

  program.command("info")
    .description("height, manifest, reducers, failures, pending work")
    .option("--json", "print JSON")
    .action(act((o: { json?: boolean }) => runInfo(io, world(), o)));

  const journal = program.command("journal").description("inspect, verify and repair the journal");
  journal.command("show")
    .description("one line per entry")
    .option("--from <seq>", "first seq to show")
    .option("--json", "one JSON object per line")
    .action(act((o: { from?: string; json?: boolean }) => runJournalShow(io, world(), o)));
  journal.command("verify")
    .description(
      "check every frame, CRC, encoding, seq and hash link from genesis, and the head; exit 0 ok, 1 damaged",
    )
    .option("--json", 'print {"ok", "height", "segments", "error"?: {code, message, segment, offset, seq}}')
    .action(act((o: { json?: boolean }) => runJournalVerify(io, world(), o)));
  journal.command("repair")
    .description(
      "move a damaged journal segment and everything after it to .aos/quarantine/ and restore from the " +
        "latest valid snapshot before the damage; says which seqs were lost (needs --quarantine)",
    )
    .option("--quarantine", "confirm: move the damaged part aside (the only mode)")
    .option("--json", 'print {"repaired", "damage", "quarantine", "height", "lost", "restored_from", …}')
    .action(act((o: { quarantine?: boolean; json?: boolean }) => runJournalRepair(io, world(), o)));

  program.command("replay")
    .description("replay the journal from genesis in a fresh kernel")
    .requiredOption("--verify", "check derived entries and state hashes against the live world (required)")
    .option("--json", "print a JSON report")
    .action(act((o: { verify?: boolean; json?: boolean }) => runReplay(io, world(), o)));

  program.command("rollback")
    .description(
      "roll the world back to a snapshot (journaled; the abandoned entries stay for audit, their receipts are ignored)",
    )
    .requiredOption("--to <height>", 'the height of a snapshot ("aos snapshot ls" lists them)')
    .option("--json", 'print {"seq", "to_height", "snapshot_hash", "generation", "abandoned", "height"}')
    .action(act((o: { to?: string; json?: boolean }) => runRollback(io, world(), o)));

  program.command("version")
    .description("print the version of aos and of its journal format")
    .option("--json", 'print {"version", "journal_format", "deno"}')
    .action(act((o: { json?: boolean }) => runVersion(io, o)));

  registerProposalCommands(program, io, world, act);
  registerManifestCommands(program, io, world, act);

  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (error) {
    return reportError(io, error);
  } finally {
    io.flush?.();
  }
}

/** Commander's view of a given terminal (instead of the process's stdout and stderr). */
function terminalOutput(terminal: NonNullable<CliIo["terminal"]>) {
  return {
    getOutHelpWidth: () => terminal.columns ?? 80,
    getErrHelpWidth: () => terminal.columns ?? 80,
    getOutHasColors: () => terminal.colors,
    getErrHasColors: () => terminal.colors,
  };
}
