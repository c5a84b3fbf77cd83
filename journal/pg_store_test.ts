import assert from "node:assert/strict";
import postgres from "postgres";
import { AosError } from "../air/mod.ts";
import type { EntryRecord } from "./entry.ts";
import { openPgWorld, type PgWorldStore } from "./postgres.ts";
import { isClosedSocketWrite, migrate, PG_SCHEMA_VERSION, type PgJournal } from "./pg_store.ts";
import { runCasContract, runJournalContract, sampleRecord, withLimits } from "./testing/mod.ts";
import { sharedPgServer } from "./testing/pg_server.ts";

let worlds = 0;
/** A fresh world id per test: tests share one server and never see each other's rows. */
function freshWorldId(): string {
  return `test-${Deno.pid}-${++worlds}`;
}

runJournalContract("PgJournal", () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  let store: PgWorldStore | undefined;
  let created = false;
  return Promise.resolve({
    async open() {
      await store?.close();
      store = await openPgWorld({ url, worldId, create: !created });
      created = true;
      return store.journal;
    },
    async cleanup() {
      await store?.close();
    },
  });
});

runCasContract("PgCas", async () => {
  const store = await openPgWorld({ url: sharedPgServer().url, worldId: freshWorldId(), create: true });
  return { cas: store.cas, cleanup: () => store.close() };
});

async function rejectsWithCode(promise: Promise<unknown>, code: string, match?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AosError, `expected an AosError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (match) assert.match(error.message, match);
    return true;
  });
}

/** Runs `body` with a plain client on the shared server (to look at or tamper with rows). */
async function withSql<T>(body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(sharedPgServer().url, { onnotice: () => {}, max: 1 });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

Deno.test("PgStore: one writer per world: a second open fails with AOS_BUSY (noWait) or waits", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const first = await openPgWorld({ url, worldId, create: true });
  try {
    await rejectsWithCode(openPgWorld({ url, worldId, noWait: true }), "AOS_BUSY", /advisory lock/);
    const waiting = Promise.withResolvers<string>();
    const second = openPgWorld({ url, worldId, onLockWait: waiting.resolve });
    // The second writer is blocked on the lock before the first commits and closes.
    const waitedFor = await waiting.promise;
    first.journal.append([sampleRecord(0)]);
    await first.journal.sync();
    await first.close();
    const opened = await second;
    assert.match(waitedFor, /advisory lock/);
    assert.equal(opened.journal.height, 1, "the waiting writer sees what the first committed");
    await opened.close();
  } finally {
    await first.close();
  }
});

Deno.test("PgStore: worlds in one database read only their own rows", async () => {
  const url = sharedPgServer().url;
  const [a, b] = [freshWorldId(), freshWorldId()];
  const storeA = await openPgWorld({ url, worldId: a, create: true });
  const storeB = await openPgWorld({ url, worldId: b, create: true });
  storeA.journal.append([sampleRecord(1), sampleRecord(2)]);
  await storeA.journal.sync();
  const ref = await storeA.cas.put("blobs", new Uint8Array([1, 2, 3]));
  storeB.journal.append([sampleRecord(9)]);
  await storeB.journal.sync();
  await storeA.close();
  await storeB.close();
  const reopenedB = await openPgWorld({ url, worldId: b });
  try {
    assert.equal(reopenedB.journal.height, 1);
    assert.equal(await reopenedB.cas.has("blobs", ref), false);
    await rejectsWithCode(reopenedB.cas.get("blobs", ref), "AOS_CAS_MISSING");
  } finally {
    await reopenedB.close();
  }
  await rejectsWithCode(openPgWorld({ url, worldId: a, create: true }), "AOS_WORLD_EXISTS");
  await rejectsWithCode(openPgWorld({ url, worldId: freshWorldId() }), "AOS_WORLD_NOT_FOUND");
});

Deno.test("PgStore: a tampered entry, a missing entry and a corrupt object are refused on read", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const store = await openPgWorld({ url, worldId, create: true });
  store.journal.append([0, 1, 2].map(sampleRecord));
  await store.journal.sync();
  const ref = await store.cas.put("nodes", new Uint8Array([4, 5, 6]));
  await store.close();
  // The entry's bytes no longer decode to its row: caught when it is read.
  await withSql((sql) =>
    sql`UPDATE aos_entries SET bytes = bytes || '\\x00'::bytea WHERE world_id = ${worldId} AND seq = 2`
  );
  const tampered = await openPgWorld({ url, worldId, noWait: true }).catch((error) => error);
  if (tampered instanceof AosError) {
    assert.equal(tampered.code, "AOS_JOURNAL_CORRUPT");
  } else {
    assert.throws(
      () => [...tampered.journal.entries()],
      (error: unknown) =>
        error instanceof AosError && error.code === "AOS_JOURNAL_CORRUPT" && /seq 2/.test(error.message),
    );
    await tampered.close();
  }
  // A middle entry deleted: a seq gap at open.
  await withSql((sql) => sql`DELETE FROM aos_entries WHERE world_id = ${worldId} AND seq = 1`);
  await rejectsWithCode(openPgWorld({ url, worldId }), "AOS_JOURNAL_CORRUPT", /seq gap/);
  await withSql((sql) => sql`UPDATE aos_nodes SET bytes = '\\x070707' WHERE world_id = ${worldId}`);
  await withSql((sql) => sql`DELETE FROM aos_entries WHERE world_id = ${worldId}`);
  await withSql((sql) =>
    sql`UPDATE aos_heads SET height = 0, hash = ${new Uint8Array(32)} WHERE world_id = ${worldId}`
  );
  const reopened = await openPgWorld({ url, worldId });
  try {
    await rejectsWithCode(reopened.cas.get("nodes", ref), "AOS_CAS_CORRUPT");
  } finally {
    await reopened.close();
  }
});

Deno.test("PgStore: acknowledged entries that went missing are refused (the head leads the entries)", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const store = await openPgWorld({ url, worldId, create: true });
  store.journal.append([0, 1, 2].map(sampleRecord));
  await store.journal.sync();
  await store.close();
  await withSql((sql) => sql`DELETE FROM aos_entries WHERE world_id = ${worldId} AND seq = 2`);
  await rejectsWithCode(
    openPgWorld({ url, worldId }),
    "AOS_JOURNAL_CORRUPT",
    /acknowledged head is height 3/,
  );
});

Deno.test("PgStore: a writer whose head moved under it commits nothing and stops writing", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const store = await openPgWorld({ url, worldId, create: true });
  try {
    store.journal.append([sampleRecord(0)]);
    await store.journal.sync();
    // Another writer (here: a hand edit) moved the head: the next step must not interleave.
    await withSql((sql) => sql`UPDATE aos_heads SET height = 7 WHERE world_id = ${worldId}`);
    store.journal.append([sampleRecord(1)]);
    await rejectsWithCode(store.journal.sync(), "AOS_BUSY", /another process/);
    assert.throws(
      () => store.journal.append([sampleRecord(2)]),
      (error: unknown) => error instanceof AosError && error.code === "AOS_JOURNAL_IO",
    );
    const rows = await withSql((sql) =>
      sql`SELECT seq FROM aos_entries WHERE world_id = ${worldId} ORDER BY seq`
    );
    assert.deepEqual(rows.map((row) => Number(row.seq)), [0], "the rolled-back step left no row");
  } finally {
    await store.close();
  }
});

/** A writer in its own process: commits 2 entries, then starts a step of 4,998 and prints how it ended. */
const LOST_WRITER = `
import { openPgWorld } from "${new URL("./mod.ts", import.meta.url).href}";
import { sampleRecord } from "${new URL("./testing/mod.ts", import.meta.url).href}";
const [url, worldId] = Deno.args;
const store = await openPgWorld({ url, worldId, create: true });
store.journal.append([sampleRecord(0), sampleRecord(1)]);
await store.journal.sync();
for (let n = 2; n < 5000; n++) store.journal.append([sampleRecord(n)]);
const step = store.journal.sync();
console.log("syncing");
const outcome = await step.then(() => "committed", (error) => error.code);
console.log(outcome);
try { store.journal.append([sampleRecord(9)]); console.log("appended"); } catch (error) { console.log(error.code); }
await store.close();
`;

Deno.test("PgStore: a connection lost mid-step keeps what was acknowledged, all or none of the step", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, LOST_WRITER);
    const config = decodeURIComponent(new URL("../deno.json", import.meta.url).pathname);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", "--config", config, script, url, worldId],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("syncing")) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    // The server ends the writer's session (as a failover or a network cut would) while the step commits.
    await withSql((sql) =>
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${`aos ${worldId}`}`
    );
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    const stderr = await new Response(child.stderr).text();
    const status = await child.status;
    // The writer either saw the step fail (AOS_JOURNAL_IO, and refused to append after it) or saw it commit
    // (the server finished first); it never hangs, and the client's write to the closed socket
    // (porsager/postgres#1208) does not end it.
    const outcome = text.split("\n")[1] ?? "";
    assert.ok(status.success, stderr);
    assert.ok(
      text.includes("committed\nappended") || text.includes("AOS_JOURNAL_IO\nAOS_JOURNAL_IO"),
      text,
    );
    // The lock went with the session: the world opens at once, with all of the step or none of it.
    const reopened = await openPgWorld({ url, worldId, noWait: true });
    try {
      const height = reopened.journal.height;
      assert.ok(height === 2 || height === 5_000, `height ${height}`);
      if (outcome === "committed") assert.equal(height, 5_000, "an acknowledged step is kept");
      assert.equal([...reopened.journal.entries()].length, height);
    } finally {
      await reopened.close();
    }
  } finally {
    await Deno.remove(script);
  }
});

Deno.test("PgStore: a commit clears the head's inbox position and failure count until the world records them", async () => {
  const url = sharedPgServer().url;
  const store = await openPgWorld({ url, worldId: freshWorldId(), create: true });
  try {
    store.journal.append([sampleRecord(0)]);
    await store.journal.sync();
    await store.head.write({
      height: 1,
      hash: store.journal.lastHash,
      inbox: { batch: 3, index: 0 },
      failures: 0,
    });
    assert.deepEqual(await store.head.read(), {
      height: 1,
      hash: store.journal.lastHash,
      inbox: { batch: 3, index: 0 },
      failures: 0,
    });
    store.journal.append([sampleRecord(1)]);
    await store.journal.sync();
    // A crash here must not leave the old position claimed for the new height (it would admit events twice).
    assert.deepEqual(await store.head.read(), { height: 2, hash: store.journal.lastHash });
  } finally {
    await store.close();
  }
});

/** A snapshot marker record at `height` (the journal does not look at the blob it names). */
function snapshotRecord(height: number): EntryRecord {
  return { kind: "snapshot", body: { height, snapshot_hash: new Uint8Array(32).fill(height % 251) } };
}

/** A world of 30 entries with snapshot markers at seqs 10 and 20; returns every entry's hash. */
async function worldWithSnapshots(url: string, worldId: string): Promise<Uint8Array[]> {
  const store = await openPgWorld({ url, worldId, create: true });
  try {
    const hashes: Uint8Array[] = [];
    for (let seq = 0; seq < 30; seq++) {
      const record = seq === 10 || seq === 20 ? snapshotRecord(seq) : sampleRecord(seq);
      hashes.push(store.journal.append([record])[0]!.hash);
    }
    await store.journal.sync();
    return hashes;
  } finally {
    await store.close();
  }
}

Deno.test("PgStore: opening holds only the rows from the latest snapshot; preload fetches and checks the rest", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const hashes = await worldWithSnapshots(url, worldId);
  const store = await openPgWorld({ url, worldId });
  try {
    const journal = store.journal as PgJournal;
    assert.equal(journal.firstHeldSeq, 20, "held from the latest snapshot marker");
    assert.equal(journal.height, 30);
    assert.deepEqual(journal.lastHash, hashes[29]);
    assert.deepEqual([...journal.entries(20)].map((entry) => entry.seq), range(20, 30));
    assert.deepEqual([...journal.entriesBackward()].map((entry) => entry.seq), range(20, 30).reverse());
    assert.throws(() => journal.entries(0), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /preload them first/);
      return true;
    });
    // Preloading part of the history, then all of it, joins the chain to the held rows.
    await journal.preload(15);
    assert.equal(journal.firstHeldSeq, 15);
    await journal.preload(0);
    assert.equal(journal.firstHeldSeq, 0);
    const all = [...journal.entries(0)];
    assert.deepEqual(all.map((entry) => entry.seq), range(0, 30));
    assert.deepEqual(all.map((entry) => entry.hash), hashes);
    // The journal goes on at the head as before.
    journal.append([sampleRecord(30)]);
    await journal.sync();
  } finally {
    await store.close();
  }
  const reopened = await openPgWorld({ url, worldId });
  try {
    assert.equal(reopened.journal.height, 31);
    assert.equal((reopened.journal as PgJournal).firstHeldSeq, 20);
  } finally {
    await reopened.close();
  }
});

Deno.test("PgStore: a world without snapshots opens from genesis", async () => {
  const url = sharedPgServer().url;
  const worldId = freshWorldId();
  const store = await openPgWorld({ url, worldId, create: true });
  store.journal.append([sampleRecord(0), sampleRecord(1), sampleRecord(2)]);
  await store.journal.sync();
  await store.close();
  const reopened = await openPgWorld({ url, worldId });
  try {
    assert.equal((reopened.journal as PgJournal).firstHeldSeq, 0);
    assert.equal([...reopened.journal.entries(0)].length, 3);
  } finally {
    await reopened.close();
  }
});

Deno.test("PgStore: damage before the latest snapshot does not stop opening; preload finds it", async (t) => {
  const url = sharedPgServer().url;
  const cases: Array<
    { name: string; tamper: (sql: postgres.Sql, id: string) => Promise<unknown>; at: RegExp }
  > = [
    {
      name: "an old row's prev_hash",
      tamper: (sql, id) =>
        sql`UPDATE aos_entries SET prev_hash = ${
          new Uint8Array(32).fill(7)
        } WHERE world_id = ${id} AND seq = 5`,
      at: /at seq 5: hash chain broken/,
    },
    {
      name: "an old row's bytes",
      tamper: (sql, id) =>
        sql`UPDATE aos_entries SET bytes = bytes || '\\x00'::bytea WHERE world_id = ${id} AND seq = 4`,
      at: /at seq 5: hash chain broken/,
    },
    {
      name: "the row before the first held one",
      tamper: (sql, id) =>
        sql`UPDATE aos_entries SET bytes = bytes || '\\x00'::bytea WHERE world_id = ${id} AND seq = 19`,
      at: /at seq 20: hash chain broken/,
    },
    {
      name: "a missing old row",
      tamper: (sql, id) => sql`DELETE FROM aos_entries WHERE world_id = ${id} AND seq = 12`,
      at: /at seq 13: seq gap/,
    },
  ];
  for (const { name, tamper, at } of cases) {
    await t.step(name, async () => {
      const worldId = freshWorldId();
      await worldWithSnapshots(url, worldId);
      await withSql((sql) => tamper(sql, worldId));
      const store = await openPgWorld({ url, worldId });
      try {
        const journal = store.journal as PgJournal;
        assert.equal(journal.height, 30);
        await rejectsWithCode(journal.preload(0), "AOS_JOURNAL_CORRUPT", at);
        assert.equal(journal.firstHeldSeq, 20, "nothing is added from a damaged range");
      } finally {
        await store.close();
      }
    });
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Calls `sendAhead` until another session sees the writer's transaction open (rows sent, not committed). */
async function sendAheadUntilInTransaction(store: PgWorldStore, worldId: string): Promise<void> {
  for (let turn = 0; turn < 500; turn++) {
    await store.journal.sendAhead!();
    const [row] = await withSql((sql) =>
      sql`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = ${`aos ${worldId}`} AND state = 'idle in transaction'`
    );
    if (row?.n === 1) return;
  }
  assert.fail("the writer never opened its step's transaction");
}

Deno.test("PgStore: rows sent ahead of a step's commit stay invisible until it commits, and vanish without it", () =>
  // Sent ahead once 8,192 rows wait; lowered so a thousand rows do.
  withLimits({ sendAheadRowsMin: 256 }, async () => {
    const url = sharedPgServer().url;
    const worldId = freshWorldId();
    const count = async () =>
      (await withSql((sql) => sql`SELECT count(*)::int AS n FROM aos_entries WHERE world_id = ${worldId}`))[0]
        ?.n;
    const store = await openPgWorld({ url, worldId, create: true });
    try {
      store.journal.append([sampleRecord(0)]);
      await store.journal.sync();
      // A long step: more than a send-ahead's worth of rows, sent into the open transaction.
      for (let n = 1; n <= 1_000; n++) store.journal.append([sampleRecord(n)]);
      await sendAheadUntilInTransaction(store, worldId);
      assert.equal(await count(), 1, "sent rows are not visible before the commit");
      for (let n = 1_001; n <= 1_100; n++) store.journal.append([sampleRecord(n)]);
      await store.journal.sync();
      assert.equal(await count(), 1_101);
      // A step sent ahead and never committed (the process stops): nothing of it stays.
      for (let n = 1_101; n <= 2_000; n++) store.journal.append([sampleRecord(n)]);
      await sendAheadUntilInTransaction(store, worldId);
    } finally {
      await store.close();
    }
    assert.equal(await count(), 1_101);
    const reopened = await openPgWorld({ url, worldId, noWait: true });
    try {
      assert.equal(reopened.journal.height, 1_101);
      assert.equal([...reopened.journal.entries()].length, 1_101);
      reopened.journal.append([sampleRecord(1_101)]);
      await reopened.journal.sync();
      assert.equal(await count(), 1_102);
    } finally {
      await reopened.close();
    }
  }));

Deno.test("isClosedSocketWrite() matches only the postgres client's write to a closed socket", () => {
  const error = (message: string, stack: string) => Object.assign(new TypeError(message), { stack });
  const message = "Cannot read properties of null (reading 'write')";
  const frame =
    "    at Immediate.nextWrite (file:///cache/npm/registry.npmjs.org/postgres/3.4.10/src/connection.js:255:22)";
  assert.ok(isClosedSocketWrite(error(message, `TypeError: ${message}\n${frame}`)));
  assert.ok(
    !isClosedSocketWrite(error(message, `TypeError: ${message}\n    at nextWrite (file:///app/mine.js:1:1)`)),
  );
  assert.ok(!isClosedSocketWrite(error("Cannot read properties of null (reading 'end')", frame)));
  assert.ok(!isClosedSocketWrite(new RangeError(message)));
  assert.ok(!isClosedSocketWrite(undefined));
});

Deno.test("PgStore: CAS, head and inbox queries wait for a COPY sent ahead instead of breaking the session", () =>
  // Sent ahead once 8,192 rows wait; lowered so each round's 1,200 rows are.
  withLimits({ sendAheadRowsMin: 1_000 }, async () => {
    const url = sharedPgServer().url;
    const worldId = freshWorldId();
    const store = await openPgWorld({ url, worldId, create: true });
    try {
      for (let round = 0; round < 3; round++) {
        for (let n = 0; n < 1_200; n++) store.journal.append([sampleRecord(round * 1_200 + n)]);
        // The COPY goes out while other queries are asked for at once, as a snapshot or an adapter would.
        const sent = store.journal.sendAhead!();
        const blob = new TextEncoder().encode(`blob ${round}`);
        const [hash] = await Promise.all([store.cas.put("blobs", blob), store.inbox.list(), sent]);
        assert.deepEqual(await store.cas.get("blobs", hash), blob);
        await store.journal.sync();
        await store.head.write({
          height: store.journal.height,
          hash: store.journal.lastHash,
          failures: round,
        });
      }
      assert.equal((store.journal as PgJournal).syncedHeight, 3_600);
    } finally {
      await store.close();
    }
    const reopened = await openPgWorld({ url, worldId, noWait: true });
    try {
      assert.equal(reopened.journal.height, 3_600);
      assert.equal((await reopened.head.read())?.failures, 2);
    } finally {
      await reopened.close();
    }
  }));

Deno.test("migrate(): a new database gets the schema; a current one is left alone; a newer one is refused", async () => {
  const admin = postgres(sharedPgServer().url, { max: 1, onnotice: () => {} });
  const name = `aos_migrate_${Deno.pid}`;
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const sql = postgres(sharedPgServer().url.replace(/\/postgres$/, `/${name}`), {
    max: 1,
    onnotice: () => {},
  });
  try {
    assert.equal(await migrate(sql), PG_SCHEMA_VERSION);
    const versions = async () =>
      (await sql`SELECT version FROM aos_schema_migrations ORDER BY version`).map((r) => r.version);
    const all = await versions();
    assert.equal(all.at(-1), PG_SCHEMA_VERSION);
    assert.equal(await migrate(sql), PG_SCHEMA_VERSION);
    assert.deepEqual(await versions(), all, "migrating a current schema again changes nothing");
    await sql`INSERT INTO aos_schema_migrations (version, name) VALUES (${PG_SCHEMA_VERSION + 1}, 'future')`;
    await assert.rejects(migrate(sql), (error: unknown) => {
      assert.ok(error instanceof AosError && error.code === "AOS_JOURNAL_CORRUPT", String(error));
      assert.match(error.message, /newer than this aos/);
      return true;
    });
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end({ timeout: 5 });
  }
});
