// deno-lint-ignore-file -- AssemblyScript (compiled by scripts/build_examples.ts), not Deno TypeScript.
/**
 * Rung 05, demo/ChainComp@1: a saga over four plans, one order at a time. The reducer holds the saga's
 * stage and emits the event that triggers the next plan; each plan makes one HTTP call under its own grant
 * and raises `{order_id, ok}` back.
 *
 * - `demo/ChainStart@1 {order_id, amount_cents}` → `charging`: emits `demo/ChargeRequested@1`.
 * - `demo/ChargeResult@1` ok → `reserving` (emits `demo/ReserveRequested@1`); not ok → `charge_failed`.
 * - `demo/ReserveResult@1` ok → `notifying` (emits `demo/NotifyRequested@1`); not ok → `refunding`: the
 *   compensation, `demo/RefundRequested@1` for the amount charged.
 * - `demo/NotifyResult@1` → `done`; `demo/RefundResult@1` ok → `refunded`, not ok → `refund_failed`.
 *
 * A result for another order or stage changes nothing; a Start while a saga runs traps. State
 * `demo/ChainState@1 {stage, order_id, amount_cents}`. Compiled by `deno task build:examples` into
 * ../modules/chain.wasm.
 */
import {
  CborReader,
  CborWriter,
  Ctx,
  Event,
  Output,
  runReducer,
} from "../../../../sdk/assemblyscript/assembly/index";

export { alloc } from "../../../../sdk/assemblyscript/assembly/index";
export function step(ret: i32, ptr: i32, len: i32): void {
  runReducer(ret, ptr, len, reduce);
}

class ChainState {
  stage: string = "";
  orderId: string = "";
  amountCents: u64 = 0;
}

function isFinished(stage: string): bool {
  return stage == "done" || stage == "charge_failed" || stage == "refunded" || stage == "refund_failed";
}

function reduce(state: Uint8Array | null, event: Event, _ctx: Ctx): Output {
  if (event.schema == "demo/ChainStart@1") {
    assert(state === null || isFinished(readState(state).stage), "chain: a saga is running");
    const next = new ChainState();
    const reader = CborReader.of(event.value);
    reader.expectMapHeader(2);
    reader.expectKey("order_id");
    next.orderId = reader.readText();
    reader.expectKey("amount_cents");
    next.amountCents = reader.readUint();
    reader.expectEnd();
    return advance(next, "charging", "demo/ChargeRequested@1");
  }
  if (state === null) return new Output(null);
  const current = readState(state);
  // `{ok, order_id}` (canonical order).
  const reader = CborReader.of(event.value);
  reader.expectMapHeader(2);
  reader.expectKey("ok");
  const ok = reader.readBool();
  reader.expectKey("order_id");
  const orderId = reader.readText();
  reader.expectEnd();
  if (orderId != current.orderId) return new Output(state);
  const schema = event.schema;
  if (schema == "demo/ChargeResult@1" && current.stage == "charging") {
    if (ok) return advance(current, "reserving", "demo/ReserveRequested@1");
    return advance(current, "charge_failed", null);
  }
  if (schema == "demo/ReserveResult@1" && current.stage == "reserving") {
    if (ok) return advance(current, "notifying", "demo/NotifyRequested@1");
    return advance(current, "refunding", "demo/RefundRequested@1");
  }
  if (schema == "demo/NotifyResult@1" && current.stage == "notifying") return advance(current, "done", null);
  if (schema == "demo/RefundResult@1" && current.stage == "refunding") {
    return advance(current, ok ? "refunded" : "refund_failed", null);
  }
  return new Output(state);
}

/** Moves to `stage` and, unless `request` is null, emits it as `{order_id, amount_cents}`. */
function advance(state: ChainState, stage: string, request: string | null): Output {
  state.stage = stage;
  const out = new Output(writeState(state));
  if (request === null) return out;
  const writer = new CborWriter();
  writer.writeMapHeader(2);
  writer.writeText("order_id");
  writer.writeText(state.orderId);
  writer.writeText("amount_cents");
  writer.writeUint(state.amountCents);
  return out.emit(request, writer.finish());
}

/** `{stage, order_id, amount_cents}` in canonical key order. */
function readState(state: Uint8Array): ChainState {
  const out = new ChainState();
  const reader = CborReader.of(state);
  reader.expectMapHeader(3);
  reader.expectKey("stage");
  out.stage = reader.readText();
  reader.expectKey("order_id");
  out.orderId = reader.readText();
  reader.expectKey("amount_cents");
  out.amountCents = reader.readUint();
  reader.expectEnd();
  return out;
}

function writeState(state: ChainState): Uint8Array {
  const writer = new CborWriter();
  writer.writeMapHeader(3);
  writer.writeText("stage");
  writer.writeText(state.stage);
  writer.writeText("order_id");
  writer.writeText(state.orderId);
  writer.writeText("amount_cents");
  writer.writeUint(state.amountCents);
  return writer.finish();
}
