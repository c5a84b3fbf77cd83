/**
 * `aos plan start|cancel|ls|show`: starts, cancels and inspects plan instances.
 *
 * @module
 */
import {
  AosError,
  decodeTyped,
  type JsonValue,
  parseJson,
  refType,
  stringifyJson,
  toHex,
  valueToPlainJson,
} from "../air/mod.ts";
import type { World } from "../world/mod.ts";
import { type CliIo, printJson, readWorld, withWorld } from "./context.ts";

/** `aos plan start NAME JSON [--locals JSON]`. */
export async function runPlanStart(
  io: CliIo,
  worldOption: string | undefined,
  plan: string,
  inputText: string,
  options: { locals?: string; json?: boolean },
): Promise<number> {
  const input = parseJson(inputText, "<input argument>");
  const locals = options.locals === undefined ? {} : parseJson(options.locals, "<--locals argument>");
  if (locals === null || typeof locals !== "object" || Array.isArray(locals)) {
    throw new AosError("AOS_USAGE", "--locals takes a JSON object {name: value}");
  }
  return await withWorld(io, worldOption, async (world) => {
    const { instanceId, report } = await world.startPlan(plan, input, locals);
    if (options.json) printJson(io, { instance_id: instanceId, height: BigInt(report.height) });
    else io.out(`Started plan ${plan} as instance #${instanceId}; run "aos run" to execute its effects`);
    return 0;
  });
}

/** `aos plan cancel ID`. */
export async function runPlanCancel(
  io: CliIo,
  worldOption: string | undefined,
  id: string,
  options: { reason?: string; json?: boolean },
): Promise<number> {
  if (!/^\d+$/.test(id)) throw new AosError("AOS_USAGE", `Plan instance id must be a number, got "${id}"`);
  return await withWorld(io, worldOption, async (world) => {
    // Effects the instance already queued stay in the outbox: cancelling does not recall them.
    const queued = world.kernel.outbox()
      .filter((e) => e.origin.kind === "plan" && e.origin.instanceId === BigInt(id)).length;
    await world.cancelPlan(BigInt(id), options.reason);
    if (options.json) {
      printJson(io, { cancelled: BigInt(id), outbox: BigInt(queued) });
    } else {
      io.out(`Cancelled plan instance #${id}`);
      if (queued > 0) {
        io.out(
          `  ${queued} effect${queued === 1 ? " it queued is" : "s it queued are"} still in the outbox: ` +
            `${queued === 1 ? "it" : "they"} may still be delivered, and ${
              queued === 1 ? "its receipt" : "their receipts"
            } settled`,
        );
      }
    }
    return 0;
  });
}

function planJson(world: World, p: ReturnType<World["kernel"]["plans"]>[number]): JsonValue {
  return {
    id: p.id,
    plan: p.plan,
    manifest_hash: p.manifestHash,
    status: p.status,
    steps: p.steps.map((s) => ({ id: s.id, state: s.state, waiting_for: s.waitingFor ?? null })),
    error: p.error ? { code: p.error.code, message: p.error.message, step: p.error.step ?? null } : null,
    result: p.result === undefined ? null : resultJson(world, p.plan, p.result),
  };
}

function resultJson(world: World, plan: string, result: Uint8Array): JsonValue {
  const output = world.defs.plans.get(plan)?.output;
  if (output === undefined) return toHex(result);
  try {
    const type = refType(output);
    return valueToPlainJson(type, decodeTyped(type, result, world.defs.schemas), world.defs.schemas);
  } catch {
    return toHex(result);
  }
}

/** `aos plan ls [--json]`. */
export async function runPlanLs(
  io: CliIo,
  worldOption: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  return await readWorld(io, worldOption, (world) => {
    const plans = world.kernel.plans();
    if (options.json) printJson(io, plans.map((p) => planJson(world, p)));
    else if (plans.length === 0) io.out("No plan instances");
    else {
      for (const p of plans) {
        const waiting = p.steps.filter((s) => s.state.startsWith("waiting")).map((s) =>
          `${s.id} (${s.state})`
        );
        io.out(
          `#${p.id}  ${p.plan.padEnd(24)} ${p.status.padEnd(8)} ${
            p.error ? `${p.error.code}: ${p.error.message}` : waiting.join(", ")
          }`
            .trimEnd(),
        );
      }
    }
    return 0;
  });
}

/** `aos plan show ID [--json]`. */
export async function runPlanShow(
  io: CliIo,
  worldOption: string | undefined,
  id: string,
  options: { json?: boolean },
): Promise<number> {
  if (!/^\d+$/.test(id)) throw new AosError("AOS_USAGE", `Plan instance id must be a number, got "${id}"`);
  return await readWorld(io, worldOption, (world) => {
    const p = world.kernel.plans().find((x) => x.id === BigInt(id));
    if (!p) throw new AosError("AOS_USAGE", `No plan instance #${id}`);
    const json = planJson(world, p);
    if (options.json) printJson(io, json);
    else {
      io.out(`instance  #${p.id}`);
      io.out(`plan      ${p.plan} (manifest ${p.manifestHash})`);
      io.out(`status    ${p.status}${p.error ? ` — ${p.error.code}: ${p.error.message}` : ""}`);
      for (const s of p.steps) {
        io.out(`  ${s.id.padEnd(20)} ${s.state}${s.waitingFor ? ` (${s.waitingFor})` : ""}`);
      }
      if (p.result !== undefined) io.out(`result    ${stringifyJson(resultJson(world, p.plan, p.result))}`);
    }
    return 0;
  });
}
