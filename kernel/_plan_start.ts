/**
 * Private to `kernel/`: what a plan start needs checked (KERNEL §2.6, §5.1, AIR §13) — the plan is
 * known, the input decodes with its `input` schema, manual locals are declared and decode with their
 * schemas — and the correlation value of a trigger's `correlate_by` path.
 *
 * @module
 */
import {
  AosError,
  type CborValue,
  decodeTyped,
  type DefPlan,
  encodeCanonical,
  encodeTyped,
  hasOwn,
  refType,
  type SchemaResolver,
  type TypeExpr,
  type Value,
  viewType,
} from "../air/mod.ts";
import type { WorldDefs } from "./kernel.ts";

/** A checked start: the plan, the decoded input and the manual locals to bind. */
export interface CheckedPlanStart {
  plan: DefPlan;
  inputValue: Value;
  locals: Map<string, Value>;
}

/** The fields of a `plan_start_requested` body, checked for shape only. */
export interface PlanStartBody {
  plan: string;
  input: Uint8Array;
  locals: Array<[string, Uint8Array]>;
}

function malformed(detail: string): AosError {
  return new AosError("AOS_JOURNAL_CORRUPT", `Malformed plan_start_requested: ${detail}`);
}

/**
 * Reads the shape of a `plan_start_requested` body (`plan` text, `input` bstr, `locals?` map of text to
 * bstr); a body of another shape throws `AOS_JOURNAL_CORRUPT`.
 */
export function planStartBody(body: { [key: string]: CborValue }): PlanStartBody {
  if (typeof body.plan !== "string") throw malformed("plan is not text");
  if (!(body.input instanceof Uint8Array)) throw malformed("input is not a byte string");
  const locals: Array<[string, Uint8Array]> = [];
  const raw = body.locals;
  if (raw !== undefined) {
    let entries: Array<[CborValue, CborValue]>;
    if (raw instanceof Map) entries = [...raw];
    else if (typeof raw === "object" && raw !== null && Object.getPrototypeOf(raw) === Object.prototype) {
      entries = Object.entries(raw as { [key: string]: CborValue });
    } else throw malformed("locals is not a map");
    for (const [name, bytes] of entries) {
      if (typeof name !== "string" || !(bytes instanceof Uint8Array)) {
        throw malformed("locals is not a map of text to bytes");
      }
      locals.push([name, bytes]);
    }
  }
  return { plan: body.plan, input: body.input, locals };
}

/**
 * Checks a manual start against a control plane (KERNEL §2.6): the driver calls it before journaling
 * `plan_start_requested`, the kernel again when applying it. Throws `AOS_USAGE` for an unknown plan or
 * local, and the codec's error (`AOS_TYPE_MISMATCH`, `AOS_CBOR_*`) for an input or local that does not
 * strictly decode with its schema.
 */
export function checkPlanStart(defs: WorldDefs, body: PlanStartBody): CheckedPlanStart {
  const plan = defs.plans.get(body.plan);
  if (!plan) throw new AosError("AOS_USAGE", `Cannot start plan "${body.plan}": it is not in the manifest`);
  const inputValue = decodeTyped(refType(plan.input), body.input, defs.schemas);
  const locals = new Map<string, Value>();
  for (const [name, bytes] of body.locals) {
    const schema = plan.locals !== undefined && hasOwn(plan.locals, name) ? plan.locals[name] : undefined;
    if (schema === undefined) {
      throw new AosError("AOS_USAGE", `Cannot start plan "${plan.name}": "${name}" is not one of its locals`);
    }
    locals.set(name, decodeTyped(refType(schema), bytes, defs.schemas));
  }
  return { plan, inputValue, locals };
}

/**
 * The canonical bytes of the value at a dotted field path of a value of `schema`, or undefined when
 * the schema has no such path. A none met on the way gives the bytes of null.
 */
export function fieldPathBytes(
  schema: string,
  value: Value,
  path: string,
  schemas: SchemaResolver,
): Uint8Array | undefined {
  let type: TypeExpr = refType(schema);
  let current: Value = value;
  for (const segment of path.split(".")) {
    let view = viewType(type, schemas);
    if (view.kind === "option") view = viewType(view.item, schemas);
    if (view.kind !== "record" || !hasOwn(view.fields, segment)) return undefined;
    type = view.fields[segment]!;
    current = current.kind === "record" ? current.value.get(segment) ?? { kind: "none" } : { kind: "none" };
  }
  return current.kind === "none" ? encodeCanonical(null) : encodeTyped(type, current, schemas);
}
