/**
 * The shipped example worlds as fixtures (private to the testkit).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { readAirFolder, readWasmFolders } from "../world/mod.ts";
import type { WorldDefinition } from "./fixtures.ts";

/** An example under `examples/NAME` as a world definition. */
export function exampleWorld(name: string): Promise<WorldDefinition> {
  return worldFromFolder(new URL(`../examples/${name}`, import.meta.url));
}

/**
 * A world folder of your own as a world definition: its `air/*.air.json` and the `.wasm` files in its
 * `modules/` (what `aos init --from DIR` would start from). `dir` is a path or a `file:` URL, e.g.
 * `new URL(".", import.meta.url)` in a test beside the folder's `air/`.
 */
export async function worldFromFolder(dir: string | URL): Promise<WorldDefinition> {
  const path = typeof dir === "string" ? dir : fromFileUrl(dir);
  const airFiles = await readAirFolder(join(path, "air"));
  const wasmFiles = await readWasmFolders([join(path, "modules")]);
  return { airFiles, wasmFiles };
}

/** The counter example. */
export function counterWorld(): Promise<WorldDefinition> {
  return exampleWorld("counter");
}
