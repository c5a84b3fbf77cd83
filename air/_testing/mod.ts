/**
 * Assertions shared by the unit tests of the `air/` folders. Private to `air/` (the leading `_`): no
 * non-test module imports it, and `air/mod.ts` does not re-export it.
 *
 * @example Assert the code of a thrown `AosError`
 * ```ts
 * import { assertAosError } from "./mod.ts";
 * import { parseJson } from "../mod.ts";
 *
 * assertAosError(() => parseJson("1.5"), "AOS_JSON_INVALID");
 * ```
 *
 * @module
 */
export { assertAosError } from "./assert_aos_error.ts";
