/**
 * The lexical patterns of AIR §1: definition names, hash references, identifiers and variable names.
 *
 * @module
 */

/** A definition name `namespace/name@version` (AIR §1). */
export const NAME_PATTERN: RegExp = /^[a-z][a-z0-9._-]*\/[A-Za-z][A-Za-z0-9._-]*@([1-9][0-9]*)$/;
/** A hash reference `sha256:` + 64 lowercase hex digits (AIR §1). */
export const HASH_PATTERN: RegExp = /^sha256:[0-9a-f]{64}$/;
/** Grant names and slot names (AIR §1). */
export const IDENTIFIER_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/**
 * Variable names and step ids: an identifier without `.` (AIR §1 Choice: references use `.` as the path
 * separator, so `@var:a.b` could not name a variable `a.b`).
 */
export const VAR_NAME_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
