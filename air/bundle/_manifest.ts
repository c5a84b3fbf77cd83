/**
 * The manifest's wiring rules of AIR §14: routes, triggers, the default policy, grants (with their params
 * brought to the canonical tagged form) and module bindings.
 *
 * @module
 */
import { AosError, type JsonValue } from "../base/mod.ts";
import { bytesEqual } from "../cbor/mod.ts";
import {
  type CapGrant,
  type CapType,
  type DefCap,
  type DefModule,
  effectSpec,
  type Manifest,
  microEffectReceiptEvents,
  type RoutingEvent,
} from "../nodes/mod.ts";
import {
  schemaHash,
  type SchemaResolver,
  type TypeExpr,
  valueFromJson,
  valueToTaggedJson,
} from "../value/mod.ts";
import type { Segments, Where } from "./_diagnostics.ts";
import type { Scope } from "./_scope.ts";

/** The outcome of {@linkcode canonicalGrantParams}. */
export type GrantParamsResult =
  | { ok: true; params: JsonValue }
  | { ok: false; message: string; path: Segments };

/**
 * Converts grant params (plain or tagged form, AIR §3) to the canonical tagged form with the defcap's
 * schema: sets sorted and deduplicated, maps sorted, none fields omitted. Params that do not conform give
 * the problem and its path within the params.
 */
export function canonicalGrantParams(
  cap: Pick<DefCap, "schema">,
  params: JsonValue,
  schemas: SchemaResolver,
): GrantParamsResult {
  try {
    return {
      ok: true,
      params: valueToTaggedJson(valueFromJson(cap.schema, params, schemas, [], { form: "auto" })),
    };
  } catch (error) {
    if (!(error instanceof AosError) || error.code !== "AOS_TYPE_MISMATCH") throw error;
    return { ok: false, message: error.message, path: pathSegmentsOf(error.context.path) };
  }
}

/** The segments of a JSON path written by `jsonPath` (`$.a[0]["b c"]`). */
function pathSegmentsOf(path: string | undefined): Segments {
  const out: Segments = [];
  if (path === undefined) return out;
  const pattern = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.slice(1).matchAll(pattern)) {
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(Number(match[2]));
    else if (match[3] !== undefined) out.push(JSON.parse(match[3]) as string);
  }
  return out;
}

function sameSchema(scope: Scope, a: TypeExpr, b: TypeExpr): boolean | undefined {
  try {
    return bytesEqual(schemaHash(a, scope.index), schemaHash(b, scope.index));
  } catch (error) {
    if (error instanceof AosError) return undefined; // unknown refs are reported where they are written
    throw error;
  }
}

/** Checks the manifest's wiring; returns `defaults.cap_grants` with canonical tagged params. */
export function checkManifestWiring(scope: Scope): CapGrant[] | undefined {
  const manifest = scope.manifest;
  checkAirVersion(scope, manifest);
  checkRoutes(scope, manifest);
  checkTriggers(scope, manifest);
  const policy = manifest.defaults?.policy;
  if (policy !== undefined) scope.policyRef(policy, scope.inManifest("defaults", "policy"));
  const grants = checkGrants(scope, manifest);
  checkBindings(scope, manifest);
  return grants;
}

/** The AIR versions this loader reads (the original AgentOS's `air_version`); absent means the current one. */
export const SUPPORTED_AIR_VERSIONS: ReadonlyArray<string> = ["1"];

function checkAirVersion(scope: Scope, manifest: Manifest): void {
  const version = manifest.air_version;
  if (version === undefined || SUPPORTED_AIR_VERSIONS.includes(version)) return;
  scope.sink.error(
    "AIR_VERSION_UNSUPPORTED",
    `Manifest air_version "${version}" is not supported: the supported version is "1" (or omit the field)`,
    scope.inManifest("air_version"),
  );
}

function checkRoutes(scope: Scope, manifest: Manifest): void {
  (manifest.routing?.events ?? []).forEach((route, i) => {
    const where = (...more: Segments) => scope.inManifest("routing", "events", i, ...more);
    const eventOk = scope.schemaRef(route.event, where("event"));
    const module = scope.moduleRef(route.reducer, where("reducer"));
    if (eventOk && module !== undefined) checkRoute(scope, route, module, where());
  });
  (manifest.routing?.inboxes ?? []).forEach((inbox, i) => {
    scope.moduleRef(inbox.reducer, scope.inManifest("routing", "inboxes", i, "reducer"));
  });
}

function isAlternativeOf(scope: Scope, event: string, family: string): boolean {
  const type = scope.index.resolveTop({ ref: family });
  if (type === undefined || !("variant" in type)) return false;
  return Object.values(type.variant).some((alternative) => "ref" in alternative && alternative.ref === event);
}

/** AIR §8's acceptance rule, `key_field` and keyed routing. */
function checkRoute(scope: Scope, route: RoutingEvent, module: DefModule, where: Where): void {
  const abi = module.abi.reducer;
  const receiptRoute = (abi.effects_emitted ?? []).some((kind) =>
    microEffectReceiptEvents.get(kind) === route.event
  );
  if (!receiptRoute && route.event !== abi.event && !isAlternativeOf(scope, route.event, abi.event)) {
    scope.sink.error(
      "AIR_ROUTE_NOT_ACCEPTED",
      `Reducer "${module.name}" does not accept "${route.event}": its event is "${abi.event}" (to take ` +
        `several events, make its event a variant schema, an event family, with "${route.event}" as an alternative)`,
      where,
    );
  }
  const keyWhere = { ...where, at: [...(where.at ?? []), "key_field"] };
  if (route.key_field !== undefined) {
    const eventType = scope.index.resolveTop({ ref: route.event });
    const fieldType =
      eventType !== undefined && "record" in eventType && Object.hasOwn(eventType.record, route.key_field)
        ? eventType.record[route.key_field]
        : undefined;
    if (fieldType === undefined) {
      const message = `Event "${route.event}" has no record field "${route.key_field}"`;
      scope.sink.error("AIR_KEY_FIELD", message, keyWhere);
      return;
    }
    const keySchema = module.key_schema;
    if (keySchema === undefined || !scope.index.has(keySchema)) return;
    if (sameSchema(scope, fieldType, { ref: keySchema }) === false) {
      scope.sink.error(
        "AIR_KEY_FIELD",
        `Field "${route.key_field}" of "${route.event}" is not of key schema "${keySchema}"`,
        keyWhere,
      );
    }
  } else if (module.key_schema !== undefined && !receiptRoute) {
    // Receipt events reach the originating cell without routing, so they need no key field.
    scope.sink.error(
      "AIR_KEY_FIELD",
      `Module "${module.name}" has a key_schema, so routes to it need "key_field"`,
      where,
    );
  }
}

function hasFieldPath(scope: Scope, event: string, fieldPath: string): boolean {
  let type = scope.index.resolveTop({ ref: event });
  for (const segment of fieldPath.split(".")) {
    if (type !== undefined && "option" in type) type = scope.index.resolveTop(type.option);
    if (type === undefined || !("record" in type) || !Object.hasOwn(type.record, segment)) return false;
    type = scope.index.resolveTop(type.record[segment]!);
  }
  return true;
}

function checkTriggers(scope: Scope, manifest: Manifest): void {
  (manifest.triggers ?? []).forEach((trigger, i) => {
    const where = (...more: Segments) => scope.inManifest("triggers", i, ...more);
    const eventOk = scope.schemaRef(trigger.event, where("event"));
    const plan = scope.planRef(trigger.plan, where("plan"));
    // AIR §13 Choice: the event starts the plan as its input, so the two schemas must be one type.
    if (eventOk && plan !== undefined && scope.index.has(plan.input)) {
      if (sameSchema(scope, { ref: trigger.event }, { ref: plan.input }) === false) {
        scope.sink.error(
          "AIR_TRIGGER_INPUT",
          `Trigger event "${trigger.event}" is not the input schema "${plan.input}" of plan "${plan.name}"`,
          where("event"),
        );
      }
    }
    if (
      eventOk && trigger.correlate_by !== undefined &&
      !hasFieldPath(scope, trigger.event, trigger.correlate_by)
    ) {
      scope.sink.error(
        "AIR_CORRELATE_BY",
        `Event "${trigger.event}" has no field path "${trigger.correlate_by}"`,
        where("correlate_by"),
      );
    }
  });
}

function checkGrants(scope: Scope, manifest: Manifest): CapGrant[] | undefined {
  const list = manifest.defaults?.cap_grants;
  if (list === undefined) return undefined;
  const seen = new Set<string>();
  return list.map((grant, i) => {
    const where = (...more: Segments) => scope.inManifest("defaults", "cap_grants", i, ...more);
    if (seen.has(grant.name)) {
      scope.sink.error("AIR_NAME_DUPLICATE", `Duplicate grant "${grant.name}"`, where("name"));
    }
    seen.add(grant.name);
    const cap = scope.capRef(grant.cap, where("cap"));
    if (cap === undefined || scope.index.expand(cap.schema) === undefined) return grant;
    const result = canonicalGrantParams(cap, grant.params, scope.index);
    if (!result.ok) {
      scope.sink.error(
        "AIR_GRANT_PARAMS",
        `Params of grant "${grant.name}" do not conform to the schema of "${cap.name}": ${result.message}`,
        where("params", ...result.path),
      );
      return grant;
    }
    return { ...grant, params: result.params };
  });
}

function checkBindings(scope: Scope, manifest: Manifest): void {
  const bindings = manifest.module_bindings ?? {};
  for (const moduleName of Object.keys(bindings).sort()) {
    const module = scope.moduleRef(moduleName, scope.inManifest("module_bindings", moduleName));
    const slots = bindings[moduleName]!.slots;
    for (const slot of Object.keys(slots).sort()) {
      const grantName = slots[slot]!;
      const where = scope.inManifest("module_bindings", moduleName, "slots", slot);
      const declared: CapType | undefined = module?.abi.reducer.cap_slots?.[slot];
      if (module !== undefined && declared === undefined && slot !== "default") {
        scope.sink.error("AIR_BINDING_SLOT", `Module "${moduleName}" declares no cap slot "${slot}"`, where);
      }
      const grant = scope.grants.get(grantName);
      if (grant === undefined) {
        scope.sink.error("AIR_REF_UNKNOWN", `Binding names unknown grant "${grantName}"`, where);
        continue;
      }
      const capType = grant.cap?.cap_type;
      if (module === undefined || capType === undefined) continue;
      if (declared !== undefined && capType !== declared) {
        scope.sink.error(
          "AIR_CAP_TYPE_MISMATCH",
          `Slot "${slot}" of "${moduleName}" takes cap type "${declared}", but grant "${grantName}" is "${capType}"`,
          where,
        );
      }
      // The implicit `default` slot (KERNEL §4) is untyped: its grant must fit some emitted kind.
      const emitted = module.abi.reducer.effects_emitted ?? [];
      if (
        declared === undefined && emitted.length > 0 &&
        !emitted.some((k) => effectSpec(k)?.capType === capType)
      ) {
        scope.sink.error(
          "AIR_CAP_TYPE_MISMATCH",
          `Grant "${grantName}" of cap type "${capType}" fits none of the effects "${moduleName}" emits ` +
            `(${emitted.join(", ")})`,
          where,
        );
      }
    }
  }
}
