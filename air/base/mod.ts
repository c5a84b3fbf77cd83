/**
 * The base of the AIR layer, imported by every other `air/` folder: the {@linkcode AosError} every layer
 * throws (with a stable code and a context), the {@linkcode limits} of AIR §19, and JSON text with
 * lossless integers ({@linkcode parseJson} reads every integer as a `bigint` and rejects floats).
 *
 * @example Parse JSON text and point into it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AosError, jsonPath, parseJson, stringifyJson } from "./mod.ts";
 *
 * const json = parseJson('{"count": 3, "tags": ["a"]}');
 * assert.deepEqual(json, { count: 3n, tags: ["a"] });
 * assert.equal(stringifyJson(json), '{"count":3,"tags":["a"]}');
 * assert.equal(jsonPath(["tags", 0]), "$.tags[0]");
 * assert.throws(() => parseJson('{"count": 1.5}'), AosError);
 * ```
 *
 * @module
 */
export {
  AosError,
  type AosErrorCode,
  type AosErrorContext,
  assert,
  InvariantError,
  isAosError,
} from "./errors.ts";
export { jsonPath, type JsonValue, parseJson, stringifyJson, toJsonValue } from "./json.ts";
export { encodeSleb128, encodeUleb128 } from "./leb128.ts";
export { limits } from "./limits.ts";
