/**
 * Small read-only helpers over a manifest and a loaded bundle.
 *
 * @example Find the routes of a schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { routesFor } from "./manifest_view.ts";
 *
 * const manifest = {
 *   $kind: "manifest" as const, schemas: [], modules: [], plans: [], caps: [], policies: [],
 *   routing: { events: [{ event: "demo/Increment@1", reducer: "demo/Counter@1" }] },
 * };
 * assert.deepEqual(routesFor(manifest, "demo/Increment@1").map((route) => route.reducer), ["demo/Counter@1"]);
 * ```
 *
 * @module
 */
import type { DefModule, Manifest, NamedRef, RoutingEvent } from "../nodes/mod.ts";
import type { AirBundle } from "./bundle.ts";

/** The `routing.events` entries for events of `schemaName`, in manifest order (the delivery order). */
export function routesFor(manifest: Manifest, schemaName: string): RoutingEvent[] {
  return (manifest.routing?.events ?? []).filter((route) => route.event === schemaName);
}

/** The manifest's ref to module `name`, or `undefined` when it does not list it. */
export function moduleRefByName(manifest: Manifest, name: string): NamedRef | undefined {
  return manifest.modules.find((ref) => ref.name === name);
}

/** The module `name` when the bundle's manifest lists it. */
export function moduleByName(
  bundle: Pick<AirBundle, "manifest" | "nodes">,
  name: string,
): DefModule | undefined {
  if (moduleRefByName(bundle.manifest, name) === undefined) return undefined;
  const entry = bundle.nodes.get(`defmodule:${name}`);
  return entry?.kind === "defmodule" ? entry.node : undefined;
}
