/**
 * The node types are derived from their zod schemas; {@linkcode ExactOutput} is the one adjustment.
 *
 * @module
 */
import type { z } from "zod";
import type { JsonValue } from "../base/mod.ts";
import type { TypeExpr } from "../value/mod.ts";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * `T` with `| undefined` removed from every property, through objects, arrays and records.
 *
 * zod 4.1 (the pinned version has no exact-optional schema) types a field made optional with
 * `.optional()` as `field?: T | undefined`. Under `exactOptionalPropertyTypes` that is wider than what
 * parsing produces, since an absent field stays absent and is never `undefined`, and it would make a
 * parsed node unassignable to a type written as `field?: T`. `Exact` restores `field?: T`: the mapped type
 * is homomorphic, so it keeps each property's `?` and drops only the `undefined` zod added; required
 * fields carry none. `JsonValue` and `TypeExpr` are kept whole: they are the declared outputs of
 * `z.custom` and `z.lazy`, and mapping over those recursive unions would only rebuild them anonymously.
 */
export type Exact<T> = Same<T, JsonValue> extends true ? T
  : Same<T, TypeExpr> extends true ? T
  : ExactEach<T>;

type ExactEach<T> = T extends bigint | boolean | number | string | null | undefined ? T
  : T extends ReadonlyArray<infer U> ? Exact<U>[]
  : { [K in keyof T]: Exact<Exclude<T[K], undefined>> };

/** The type of what `schema` parses to, with optional fields exact (see {@linkcode Exact}). */
export type ExactOutput<S extends z.ZodType> = Exact<z.output<S>>;
