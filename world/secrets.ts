/**
 * Resolving secrets at dispatch (the original AgentOS's `defsecret`): the {@linkcode SecretResolver} port
 * turns a defsecret's `binding_id` into its value, and {@linkcode secretAccess} gives an adapter the value
 * of a `sys/SecretRef@1` in its params. The value goes only to the adapter: never to the journal, the
 * CAS, a snapshot or an error message (errors name the secret and its binding, not the value).
 *
 * @example Resolve an `env:` binding
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnvSecretResolver } from "./secrets.ts";
 *
 * const resolver = new EnvSecretResolver((name) => (name === "LLM_API_KEY" ? "sk-1" : undefined));
 * assert.equal(await resolver.resolve("env:LLM_API_KEY"), "sk-1");
 * assert.equal(await resolver.resolve("env:OTHER"), undefined);
 * ```
 *
 * @module
 */
import { AosError, secretName, type SecretRef, sha256, toHex } from "../air/mod.ts";
import type { WorldDefs } from "../kernel/mod.ts";

/** Turns a `binding_id` into the secret's value; undefined when the binding has no value. */
export interface SecretResolver {
  /** @throws {AosError} `AOS_SECRET_UNAVAILABLE` for a binding scheme it does not know. */
  resolve(bindingId: string): Promise<string | undefined>;
}

/** The default resolver: `env:NAME` reads the environment variable `NAME` of this process. */
export class EnvSecretResolver implements SecretResolver {
  readonly #getEnv: (name: string) => string | undefined;

  /** @param getEnv reads a variable; default `Deno.env.get`. */
  constructor(getEnv: (name: string) => string | undefined = (name) => Deno.env.get(name)) {
    this.#getEnv = getEnv;
  }

  // deno-lint-ignore require-await
  async resolve(bindingId: string): Promise<string | undefined> {
    if (!bindingId.startsWith("env:")) {
      throw new AosError(
        "AOS_SECRET_UNAVAILABLE",
        `Secret binding "${bindingId}" has an unknown scheme: this node resolves only "env:NAME" bindings`,
      );
    }
    const value = this.#getEnv(bindingId.slice("env:".length));
    return value === undefined || value.length === 0 ? undefined : value;
  }
}

/**
 * The value of a secret reference under `defs` (the control plane in force at dispatch), read through
 * `resolver`. Throws `AOS_SECRET_UNAVAILABLE` naming the secret and its binding when the manifest lists
 * no such defsecret, the binding has no value, or the value does not match `expected_digest`.
 */
export async function resolveSecret(
  defs: WorldDefs,
  resolver: SecretResolver,
  ref: SecretRef,
): Promise<string> {
  const name = secretName(ref);
  const secret = defs.secrets?.get(name);
  if (secret === undefined) {
    throw new AosError("AOS_SECRET_UNAVAILABLE", `Secret "${name}" is not declared by the manifest in force`);
  }
  const value = await resolver.resolve(secret.binding_id);
  if (value === undefined) {
    throw new AosError(
      "AOS_SECRET_UNAVAILABLE",
      `Secret "${name}" has no value: its binding "${secret.binding_id}" is not set on this node`,
    );
  }
  if (secret.expected_digest !== undefined) {
    const digest = `sha256:${toHex(sha256(new TextEncoder().encode(value)))}`;
    if (digest !== secret.expected_digest) {
      throw new AosError(
        "AOS_SECRET_UNAVAILABLE",
        `Secret "${name}": the value of binding "${secret.binding_id}" does not match expected_digest`,
      );
    }
  }
  return value;
}

/** What an adapter is given to read the secrets of its params: {@linkcode resolveSecret} bound to a world. */
export function secretAccess(
  defs: () => WorldDefs,
  resolver: SecretResolver,
): (ref: SecretRef) => Promise<string> {
  return (ref) => resolveSecret(defs(), resolver, ref);
}
