/**
 * The type rules of AIR §2 over a scope: refs resolve, map keys and set elements are comparable, no
 * `option<option<T>>` or `option<unit>`, and no ref cycles.
 *
 * @module
 */
import type { TypeExpr } from "../value/mod.ts";
import type { Segments, Where } from "./_diagnostics.ts";
import type { Scope } from "./_scope.ts";

const COMPARABLE: ReadonlySet<string> = new Set(["int", "nat", "text", "uuid", "hash"]);

function typeKind(type: TypeExpr): string {
  return Object.keys(type)[0] ?? "";
}

/** Checks `type` (written at `where.at`) against the rules of AIR §2. */
export function checkType(scope: Scope, type: TypeExpr, where: Where): void {
  const at = where.at ?? [];
  const inner = (...more: Segments): Where => ({ ...where, at: [...at, ...more] });
  if ("ref" in type) {
    scope.schemaRef(type.ref, inner("ref"));
  } else if ("record" in type || "variant" in type) {
    const key = "record" in type ? "record" : "variant";
    const fields = "record" in type ? type.record : type.variant;
    for (const field of Object.keys(fields)) checkType(scope, fields[field]!, inner(key, field));
  } else if ("list" in type) {
    checkType(scope, type.list, inner("list"));
  } else if ("set" in type) {
    const element = scope.index.resolveTop(type.set);
    if (element !== undefined && !COMPARABLE.has(typeKind(element))) {
      const message = `Set elements must be int, nat, text, uuid or hash, not "${typeKind(element)}"`;
      scope.sink.error("AIR_TYPE_INVALID", message, inner("set"));
    }
    checkType(scope, type.set, inner("set"));
  } else if ("map" in type) {
    const key = scope.index.resolveTop(type.map.key);
    if (key !== undefined && !COMPARABLE.has(typeKind(key))) {
      const message = `Map keys must be int, nat, text, uuid or hash, not "${typeKind(key)}"`;
      scope.sink.error("AIR_TYPE_INVALID", message, inner("map", "key"));
    }
    checkType(scope, type.map.key, inner("map", "key"));
    checkType(scope, type.map.value, inner("map", "value"));
  } else if ("option" in type) {
    const resolved = scope.index.resolveTop(type.option);
    if (resolved !== undefined && ("option" in resolved || "unit" in resolved)) {
      const what = "option" in resolved ? "option<option<T>>" : "option<unit>";
      scope.sink.error(
        "AIR_TYPE_INVALID",
        `${what} is invalid: none and the inner null would be one value`,
        where,
      );
    }
    checkType(scope, type.option, inner("option"));
  }
}

/** The `ref`s written directly in `type`, with their paths. */
export function directRefs(type: TypeExpr, at: Segments): Array<{ name: string; at: Segments }> {
  if ("ref" in type) return [{ name: type.ref, at: [...at, "ref"] }];
  if ("record" in type || "variant" in type) {
    const key = "record" in type ? "record" : "variant";
    const fields = "record" in type ? type.record : type.variant;
    return Object.keys(fields).flatMap((field) => directRefs(fields[field]!, [...at, key, field]));
  }
  if ("list" in type) return directRefs(type.list, [...at, "list"]);
  if ("set" in type) return directRefs(type.set, [...at, "set"]);
  if ("option" in type) return directRefs(type.option, [...at, "option"]);
  if ("map" in type) {
    return [
      ...directRefs(type.map.key, [...at, "map", "key"]),
      ...directRefs(type.map.value, [...at, "map", "value"]),
    ];
  }
  return [];
}

/** A ref path from `from` to `target` among visible user schemas, as the names visited. */
function findPath(scope: Scope, from: string, target: string): string[] | undefined {
  const seen = new Set<string>();
  const walk = (name: string): string[] | undefined => {
    if (name === target) return [name];
    if (seen.has(name) || scope.index.isBuiltin(name)) return undefined;
    seen.add(name);
    const type = scope.index.resolve(name);
    if (type === undefined) return undefined;
    for (const ref of directRefs(type, [])) {
      const rest = walk(ref.name);
      if (rest !== undefined) return [name, ...rest];
    }
    return undefined;
  };
  return walk(from);
}

/**
 * Reports each visible user schema that can reach itself through refs, at its first ref into the loop.
 * `schemas` are the checked schema entries in report order.
 */
export function checkCycles(
  scope: Scope,
  schemas: ReadonlyArray<{ name: string; type: TypeExpr; where: Where }>,
): void {
  for (const schema of schemas) {
    if (scope.index.resolve(schema.name) !== schema.type) continue;
    for (const { name, at } of directRefs(schema.type, [])) {
      const loop = findPath(scope, name, schema.name);
      if (loop === undefined) continue;
      scope.sink.error(
        "AIR_TYPE_CYCLE",
        `Schema "${schema.name}" refers to itself: ${[schema.name, ...loop].join(" -> ")}`,
        { ...schema.where, at: [...(schema.where.at ?? []), ...at] },
      );
      break;
    }
  }
}
