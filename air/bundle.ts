/**
 * Loads a folder's worth of AIR text into a validated bundle (AIR §6–§8, §14). Pure: the caller reads the
 * files and passes their text. Every problem is reported in one pass as a {@linkcode Diagnostic} with a
 * stable code, the file, the JSON path within that file and the definition name; a bundle is returned only
 * when there is none.
 *
 * Scope: a schema or module is visible to references when the manifest lists it (built-in `sys/*` schemas
 * always are); without a manifest every node of the files is. Manifest ref hashes that are missing or all
 * zeros are filled from the same-named node; a given hash must match.
 *
 * @example Load the counter world of AIR §20
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadAirBundle } from "./bundle.ts";
 *
 * const text = JSON.stringify([
 *   { $kind: "defschema", name: "demo/CounterState@1", type: { record: { count: { nat: {} } } } },
 *   { $kind: "defschema", name: "demo/Increment@1", type: { record: { by: { nat: {} } } } },
 *   {
 *     $kind: "defmodule", name: "demo/Counter@1", module_kind: "reducer", wasm_hash: `sha256:${"ab".repeat(32)}`,
 *     abi: { reducer: { state: "demo/CounterState@1", event: "demo/Increment@1" } },
 *   },
 *   {
 *     $kind: "manifest", plans: [], caps: [], policies: [],
 *     schemas: [{ name: "demo/CounterState@1" }, { name: "demo/Increment@1" }],
 *     modules: [{ name: "demo/Counter@1" }],
 *     routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
 *   },
 * ]);
 * const { bundle, diagnostics } = loadAirBundle([{ path: "air/counter.air.json", text }]);
 * assert.deepEqual(diagnostics, []);
 * assert.match(bundle!.manifest.modules[0]!.hash!, /^sha256:/);
 * ```
 *
 * @module
 */
import { builtinCapTypes, builtinSchemaHash, microEffectReceiptEvents } from "./builtins.ts";
import { bytesEqual, encodeCanonical } from "./cbor.ts";
import { AosError } from "./errors.ts";
import type { HashRef } from "./hash.ts";
import { jsonPath, type JsonValue, parseJson } from "./json.ts";
import { nodeHash } from "./node_hash.ts";
import {
  AIR_KINDS,
  type AirNode,
  type CapType,
  type DefModule,
  type DefSchema,
  type Manifest,
  type NamedRef,
  type NodeKind,
  parseAirNode,
} from "./nodes.ts";
import { SchemaIndex } from "./schema_index.ts";
import type { TypeExpr } from "./types.ts";

/** One AIR text file: its path (as shown in diagnostics) and content. */
export interface AirFile {
  path: string;
  text: string;
}

/** A validation problem; `code` is stable API, `message` is not. */
export interface Diagnostic {
  code: string;
  message: string;
  file?: string;
  path?: string;
  def?: string;
  step?: string;
}

/** The diagnostic codes of the loader (AIR §14 as far as schemas, modules and the manifest go). */
export const AIR_DIAGNOSTIC_CODES = [
  "AIR_JSON_INVALID",
  "AIR_SHAPE",
  "AIR_KIND_UNKNOWN",
  "AIR_KIND_RESERVED",
  "AIR_KIND_UNSUPPORTED",
  "AIR_NAME_INVALID",
  "AIR_NAME_DUPLICATE",
  "AIR_SYS_RESERVED",
  "AIR_SCHEMA_UNKNOWN",
  "AIR_MODULE_UNKNOWN",
  "AIR_TYPE_CYCLE",
  "AIR_TYPE_INVALID",
  "AIR_MANIFEST_MISSING",
  "AIR_MANIFEST_DUPLICATE",
  "AIR_MANIFEST_HASH_MISMATCH",
  "AIR_REF_UNKNOWN",
  "AIR_ROUTE_NOT_ACCEPTED",
  "AIR_KEY_FIELD",
  "AIR_CORRELATE_BY",
  "AIR_EFFECT_NOT_MICRO",
  "AIR_BINDING_SLOT",
  "AIR_CAP_TYPE_MISMATCH",
  "AIR_WASM_MISSING",
] as const;
/** A diagnostic code of the loader. */
export type AirDiagnosticCode = (typeof AIR_DIAGNOSTIC_CODES)[number];

interface BundleNodeBase {
  name: string;
  hash: HashRef;
  /** The file that defines the node. */
  file: string;
  /** The JSON path of the node within its file (`$` or `$[i]`). */
  path: string;
}

/** A named node of a bundle. */
export type BundleNode =
  | (BundleNodeBase & { kind: "defschema"; node: DefSchema })
  | (BundleNodeBase & { kind: "defmodule"; node: DefModule });

/** A validated world definition. */
export interface AirBundle {
  /** The manifest with every ref hash filled. */
  manifest: Manifest;
  manifestHash: HashRef;
  manifestFile: string;
  manifestPath: string;
  /** Every named node of the files, keyed by `${kind}:${name}` (including nodes the manifest does not list). */
  nodes: Map<string, BundleNode>;
}

type Segments = Array<string | number>;
interface Where {
  file?: string;
  at?: Segments;
  def?: string;
}
interface Parsed {
  node: AirNode;
  file: string;
  at: Segments;
}

const ZERO_HASH = `sha256:${"0".repeat(64)}`;
const COMPARABLE = new Set(["int", "nat", "text", "uuid", "hash"]);
const REF_LISTS = [
  ["schemas", "defschema"],
  ["modules", "defmodule"],
  ["plans", "defplan"],
  ["caps", "defcap"],
  ["policies", "defpolicy"],
] as const;
type RefList = (typeof REF_LISTS)[number][0];

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeKind(type: TypeExpr): string {
  return Object.keys(type)[0] ?? "";
}

function sameType(a: TypeExpr, b: TypeExpr): boolean {
  return bytesEqual(encodeCanonical(a as unknown as JsonValue), encodeCanonical(b as unknown as JsonValue));
}

function describeWhere(file: string, at: Segments): string {
  return `${file}:${jsonPath(at)}`;
}

/** The loader's working state for one call. */
class Loader {
  readonly diagnostics: Diagnostic[] = [];
  readonly parsed: Parsed[] = [];
  /** `${kind}:${name}` of nodes whose problems are already reported; references to them stay quiet. */
  readonly reported = new Set<string>();
  firstManifest: string | undefined;
  readonly nodes = new Map<string, BundleNode>();
  index = new SchemaIndex([]);
  readonly listed = new Map<RefList, Set<string>>(REF_LISTS.map(([list]) => [list, new Set<string>()]));
  hasManifest = false;

  add(code: AirDiagnosticCode, message: string, where: Where = {}): void {
    const diagnostic: Diagnostic = { code, message };
    if (where.file !== undefined) diagnostic.file = where.file;
    if (where.at !== undefined) diagnostic.path = jsonPath(where.at);
    if (where.def !== undefined) diagnostic.def = where.def;
    this.diagnostics.push(diagnostic);
  }

  parseFile(file: AirFile): void {
    let value: JsonValue;
    try {
      value = parseJson(file.text, file.path);
    } catch (error) {
      if (!(error instanceof AosError) || error.code !== "AOS_JSON_INVALID") throw error;
      const diagnostic: Diagnostic = { code: "AIR_JSON_INVALID", message: error.message, file: file.path };
      if (error.context.path !== undefined) diagnostic.path = error.context.path;
      this.diagnostics.push(diagnostic);
      return;
    }
    if (Array.isArray(value)) value.forEach((item, i) => this.parseNode(item, file.path, [i]));
    else this.parseNode(value, file.path, []);
  }

  parseNode(value: JsonValue, file: string, at: Segments): void {
    const kind = isPlainObject(value) && typeof value["$kind"] === "string" ? value["$kind"] : undefined;
    const name = isPlainObject(value) && typeof value["name"] === "string" ? value["name"] : undefined;
    if (kind === "manifest") {
      if (this.firstManifest === undefined) this.firstManifest = describeWhere(file, at);
      else {
        const message = `Expected exactly one manifest: the first is at ${this.firstManifest}`;
        this.add("AIR_MANIFEST_DUPLICATE", message, { file, at });
      }
    }
    const result = parseAirNode(value);
    if (!result.ok) {
      for (const issue of result.issues) {
        const where: Where = { file, at: [...at, ...issue.path] };
        if (name !== undefined) where.def = name;
        this.add(issue.code as AirDiagnosticCode, issue.message, where);
      }
      if (kind !== undefined && name !== undefined && (AIR_KINDS as readonly string[]).includes(kind)) {
        this.reported.add(`${kind}:${name}`);
      }
      return;
    }
    // Only the first valid manifest is checked further.
    if (kind === "manifest" && this.parsed.some((p) => p.node.$kind === "manifest")) return;
    this.parsed.push({ node: result.node, file, at });
  }

  registerNamedNodes(): void {
    for (const { node, file, at } of this.parsed) {
      if (node.$kind === "manifest") continue;
      const where = { file, at: [...at, "name"], def: node.name };
      if (node.name.startsWith("sys/")) {
        this.add("AIR_SYS_RESERVED", `Name "${node.name}" uses the reserved sys/ namespace`, where);
        this.reported.add(`${node.$kind}:${node.name}`);
        continue;
      }
      const key = `${node.$kind}:${node.name}`;
      const first = this.nodes.get(key);
      if (first !== undefined) {
        const message =
          `Duplicate ${node.$kind} "${node.name}": first defined at ${first.file}:${first.path}`;
        this.add("AIR_NAME_DUPLICATE", message, where);
        continue;
      }
      const base = { name: node.name, hash: nodeHash(node), file, path: jsonPath(at) };
      this.nodes.set(
        key,
        node.$kind === "defschema"
          ? { ...base, kind: "defschema", node }
          : { ...base, kind: "defmodule", node },
      );
    }
  }

  /** Checks and fills the manifest's ref lists; returns the filled manifest. */
  resolveRefs(manifest: Manifest, file: string, at: Segments): Manifest {
    const filled: Manifest = { ...manifest };
    for (const [list, kind] of REF_LISTS) {
      const seen = new Set<string>();
      filled[list] = manifest[list].map((ref, i): NamedRef => {
        const where = { file, at: [...at, list, i] };
        if (seen.has(ref.name)) {
          const message = `Manifest lists "${ref.name}" twice in "${list}"`;
          this.add("AIR_NAME_DUPLICATE", message, { ...where, at: [...where.at, "name"] });
          return ref;
        }
        seen.add(ref.name);
        if (kind === "defplan" || kind === "defcap" || kind === "defpolicy") {
          // A node of that kind in the files was already reported as unsupported.
          if (!this.reported.has(`${kind}:${ref.name}`)) {
            this.add(
              "AIR_KIND_UNSUPPORTED",
              `Manifest lists "${ref.name}" in "${list}": ${kind} is not supported yet`,
              where,
            );
          }
          this.listed.get(list)!.add(ref.name);
          return ref;
        }
        const expected = kind === "defschema" && ref.name.startsWith("sys/")
          ? builtinSchemaHash(ref.name)
          : this.nodes.get(`${kind}:${ref.name}`)?.hash;
        if (expected === undefined) {
          if (!this.reported.has(`${kind}:${ref.name}`)) {
            const message = `Manifest lists "${ref.name}" in "${list}", but no ${kind} has that name`;
            this.add("AIR_REF_UNKNOWN", message, { ...where, at: [...where.at, "name"] });
          }
          this.reported.add(`${kind}:${ref.name}`);
          return ref;
        }
        this.listed.get(list)!.add(ref.name);
        if (ref.hash === undefined || ref.hash === ZERO_HASH) return { name: ref.name, hash: expected };
        if (ref.hash !== expected) {
          this.add(
            "AIR_MANIFEST_HASH_MISMATCH",
            `Manifest hash of "${ref.name}" is "${ref.hash}", but the ${kind} hashes to "${expected}"`,
            { ...where, at: [...where.at, "hash"] },
          );
        }
        return ref;
      });
    }
    return filled;
  }

  buildIndex(): void {
    const schemas: DefSchema[] = [];
    for (const entry of this.nodes.values()) {
      if (entry.kind !== "defschema") continue;
      if (!this.hasManifest || this.listed.get("schemas")!.has(entry.name)) schemas.push(entry.node);
    }
    this.index = new SchemaIndex(schemas);
  }

  /** True when schema `name` is visible; reports it otherwise. */
  checkSchemaRef(name: string, where: Where): boolean {
    if (this.index.has(name)) return true;
    if (this.reported.has(`defschema:${name}`)) return false;
    const message = this.nodes.has(`defschema:${name}`)
      ? `Schema "${name}" is not listed in the manifest`
      : `Unknown schema "${name}"`;
    this.add("AIR_SCHEMA_UNKNOWN", message, where);
    return false;
  }

  /** The visible module `name`; reports it otherwise. */
  checkModuleRef(name: string, where: Where): DefModule | undefined {
    const entry = this.nodes.get(`defmodule:${name}`);
    const visible = entry?.kind === "defmodule" &&
      (!this.hasManifest || this.listed.get("modules")!.has(name));
    if (visible) return entry.node;
    if (!this.reported.has(`defmodule:${name}`)) {
      const message = entry === undefined
        ? `Unknown module "${name}"`
        : `Module "${name}" is not listed in the manifest`;
      this.add("AIR_MODULE_UNKNOWN", message, where);
    }
    return undefined;
  }

  checkType(type: TypeExpr, file: string, at: Segments, def: string): void {
    const where = { file, at, def };
    if ("ref" in type) {
      this.checkSchemaRef(type.ref, { ...where, at: [...at, "ref"] });
    } else if ("record" in type || "variant" in type) {
      const key = "record" in type ? "record" : "variant";
      const fields = "record" in type ? type.record : type.variant;
      for (const field of Object.keys(fields)) this.checkType(fields[field]!, file, [...at, key, field], def);
    } else if ("list" in type) {
      this.checkType(type.list, file, [...at, "list"], def);
    } else if ("set" in type) {
      const element = this.index.resolveTop(type.set);
      if (element !== undefined && !COMPARABLE.has(typeKind(element))) {
        this.add(
          "AIR_TYPE_INVALID",
          `Set elements must be int, nat, text, uuid or hash, not "${typeKind(element)}"`,
          {
            ...where,
            at: [...at, "set"],
          },
        );
      }
      this.checkType(type.set, file, [...at, "set"], def);
    } else if ("map" in type) {
      const key = this.index.resolveTop(type.map.key);
      if (key !== undefined && !COMPARABLE.has(typeKind(key))) {
        this.add(
          "AIR_TYPE_INVALID",
          `Map keys must be int, nat, text, uuid or hash, not "${typeKind(key)}"`,
          {
            ...where,
            at: [...at, "map", "key"],
          },
        );
      }
      this.checkType(type.map.key, file, [...at, "map", "key"], def);
      this.checkType(type.map.value, file, [...at, "map", "value"], def);
    } else if ("option" in type) {
      const inner = this.index.resolveTop(type.option);
      if (inner !== undefined && ("option" in inner || "unit" in inner)) {
        const what = "option" in inner ? "option<option<T>>" : "option<unit>";
        this.add("AIR_TYPE_INVALID", `${what} is invalid: none and the inner null would be one value`, where);
      }
      this.checkType(type.option, file, [...at, "option"], def);
    }
  }

  /** Reports each visible user schema that can reach itself through refs, at its first ref into the loop. */
  checkCycles(): void {
    for (const entry of this.nodes.values()) {
      if (entry.kind !== "defschema" || this.index.get(entry.name) !== entry.node) continue;
      for (const { name, at } of directRefs(entry.node.type, [])) {
        const loop = this.findPath(name, entry.name);
        if (loop === undefined) continue;
        this.add(
          "AIR_TYPE_CYCLE",
          `Schema "${entry.name}" refers to itself: ${[entry.name, ...loop].join(" -> ")}`,
          {
            file: entry.file,
            at: [...pathSegments(entry.path), "type", ...at],
            def: entry.name,
          },
        );
        break;
      }
    }
  }

  /** A ref path from `from` to `target` among visible user schemas, as the names visited. */
  findPath(from: string, target: string): string[] | undefined {
    const seen = new Set<string>();
    const walk = (name: string): string[] | undefined => {
      if (name === target) return [name];
      if (seen.has(name) || this.index.isBuiltin(name)) return undefined;
      seen.add(name);
      const type = this.index.resolve(name);
      if (type === undefined) return undefined;
      for (const ref of directRefs(type, [])) {
        const rest = walk(ref.name);
        if (rest !== undefined) return [name, ...rest];
      }
      return undefined;
    };
    return walk(from);
  }

  checkModule(entry: BundleNode & { kind: "defmodule" }): void {
    const at = pathSegments(entry.path);
    const where = (...more: Segments): Where => ({ file: entry.file, at: [...at, ...more], def: entry.name });
    const abi = entry.node.abi.reducer;
    this.checkSchemaRef(abi.state, where("abi", "reducer", "state"));
    this.checkSchemaRef(abi.event, where("abi", "reducer", "event"));
    if (abi.annotations !== undefined) {
      this.checkSchemaRef(abi.annotations, where("abi", "reducer", "annotations"));
    }
    if (entry.node.key_schema !== undefined) this.checkSchemaRef(entry.node.key_schema, where("key_schema"));
    (abi.effects_emitted ?? []).forEach((kind, i) => {
      if (!microEffectReceiptEvents.has(kind)) {
        this.add(
          "AIR_EFFECT_NOT_MICRO",
          `Reducers may emit only blob.put, blob.get and timer.set, not "${kind}"`,
          where("abi", "reducer", "effects_emitted", i),
        );
      }
    });
  }

  checkManifest(manifest: Manifest, file: string, at: Segments): void {
    const where = (...more: Segments): Where => ({ file, at: [...at, ...more] });
    (manifest.routing?.events ?? []).forEach((route, i) => {
      const eventOk = this.checkSchemaRef(route.event, where("routing", "events", i, "event"));
      const module = this.checkModuleRef(route.reducer, where("routing", "events", i, "reducer"));
      if (eventOk && module !== undefined) this.checkRoute(route, module, where("routing", "events", i));
    });
    (manifest.routing?.inboxes ?? []).forEach((inbox, i) => {
      this.checkModuleRef(inbox.reducer, where("routing", "inboxes", i, "reducer"));
    });
    (manifest.triggers ?? []).forEach((trigger, i) => {
      const eventOk = this.checkSchemaRef(trigger.event, where("triggers", i, "event"));
      if (!this.listed.get("plans")!.has(trigger.plan)) {
        this.add(
          "AIR_REF_UNKNOWN",
          `Trigger plan "${trigger.plan}" is not listed in the manifest`,
          where("triggers", i, "plan"),
        );
      }
      if (
        eventOk && trigger.correlate_by !== undefined &&
        !this.hasFieldPath(trigger.event, trigger.correlate_by)
      ) {
        this.add(
          "AIR_CORRELATE_BY",
          `Event "${trigger.event}" has no field path "${trigger.correlate_by}"`,
          where("triggers", i, "correlate_by"),
        );
      }
    });
    const policy = manifest.defaults?.policy;
    if (policy !== undefined && !this.listed.get("policies")!.has(policy)) {
      this.add(
        "AIR_REF_UNKNOWN",
        `Default policy "${policy}" is not listed in the manifest`,
        where("defaults", "policy"),
      );
    }
    const grants = new Map<string, string>();
    (manifest.defaults?.cap_grants ?? []).forEach((grant, i) => {
      if (grants.has(grant.name)) {
        this.add(
          "AIR_NAME_DUPLICATE",
          `Duplicate grant "${grant.name}"`,
          where("defaults", "cap_grants", i, "name"),
        );
      } else grants.set(grant.name, grant.cap);
      if (!builtinCapTypes.has(grant.cap) && !this.listed.get("caps")!.has(grant.cap)) {
        this.add(
          "AIR_REF_UNKNOWN",
          `Grant "${grant.name}" names unknown defcap "${grant.cap}"`,
          where("defaults", "cap_grants", i, "cap"),
        );
      }
    });
    const bindings = manifest.module_bindings ?? {};
    for (const moduleName of Object.keys(bindings).sort()) {
      const module = this.checkModuleRef(moduleName, where("module_bindings", moduleName));
      const slots = bindings[moduleName]!.slots;
      for (const slot of Object.keys(slots).sort()) {
        const grantName = slots[slot]!;
        const slotWhere = where("module_bindings", moduleName, "slots", slot);
        const declared: CapType | undefined = module?.abi.reducer.cap_slots?.[slot];
        if (module !== undefined && declared === undefined && slot !== "default") {
          this.add("AIR_BINDING_SLOT", `Module "${moduleName}" declares no cap slot "${slot}"`, slotWhere);
        }
        const cap = grants.get(grantName);
        if (cap === undefined) {
          this.add("AIR_REF_UNKNOWN", `Binding names unknown grant "${grantName}"`, slotWhere);
          continue;
        }
        const capType = builtinCapTypes.get(cap);
        if (declared !== undefined && capType !== undefined && capType !== declared) {
          this.add(
            "AIR_CAP_TYPE_MISMATCH",
            `Slot "${slot}" of "${moduleName}" takes cap type "${declared}", but grant "${grantName}" is "${capType}"`,
            slotWhere,
          );
        }
      }
    }
  }

  checkRoute(
    route: { event: string; reducer: string; key_field?: string },
    module: DefModule,
    where: Where,
  ): void {
    const abi = module.abi.reducer;
    const receiptRoute = (abi.effects_emitted ?? []).some((kind) =>
      microEffectReceiptEvents.get(kind) === route.event
    );
    if (!receiptRoute && route.event !== abi.event && !this.isAlternativeOf(route.event, abi.event)) {
      this.add(
        "AIR_ROUTE_NOT_ACCEPTED",
        `Reducer "${module.name}" does not accept "${route.event}": its event is "${abi.event}"`,
        where,
      );
    }
    const at = where.at ?? [];
    if (route.key_field !== undefined) {
      const eventType = this.index.resolveTop({ ref: route.event });
      const fieldType =
        eventType !== undefined && "record" in eventType && Object.hasOwn(eventType.record, route.key_field)
          ? eventType.record[route.key_field]
          : undefined;
      if (fieldType === undefined) {
        this.add("AIR_KEY_FIELD", `Event "${route.event}" has no record field "${route.key_field}"`, {
          ...where,
          at: [...at, "key_field"],
        });
        return;
      }
      const keySchema = module.key_schema;
      if (keySchema === undefined || !this.index.has(keySchema)) return;
      const fieldExpanded = this.index.expand(fieldType);
      const keyExpanded = this.index.expand({ ref: keySchema });
      if (fieldExpanded !== undefined && keyExpanded !== undefined && !sameType(fieldExpanded, keyExpanded)) {
        this.add(
          "AIR_KEY_FIELD",
          `Field "${route.key_field}" of "${route.event}" is not of key schema "${keySchema}"`,
          {
            ...where,
            at: [...at, "key_field"],
          },
        );
      }
    } else if (module.key_schema !== undefined && !receiptRoute) {
      // Receipt events reach the originating cell without routing, so they need no key field.
      this.add(
        "AIR_KEY_FIELD",
        `Module "${module.name}" has a key_schema, so routes to it need "key_field"`,
        where,
      );
    }
  }

  isAlternativeOf(event: string, family: string): boolean {
    const type = this.index.resolveTop({ ref: family });
    if (type === undefined || !("variant" in type)) return false;
    return Object.values(type.variant).some((alternative) =>
      "ref" in alternative && alternative.ref === event
    );
  }

  hasFieldPath(event: string, fieldPath: string): boolean {
    let type = this.index.resolveTop({ ref: event });
    for (const segment of fieldPath.split(".")) {
      if (type !== undefined && "option" in type) type = this.index.resolveTop(type.option);
      if (type === undefined || !("record" in type) || !Object.hasOwn(type.record, segment)) return false;
      type = this.index.resolveTop(type.record[segment]!);
    }
    return true;
  }
}

function directRefs(type: TypeExpr, at: Segments): Array<{ name: string; at: Segments }> {
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

/** The segments of a node path `$` or `$[i]` as produced by {@linkcode jsonPath}. */
function pathSegments(path: string): Segments {
  const match = /^\$(?:\[(\d+)\])?$/.exec(path);
  if (match === null) throw new RangeError(`Not a node path: "${path}"`);
  return match[1] === undefined ? [] : [Number(match[1])];
}

/**
 * Loads and validates AIR text files: one node or a JSON array of nodes per file, exactly one manifest
 * across them. Files are processed in path order, so diagnostics are deterministic.
 */
export function loadAirBundle(
  files: ReadonlyArray<AirFile>,
): { bundle?: AirBundle; diagnostics: Diagnostic[] } {
  const loader = new Loader();
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) loader.parseFile(file);
  loader.registerNamedNodes();

  const manifestEntry = loader.parsed.find((p) => p.node.$kind === "manifest");
  if (loader.firstManifest === undefined) {
    loader.add("AIR_MANIFEST_MISSING", "No manifest found: expected exactly one");
  }
  let filled: Manifest | undefined;
  if (manifestEntry !== undefined && manifestEntry.node.$kind === "manifest") {
    loader.hasManifest = true;
    filled = loader.resolveRefs(manifestEntry.node, manifestEntry.file, manifestEntry.at);
  }
  loader.buildIndex();
  for (const entry of loader.nodes.values()) {
    if (entry.kind === "defschema") {
      loader.checkType(entry.node.type, entry.file, [...pathSegments(entry.path), "type"], entry.name);
    } else loader.checkModule(entry);
  }
  loader.checkCycles();
  if (manifestEntry !== undefined && manifestEntry.node.$kind === "manifest") {
    loader.checkManifest(manifestEntry.node, manifestEntry.file, manifestEntry.at);
  }

  if (loader.diagnostics.length > 0 || filled === undefined || manifestEntry === undefined) {
    return { diagnostics: loader.diagnostics };
  }
  return {
    bundle: {
      manifest: filled,
      manifestHash: nodeHash(filled),
      manifestFile: manifestEntry.file,
      manifestPath: jsonPath(manifestEntry.at),
      nodes: loader.nodes,
    },
    diagnostics: [],
  };
}

/** A module's WASM blob hash and where it is written. */
export interface ModuleWasm {
  module: string;
  wasmHash: HashRef;
  file: string;
  path: string;
}

/** The WASM blob of every module the manifest lists, sorted by module name (the caller checks the CAS). */
export function moduleWasmHashes(bundle: AirBundle): ModuleWasm[] {
  const out: ModuleWasm[] = [];
  for (const ref of bundle.manifest.modules) {
    const entry = bundle.nodes.get(`defmodule:${ref.name}`);
    if (entry?.kind !== "defmodule") continue;
    out.push({
      module: entry.name,
      wasmHash: entry.node.wasm_hash,
      file: entry.file,
      path: `${entry.path}.wasm_hash`,
    });
  }
  return out.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}

/** `AIR_WASM_MISSING` for each listed module whose blob `hasBlob` does not know. */
export function checkModuleBlobs(bundle: AirBundle, hasBlob: (hash: HashRef) => boolean): Diagnostic[] {
  return moduleWasmHashes(bundle)
    .filter((wasm) => !hasBlob(wasm.wasmHash))
    .map((wasm) => ({
      code: "AIR_WASM_MISSING",
      message: `WASM blob "${wasm.wasmHash}" of module "${wasm.module}" is not in the store`,
      file: wasm.file,
      path: wasm.path,
      def: wasm.module,
    }));
}

/** `file:path: [CODE] message (def NAME, step ID)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const location = d.file === undefined ? "" : `${d.file}${d.path === undefined ? "" : `:${d.path}`}: `;
  const context = [d.def === undefined ? "" : `def ${d.def}`, d.step === undefined ? "" : `step ${d.step}`]
    .filter((part) => part !== "")
    .join(", ");
  return `${location}[${d.code}] ${d.message}${context === "" ? "" : ` (${context})`}`;
}

/** The key of a named node in {@linkcode AirBundle.nodes}: `${kind}:${name}`. */
export function bundleKey(kind: Exclude<NodeKind, "manifest">, name: string): string {
  return `${kind}:${name}`;
}
