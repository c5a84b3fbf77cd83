/**
 * AIR type expressions (AIR §2) as TypeScript data.
 *
 * @module
 */

/** An empty object, the payload of primitive type expressions (`{"nat":{}}`). */
export type Empty = Record<string, never>;

/** A primitive type name. */
export type PrimitiveName =
  | "bool"
  | "int"
  | "nat"
  | "dec128"
  | "bytes"
  | "text"
  | "time"
  | "duration"
  | "hash"
  | "uuid"
  | "unit";

/** A one-key JSON object describing a type (AIR §2). */
export type TypeExpr =
  | { bool: Empty }
  | { int: Empty }
  | { nat: Empty }
  | { dec128: Empty }
  | { bytes: Empty }
  | { text: Empty }
  | { time: Empty }
  | { duration: Empty }
  | { hash: Empty }
  | { uuid: Empty }
  | { unit: Empty }
  | { record: { [field: string]: TypeExpr } }
  | { variant: { [tag: string]: TypeExpr } }
  | { list: TypeExpr }
  | { set: TypeExpr }
  | { map: { key: TypeExpr; value: TypeExpr } }
  | { option: TypeExpr }
  | { ref: string };

/** Resolves a schema name (user or `sys/*` built-in) to its type expression. */
export interface SchemaResolver {
  resolve(name: string): TypeExpr | undefined;
}
