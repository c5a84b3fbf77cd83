import assert from "node:assert/strict";
import {
  builtinCaps,
  type CapType,
  type DefPolicy,
  type EffectKind,
  effectSpec,
  parseJson,
  SchemaIndex,
  type Value,
  valueFromJson,
} from "../air/mod.ts";
import { checkConstraints, evaluatePolicy, httpTarget, type PolicySubject } from "./constraints.ts";

const SCHEMAS = new SchemaIndex([]);
const CAP_OF: Record<CapType, string> = {
  "http.out": "sys/http.out@1",
  "llm.basic": "sys/llm.basic@1",
  "blob": "sys/blob@1",
  "timer": "sys/timer@1",
};

function record(value: Value): Map<string, Value> {
  assert.equal(value.kind, "record");
  return (value as Extract<Value, { kind: "record" }>).value;
}

/** Decoded params of `kind` from their plain JSON form. */
function paramsOf(kind: EffectKind, plain: unknown): Map<string, Value> {
  const type = { ref: effectSpec(kind)!.params };
  return record(valueFromJson(type, parseJson(JSON.stringify(plain)), SCHEMAS, [], { form: "plain" }));
}

/** Decoded grant params of the standard defcap of `capType` from their plain JSON form. */
function grantOf(capType: CapType, plain: unknown): Map<string, Value> {
  const schema = builtinCaps.get(CAP_OF[capType])!.schema;
  return record(valueFromJson(schema, parseJson(JSON.stringify(plain)), SCHEMAS, [], { form: "plain" }));
}

const http = (url: string, method = "GET") =>
  paramsOf("http.request", { method, url, headers: {}, body_ref: null });

/** [label, grant, params, expected: "ok" or a RegExp the reason matches]. */
type Case = [string, unknown, Map<string, Value>, "ok" | RegExp];

function runTable(capType: CapType, cases: Case[]): void {
  for (const [label, grant, params, expected] of cases) {
    const reason = checkConstraints(capType, params, grantOf(capType, grant));
    if (expected === "ok") assert.equal(reason, undefined, label);
    else {
      assert.equal(typeof reason, "string", `${label}: expected a violation`);
      assert.match(reason!, expected, label);
    }
  }
}

const GET = { verbs: ["GET"] };

Deno.test("checkConstraints(http.out) matches hosts exactly, lowercased, with any port when the entry has none", () => {
  runTable("http.out", [
    ["equal host", { hosts: ["api.example.com"], ...GET }, http("https://api.example.com/"), "ok"],
    [
      "URL host is lowercased",
      { hosts: ["api.example.com"], ...GET },
      http("https://API.Example.COM/"),
      "ok",
    ],
    ["entry is lowercased", { hosts: ["API.example.com"], ...GET }, http("https://api.example.com/"), "ok"],
    [
      "any port without :port",
      { hosts: ["api.example.com"], ...GET },
      http("http://api.example.com:8080/"),
      "ok",
    ],
    [
      "other host",
      { hosts: ["api.example.com"], ...GET },
      http("https://example.com/"),
      /host "example\.com:443"/,
    ],
    ["no suffix match", { hosts: ["example.com"], ...GET }, http("https://api.example.com/"), /host/],
    ["no prefix trick", { hosts: ["example.com"], ...GET }, http("https://example.com.evil.org/"), /host/],
    [
      "userinfo is not the host",
      { hosts: ["api.example.com"], ...GET },
      http("https://api.example.com@evil.org/"),
      /host "evil\.org:443"/,
    ],
    ["empty hosts", { hosts: [], ...GET }, http("https://api.example.com/"), /host/],
  ]);
});

Deno.test("checkConstraints(http.out) matches an entry with :port against the effective port (80/443 by default)", () => {
  runTable("http.out", [
    ["https default 443", { hosts: ["api.example.com:443"], ...GET }, http("https://api.example.com/"), "ok"],
    ["http default 80", { hosts: ["api.example.com:80"], ...GET }, http("http://api.example.com/"), "ok"],
    [
      "explicit default port",
      { hosts: ["api.example.com:443"], ...GET },
      http("https://api.example.com:443/"),
      "ok",
    ],
    [
      "https is not 80",
      { hosts: ["api.example.com:80"], ...GET },
      http("https://api.example.com/"),
      /host "api\.example\.com:443"/,
    ],
    ["http is not 443", { hosts: ["api.example.com:443"], ...GET }, http("http://api.example.com/"), /:80"/],
    [
      "explicit port",
      { hosts: ["api.example.com:8080"], ...GET },
      http("http://api.example.com:8080/x"),
      "ok",
    ],
    [
      "other port",
      { hosts: ["api.example.com:8080"], ...GET },
      http("http://api.example.com:8081/"),
      /:8081"/,
    ],
    [
      "port entry, other host",
      { hosts: ["api.example.com:443"], ...GET },
      http("https://web.example.com/"),
      /host/,
    ],
    [
      "one of several entries",
      { hosts: ["a.example.com:1", "api.example.com:443"], ...GET },
      http("https://api.example.com/"),
      "ok",
    ],
    ["IPv6 with port", { hosts: ["[::1]:8080"], ...GET }, http("http://[::1]:8080/"), "ok"],
    ["IPv6 other port", { hosts: ["[::1]:8080"], ...GET }, http("http://[::1]:8081/"), /host/],
  ]);
});

Deno.test("checkConstraints(http.out) lets *.example.com match any subdomain but not the apex", () => {
  runTable("http.out", [
    ["subdomain", { hosts: ["*.example.com"], ...GET }, http("https://api.example.com/"), "ok"],
    ["deeper subdomain", { hosts: ["*.example.com"], ...GET }, http("https://a.b.example.com/"), "ok"],
    ["apex", { hosts: ["*.example.com"], ...GET }, http("https://example.com/"), /host "example\.com:443"/],
    ["suffix without dot", { hosts: ["*.example.com"], ...GET }, http("https://badexample.com/"), /host/],
    ["other domain", { hosts: ["*.example.com"], ...GET }, http("https://api.example.org/"), /host/],
    [
      "wildcard with port",
      { hosts: ["*.example.com:8443"], ...GET },
      http("https://api.example.com:8443/"),
      "ok",
    ],
    [
      "wildcard, wrong port",
      { hosts: ["*.example.com:8443"], ...GET },
      http("https://api.example.com/"),
      /host/,
    ],
    [
      "apex granted beside",
      { hosts: ["*.example.com", "example.com"], ...GET },
      http("https://example.com/"),
      "ok",
    ],
  ]);
});

Deno.test("checkConstraints(http.out) compares verbs uppercased on both sides", () => {
  const hosts = ["api.example.com"];
  const url = "https://api.example.com/";
  runTable("http.out", [
    ["upper/upper", { hosts, verbs: ["GET"] }, http(url, "GET"), "ok"],
    ["lower method", { hosts, verbs: ["GET"] }, http(url, "get"), "ok"],
    ["lower verb", { hosts, verbs: ["post"] }, http(url, "POST"), "ok"],
    ["mixed", { hosts, verbs: ["Put"] }, http(url, "pUT"), "ok"],
    ["not granted", { hosts, verbs: ["GET"] }, http(url, "POST"), /method "POST"/],
    ["no verbs", { hosts, verbs: [] }, http(url, "GET"), /method "GET"/],
  ]);
});

Deno.test("checkConstraints(http.out) requires the URL path to start with a granted prefix when prefixes are set", () => {
  const grant = (path_prefixes: string[] | null) => ({ hosts: ["api.example.com"], ...GET, path_prefixes });
  runTable("http.out", [
    ["no prefixes", grant(null), http("https://api.example.com/anything"), "ok"],
    ["prefix", grant(["/v1/"]), http("https://api.example.com/v1/users?x=1"), "ok"],
    ["second prefix", grant(["/v1/", "/v2/"]), http("https://api.example.com/v2/x"), "ok"],
    ["outside", grant(["/v1/"]), http("https://api.example.com/v2/x"), /path "\/v2\/x"/],
    ["root path", grant(["/v1/"]), http("https://api.example.com"), /path "\/"/],
    [
      "dot segments are resolved first",
      grant(["/v1/"]),
      http("https://api.example.com/v1/../admin"),
      /path "\/admin"/,
    ],
    ["empty prefix set", grant([]), http("https://api.example.com/v1/"), /path/],
    ["query is not the path", grant(["/v1"]), http("https://api.example.com/?p=/v1"), /path/],
  ]);
});

Deno.test("checkConstraints(http.out) rejects URLs that are not http(s)", () => {
  const grant = { hosts: ["api.example.com", "*"], verbs: ["GET"] };
  runTable("http.out", [
    ["ftp", grant, http("ftp://api.example.com/"), /not an http\(s\) URL/],
    ["file", grant, http("file:///etc/passwd"), /not an http\(s\) URL/],
    ["relative", grant, http("/v1/x"), /not an http\(s\) URL/],
    ["garbage", grant, http("not a url"), /not an http\(s\) URL/],
    ["empty", grant, http(""), /not an http\(s\) URL/],
  ]);
});

Deno.test("httpTarget() gives lowercased host, effective port, path and uppercased method", () => {
  assert.deepEqual(httpTarget(http("https://API.example.com/v1/x?q=1#f", "post")), {
    host: "api.example.com",
    port: 443,
    path: "/v1/x",
    method: "POST",
  });
  assert.deepEqual(httpTarget(http("http://example.com")), {
    host: "example.com",
    port: 80,
    path: "/",
    method: "GET",
  });
  assert.deepEqual(httpTarget(http("http://example.com:8080/a")), {
    host: "example.com",
    port: 8080,
    path: "/a",
    method: "GET",
  });
  assert.equal(httpTarget(http("ws://example.com/")), undefined);
});

const llm = (fields: Record<string, unknown> = {}) =>
  paramsOf("llm.generate", {
    provider: "openai",
    model: "gpt-4o-mini",
    temperature: "0.7",
    max_tokens: 1000,
    input_ref: `sha256:${"00".repeat(32)}`,
    tools: null,
    ...fields,
  });

Deno.test("checkConstraints(llm.basic) checks providers, models, max_tokens, temperature and tools; absent = unconstrained", () => {
  runTable("llm.basic", [
    ["no constraints", {}, llm({ tools: ["search"] }), "ok"],
    ["provider granted", { providers: ["openai", "mock"] }, llm(), "ok"],
    ["provider not granted", { providers: ["mock"] }, llm(), /provider "openai"/],
    ["model granted", { models: ["gpt-4o-mini"] }, llm(), "ok"],
    ["model not granted", { models: ["gpt-4o"] }, llm(), /model "gpt-4o-mini"/],
    ["max_tokens below", { max_tokens_max: 1001 }, llm(), "ok"],
    ["max_tokens equal", { max_tokens_max: 1000 }, llm(), "ok"],
    ["max_tokens above", { max_tokens_max: 999 }, llm(), /max_tokens 1000/],
    ["temperature equal", { temperature_max: "0.70" }, llm(), "ok"],
    ["temperature below", { temperature_max: "0.75" }, llm(), "ok"],
    ["temperature above", { temperature_max: "0.65" }, llm(), /temperature 0\.7/],
    // numeric, not textual: "9" > "10" as text
    ["temperature numeric below", { temperature_max: "10" }, llm({ temperature: "9" }), "ok"],
    ["temperature numeric above", { temperature_max: "9.5" }, llm({ temperature: "10" }), /temperature 10/],
    ["temperature with exponent", { temperature_max: "1" }, llm({ temperature: "15E-1" }), /temperature/],
    ["temperature zero", { temperature_max: "0" }, llm({ temperature: "0" }), "ok"],
    ["tools absent = empty", { tools_allow: [] }, llm(), "ok"],
    ["tools empty", { tools_allow: [] }, llm({ tools: [] }), "ok"],
    ["tools subset", { tools_allow: ["search", "calc"] }, llm({ tools: ["calc"] }), "ok"],
    ["tools equal", { tools_allow: ["search", "calc"] }, llm({ tools: ["search", "calc"] }), "ok"],
    ["tool not allowed", { tools_allow: ["search"] }, llm({ tools: ["search", "shell"] }), /tool "shell"/],
    ["tool with empty allow", { tools_allow: [] }, llm({ tools: ["search"] }), /tool "search"/],
    ["tools unconstrained", {}, llm({ tools: ["shell"] }), "ok"],
  ]);
});

Deno.test("checkConstraints(blob) requires the namespace to be granted when namespaces are set", () => {
  const ref = `sha256:${"ab".repeat(32)}`;
  runTable("blob", [
    ["put, no namespaces", {}, paramsOf("blob.put", { namespace: "any", blob_ref: ref }), "ok"],
    [
      "put, granted",
      { namespaces: ["in", "out"] },
      paramsOf("blob.put", { namespace: "out", blob_ref: ref }),
      "ok",
    ],
    [
      "put, not granted",
      { namespaces: ["in"] },
      paramsOf("blob.put", { namespace: "out", blob_ref: ref }),
      /namespace "out"/,
    ],
    ["get, granted", { namespaces: ["in"] }, paramsOf("blob.get", { namespace: "in", key: ref }), "ok"],
    [
      "get, not granted",
      { namespaces: ["in"] },
      paramsOf("blob.get", { namespace: "In", key: ref }),
      /namespace "In"/,
    ],
    ["empty set", { namespaces: [] }, paramsOf("blob.get", { namespace: "in", key: ref }), /namespace "in"/],
  ]);
});

Deno.test("checkConstraints(timer) has no constraints", () => {
  runTable("timer", [
    ["no key", {}, paramsOf("timer.set", { deliver_at_ns: 0 }), "ok"],
    ["with key", {}, paramsOf("timer.set", { deliver_at_ns: "18446744073709551615", key: "k" }), "ok"],
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// Policy (AIR §11)

function policy(rules: Array<[Record<string, string>, "allow" | "deny"]>): DefPolicy {
  return {
    $kind: "defpolicy",
    name: "test/policy@1",
    rules: rules.map(([when, decision]) => ({ when, decision })),
  } as DefPolicy;
}

const TIMER_FROM_PLAN: PolicySubject = {
  effectKind: "timer.set",
  capName: "timer_cap",
  originKind: "plan",
  originName: "test/p@1",
};

function httpSubject(url: string, method = "GET", origin: Partial<PolicySubject> = {}): PolicySubject {
  const target = httpTarget(http(url, method));
  assert.ok(target);
  return {
    effectKind: "http.request",
    capName: "web",
    originKind: "plan",
    originName: "test/p@1",
    http: target,
    ...origin,
  };
}

/** [label, policy, subject, expected decision]. */
type PolicyCase = [string, DefPolicy | undefined, PolicySubject, { decision: string; ruleIndex?: number }];

function runPolicyTable(cases: PolicyCase[]): void {
  for (const [label, p, subject, expected] of cases) {
    const want = p === undefined ? expected : { ...expected, policyName: "test/policy@1" };
    assert.deepEqual(evaluatePolicy(p, subject), want, label);
  }
}

Deno.test("evaluatePolicy() without a policy allows with no name and no rule index", () => {
  assert.deepEqual(evaluatePolicy(undefined, TIMER_FROM_PLAN), { decision: "allow" });
  assert.deepEqual(evaluatePolicy(undefined, httpSubject("https://evil.org/")), { decision: "allow" });
});

Deno.test("evaluatePolicy() lets the first matching rule decide and denies by default without a rule index", () => {
  const p = policy([
    [{ effect_kind: "timer.set", origin_kind: "reducer" }, "deny"],
    [{ effect_kind: "timer.set" }, "allow"],
    [{}, "deny"],
  ]);
  runPolicyTable([
    ["first rule", p, { ...TIMER_FROM_PLAN, originKind: "reducer" }, { decision: "deny", ruleIndex: 0 }],
    ["second rule", p, TIMER_FROM_PLAN, { decision: "allow", ruleIndex: 1 }],
    ["empty when matches all", p, { ...TIMER_FROM_PLAN, effectKind: "blob.get" }, {
      decision: "deny",
      ruleIndex: 2,
    }],
    ["no rules", policy([]), TIMER_FROM_PLAN, { decision: "deny" }],
    ["no match", policy([[{ effect_kind: "blob.put" }, "allow"]]), TIMER_FROM_PLAN, { decision: "deny" }],
    [
      "allow after a non-matching deny",
      policy([[{ effect_kind: "blob.put" }, "deny"], [{}, "allow"]]),
      TIMER_FROM_PLAN,
      { decision: "allow", ruleIndex: 1 },
    ],
  ]);
});

Deno.test("evaluatePolicy() matches effect_kind, cap_name, origin_kind and origin_name, all fields of a rule together", () => {
  const p = policy([
    [
      { effect_kind: "timer.set", cap_name: "timer_cap", origin_kind: "plan", origin_name: "test/p@1" },
      "allow",
    ],
  ]);
  runPolicyTable([
    ["all match", p, TIMER_FROM_PLAN, { decision: "allow", ruleIndex: 0 }],
    ["other kind", p, { ...TIMER_FROM_PLAN, effectKind: "blob.put" }, { decision: "deny" }],
    ["other cap", p, { ...TIMER_FROM_PLAN, capName: "timer_cap2" }, { decision: "deny" }],
    ["other origin kind", p, { ...TIMER_FROM_PLAN, originKind: "reducer" }, { decision: "deny" }],
    ["other origin name", p, { ...TIMER_FROM_PLAN, originName: "test/q@1" }, { decision: "deny" }],
    [
      "origin_name of a reducer",
      policy([[{ origin_name: "test/R@1" }, "allow"]]),
      { ...TIMER_FROM_PLAN, originKind: "reducer", originName: "test/R@1" },
      { decision: "allow", ruleIndex: 0 },
    ],
  ]);
});

Deno.test("evaluatePolicy() host and method rules never match non-http kinds", () => {
  runPolicyTable([
    ["host vs timer", policy([[{ host: "example.com" }, "allow"]]), TIMER_FROM_PLAN, { decision: "deny" }],
    ["glob host vs timer", policy([[{ host: "*" }, "allow"]]), TIMER_FROM_PLAN, { decision: "deny" }],
    ["method vs timer", policy([[{ method: "GET" }, "allow"]]), TIMER_FROM_PLAN, { decision: "deny" }],
    [
      "host deny is skipped for timers",
      policy([[{ host: "*" }, "deny"], [{}, "allow"]]),
      TIMER_FROM_PLAN,
      { decision: "allow", ruleIndex: 1 },
    ],
  ]);
});

Deno.test("evaluatePolicy() host without * is equality or a dot-suffix, case-insensitive", () => {
  const p = policy([[{ host: "Example.COM" }, "allow"]]);
  runPolicyTable([
    ["equal", p, httpSubject("https://example.com/"), { decision: "allow", ruleIndex: 0 }],
    ["subdomain", p, httpSubject("https://api.example.com/"), { decision: "allow", ruleIndex: 0 }],
    ["deep subdomain", p, httpSubject("https://a.b.example.com:8080/"), { decision: "allow", ruleIndex: 0 }],
    ["upper-case URL", p, httpSubject("https://API.EXAMPLE.com/"), { decision: "allow", ruleIndex: 0 }],
    ["no dot", p, httpSubject("https://badexample.com/"), { decision: "deny" }],
    ["suffix elsewhere", p, httpSubject("https://example.com.evil.org/"), { decision: "deny" }],
    ["other", p, httpSubject("https://example.org/"), { decision: "deny" }],
  ]);
});

Deno.test("evaluatePolicy() host with * is a glob over the whole host, case-insensitive", () => {
  runPolicyTable([
    [
      "subdomain glob",
      policy([[{ host: "*.example.com" }, "allow"]]),
      httpSubject("https://api.example.com/"),
      {
        decision: "allow",
        ruleIndex: 0,
      },
    ],
    ["glob not apex", policy([[{ host: "*.example.com" }, "allow"]]), httpSubject("https://example.com/"), {
      decision: "deny",
    }],
    [
      "dot is literal",
      policy([[{ host: "*.example.com" }, "allow"]]),
      httpSubject("https://apiXexample.com/"),
      {
        decision: "deny",
      },
    ],
    [
      "anchored at the end",
      policy([[{ host: "*.example.com" }, "allow"]]),
      httpSubject("https://a.example.com.evil.org/"),
      {
        decision: "deny",
      },
    ],
    [
      "middle star",
      policy([[{ host: "api-*.example.com" }, "allow"]]),
      httpSubject("https://api-eu1.example.com/"),
      {
        decision: "allow",
        ruleIndex: 0,
      },
    ],
    [
      "middle star miss",
      policy([[{ host: "api-*.example.com" }, "allow"]]),
      httpSubject("https://web.example.com/"),
      {
        decision: "deny",
      },
    ],
    [
      "anchored at the start",
      policy([[{ host: "api.*" }, "allow"]]),
      httpSubject("https://x.api.example.com/"),
      {
        decision: "deny",
      },
    ],
    ["two stars", policy([[{ host: "*.example.*" }, "allow"]]), httpSubject("https://api.example.org/"), {
      decision: "allow",
      ruleIndex: 0,
    }],
    [
      "case-insensitive",
      policy([[{ host: "*.EXAMPLE.com" }, "allow"]]),
      httpSubject("https://Api.Example.Com/"),
      {
        decision: "allow",
        ruleIndex: 0,
      },
    ],
    ["star alone", policy([[{ host: "*" }, "allow"]]), httpSubject("https://anything.org/"), {
      decision: "allow",
      ruleIndex: 0,
    }],
  ]);
});

Deno.test("evaluatePolicy() method is case-insensitive equality, combined with host", () => {
  const p = policy([[{ host: "example.com", method: "get" }, "allow"], [{ method: "POST" }, "deny"]]);
  runPolicyTable([
    ["get matches GET", p, httpSubject("https://api.example.com/", "GET"), {
      decision: "allow",
      ruleIndex: 0,
    }],
    ["Get matches get", p, httpSubject("https://api.example.com/", "Get"), {
      decision: "allow",
      ruleIndex: 0,
    }],
    ["host matches, method does not", p, httpSubject("https://api.example.com/", "DELETE"), {
      decision: "deny",
    }],
    ["method rule", p, httpSubject("https://other.org/", "post"), { decision: "deny", ruleIndex: 1 }],
    ["method matches, host does not", p, httpSubject("https://other.org/", "GET"), { decision: "deny" }],
  ]);
});

Deno.test("evaluatePolicy() recommended rule: deny http.request from reducers, allow from named plans", () => {
  const p = policy([
    [{ effect_kind: "http.request", origin_kind: "reducer" }, "deny"],
    [{ effect_kind: "http.request", origin_name: "test/fetch@1" }, "allow"],
  ]);
  runPolicyTable([
    [
      "reducer",
      p,
      httpSubject("https://api.example.com/", "GET", { originKind: "reducer", originName: "test/fetch@1" }),
      { decision: "deny", ruleIndex: 0 },
    ],
    [
      "named plan",
      p,
      httpSubject("https://api.example.com/", "GET", { originName: "test/fetch@1" }),
      { decision: "allow", ruleIndex: 1 },
    ],
    ["other plan", p, httpSubject("https://api.example.com/"), { decision: "deny" }],
  ]);
});

Deno.test("httpTarget() gives the same answers whatever URLs were parsed before (its cache of URLs changes nothing)", () => {
  const first = httpTarget(http("http://Example.com:81/a", "put"));
  // More distinct URLs than the cache holds, and the same URL with another method.
  for (let i = 0; i < 1_100; i++) httpTarget(http(`http://host${i}.example.com/${i}`));
  assert.deepEqual(httpTarget(http("http://Example.com:81/a", "delete")), {
    host: "example.com",
    port: 81,
    path: "/a",
    method: "DELETE",
  });
  assert.deepEqual(httpTarget(http("http://Example.com:81/a", "put")), first);
  assert.equal(httpTarget(http("ftp://example.com/a")), undefined);
  assert.equal(httpTarget(http("ftp://example.com/a")), undefined);
});
