/**
 * A {@linkcode SchemaResolver} over a world's schemas plus the built-in `sys/*` ones, with helpers that
 * follow `ref`s (AIR §2).
 *
 * @example Resolve user and built-in schemas
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchemaIndex } from "./schema_index.ts";
 *
 * const index = new SchemaIndex([
 *   { $kind: "defschema", name: "demo/Id@1", type: { text: {} } },
 *   { $kind: "defschema", name: "demo/Event@1", type: { record: { id: { ref: "demo/Id@1" } } } },
 * ]);
 * assert.deepEqual(index.resolve("demo/Id@1"), { text: {} });
 * assert.ok(index.has("sys/TimerFired@1"));
 * assert.deepEqual(index.expand({ ref: "demo/Event@1" }), { record: { id: { text: {} } } });
 * ```
 *
 * @module
 */
import { limits } from "../base/mod.ts";
import { builtinSchemas, type DefSchema } from "../nodes/mod.ts";
import type { SchemaResolver, TypeExpr } from "../value/mod.ts";
import type { AirBundle } from "./bundle.ts";

/** Named schemas: the given user schemas and the built-ins. */
export class SchemaIndex implements SchemaResolver {
  readonly #user = new Map<string, DefSchema>();

  /** Throws a `TypeError` on a duplicate name or a user schema in the reserved `sys/` namespace. */
  constructor(schemas: Iterable<DefSchema>) {
    for (const schema of schemas) {
      if (schema.name.startsWith("sys/")) {
        throw new TypeError(`Schema "${schema.name}" uses the reserved sys/ namespace`);
      }
      if (this.#user.has(schema.name)) throw new TypeError(`Schema "${schema.name}" is given twice`);
      this.#user.set(schema.name, schema);
    }
  }

  /** The schemas a loaded bundle's manifest lists (built-ins listed in it resolve to the built-ins). */
  static fromBundle(bundle: Pick<AirBundle, "manifest" | "nodes">): SchemaIndex {
    const schemas: DefSchema[] = [];
    for (const ref of bundle.manifest.schemas) {
      if (ref.name.startsWith("sys/")) continue;
      const entry = bundle.nodes.get(`defschema:${ref.name}`);
      if (entry?.kind === "defschema") schemas.push(entry.node);
    }
    return new SchemaIndex(schemas);
  }

  /** The schema node of `name`, built-ins included. */
  get(name: string): DefSchema | undefined {
    return this.#user.get(name) ?? builtinSchemas.get(name);
  }

  /** The type of `name`, or `undefined` when unknown. */
  resolve(name: string): TypeExpr | undefined {
    return this.get(name)?.type;
  }

  /** True when `name` is a user or built-in schema. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** True when `name` is a built-in `sys/*` schema. */
  isBuiltin(name: string): boolean {
    return builtinSchemas.has(name);
  }

  /** Every known name, user and built-in, sorted. */
  names(): string[] {
    return [...new Set([...this.#user.keys(), ...builtinSchemas.keys()])].sort();
  }

  /** Follows top-level `ref`s; `undefined` when a ref is unknown or the refs loop. */
  resolveTop(type: TypeExpr): TypeExpr | undefined {
    let current: TypeExpr | undefined = type;
    const seen = new Set<string>();
    while (current !== undefined && "ref" in current) {
      if (seen.has(current.ref)) return undefined;
      seen.add(current.ref);
      current = this.resolve(current.ref);
    }
    return current;
  }

  /** Replaces every `ref` by its type, recursively (AIR §5.2); `undefined` on an unknown ref or a cycle. */
  expand(type: TypeExpr): TypeExpr | undefined {
    return this.#expand(type, [], 0);
  }

  #expand(type: TypeExpr, stack: string[], depth: number): TypeExpr | undefined {
    if (depth > limits.nestingDepthMax * 4) return undefined;
    if ("ref" in type) {
      if (stack.includes(type.ref)) return undefined;
      const target = this.resolve(type.ref);
      return target === undefined ? undefined : this.#expand(target, [...stack, type.ref], depth + 1);
    }
    if ("record" in type || "variant" in type) {
      const fields = "record" in type ? type.record : type.variant;
      const out: { [field: string]: TypeExpr } = {};
      for (const field of Object.keys(fields)) {
        const inner = this.#expand(fields[field]!, stack, depth + 1);
        if (inner === undefined) return undefined;
        out[field] = inner;
      }
      return "record" in type ? { record: out } : { variant: out };
    }
    if ("list" in type || "set" in type || "option" in type) {
      const inner = this.#expand(
        "list" in type ? type.list : "set" in type ? type.set : type.option,
        stack,
        depth + 1,
      );
      if (inner === undefined) return undefined;
      return "list" in type ? { list: inner } : "set" in type ? { set: inner } : { option: inner };
    }
    if ("map" in type) {
      const key = this.#expand(type.map.key, stack, depth + 1);
      const value = this.#expand(type.map.value, stack, depth + 1);
      return key === undefined || value === undefined ? undefined : { map: { key, value } };
    }
    return type;
  }
}
