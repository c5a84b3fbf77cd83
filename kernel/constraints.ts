/**
 * Capability constraints (AIR §10.2) and policy rules (AIR §11): pure checks of an effect's decoded
 * params against a grant's decoded params, and the first-match policy evaluation.
 *
 * @module
 */
import {
  type CapType,
  compareDec128,
  type DefPolicy,
  type EffectKind,
  parseDec128,
  type Value,
} from "../air/mod.ts";

type RecordValue = Map<string, Value>;

function field(record: RecordValue, name: string): Value | undefined {
  const v = record.get(name);
  return v === undefined || v.kind === "none" ? undefined : v;
}

function texts(v: Value | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (v.kind !== "set" && v.kind !== "list") return undefined;
  return v.value.flatMap((item) => (item.kind === "text" ? [item.value] : []));
}

function text(record: RecordValue, name: string): string {
  const v = record.get(name);
  return v?.kind === "text" ? v.value : "";
}

function natOf(v: Value | undefined): bigint | undefined {
  return v && (v.kind === "nat" || v.kind === "int") ? v.value : undefined;
}

/** The parsed URL facts that constraints and policies look at. */
export interface HttpTarget {
  host: string;
  port: number;
  path: string;
  method: string;
}

/**
 * Targets parsed, by the params record they were parsed from: the gate reads one for the grant's constraints
 * and again for the policy, and a WHATWG URL parse was the larger part of either.
 */
const parsedTargets = new WeakMap<RecordValue, { target: HttpTarget | undefined }>();

/** Parses an http.request's URL (WHATWG); undefined when it is not http(s). Read the result, never change it. */
export function httpTarget(params: RecordValue): HttpTarget | undefined {
  let parsed = parsedTargets.get(params);
  if (parsed === undefined) {
    parsed = { target: parseTarget(params) };
    parsedTargets.set(params, parsed);
  }
  return parsed.target;
}

function parseTarget(params: RecordValue): HttpTarget | undefined {
  const location = urlLocation(text(params, "url"));
  return location === undefined ? undefined : { ...location, method: text(params, "method").toUpperCase() };
}

/** Host, port and path of a URL, or null when it is not http(s) (see {@linkcode urlLocation}). */
type UrlLocation = Omit<HttpTarget, "method"> | null;

/**
 * URLs parsed, by their text: a world's effects tend to call the same few URLs, and the WHATWG parse was the
 * larger part of the gate's work for each. A pure function of the text, so the cache changes no decision; it
 * is emptied when full, so its size stays bounded whatever the URLs.
 */
const parsedUrls = new Map<string, UrlLocation>();
const PARSED_URLS_MAX = 1_024;

function urlLocation(text: string): Omit<HttpTarget, "method"> | undefined {
  let location = parsedUrls.get(text);
  if (location === undefined) {
    location = parseUrlLocation(text);
    if (parsedUrls.size >= PARSED_URLS_MAX) parsedUrls.clear();
    parsedUrls.set(text, location);
  }
  return location ?? undefined;
}

function parseUrlLocation(text: string): UrlLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  return { host: url.hostname.toLowerCase(), port, path: url.pathname };
}

function hostAllowed(target: HttpTarget, entry: string): boolean {
  const lowered = entry.toLowerCase();
  const colon = lowered.lastIndexOf(":");
  let host = lowered;
  if (colon > 0 && /^\d+$/.test(lowered.slice(colon + 1))) {
    if (Number(lowered.slice(colon + 1)) !== target.port) return false;
    host = lowered.slice(0, colon);
  }
  if (host.startsWith("*.")) return target.host.endsWith(host.slice(1)) && target.host !== host.slice(2);
  return target.host === host;
}

/** What an `http.out` grant allows: its hosts, its verbs in upper case, its path prefixes (when limited). */
interface HttpGrant {
  hosts: string[];
  verbs: string[];
  prefixes: string[] | undefined;
}

/**
 * Grants read, by their decoded params (decoded once per grant and control plane, and never changed): every
 * http effect is checked against its grant, and reading the lists again was most of the check.
 */
const httpGrants = new WeakMap<RecordValue, HttpGrant>();

function httpGrant(grant: RecordValue): HttpGrant {
  let read = httpGrants.get(grant);
  if (read === undefined) {
    read = {
      hosts: texts(field(grant, "hosts")) ?? [],
      verbs: (texts(field(grant, "verbs")) ?? []).map((v) => v.toUpperCase()),
      prefixes: texts(field(grant, "path_prefixes")),
    };
    httpGrants.set(grant, read);
  }
  return read;
}

/** Checks an effect's params against its grant's params; returns the reason it fails, or undefined. */
export function checkConstraints(
  capType: CapType,
  params: RecordValue,
  grant: RecordValue,
): string | undefined {
  switch (capType) {
    case "http.out": {
      const target = httpTarget(params);
      if (!target) return `url "${text(params, "url")}" is not an http(s) URL`;
      const { hosts, verbs, prefixes } = httpGrant(grant);
      if (!hosts.some((h) => hostAllowed(target, h))) {
        return `host "${target.host}:${target.port}" is not granted`;
      }
      if (!verbs.includes(target.method)) return `method "${target.method}" is not granted`;
      if (prefixes && !prefixes.some((p) => target.path.startsWith(p))) {
        return `path "${target.path}" matches no granted prefix`;
      }
      return undefined;
    }
    case "llm.basic": {
      const providers = texts(field(grant, "providers"));
      if (providers && !providers.includes(text(params, "provider"))) {
        return `provider "${text(params, "provider")}" is not granted`;
      }
      const models = texts(field(grant, "models"));
      if (models && !models.includes(text(params, "model"))) {
        return `model "${text(params, "model")}" is not granted`;
      }
      const maxTokens = natOf(field(grant, "max_tokens_max"));
      const asked = natOf(field(params, "max_tokens"));
      if (maxTokens !== undefined && asked !== undefined && asked > maxTokens) {
        return `max_tokens ${asked} exceeds the granted ${maxTokens}`;
      }
      const temperatureMax = field(grant, "temperature_max");
      const temperature = field(params, "temperature");
      if (temperatureMax?.kind === "dec128" && temperature?.kind === "dec128") {
        if (compareDec128(parseDec128(temperature.value), parseDec128(temperatureMax.value)) > 0) {
          return `temperature ${temperature.value} exceeds the granted ${temperatureMax.value}`;
        }
      }
      const allowed = texts(field(grant, "tools_allow"));
      const tools = texts(field(params, "tools")) ?? [];
      if (allowed) {
        const extra = tools.find((t) => !allowed.includes(t));
        if (extra !== undefined) return `tool "${extra}" is not granted`;
      }
      return undefined;
    }
    case "blob": {
      const namespaces = texts(field(grant, "namespaces"));
      if (namespaces && !namespaces.includes(text(params, "namespace"))) {
        return `namespace "${text(params, "namespace")}" is not granted`;
      }
      return undefined;
    }
    case "timer":
      return undefined;
  }
}

/** What a policy rule can match on. */
export interface PolicySubject {
  effectKind: EffectKind;
  capName: string;
  originKind: "plan" | "reducer";
  originName: string;
  /** For http.request only. */
  http?: HttpTarget;
}

/** A policy decision: allow/deny, and the rule that decided (absent on default deny / no policy). */
export interface PolicyDecision {
  decision: "allow" | "deny";
  policyName?: string;
  ruleIndex?: number;
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
  );
  return re.test(value);
}

function hostRuleMatches(rule: string, host: string): boolean {
  const r = rule.toLowerCase();
  return r.includes("*") ? globMatch(r, host) : host === r || host.endsWith(`.${r}`);
}

/** Evaluates ordered rules: the first match decides; no match denies; no policy allows (AIR §11). */
export function evaluatePolicy(policy: DefPolicy | undefined, subject: PolicySubject): PolicyDecision {
  if (!policy) return { decision: "allow" };
  for (const [index, rule] of policy.rules.entries()) {
    const w = rule.when;
    if (w.effect_kind !== undefined && w.effect_kind !== subject.effectKind) continue;
    if (w.cap_name !== undefined && w.cap_name !== subject.capName) continue;
    if (w.origin_kind !== undefined && w.origin_kind !== subject.originKind) continue;
    if (w.origin_name !== undefined && w.origin_name !== subject.originName) continue;
    if (w.host !== undefined && (!subject.http || !hostRuleMatches(w.host, subject.http.host))) continue;
    if (w.method !== undefined && (!subject.http || w.method.toUpperCase() !== subject.http.method)) continue;
    return { decision: rule.decision, policyName: policy.name, ruleIndex: index };
  }
  return { decision: "deny", policyName: policy.name };
}
