/**
 * The reducer SDK's build side: compile an AssemblyScript reducer (which imports the SDK as `"@aos/sdk"`)
 * into a checked `.wasm` and stamp its `wasm_hash` into the module's AIR node. The AssemblyScript SDK
 * itself lives in `assemblyscript/` (see its README). A world made by `aos new reducer` imports this
 * module as `@aos/build` in its `build.ts`.
 *
 * @example
 * ```ts ignore
 * import { buildReducer } from "@aos/build";
 *
 * const built = await buildReducer({
 *   dir: import.meta.dirname!,
 *   source: "reducer/hello.ts",
 *   wasm: "modules/hello.wasm",
 *   moduleAir: "air/module.air.json",
 *   module: "app/Hello@1",
 * });
 * console.log(built.wasmHash);
 * ```
 *
 * @module
 */
export {
  buildCacheDir,
  buildReducer,
  type BuiltReducer,
  checkReducerModule,
  COMPILER,
  COMPILER_FLAGS,
  compileReducer,
  type ReducerBuild,
  SDK_ASSEMBLY_DIR,
  SDK_PACKAGE,
  stampModuleHash,
} from "./build.ts";
