/**
 * The closed vocabularies of AIR v1: node kinds (AIR §1), effect kinds (AIR §9.1) and capability types
 * (AIR §10.1).
 *
 * @module
 */

/** The effect kinds of the closed v1 catalog (AIR §9.1). */
export const EFFECT_KINDS = ["http.request", "blob.put", "blob.get", "timer.set", "llm.generate"] as const;
/** An effect kind. */
export type EffectKind = (typeof EFFECT_KINDS)[number];
/** The capability types of v1 (AIR §10.1). */
export const CAP_TYPES = ["http.out", "blob", "timer", "llm.basic"] as const;
/** A capability type. */
export type CapType = (typeof CAP_TYPES)[number];

/** Every `$kind` of AIR v1 (AIR §1). */
export const AIR_KINDS = [
  "defschema",
  "defmodule",
  "defplan",
  "defcap",
  "defpolicy",
  "defeffect",
  "defsecret",
  "manifest",
] as const;
/**
 * Kinds recognized but not supported yet: none since every v1 kind is.
 * @deprecated Always empty; kept so existing imports compile.
 */
export const UNSUPPORTED_KINDS: ReadonlySet<string> = new Set<string>();
/** Kinds reserved by AIR and always rejected. */
export const RESERVED_KINDS: ReadonlySet<string> = new Set(["defmigration"]);
