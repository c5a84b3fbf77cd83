/**
 * Manual plan control as journal inputs: `plan_start_requested` (input and locals validated and encoded with
 * their schemas) and `plan_cancel_requested`.
 *
 * @module
 */
import { AosError, type CborValue, encodeTyped, type JsonValue, refType, valueFromJson } from "../air/mod.ts";
import type { Kernel, KernelRecord, WorldDefs } from "../kernel/mod.ts";

/** The `plan_start_requested` record of a manual start; `AOS_USAGE` / `AOS_TYPE_MISMATCH` for bad input. */
export function planStartRecord(
  defs: WorldDefs,
  plan: string,
  input: JsonValue,
  locals: { [name: string]: JsonValue },
): (ingressNs: bigint) => KernelRecord {
  const def = defs.plans.get(plan);
  if (!def) {
    const known = [...defs.plans.keys()].sort().join(", ");
    throw new AosError("AOS_USAGE", `Unknown plan "${plan}": the manifest has ${known || "none"}`);
  }
  const inputType = refType(def.input);
  const inputBytes = encodeTyped(
    inputType,
    valueFromJson(inputType, input, defs.schemas, ["input"]),
    defs.schemas,
  );
  const localsBody: { [key: string]: CborValue } = {};
  for (const name of Object.keys(locals).sort()) {
    const schema = def.locals?.[name];
    if (schema === undefined) {
      throw new AosError("AOS_TYPE_MISMATCH", `Plan "${plan}" declares no local "${name}"`);
    }
    const type = refType(schema);
    localsBody[name] = encodeTyped(
      type,
      valueFromJson(type, locals[name]!, defs.schemas, ["locals", name]),
      defs.schemas,
    );
  }
  return (ingressNs) => {
    const body: { [key: string]: CborValue } = { plan, input: inputBytes, ingress_ns: ingressNs };
    if (Object.keys(localsBody).length > 0) body.locals = localsBody;
    return { kind: "plan_start_requested", body };
  };
}

/** The `plan_cancel_requested` record for a running instance; `AOS_USAGE` when there is none to cancel. */
export function planCancelRecord(
  kernel: Kernel,
  instanceId: bigint,
  reason?: string,
): (ingressNs: bigint) => KernelRecord {
  const instance = kernel.plans().find((p) => p.id === instanceId);
  if (!instance) throw new AosError("AOS_USAGE", `No plan instance #${instanceId}`);
  if (instance.status === "ok" || instance.status === "error") {
    throw new AosError("AOS_USAGE", `Plan instance #${instanceId} already ended (${instance.status})`);
  }
  return (ingressNs) => ({
    kind: "plan_cancel_requested",
    body: reason === undefined
      ? { instance_id: instanceId, ingress_ns: ingressNs }
      : { instance_id: instanceId, reason, ingress_ns: ingressNs },
  });
}
