/**
 * `manifest` (AIR §6): the names and hashes of a world's definitions and their wiring — routing,
 * triggers, default policy and cap grants, module cap-slot bindings.
 *
 * @module
 */
import { z } from "zod";
import type { ExactOutput } from "./_exact.ts";
import { hashSchema, identifierSchema, nameSchema, natSchema } from "./_fields.ts";
import { jsonValueSchema } from "./json_value_schema.ts";

/** A manifest ref (AIR §6). */
export const namedRefSchema = z.strictObject({ name: nameSchema, hash: hashSchema.optional() });

/** A manifest ref `{name, hash?}`; authoring text may omit the hash or give 64 zeros (AIR §6). */
export type NamedRef = ExactOutput<typeof namedRefSchema>;

/** A `routing.events` entry. */
export const routingEventSchema = z.strictObject({
  event: nameSchema,
  reducer: nameSchema,
  key_field: z.string().optional(),
});

/** A `routing.events` entry. */
export type RoutingEvent = ExactOutput<typeof routingEventSchema>;

/** A `routing.inboxes` entry (reserved in v1). */
export const routingInboxSchema = z.strictObject({ source: z.string(), reducer: nameSchema });

/** A `routing.inboxes` entry (reserved in v1). */
export type RoutingInbox = ExactOutput<typeof routingInboxSchema>;

/** A `triggers` entry. */
export const triggerSchema = z.strictObject({
  event: nameSchema,
  plan: nameSchema,
  correlate_by: z.string().optional(),
});

/** A `triggers` entry. */
export type Trigger = ExactOutput<typeof triggerSchema>;

/** Budget limits of a grant (AIR §10.5). */
export const budgetSchema = z.strictObject({
  tokens: natSchema.optional(),
  bytes: natSchema.optional(),
  cents: natSchema.optional(),
});

/** Budget limits of a grant; an absent dimension is unlimited (AIR §10.5). */
export type Budget = ExactOutput<typeof budgetSchema>;

/** A capability grant (AIR §10.3). */
export const capGrantSchema = z.strictObject({
  name: identifierSchema,
  cap: nameSchema,
  params: jsonValueSchema,
  expiry_ns: natSchema.optional(),
  budget: budgetSchema.optional(),
});

/**
 * A capability grant (AIR §10.3). `params` is a value of the defcap's schema: authoring text may use the
 * plain or the tagged form (AIR §3); a loaded or stored manifest holds the canonical tagged form.
 */
export type CapGrant = ExactOutput<typeof capGrantSchema>;

/** A module's cap slot bindings. */
export const moduleBindingSchema = z.strictObject({ slots: z.record(identifierSchema, identifierSchema) });

/** A module's cap slot bindings. */
export type ModuleBinding = ExactOutput<typeof moduleBindingSchema>;

/** `manifest` (AIR §6). */
export const manifestSchema = z.strictObject({
  $kind: z.literal("manifest"),
  /** The AIR version the manifest is written for (the original AgentOS writes `"1"`); only `"1"` loads. */
  air_version: z.string().optional(),
  schemas: z.array(namedRefSchema),
  modules: z.array(namedRefSchema),
  plans: z.array(namedRefSchema),
  caps: z.array(namedRefSchema),
  policies: z.array(namedRefSchema),
  /** The defeffects the world uses (the original AgentOS's list; built-ins by name). */
  effects: z.array(namedRefSchema).optional(),
  /** The defsecrets effects may reference (the original AgentOS's list). */
  secrets: z.array(namedRefSchema).optional(),
  routing: z.strictObject({
    events: z.array(routingEventSchema).optional(),
    inboxes: z.array(routingInboxSchema).optional(),
  }).optional(),
  triggers: z.array(triggerSchema).optional(),
  defaults: z.strictObject({ policy: nameSchema.optional(), cap_grants: z.array(capGrantSchema).optional() })
    .optional(),
  module_bindings: z.record(nameSchema, moduleBindingSchema).optional(),
});

/** `{"$kind":"manifest"}`: the names and hashes of a world's definitions and their wiring (AIR §6). */
export type Manifest = ExactOutput<typeof manifestSchema>;
