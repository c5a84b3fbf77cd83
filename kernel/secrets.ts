/**
 * Secrets in effect params (the original AgentOS's `defsecret`): finding the `sys/SecretRef@1` values a
 * params value holds, and the gate's check that each names a defsecret the manifest lists and that the
 * effect's grant and origin plan are among its `allowed_caps` and `allowed_plans`. The value of a secret
 * never reaches the kernel: only the adapter sees it, resolved at dispatch (`world/secrets.ts`).
 *
 * @module
 */
import {
  type DefSecret,
  type SchemaResolver,
  secretName,
  type SecretRef,
  type TypeExpr,
  type Value,
  viewType,
} from "../air/mod.ts";

/** The schema of a secret reference. */
export const SECRET_REF_SCHEMA = "sys/SecretRef@1";

/** The {@linkcode SecretRef} of a `sys/SecretRef@1` record value; undefined when it is not one. */
export function secretRefOf(value: Value): SecretRef | undefined {
  if (value.kind !== "record") return undefined;
  const alias = value.value.get("alias");
  const version = value.value.get("version");
  if (alias?.kind !== "text" || version?.kind !== "nat") return undefined;
  return { alias: alias.value, version: version.value };
}

/** Every secret reference in `value` (of type `type`), in a deterministic order (fields by name). */
export function secretRefsIn(type: TypeExpr, value: Value, schemas: SchemaResolver): SecretRef[] {
  if (!mayHoldSecretRefs(type, schemas)) return [];
  const out: SecretRef[] = [];
  const walk = (t: TypeExpr, v: Value, depth: number): void => {
    if ("ref" in t && t.ref === SECRET_REF_SCHEMA) {
      const ref = secretRefOf(v);
      if (ref !== undefined) out.push(ref);
      return;
    }
    const view = viewType(t, schemas, [], depth);
    switch (view.kind) {
      case "record": {
        if (v.kind !== "record") return;
        for (const name of Object.keys(view.fields).sort()) {
          const field = v.value.get(name);
          if (field !== undefined) walk(view.fields[name]!, field, depth + 1);
        }
        return;
      }
      case "variant": {
        if (v.kind !== "record") return;
        const tag = v.value.get("$tag");
        const inner = v.value.get("$value");
        if (tag?.kind !== "text" || inner === undefined) return;
        const tagType = view.tags[tag.value];
        if (tagType !== undefined) walk(tagType, inner, depth + 1);
        return;
      }
      case "option":
        if (v.kind !== "none") walk(view.item, v, depth + 1);
        return;
      case "list":
      case "set":
        if (v.kind === "list" || v.kind === "set") {
          for (const item of v.value) walk(view.item, item, depth + 1);
        }
        return;
      case "map":
        if (v.kind === "map") { for (const [, item] of v.value) walk(view.value, item, depth + 1); }
        return;
      default:
        return;
    }
  };
  walk(type, value, 0);
  return out;
}

/** Who emitted the effect, as far as a secret's `allowed_plans` cares. */
export type SecretUser = { kind: "plan" | "reducer"; name: string };

/**
 * Why the effect may not use the secret `ref` (undeclared, or its grant or origin not allowed), or
 * undefined when it may. The reason names the secret, never its binding or value.
 */
export function secretUseDenial(
  secrets: ReadonlyMap<string, DefSecret> | undefined,
  ref: SecretRef,
  capName: string,
  user: SecretUser,
): string | undefined {
  const name = secretName(ref);
  const secret = secrets?.get(name);
  if (secret === undefined) return `secret "${name}" is not declared: the manifest lists no such defsecret`;
  if (secret.allowed_caps !== undefined && !secret.allowed_caps.includes(capName)) {
    return `secret "${name}" may not be used with grant "${capName}" (allowed_caps: ${
      secret.allowed_caps.join(", ") || "none"
    })`;
  }
  if (
    secret.allowed_plans !== undefined && !(user.kind === "plan" && secret.allowed_plans.includes(user.name))
  ) {
    return `secret "${name}" may not be used by ${user.kind} "${user.name}" (allowed_plans: ${
      secret.allowed_plans.join(", ") || "none"
    })`;
  }
  return undefined;
}

/**
 * Whether a value of `type` can hold a `sys/SecretRef@1` anywhere, decided once per type object and
 * resolver: the gate looks for secret references in the params of every effect, and most params types (an
 * http request's, a timer's) hold none, so their values need no walk.
 */
function mayHoldSecretRefs(type: TypeExpr, schemas: SchemaResolver): boolean {
  const known = secretHolders.get(type);
  if (known !== undefined && known.schemas === schemas) return known.may;
  let may = true;
  try {
    may = typeHoldsSecretRefs(type, schemas, new Set(), 0);
  } catch {
    // A type that does not resolve: walk the value, as before, and let the walk meet the problem.
  }
  secretHolders.set(type, { schemas, may });
  return may;
}

const secretHolders = new WeakMap<TypeExpr, { schemas: SchemaResolver; may: boolean }>();

function typeHoldsSecretRefs(
  type: TypeExpr,
  schemas: SchemaResolver,
  open: Set<TypeExpr>,
  depth: number,
): boolean {
  if ("ref" in type && type.ref === SECRET_REF_SCHEMA) return true;
  // A type already being looked at (a recursive one) adds nothing new below itself.
  if (open.has(type)) return false;
  open.add(type);
  const view = viewType(type, schemas, [], depth);
  switch (view.kind) {
    case "record":
      return Object.values(view.fields).some((field) => typeHoldsSecretRefs(field, schemas, open, depth + 1));
    case "variant":
      return Object.values(view.tags).some((tag) => typeHoldsSecretRefs(tag, schemas, open, depth + 1));
    case "option":
    case "list":
    case "set":
      return typeHoldsSecretRefs(view.item, schemas, open, depth + 1);
    case "map":
      return typeHoldsSecretRefs(view.value, schemas, open, depth + 1);
    default:
      return false;
  }
}
