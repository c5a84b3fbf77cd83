/**
 * The per-definition rules of AIR §14 for `defmodule`, `defcap` and `defpolicy` (schemas are checked by
 * `_types.ts`, plans by `validatePlan`).
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { bytesEqual } from "../cbor/mod.ts";
import {
  builtinEffectByKind,
  type DefCap,
  type DefEffect,
  type DefModule,
  type DefPolicy,
  type DefSecret,
  type EffectKind,
  effectSpec,
  standardCapByType,
} from "../nodes/mod.ts";
import { schemaHash, type TypeExpr } from "../value/mod.ts";
import type { NodeEntry, Scope } from "./_scope.ts";
import { checkType } from "./_types.ts";

/**
 * `defmodule`: ABI schemas exist, `effects_emitted` ⊆ the micro-effects, and each emitted kind's cap type is
 * offered by a slot. **Choice** (reconciling AIR §14 with KERNEL §4, where an effect without `cap_slot`
 * uses the slot `default`): a kind is offered when some `cap_slots` entry has its cap type, or when
 * `cap_slots` does not declare `default`, since the implicit `default` slot takes a grant of any cap type
 * (the manifest check then requires the bound grant to fit an emitted kind). So only a module that types
 * its `default` slot and has no slot of the kind's cap type is rejected.
 */
export function checkModule(scope: Scope, entry: NodeEntry & { node: DefModule }): void {
  const abi = entry.node.abi.reducer;
  const where = (...more: Array<string | number>) => scope.inNode(entry, ...more);
  scope.schemaRef(abi.state, where("abi", "reducer", "state"));
  scope.schemaRef(abi.event, where("abi", "reducer", "event"));
  if (abi.annotations !== undefined) scope.schemaRef(abi.annotations, where("abi", "reducer", "annotations"));
  if (entry.node.key_schema !== undefined) scope.schemaRef(entry.node.key_schema, where("key_schema"));
  const slots = abi.cap_slots ?? {};
  const offered = new Set(Object.values(slots));
  const defaultOpen = !Object.hasOwn(slots, "default");
  (abi.effects_emitted ?? []).forEach((kind, i) => {
    const spec = effectSpec(kind);
    if (spec === undefined) return; // rejected by the parser
    if (!spec.micro) {
      scope.sink.error(
        "AIR_EFFECT_NOT_MICRO",
        `Reducers may emit only blob.put, blob.get and timer.set, not "${kind}"`,
        where("abi", "reducer", "effects_emitted", i),
      );
      return;
    }
    if (!offered.has(spec.capType) && !defaultOpen) {
      scope.sink.error(
        "AIR_EFFECT_NO_SLOT",
        `No cap slot of "${entry.name}" takes cap type "${spec.capType}", which "${kind}" needs`,
        where("abi", "reducer", "effects_emitted", i),
      );
    }
  });
}

function sameSchema(scope: Scope, a: TypeExpr, b: TypeExpr): boolean | undefined {
  try {
    return bytesEqual(schemaHash(a, scope.index), schemaHash(b, scope.index));
  } catch (error) {
    // An unknown ref or a cycle is reported by the type checks.
    if (error instanceof AosError) return undefined;
    throw error;
  }
}

/** `defcap`: the schema follows AIR §2 and equals the standard schema of its cap type (AIR §10.1). */
export function checkCap(scope: Scope, entry: NodeEntry & { node: DefCap }): void {
  const where = scope.inNode(entry, "schema");
  checkType(scope, entry.node.schema, where);
  const standard = standardCapByType.get(entry.node.cap_type);
  if (standard === undefined) return; // rejected by the parser
  if (sameSchema(scope, entry.node.schema, standard.schema) !== false) return;
  const narrower = narrowerIssue(scope, entry.node.schema, standard.schema);
  if (narrower === undefined) return;
  scope.sink.error(
    "AIR_CAP_SCHEMA",
    `The schema of defcap "${entry.name}" is neither the standard schema of cap type ` +
      `"${entry.node.cap_type}" (that of "${standard.name}") nor a narrower record of it: ${narrower}`,
    where,
  );
}

/**
 * Why `schema` is not a narrower form of the standard cap schema, or undefined when it is one: a record
 * whose fields are standard fields of the standard type, leaving out only optional ones (the original
 * AgentOS lets a defcap declare just the constraints it uses; an absent one is no constraint).
 */
function narrowerIssue(scope: Scope, schema: TypeExpr, standard: TypeExpr): string | undefined {
  const mine = scope.index.resolveTop(schema);
  const full = scope.index.resolveTop(standard);
  if (mine === undefined || full === undefined || !("record" in full)) return undefined; // reported elsewhere
  if (!("record" in mine)) return "it is not a record";
  for (const [name, type] of Object.entries(mine.record)) {
    if (!Object.hasOwn(full.record, name)) return `field "${name}" is not a standard field`;
    if (sameSchema(scope, type, full.record[name]!) === false) {
      return `field "${name}" is not of the standard type`;
    }
  }
  for (const [name, type] of Object.entries(full.record)) {
    const top = scope.index.resolveTop(type);
    if (!Object.hasOwn(mine.record, name) && (top === undefined || !("option" in top))) {
      return `required field "${name}" is missing`;
    }
  }
  return undefined;
}

/**
 * `defpolicy` (warnings only; the shapes are the parser's): `origin_name` names a visible plan or module
 * (of `origin_kind` when given), `cap_name` a grant (unless `options.grants` is false: no real manifest), and no rule is unreachable — `host`/`method` on a kind
 * other than `http.request`, a non-micro kind from reducers, or any rule after one with an empty `when`.
 */
export function checkPolicy(
  scope: Scope,
  entry: NodeEntry & { node: DefPolicy },
  options: { grants: boolean },
): void {
  let catchAll: number | undefined;
  entry.node.rules.forEach((rule, i) => {
    const when = rule.when;
    const at = (...more: Array<string | number>) => scope.inNode(entry, "rules", i, ...more);
    if (catchAll !== undefined) {
      scope.sink.warn(
        "AIR_POLICY_RULE_UNREACHABLE",
        `Rule ${i} is never tried: rule ${catchAll} matches every effect`,
        at(),
      );
    } else if (Object.keys(when).length === 0) catchAll = i;
    if (when.origin_name !== undefined) {
      const plan = when.origin_kind !== "reducer" && scope.visible("defplan", when.origin_name) !== undefined;
      const module = when.origin_kind !== "plan" &&
        scope.visible("defmodule", when.origin_name) !== undefined;
      if (!plan && !module) {
        const what = when.origin_kind === "plan"
          ? "plan"
          : when.origin_kind === "reducer"
          ? "module"
          : "plan or module";
        scope.sink.warn(
          "AIR_POLICY_ORIGIN_UNKNOWN",
          `origin_name "${when.origin_name}" names no ${what} of the manifest, so the rule never matches`,
          at("when", "origin_name"),
        );
      }
    }
    if (options.grants && when.cap_name !== undefined && !scope.grants.has(when.cap_name)) {
      scope.sink.warn(
        "AIR_POLICY_CAP_UNKNOWN",
        `cap_name "${when.cap_name}" names no grant of the manifest, so the rule never matches`,
        at("when", "cap_name"),
      );
    }
    const kind = when.effect_kind;
    if (
      kind !== undefined && kind !== "http.request" && (when.host !== undefined || when.method !== undefined)
    ) {
      scope.sink.warn(
        "AIR_POLICY_RULE_UNREACHABLE",
        `A rule with "host" or "method" matches only http.request, not "${kind}"`,
        at("when"),
      );
    }
    if (kind !== undefined && when.origin_kind === "reducer" && effectSpec(kind)?.micro === false) {
      scope.sink.warn(
        "AIR_POLICY_RULE_UNREACHABLE",
        `Reducers cannot emit "${kind}", so the rule never matches`,
        at("when"),
      );
    }
  });
}

/**
 * `defeffect`: our runtime has adapters only for the built-in catalog, so a declared effect must name a
 * catalog kind (`AIR_EFFECT_UNKNOWN`) and agree with its built-in defeffect on schemas, cap type and origin
 * scope (`AIR_EFFECT_MISMATCH`); the description is free.
 */
export function checkEffect(scope: Scope, entry: NodeEntry & { node: DefEffect }): void {
  const node = entry.node;
  const builtin = builtinEffectByKind.get(node.kind as EffectKind);
  if (builtin === undefined) {
    scope.sink.error(
      "AIR_EFFECT_UNKNOWN",
      `Effect kind "${node.kind}" is not in the built-in catalog (${
        [...builtinEffectByKind.keys()].join(", ")
      })`,
      scope.inNode(entry, "kind"),
    );
    return;
  }
  for (const field of ["params_schema", "receipt_schema", "cap_type", "origin_scope"] as const) {
    if (node[field] === builtin[field]) continue;
    scope.sink.error(
      "AIR_EFFECT_MISMATCH",
      `Defeffect "${node.name}" of kind "${node.kind}" has ${field} "${node[field]}", but the built-in ` +
        `"${builtin.name}" has "${builtin[field]}"`,
      scope.inNode(entry, field),
    );
  }
}

/**
 * Origin scopes, when the manifest lists defeffects: a module may emit only kinds listed with scope
 * `reducer` or `both`, a plan allow only kinds listed with `plan` or `both` (`AIR_EFFECT_ORIGIN_SCOPE`).
 */
export function checkOriginScope(
  scope: Scope,
  entry: NodeEntry,
  kinds: ReadonlyArray<string>,
  origin: "reducer" | "plan",
  at: Array<string | number>,
): void {
  const scopes = new Map<string, DefEffect["origin_scope"]>();
  for (const effect of scope.listedEffects.values()) scopes.set(effect.kind, effect.origin_scope);
  kinds.forEach((kind, i) => {
    const declared = scopes.get(kind);
    if (declared === origin || declared === "both") return;
    const message = declared === undefined
      ? `Effect kind "${kind}" is not declared by a defeffect the manifest lists in "effects"`
      : `Effect kind "${kind}" has origin_scope "${declared}": a ${origin} may not emit it`;
    scope.sink.error("AIR_EFFECT_ORIGIN_SCOPE", message, scope.inNode(entry, ...at, i));
  });
}

/** A `binding_id`: a scheme, a colon and a non-empty rest (`env:LLM_API_KEY`). */
const BINDING_PATTERN = /^[a-z][a-z0-9_-]*:.+$/;

/**
 * `defsecret`: the binding reads `scheme:rest` (`AIR_SECRET_BINDING`), every `allowed_caps` entry names a
 * grant of the manifest (unless `options.grants` is false: no real manifest) and every `allowed_plans`
 * entry a listed plan (`AIR_REF_UNKNOWN`).
 */
export function checkSecret(
  scope: Scope,
  entry: NodeEntry & { node: DefSecret },
  options: { grants: boolean },
): void {
  const node = entry.node;
  if (!BINDING_PATTERN.test(node.binding_id)) {
    scope.sink.error(
      "AIR_SECRET_BINDING",
      `binding_id "${node.binding_id}" is not "scheme:name" (e.g. "env:LLM_API_KEY")`,
      scope.inNode(entry, "binding_id"),
    );
  }
  if (options.grants) {
    (node.allowed_caps ?? []).forEach((grant, i) => {
      if (scope.grants.has(grant)) return;
      scope.sink.error(
        "AIR_REF_UNKNOWN",
        `allowed_caps names grant "${grant}", but the manifest has no grant of that name`,
        scope.inNode(entry, "allowed_caps", i),
      );
    });
    (node.allowed_plans ?? []).forEach((plan, i) => {
      if (scope.visible("defplan", plan) !== undefined) return;
      scope.sink.error(
        "AIR_REF_UNKNOWN",
        `allowed_plans names plan "${plan}", but the manifest lists no plan of that name`,
        scope.inNode(entry, "allowed_plans", i),
      );
    });
  }
}
