/**
 * Short type descriptions for messages (`list<nat>`, `demo/Event@1`).
 *
 * @module
 */
import type { TypeExpr } from "../value/mod.ts";

/** A short description of a type expression, nested no deeper than `depth`. */
export function describeType(type: TypeExpr, depth = 3): string {
  if (depth <= 0) return "…";
  if ("ref" in type) return type.ref;
  if ("list" in type) return `list<${describeType(type.list, depth - 1)}>`;
  if ("set" in type) return `set<${describeType(type.set, depth - 1)}>`;
  if ("option" in type) return `option<${describeType(type.option, depth - 1)}>`;
  if ("map" in type) {
    return `map<${describeType(type.map.key, depth - 1)}, ${describeType(type.map.value, depth - 1)}>`;
  }
  if ("record" in type || "variant" in type) {
    const [kind, fields] = "record" in type ? ["record", type.record] : ["variant", type.variant];
    const names = Object.keys(fields);
    const shown = names.slice(0, 6).map((name) => `${name}: ${describeType(fields[name]!, depth - 1)}`);
    return `${kind} {${shown.join(", ")}${names.length > 6 ? ", …" : ""}}`;
  }
  return Object.keys(type)[0] ?? "?";
}
