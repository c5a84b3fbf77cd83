/**
 * `aos manifest show`: the manifest in force (genesis, or the last one a proposal applied) and its hash.
 *
 * @module
 */
import type { Command } from "commander";
import { type JsonValue, normalizeNode, stringifyJson } from "../air/mod.ts";
import { type CliIo, printJson, readWorld } from "./context.ts";

/** Registers `aos manifest` on `program`. */
export function registerManifestCommands(
  program: Command,
  io: CliIo,
  world: () => string | undefined,
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>,
): void {
  const manifest = program.command("manifest").description("inspect the manifest in force");
  manifest.command("show")
    .description("print the manifest in force and its hash")
    .option("--json", 'print {"manifest_hash", "manifest"}')
    .action(act((o: { json?: boolean }) => runManifestShow(io, world(), o)));
}

async function runManifestShow(
  io: CliIo,
  worldOption: string | undefined,
  o: { json?: boolean },
): Promise<number> {
  return await readWorld(io, worldOption, (w) => {
    const manifest = normalizeNode(w.defs.manifest) as { [key: string]: JsonValue };
    if (o.json) {
      printJson(io, { manifest_hash: w.defs.manifestHash, manifest });
      return 0;
    }
    io.out(`manifest  ${w.defs.manifestHash}`);
    for (const list of ["schemas", "modules", "plans", "caps", "policies"] as const) {
      const names = w.defs.manifest[list].map((ref) => ref.name);
      io.out(`${list.padEnd(9)} ${names.join(", ") || "(none)"}`);
    }
    // The original AgentOS's optional lists, shown when the manifest has them.
    for (const list of ["effects", "secrets"] as const) {
      const refs = w.defs.manifest[list];
      if (refs !== undefined) {
        io.out(`${list.padEnd(9)} ${refs.map((ref) => ref.name).join(", ") || "(none)"}`);
      }
    }
    const m = w.defs.manifest;
    for (const route of m.routing?.events ?? []) {
      io.out(
        `route     ${route.event} -> ${route.reducer}${route.key_field ? ` (key ${route.key_field})` : ""}`,
      );
    }
    for (const t of m.triggers ?? []) io.out(`trigger   ${t.event} -> ${t.plan}`);
    for (const g of m.defaults?.cap_grants ?? []) {
      io.out(`grant     ${g.name} ${g.cap} ${stringifyJson(g.params as JsonValue)}`);
    }
    if (m.defaults?.policy !== undefined) io.out(`policy    ${m.defaults.policy}`);
    return 0;
  });
}
