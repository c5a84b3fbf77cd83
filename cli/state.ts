/**
 * `aos state get|ls`: a reducer's state, and the cells of a keyed reducer.
 *
 * @module
 */
import { AosError, type JsonValue, stringifyJson } from "../air/mod.ts";
import { parseKeyArg } from "./hints.ts";
import { type CliIo, printJson, readWorld } from "./context.ts";

/** `aos state get`. */
export async function runStateGet(
  io: CliIo,
  world: string | undefined,
  reducer: string,
  options: { key?: string; json?: boolean },
): Promise<number> {
  return await readWorld(io, world, (w) => {
    w.stateJson(reducer); // names an unknown reducer before anything else
    const key = options.key === undefined ? null : w.encodeCellKey(reducer, parseKeyArg(options.key));
    if (key === null && w.isKeyed(reducer)) {
      throw new AosError(
        "AOS_USAGE",
        `Reducer "${reducer}" is keyed: give --key (see "aos state ls ${reducer}")`,
      );
    }
    const state = w.stateJson(reducer, key);
    io.out(options.json ? stringifyJson(state) : stringifyJson(state, 2));
    return 0;
  });
}

/** `aos state ls REDUCER [--json]`: the cells of a keyed reducer (or the one state of a plain one). */
export async function runStateLs(
  io: CliIo,
  worldOption: string | undefined,
  reducer: string,
  options: { json?: boolean },
): Promise<number> {
  return await readWorld(io, worldOption, (world) => {
    world.stateJson(reducer); // names an unknown reducer precisely
    const cells = world.kernel.cellsOf(reducer).map((c) => ({
      key: c.key === null ? null : world.cellKeyJson(reducer, c.key),
      state: world.stateJson(reducer, c.key),
    }));
    if (options.json) printJson(io, cells as unknown as JsonValue);
    else if (cells.length === 0) io.out(`${reducer} has no state`);
    else {for (const c of cells) {
        io.out(`${c.key === null ? "(no key)" : stringifyJson(c.key)}  ${stringifyJson(c.state)}`);
      }}
    return 0;
  });
}
