/**
 * Parsing and hashing of patch documents (AIR §15): strict zod schemas, one-key operations, errors with
 * JSON paths; the patch hash is the node hash of the document (generic canonical CBOR).
 *
 * @module
 */
import { z } from "zod";
import { assert, jsonPath, type JsonValue } from "../base/mod.ts";
import type { Diagnostic } from "../bundle/mod.ts";
import { encodeCanonical, type HashRef, hashRefOf } from "../cbor/mod.ts";
import { HASH_PATTERN, jsonValueSchema, manifestSchema, NAME_PATTERN } from "../nodes/mod.ts";
import {
  DEF_KINDS,
  PATCH_OP_NAMES,
  type PatchDocument,
  PatchError,
  patchLimits,
  type PatchOp,
  type PatchOpName,
} from "./_types.ts";

type Segments = Array<string | number>;

function quote(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "bigint"
    ? `${value}`
    : typeof value;
}

const nameSchema = z.string().regex(NAME_PATTERN, {
  error: (issue) => `Invalid name ${quote(issue.input)}: expected "namespace/Name@version"`,
});
const hashSchema = z.custom<HashRef>((value) => typeof value === "string" && HASH_PATTERN.test(value), {
  error: (issue) => `Invalid hash ${quote(issue.input)}: expected "sha256:" and 64 lowercase hex digits`,
});
const kindSchema = z.enum(DEF_KINDS);
// The node itself is parsed when the operation is applied, so its problems name the operation.
const nodeJsonSchema = z.record(z.string(), jsonValueSchema);

const manifestShape = manifestSchema.shape;

/** The payload schema of each operation, keyed by operation name. */
const payloadSchemas = {
  add_def: z.strictObject({ kind: kindSchema, node: nodeJsonSchema }),
  replace_def: z.strictObject({
    kind: kindSchema,
    name: nameSchema,
    new_node: nodeJsonSchema,
    pre_hash: hashSchema,
  }),
  remove_def: z.strictObject({ kind: kindSchema, name: nameSchema, pre_hash: hashSchema }),
  set_manifest_refs: z.strictObject({
    add: z.array(z.strictObject({ kind: kindSchema, name: nameSchema, hash: hashSchema }))
      .max(patchLimits.refsPerOpMax).optional(),
    remove: z.array(z.strictObject({ kind: kindSchema, name: nameSchema })).max(patchLimits.refsPerOpMax)
      .optional(),
  }),
  // The manifest's own field schemas, so a patch accepts exactly what a manifest does.
  set_defaults: manifestShape.defaults.unwrap(),
  set_routing: manifestShape.routing.unwrap(),
  set_triggers: z.strictObject({ triggers: manifestShape.triggers.unwrap() }),
  set_module_bindings: z.strictObject({ bindings: manifestShape.module_bindings.unwrap() }),
} as const satisfies Record<PatchOpName, z.ZodType>;

const envelopeSchema = z.strictObject({
  base_manifest_hash: hashSchema,
  patches: z.array(z.unknown()).max(patchLimits.opsMax),
});

// The zod outputs must be the operation payloads, up to the `| undefined` zod adds to optional fields.
type Exact<T> = T extends bigint | string | boolean | null ? T
  : T extends ReadonlyArray<infer U> ? Exact<U>[]
  : { [K in keyof T]: Exact<Exclude<T[K], undefined>> };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type Payload<N extends PatchOpName> = Extract<PatchOp, Record<N, unknown>>[N];
// Nodes are typed `JsonValue` but parsed as objects: there the output need only fit the payload type.
type Fits<A, B> = [A] extends [B] ? true : false;
type PayloadsMatchTypes = {
  [N in PatchOpName]: Assert<
    N extends "add_def" | "replace_def" ? Fits<Exact<z.output<(typeof payloadSchemas)[N]>>, Exact<Payload<N>>>
      : Same<Exact<z.output<(typeof payloadSchemas)[N]>>, Exact<Payload<N>>>
  >;
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const last = issue.path[issue.path.length - 1];
  // Issues carry their input when parsed with `reportInput`; an absent input is a missing field.
  if (
    (issue.code === "invalid_type" || issue.code === "custom") && "input" in issue &&
    issue.input === undefined && typeof last === "string"
  ) {
    return `Missing field "${last}"`;
  }
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? `Invalid key ${quote(last)}`;
  return issue.message;
}

/** Zod issues as `AIR_PATCH_SHAPE` diagnostics, one per unknown key, with paths from the document root. */
function issueDiagnostics(
  issues: ReadonlyArray<z.core.$ZodIssue>,
  prefix: Segments,
  file: string | undefined,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const push = (message: string, at: Segments) => {
    const diagnostic: Diagnostic = { code: "AIR_PATCH_SHAPE", message, path: jsonPath(at) };
    if (file !== undefined) diagnostic.file = file;
    out.push(diagnostic);
  };
  for (const issue of issues) {
    const at = [...prefix, ...issue.path.map((s) => (typeof s === "number" ? s : String(s)))];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) push(`Unknown field "${key}"`, [...at, key]);
    } else push(issueMessage(issue), at);
  }
  return out;
}

function parseOp(value: unknown, index: number, file: string | undefined): PatchOp | Diagnostic[] {
  const at: Segments = ["patches", index];
  const shape = (message: string): Diagnostic[] => [
    { code: "AIR_PATCH_SHAPE", message, path: jsonPath(at), ...(file === undefined ? {} : { file }) },
  ];
  if (!isPlainObject(value)) {
    return shape(`Expected an operation object, got ${Array.isArray(value) ? "array" : quote(value)}`);
  }
  const keys = Object.keys(value);
  const expected = `expected one key of ${PATCH_OP_NAMES.join(", ")}`;
  if (keys.length !== 1) {
    return shape(`Invalid operation: ${expected}, got ${keys.length} keys (${keys.map(quote).join(", ")})`);
  }
  const name = keys[0]!;
  if (!(PATCH_OP_NAMES as readonly string[]).includes(name)) {
    return shape(`Unknown operation ${quote(name)}: ${expected}`);
  }
  const opName = name as PatchOpName;
  const result = payloadSchemas[opName].safeParse(value[opName], { reportInput: true });
  if (!result.success) return issueDiagnostics(result.error.issues, [...at, opName], file);
  return { [opName]: result.data } as unknown as PatchOp;
}

/**
 * Parses a patch document from its JSON value (integers as bigints, as `parseJson` gives them). Strict:
 * unknown fields are rejected and each operation is an object with exactly one operation key. Nodes inside
 * `add_def`/`replace_def` must be JSON objects; they are parsed as AIR nodes when applied.
 * @throws {PatchError} `AOS_PATCH_INVALID`, with a diagnostic per problem and the first one's JSON path.
 */
export function parsePatchDocument(json: JsonValue, file?: string): PatchDocument {
  const diagnostics: Diagnostic[] = [];
  let document: PatchDocument | undefined;
  const deep = deeperThan(json, PATCH_DEPTH_MAX);
  const envelope = deep === undefined ? envelopeSchema.safeParse(json, { reportInput: true }) : undefined;
  if (deep !== undefined) {
    // Refused before anything walks it: encoding it (for its hash) would overflow the stack.
    diagnostics.push({
      code: "AIR_PATCH_SHAPE",
      message: `the document nests deeper than ${PATCH_DEPTH_MAX} levels`,
      path: jsonPath(deep),
      ...(file === undefined ? {} : { file }),
    });
  } else if (!envelope!.success) {
    diagnostics.push(...issueDiagnostics(envelope!.error.issues, [], file));
  } else {
    const patches: PatchOp[] = [];
    envelope!.data.patches.forEach((value, i) => {
      const op = parseOp(value, i, file);
      if (Array.isArray(op)) diagnostics.push(...op);
      else patches.push(op);
    });
    document = { base_manifest_hash: envelope!.data.base_manifest_hash, patches };
  }
  if (diagnostics.length > 0 || document === undefined) {
    const first = diagnostics[0];
    assert(first !== undefined, "a rejected patch document has a diagnostic");
    const where = file === undefined ? "" : ` in ${quote(file)}`;
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
    throw new PatchError(
      "AOS_PATCH_INVALID",
      `Invalid patch document${where} at ${first.path ?? "$"}: ${first.message}${more}`,
      {
        diagnostics,
        context: {
          ...(file === undefined ? {} : { file }),
          ...(first.path === undefined ? {} : { path: first.path }),
        },
      },
    );
  }
  return document;
}

/** Nesting depth of a patch document that {@linkcode toPlainJson} still walks (AIR types nest 64 deep). */
const PATCH_DEPTH_MAX = 256;

/** The path of the first value nested deeper than `max` levels, or undefined (walked without recursion). */
function deeperThan(json: JsonValue, max: number): Array<string | number> | undefined {
  const stack: Array<{ value: JsonValue; path: Array<string | number> }> = [{ value: json, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (path.length > max) return path;
    if (Array.isArray(value)) value.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
    else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

/** A typed value as plain JSON, dropping absent optional fields; anything that is not JSON is a bug. */
function toPlainJson(value: unknown, depth = 0): JsonValue {
  if (depth > 256) throw new RangeError("Patch document nests too deeply to encode");
  if (
    value === null || typeof value === "string" || typeof value === "boolean" || typeof value === "bigint"
  ) {
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => toPlainJson(item, depth + 1));
  if (isPlainObject(value)) {
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item !== undefined) out[key] = toPlainJson(item, depth + 1);
    }
    return out;
  }
  throw new TypeError(`Not a JSON value in a patch document: ${typeof value}`);
}

/**
 * The bytes stored in the CAS for a patch document: the generic canonical CBOR of its JSON (absent
 * optional fields dropped; map keys sorted, so the key order of the text does not matter). Empty lists
 * are kept: `"events": []` clears the routes, while no `events` leaves them.
 */
export function patchBytes(doc: PatchDocument): Uint8Array {
  return encodeCanonical(toPlainJson(doc));
}

/** The patch hash: SHA-256 of {@linkcode patchBytes} (the `patch_hash` of `proposal_submitted`). */
export function patchHash(doc: PatchDocument): HashRef {
  return hashRefOf(patchBytes(doc));
}

/** The document as plain JSON (what {@linkcode patchBytes} encodes); parses back to an equal document. */
export function patchDocumentToJson(doc: PatchDocument): JsonValue {
  return toPlainJson(doc);
}
