/**
 * {@linkcode AirNode}: a node of any AIR v1 kind, and its kind.
 *
 * @module
 */
import type { DefCap } from "./def_cap.ts";
import type { DefEffect } from "./def_effect.ts";
import type { DefModule } from "./def_module.ts";
import type { DefPlan } from "./def_plan.ts";
import type { DefPolicy } from "./def_policy.ts";
import type { DefSchema } from "./def_schema.ts";
import type { DefSecret } from "./def_secret.ts";
import type { Manifest } from "./manifest.ts";

/** An AIR node of any v1 kind. */
export type AirNode = DefSchema | DefModule | DefPlan | DefCap | DefPolicy | DefEffect | DefSecret | Manifest;
/** The `$kind` of a node. */
export type NodeKind = AirNode["$kind"];
/** A node with a name: every kind but the manifest. */
export type NamedAirNode = Exclude<AirNode, Manifest>;
/** The `$kind` of a named node. */
export type NamedNodeKind = NamedAirNode["$kind"];
