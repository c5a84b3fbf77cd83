/**
 * Which plan instances wait for an event of a schema (private to `kernel/`), so an event costs the same
 * whether none or 10,000 instances wait: an event of a schema nobody awaits costs one lookup, and one that
 * carries a correlation value finds the instances correlated on it (plus the uncorrelated ones) without
 * looking at the others. The index only narrows the candidates; the engine still checks each one exactly
 * as before, so an over-approximation is harmless and the result does not depend on the index.
 *
 * @module
 */
import { toHex } from "../air/mod.ts";
import type { PlanInstance } from "./_plan_instance.ts";

interface PathGroup {
  /** Every instance correlated on this path (whatever its value). */
  all: Set<bigint>;
  /** Instances by the hex of their correlation value. */
  byValue: Map<string, Set<bigint>>;
}

interface SchemaWaiters {
  /** Instances waiting without a correlation (they see every event of the schema). */
  uncorrelated: Set<bigint>;
  byPath: Map<string, PathGroup>;
}

/** The registration of one instance: the schemas it waits on and how it is correlated. */
interface Registration {
  schemas: string[];
  path: string | undefined;
  value: string | undefined;
}

/** The index of waiting instances by event schema and correlation. */
export class PlanWaitIndex {
  readonly #bySchema = new Map<string, SchemaWaiters>();
  readonly #registered = new Map<bigint, Registration>();

  /**
   * Brings the index up to date with `inst` (call after anything that may change its waiting steps).
   * Correlation narrows only instances pinned to `currentManifest`: the index reads event values with the
   * current schemas, so an instance on another manifest stays a candidate for every event of the schema.
   */
  update(inst: PlanInstance, live: boolean, currentManifest: string): void {
    this.remove(inst.id);
    if (!live) return;
    const schemas = new Set<string>();
    for (const slot of inst.steps.values()) {
      if (slot.state === "waiting_event" && typeof slot.wait === "string") schemas.add(slot.wait);
    }
    if (schemas.size === 0) return;
    const correlated = inst.correlateBy !== undefined && inst.correlation !== undefined &&
      inst.manifestHash === currentManifest;
    const registration: Registration = {
      schemas: [...schemas],
      path: correlated ? inst.correlateBy : undefined,
      value: correlated ? toHex(inst.correlation!) : undefined,
    };
    for (const schema of registration.schemas) {
      let waiters = this.#bySchema.get(schema);
      if (waiters === undefined) {
        waiters = { uncorrelated: new Set(), byPath: new Map() };
        this.#bySchema.set(schema, waiters);
      }
      if (registration.path === undefined) {
        waiters.uncorrelated.add(inst.id);
        continue;
      }
      let group = waiters.byPath.get(registration.path);
      if (group === undefined) {
        group = { all: new Set(), byValue: new Map() };
        waiters.byPath.set(registration.path, group);
      }
      group.all.add(inst.id);
      let same = group.byValue.get(registration.value!);
      if (same === undefined) {
        same = new Set();
        group.byValue.set(registration.value!, same);
      }
      same.add(inst.id);
    }
    this.#registered.set(inst.id, registration);
  }

  /** Forgets an instance. */
  remove(id: bigint): void {
    const registration = this.#registered.get(id);
    if (registration === undefined) return;
    this.#registered.delete(id);
    for (const schema of registration.schemas) {
      const waiters = this.#bySchema.get(schema)!;
      if (registration.path === undefined) {
        waiters.uncorrelated.delete(id);
      } else {
        const group = waiters.byPath.get(registration.path)!;
        group.all.delete(id);
        const same = group.byValue.get(registration.value!)!;
        same.delete(id);
        if (same.size === 0) group.byValue.delete(registration.value!);
        if (group.all.size === 0) waiters.byPath.delete(registration.path);
      }
      if (waiters.uncorrelated.size === 0 && waiters.byPath.size === 0) this.#bySchema.delete(schema);
    }
  }

  /** True when some instance waits for `schema`. */
  awaits(schema: string): boolean {
    return this.#bySchema.has(schema);
  }

  /**
   * The instances an event of `schema` may wake, in ascending id order. `valueAt(path)` gives the hex of the
   * event's value at a correlation path, or undefined when it cannot tell (then every instance correlated
   * on that path is a candidate).
   */
  candidates(schema: string, valueAt: (path: string) => string | undefined): bigint[] {
    const waiters = this.#bySchema.get(schema);
    if (waiters === undefined) return [];
    const out = new Set<bigint>(waiters.uncorrelated);
    for (const [path, group] of waiters.byPath) {
      const value = valueAt(path);
      const ids = value === undefined ? group.all : group.byValue.get(value);
      if (ids !== undefined) { for (const id of ids) out.add(id); }
    }
    return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
