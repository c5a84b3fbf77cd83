/**
 * The shipped example worlds as fixtures (private to the testkit).
 *
 * @module
 */
import { readAirFolder, readWasmFolders } from "../world/mod.ts";
import type { WorldDefinition } from "./fixtures.ts";

/** An example under `examples/NAME` as a world definition. */
export async function exampleWorld(name: string): Promise<WorldDefinition> {
  const dir = new URL(`../examples/${name}`, import.meta.url).pathname;
  const airFiles = await readAirFolder(`${dir}/air`);
  const wasmFiles = await readWasmFolders([`${dir}/modules`]);
  return { airFiles, wasmFiles };
}

/** The counter example. */
export function counterWorld(): Promise<WorldDefinition> {
  return exampleWorld("counter");
}
