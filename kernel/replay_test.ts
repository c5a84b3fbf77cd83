import assert from "node:assert/strict";
import { buildDefs, counterLikeSpec, externalEvent, genesisEntry } from "./_test_fixtures.ts";
import { Kernel, type KernelEntry } from "./kernel.ts";
import { recordBytes, recordedBytesMatch, recordMatches, replayInto } from "./replay.ts";
import { bytesEqual, type CborValue, encodeCanonical } from "../air/mod.ts";

/** Given a trapping reducer, the journal a live run produced: genesis, one event, its reducer_error. */
function trapJournal(): { entries: KernelEntry[]; fresh: () => Kernel } {
  const { defs, host } = buildDefs(counterLikeSpec("trap"));
  const live = new Kernel(defs, host);
  const entries: KernelEntry[] = [genesisEntry(defs)];
  live.apply(entries[0]!);
  const input = externalEvent(1, "demo/Increment@1", { by: 1 });
  entries.push(input, ...live.apply(input));
  assert.deepEqual(entries.map((e) => e.kind), ["genesis", "domain_event", "reducer_error"]);
  return { entries, fresh: () => new Kernel(defs, host) };
}

Deno.test("replayInto() regenerates a journal exactly and reports no divergence", () => {
  const { entries, fresh } = trapJournal();
  assert.equal(replayInto(fresh(), entries), undefined);
});

Deno.test("replayInto() treats a reducer_error message as advisory (engine text may change)", () => {
  const { entries, fresh } = trapJournal();
  const error = entries[2]!;
  const edited = [...entries.slice(0, 2), {
    ...error,
    body: { ...error.body, message: "other engine words" },
  }];
  assert.equal(replayInto(fresh(), edited), undefined);
});

Deno.test("replayInto() names the seq and reducer when a reducer_error's code differs", () => {
  const { entries, fresh } = trapJournal();
  const error = entries[2]!;
  const edited = [...entries.slice(0, 2), { ...error, body: { ...error.body, code: "bad_output" } }];
  const divergence = replayInto(fresh(), edited);
  assert.equal(divergence?.seq, 2);
  assert.equal(divergence?.reducer, "demo/Counter@1");
});

Deno.test("replayInto() runs a checkpoint once, at its seq, after the block before it, and stops on its divergence", () => {
  // Given a journal of two trapping events (genesis, event, error, event, error)
  const { defs, host } = buildDefs(counterLikeSpec("trap"));
  const live = new Kernel(defs, host);
  const entries: KernelEntry[] = [genesisEntry(defs)];
  live.apply(entries[0]!);
  for (const seq of [1, 3]) {
    const input = externalEvent(seq, "demo/Increment@1", { by: 1 });
    entries.push(input, ...live.apply(input));
  }
  assert.equal(entries.length, 5);
  // When a checkpoint at the second event looks at the kernel
  const seen: number[] = [];
  const replayed = new Kernel(defs, host);
  assert.equal(
    replayInto(replayed, entries, { seq: 3, check: (kernel) => void seen.push(kernel.height) }),
    undefined,
  );
  // Then it saw the kernel at height 3 (the first block and its error applied), once
  assert.deepEqual(seen, [3]);
  assert.equal(replayed.height, 5);
  // And a divergence it returns ends the replay there
  const stopped = new Kernel(defs, host);
  const divergence = replayInto(stopped, entries, { seq: 3, check: () => ({ seq: 2, message: "differs" }) });
  assert.deepEqual(divergence, { seq: 2, message: "differs" });
  assert.equal(stopped.height, 3);
});

Deno.test("replayInto() hands back the records that complete a block the journal cuts short", () => {
  const { entries, fresh } = trapJournal();
  const divergence = replayInto(fresh(), entries.slice(0, 2));
  assert.equal(divergence?.seq, 2);
  assert.deepEqual(divergence?.incompleteBlock?.map((r) => [r.seq, r.kind]), [[2, "reducer_error"]]);
});

Deno.test("recordedBytesMatch() and recordMatches() decide as comparing recordBytes() of both does, for random entries of every kind", async () => {
  const fc = (await import("npm:fast-check@4.11.0")).default;
  const scalar = fc.oneof(
    fc.nat(),
    fc.string({ maxLength: 6 }),
    fc.uint8Array({ maxLength: 8 }),
    fc.constant(null),
  );
  // An error map (a plan_ended's `error`, whose `message` is advisory) or anything else.
  const value = fc.oneof(
    scalar,
    fc.dictionary(fc.constantFrom("code", "message", "step"), scalar, { maxKeys: 3 }),
  );
  const body = fc.dictionary(fc.constantFrom("a", "reason", "message", "error", "zz"), value, { maxKeys: 4 });
  fc.assert(
    fc.property(
      fc.constantFrom("plan_started", "effect_queued", "reducer_error", "effect_rejected", "plan_ended"),
      body,
      body,
      fc.boolean(),
      fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 2 ** 40 })),
      fc.constantFrom(undefined, "plan_started", "plan_ended", "effect_queued"),
      (kind, a, b, same, seq, otherKind) => {
        const recordedEntry = { seq, ...encodeEntryUnchecked(seq, kind, a) };
        const regenerated = {
          seq,
          kind: otherKind ?? kind,
          body: (same ? a : b) as { [key: string]: CborValue },
        };
        const matches = bytesEqual(recordBytes(recordedEntry), recordBytes(regenerated));
        assert.equal(recordedBytesMatch(recordedEntry, recordBytes(regenerated)), matches);
        assert.equal(recordMatches(recordedEntry, regenerated), matches);
        if (!["reducer_error", "effect_rejected", "plan_ended"].includes(regenerated.kind)) {
          // With no advisory text to leave out, the bytes are those of the generic encoder.
          assert.deepEqual(
            recordBytes(regenerated),
            encodeCanonical({ kind: regenerated.kind, body: regenerated.body }),
          );
        }
      },
    ),
    { numRuns: 500 },
  );
});

/** An entry's fields and canonical bytes for any body (the body checks of encodeEntry left out). */
function encodeEntryUnchecked(seq: number, kind: string, body: { [key: string]: CborValue }) {
  const prev = new Uint8Array(32).fill(seq & 0xff);
  return { kind, body, prev, bytes: encodeCanonical({ seq, kind, body, prev }) };
}

Deno.test("recordBytes() leaves out a plan_ended error's message, and a plan_ended without error is its bytes", () => {
  const ended = (error?: { [key: string]: CborValue }) => ({
    kind: "plan_ended",
    body: { plan: "demo/p@1", instance_id: 3, status: error ? "error" : "ok", ...(error ? { error } : {}) },
  });
  const a = ended({ code: "timeout", message: "engine words", step: "s" });
  const b = ended({ code: "timeout", message: "other words", step: "s" });
  assert.ok(bytesEqual(recordBytes(a), recordBytes(b)));
  assert.ok(
    !bytesEqual(recordBytes(a), recordBytes(ended({ code: "trap", message: "engine words", step: "s" }))),
  );
  const ok = ended();
  assert.deepEqual(recordBytes(ok), encodeCanonical({ kind: ok.kind, body: ok.body }));
});
