/**
 * Static conformance (AIR §3 Conformance, AIR §2 compatibility): can a value of one type be written where
 * another is expected, and are two types the same.
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { bytesEqual } from "../cbor/mod.ts";
import { schemaHash, type SchemaResolver, type TypeExpr, type TypeView, viewType } from "../value/mod.ts";

const INTEGERS: ReadonlySet<string> = new Set(["int", "nat", "time", "duration"]);
const TEXT: TypeExpr = { text: {} };

function variantRecordAccepted(
  source: Extract<TypeView, { kind: "record" }>,
  target: Extract<TypeView, { kind: "variant" }>,
  schemas: SchemaResolver,
  depth: number,
): boolean {
  const names = Object.keys(source.fields).sort();
  if (names.join(",") !== "$tag,$value") return false;
  if (viewType(source.fields.$tag!, schemas, [], depth + 1).kind !== "text") return false;
  // The tag is only known at run time: accept when some alternative takes the payload.
  return Object.values(target.tags).some((payload) =>
    assignable(source.fields.$value!, payload, schemas, depth + 1)
  );
}

function assignable(from: TypeExpr, to: TypeExpr, schemas: SchemaResolver, depth: number): boolean {
  const source = viewType(from, schemas, [], depth);
  const target = viewType(to, schemas, [], depth);
  const inner = (a: TypeExpr, b: TypeExpr) => assignable(a, b, schemas, depth + 1);
  if (target.kind === "option") {
    if (source.kind === "option") return inner(source.item, target.item);
    return source.kind === "unit" || inner(from, target.item);
  }
  if (INTEGERS.has(target.kind)) return INTEGERS.has(source.kind);
  switch (target.kind) {
    case "list":
      return source.kind === "list" && inner(source.item, target.item);
    case "set":
      return (source.kind === "list" || source.kind === "set") && inner(source.item, target.item);
    case "map":
      if (source.kind === "map") return inner(source.key, target.key) && inner(source.value, target.value);
      return source.kind === "record" && inner(TEXT, target.key) &&
        Object.values(source.fields).every((field) => inner(field, target.value));
    case "record": {
      if (source.kind !== "record") return false;
      if (Object.keys(source.fields).some((name) => !Object.hasOwn(target.fields, name))) return false;
      return Object.entries(target.fields).every(([name, field]) =>
        Object.hasOwn(source.fields, name)
          ? inner(source.fields[name]!, field)
          : viewType(field, schemas, [], depth + 1).kind === "option"
      );
    }
    case "variant":
      if (source.kind === "record") return variantRecordAccepted(source, target, schemas, depth);
      return source.kind === "variant" &&
        Object.entries(source.tags).every(([tag, payload]) =>
          Object.hasOwn(target.tags, tag) && inner(payload, target.tags[tag]!)
        );
    default:
      return source.kind === target.kind;
  }
}

/**
 * True when every value of `from` conforms to `to` (AIR §3 Conformance), read statically: integer kinds
 * (int, nat, time, duration) are mutually assignable (the range is checked at run time); `T` is
 * assignable to `option<T>` and `unit` to any option; a record to a `map<text,V>` whose values accept its
 * fields; a list to a set; a record to a record when its fields are a subset and every missing field is
 * an option; a variant to a variant with a superset of tags; a `{$tag: text, $value: T}` record to a
 * variant with an alternative accepting `T`. Unknown schemas and cyclic refs make it false.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const schemas = { resolve: () => undefined };
 * strictEqual(isAssignable({ nat: {} }, { option: { int: {} } }, schemas), true);
 * strictEqual(isAssignable({ option: { nat: {} } }, { nat: {} }, schemas), false);
 * ```
 */
export function isAssignable(from: TypeExpr, to: TypeExpr, schemas: SchemaResolver): boolean {
  try {
    return assignable(from, to, schemas, 0);
  } catch (cause) {
    if (cause instanceof AosError) return false;
    throw cause;
  }
}

/**
 * True when two types are the same (AIR §2: equal schema hashes); false when either does not resolve.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * const schemas = { resolve: (name: string) => (name === "demo/Id@1" ? { text: {} } : undefined) };
 * strictEqual(sameType({ ref: "demo/Id@1" }, { text: {} }, schemas), true);
 * ```
 */
export function sameType(a: TypeExpr, b: TypeExpr, schemas: SchemaResolver): boolean {
  try {
    return bytesEqual(schemaHash(a, schemas), schemaHash(b, schemas));
  } catch (cause) {
    if (cause instanceof AosError) return false;
    throw cause;
  }
}
