/**
 * The built-in `sys/*` schemas (AIR §9.5), loaded once from `spec/defs/builtin-schemas.air.json` and
 * validated with the same parser as user nodes. The file is used verbatim for now: the amendments of
 * AIR §9.1/§9.5 (optional timer `key` and `cost_cents`, the http and llm schemas) belong to a later change,
 * and so do the built-in defcaps of AIR §10.2, of which only the names and cap types are known here.
 *
 * @example Look up a built-in
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinSchemaHash, builtinSchemas } from "./builtins.ts";
 *
 * assert.ok(builtinSchemas.has("sys/TimerFired@1"));
 * assert.match(builtinSchemaHash("sys/TimerFired@1") ?? "", /^sha256:/);
 * ```
 *
 * @module
 */
import data from "../spec/defs/builtin-schemas.air.json" with { type: "json" };
import { assert } from "./errors.ts";
import type { HashRef } from "./hash.ts";
import { toJsonValue } from "./json.ts";
import { nodeHash } from "./node_hash.ts";
import { type CapType, type DefSchema, type EffectKind, parseAirNode } from "./nodes.ts";

function loadBuiltins(): Map<string, DefSchema> {
  const out = new Map<string, DefSchema>();
  for (const raw of data as unknown[]) {
    const result = parseAirNode(toJsonValue(raw));
    assert(result.ok, `built-in schema is valid: ${result.ok ? "" : JSON.stringify(result.issues)}`);
    const node = result.node;
    assert(node.$kind === "defschema", "built-in nodes are defschemas");
    assert(node.name.startsWith("sys/"), `built-in "${node.name}" is in the sys/ namespace`);
    assert(!out.has(node.name), `built-in "${node.name}" is unique`);
    out.set(node.name, node);
  }
  return out;
}

/** The built-in `sys/*` schemas by name. */
export const builtinSchemas: ReadonlyMap<string, DefSchema> = loadBuiltins();

const hashes = new Map<string, HashRef>();
for (const [name, node] of builtinSchemas) hashes.set(name, nodeHash(node));

/** The node hash of a built-in schema, or `undefined` when `name` is not a built-in. */
export function builtinSchemaHash(name: string): HashRef | undefined {
  return hashes.get(name);
}

/** The cap type of each standard defcap (AIR §10.2); the defcap nodes themselves come later. */
export const builtinCapTypes: ReadonlyMap<string, CapType> = new Map<string, CapType>([
  ["sys/http.out@1", "http.out"],
  ["sys/llm.basic@1", "llm.basic"],
  ["sys/blob@1", "blob"],
  ["sys/timer@1", "timer"],
]);

/** The micro-effects a reducer may emit (AIR §9.1) and the `sys/*` event its receipt becomes (AIR §9.5). */
export const microEffectReceiptEvents: ReadonlyMap<EffectKind, string> = new Map<EffectKind, string>([
  ["timer.set", "sys/TimerFired@1"],
  ["blob.put", "sys/BlobPutResult@1"],
  ["blob.get", "sys/BlobGetResult@1"],
]);
