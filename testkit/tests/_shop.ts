/**
 * Private fixtures of the workflow pattern tests (`pattern_*_test.ts`): the order shop that PATTERNS uses
 * throughout — its shared schemas, the `pay_api`/`ship_api`/`stock_api` grants, the policy, small
 * expression helpers, and the order world of the reducer-driven patterns (§3, §7). Not a test file.
 *
 * @module
 */
import {
  type DefPlan,
  type DefPolicy,
  type DefSchema,
  encodeCanonical as cbor,
  type JsonValue,
  type PlanStep,
  type PolicyRule,
} from "../../air/mod.ts";
import {
  chain,
  e,
  grants,
  plan,
  policy,
  reducer,
  route,
  rule,
  schema,
  step,
  t,
  trigger,
  world,
  type WorldDefinition,
} from "../mod.ts";

/** One second of virtual time, in nanoseconds. */
export const SECOND_NS = 1_000_000_000n;

/** `demo/OrderPlaced@1 {order_id, amount_cents}`: the event every order flow starts from. */
export const orderPlaced = schema("demo/OrderPlaced@1", t.record({ order_id: t.text, amount_cents: t.nat }));
/** `demo/PaymentCompleted@1 {order_id, ok}`: the outcome of a charge. */
export const paymentCompleted = schema("demo/PaymentCompleted@1", t.record({ order_id: t.text, ok: t.bool }));
/** `demo/OrderFulfilled@1 {order_id}`. */
export const orderFulfilled = schema("demo/OrderFulfilled@1", t.record({ order_id: t.text }));
/** `demo/OrderFailed@1 {order_id}`. */
export const orderFailed = schema("demo/OrderFailed@1", t.record({ order_id: t.text }));

/** The `pay_api` grant: POST to pay.example.com. */
export const payApi = grants.http("pay_api", ["pay.example.com"], ["POST"]);
/** The `ship_api` grant: POST to ship.example.com. */
export const shipApi = grants.http("ship_api", ["ship.example.com"], ["POST"]);
/** The `stock_api` grant: POST to stock.example.com. */
export const stockApi = grants.http("stock_api", ["stock.example.com"], ["POST"]);

/** Allows `timer.set` from reducers. */
export const allowReducerTimers = rule("allow", { effect_kind: "timer.set", origin_kind: "reducer" });

/** The shop policy `demo/policy@1`: plans may send `http.request`, then the extra rules given. */
export function shopPolicy(...extra: PolicyRule[]): DefPolicy {
  return policy("demo/policy@1", [
    rule("allow", { effect_kind: "http.request", origin_kind: "plan" }),
    ...extra,
  ]);
}

/** `@plan.input.order_id`, the correlation key every order plan carries on. */
export const orderId = e.ref("@plan.input.order_id");
/** A `POST url` request with no headers (`url` is an expression). */
export const post = (url: JsonValue) => e.record({ method: e.text("POST"), url, headers: e.map() });
/** `key: value` as it appears inside a canonical CBOR map, for the `bytes` of a scripted rule. */
export const pair = (key: string, value: string | boolean) => new Uint8Array([...cbor(key), ...cbor(value)]);

/** The charge steps: `a` POSTs, `b` awaits, `c` raises `PaymentCompleted` to `demo/Order@1` (with `key`). */
export function chargeSteps(key?: JsonValue): PlanStep[] {
  return [
    step.emit("a", "http.request", "pay_api", post(e.text("https://pay.example.com/charge")), "req"),
    step.awaitReceipt("b", "req", "rcpt"),
    step.raise(
      "c",
      "demo/Order@1",
      e.record({
        $schema: e.text("demo/PaymentCompleted@1"),
        order_id: orderId,
        ok: e.op("eq", e.ref("@step:b.status"), e.text("ok")),
      }),
      key,
    ),
  ];
}

/** The thin plan `demo/charge@1` of PATTERNS §3: {@linkcode chargeSteps}, then the `end` step if named. */
export function chargePlan(end?: string): DefPlan {
  const steps = end === undefined ? chargeSteps() : [...chargeSteps(), step.end(end)];
  return plan("demo/charge@1", {
    input: "demo/ChargeRequested@1",
    steps,
    edges: chain(...steps.map((s) => s.id)),
    requiredCaps: ["pay_api"],
    allowedEffects: ["http.request"],
  });
}

/** The reducer-driven order world (§3, §7): `demo/Order@1` sets timers; `ChargeRequested` runs the charge. */
export function timedOrderWorld(options: {
  chargeRequested: DefSchema;
  orderState: DefSchema;
  wasm: Uint8Array;
  chargeEnd?: string;
}): WorldDefinition {
  return world({
    schemas: [
      orderPlaced,
      options.chargeRequested,
      paymentCompleted,
      schema(
        "demo/OrderEvent@1",
        t.variant({
          Placed: t.ref("demo/OrderPlaced@1"),
          Paid: t.ref("demo/PaymentCompleted@1"),
          Timer: t.ref("sys/TimerFired@1"),
        }),
      ),
      options.orderState,
    ],
    reducers: [
      reducer("demo/Order@1", {
        state: "demo/OrderState@1",
        event: "demo/OrderEvent@1",
        wasm: options.wasm,
        effects: ["timer.set"],
        capSlots: { timer: "timer" },
      }),
    ],
    plans: [chargePlan(options.chargeEnd)],
    grants: [payApi, grants.timer("timer_grant")],
    bindings: { "demo/Order@1": { timer: "timer_grant" } },
    policies: [shopPolicy(allowReducerTimers)],
    policy: "demo/policy@1",
    routing: [
      route("demo/OrderPlaced@1", "demo/Order@1"),
      route("demo/PaymentCompleted@1", "demo/Order@1"),
      route("sys/TimerFired@1", "demo/Order@1"),
    ],
    triggers: [trigger("demo/ChargeRequested@1", "demo/charge@1", "order_id")],
  });
}
