/**
 * Worlds on PostgreSQL through the CLI, against a throwaway local server: `init --store`, every command on
 * such a world, moving a world between the file store and the database with the same replay hashes, a
 * process killed mid-step, and two processes (as if on two machines) contending for one world.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { withLimits } from "../journal/testing/mod.ts";
import { sharedPgServer } from "../journal/testing/pg_server.ts";
import { firstHeldSeq } from "../journal/mod.ts";
import { VirtualClock } from "../kernel/mod.ts";
import { World } from "../world/mod.ts";
import { aos, expectAos, withTempDir } from "./_test_helpers.ts";

/** In-process runs leave nothing behind (a world's connection is closed before the command returns). */
const pgTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn });

let ids = 0;
const worldId = (name: string) => `${name}-${Deno.pid}-${++ids}`;

/** The reducer state hashes `replay --verify --json` prints, after checking it passed. */
async function replayHashes(cwd: string, world: string): Promise<unknown> {
  const run = await expectAos(0, cwd, "--world", world, "replay", "--verify", "--json");
  const report = JSON.parse(run.stdout);
  assert.equal(report.ok, true);
  return report.reducers;
}

pgTest(
  "pg: init --store keeps the journal in the database and every command works on the world",
  async () => {
    const { url } = sharedPgServer();
    await withTempDir(async (root) => {
      const id = worldId("cli");
      const init = await expectAos(0, root, "init", "w", "--store", url, "--world-id", id);
      assert.match(init.stdout, /store {4}postgres:\/\/aos@127\.0\.0\.1:\d+\/postgres \(world id cli-/);
      const config = JSON.parse(await Deno.readTextFile(`${root}/w/.aos/config.json`));
      assert.deepEqual(config, { store: { kind: "postgres", url, world_id: id } });
      // Nothing of the journal or the store is on disk.
      for (const name of ["journal", "store", "head", "inbox"]) {
        await assert.rejects(Deno.stat(`${root}/w/.aos/${name}`), Deno.errors.NotFound);
      }
      await expectAos(0, `${root}/w`, "event", "send", "demo/Increment@1", '{"by": 2}');
      await expectAos(0, `${root}/w`, "event", "send", "demo/Increment@1", '{"by": 5}');
      const queued = JSON.parse((await expectAos(0, `${root}/w`, "info", "--json")).stdout);
      assert.equal(queued.pending.inbox, 2, "two events queued in the database's inbox");
      const step = await expectAos(0, `${root}/w`, "step", "--json");
      assert.equal(JSON.parse(step.stdout).height, 3);
      const info = await expectAos(0, `${root}/w`, "info", "--json");
      assert.equal(JSON.parse(info.stdout).height, 3);
      await expectAos(0, `${root}/w`, "snapshot");
      const state = await expectAos(0, `${root}/w`, "state", "get", "demo/Counter@1", "--json");
      assert.match(state.stdout, /"count":\s*7/);
      const journal = await expectAos(0, `${root}/w`, "journal", "verify");
      assert.match(journal.stdout, /Journal OK: 4 entries in PostgreSQL world cli-/);
      await replayHashes(root, "w");
      const sql = postgres(url, { onnotice: () => {}, max: 1 });
      try {
        const [row] = await sql`SELECT count(*)::int AS n FROM aos_entries WHERE world_id = ${id}`;
        assert.equal(row?.n, 4);
        const [version] = await sql`SELECT max(version)::int AS v FROM aos_schema_migrations`;
        assert.equal(version?.v, 4);
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
  },
);

pgTest("pg: a password in --store, or an unreachable server, is refused and nothing is created", async () => {
  const { port } = sharedPgServer();
  await withTempDir(async (root) => {
    const run = await expectAos(
      2,
      root,
      "init",
      "w",
      "--store",
      `postgres://aos:secret@127.0.0.1:${port}/postgres`,
    );
    assert.match(run.stderr, /error\[AOS_USAGE\]: .*PGPASSWORD/);
    await assert.rejects(Deno.stat(`${root}/w/.aos`), Deno.errors.NotFound);
    await expectAos(2, root, "init", "w", "--world-id", "x");
    await expectAos(2, root, "init", "w", "--store", `postgres://127.0.0.1:${port}/postgres`);
    await expectAos(2, root, "init", "w", "--store", `mysql://aos@127.0.0.1:${port}/postgres`);
    // No server there: a clear failure, and the folder can be initialized again.
    const down = await expectAos(1, root, "init", "w", "--store", "postgres://aos@127.0.0.1:1/postgres");
    assert.match(
      down.stderr,
      /error\[AOS_JOURNAL_IO\]: PostgreSQL: cannot connect to postgres:\/\/aos@127\.0\.0\.1:1\/postgres/,
    );
    await assert.rejects(Deno.stat(`${root}/w/.aos`), Deno.errors.NotFound);
  });
});

pgTest("pg: a world moves file -> PostgreSQL -> file with the same replay hashes", async () => {
  const { url } = sharedPgServer();
  await withTempDir(async (root) => {
    await expectAos(0, root, "init", "files");
    for (const by of [1, 2, 3]) {
      await expectAos(0, `${root}/files`, "event", "send", "demo/Increment@1", `{"by": ${by}}`);
    }
    await expectAos(0, `${root}/files`, "step");
    // One event still queued: the inbox moves with the world.
    await expectAos(0, `${root}/files`, "event", "send", "demo/Increment@1", '{"by": 10}');
    const fileHashes = await replayHashes(root, "files");
    const imported = await expectAos(0, root, "init", "db", "--import", "files", "--store", url, "--json");
    assert.equal(JSON.parse(imported.stdout).height, 4);
    assert.deepEqual(await replayHashes(root, "db"), fileHashes);
    await expectAos(0, `${root}/db`, "step");
    await expectAos(0, `${root}/files`, "step");
    const exported = await expectAos(0, root, "--world", "db", "world", "export", "back", "--json");
    assert.equal(JSON.parse(exported.stdout).height, 5);
    const hashes = await replayHashes(root, "files");
    assert.notDeepEqual(hashes, fileHashes);
    assert.deepEqual(await replayHashes(root, "db"), hashes);
    assert.deepEqual(await replayHashes(root, "back"), hashes);
    // The copy is a world of its own: it refuses to be the target of another copy.
    await expectAos(2, root, "--world", "db", "world", "export", "back");
  });
});

/**
 * A script that opens the world folder `Deno.args[0]` `rounds` times, each time queueing one event in the
 * inbox and stepping, and prints each acknowledged height.
 */
const WRITER = `
import { SystemClock } from "${new URL("../adapters/mod.ts", import.meta.url).href}";
import { World } from "${new URL("../world/mod.ts", import.meta.url).href}";
const [dir, rounds, tag] = Deno.args;
for (let i = 0; i < Number(rounds); i++) {
  const world = await World.open(dir, { clock: new SystemClock() });
  try {
    await world.enqueue([{ schema: "demo/Increment@1", value: { by: 1n } }]);
    const report = await world.step();
    console.log(tag + " " + report.height);
  } finally {
    world.close();
    await world.closed;
  }
}
`;

const CONFIG = decodeURIComponent(new URL("../deno.json", import.meta.url).pathname);

async function writerScript(root: string): Promise<string> {
  const path = `${root}/writer.ts`;
  await Deno.writeTextFile(path, WRITER);
  return path;
}

function spawnWriter(script: string, dir: string, rounds: number, tag: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", "--config", CONFIG, script, dir, String(rounds), tag],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function counterOf(cwd: string): Promise<number> {
  const run = await expectAos(0, cwd, "state", "get", "demo/Counter@1", "--json");
  return Number(/"count":\s*(\d+)/.exec(run.stdout)![1]);
}

pgTest("pg: two processes on two folders of one world take turns; neither interleaves", async () => {
  const { url } = sharedPgServer();
  await withTempDir(async (root) => {
    const id = worldId("contend");
    await expectAos(0, root, "init", "a", "--store", url, "--world-id", id);
    // A second folder on the same database world, as a second machine would have it.
    await Deno.mkdir(`${root}/b/.aos`, { recursive: true });
    await Deno.copyFile(`${root}/a/.aos/config.json`, `${root}/b/.aos/config.json`);
    const script = await writerScript(root);
    const rounds = 5;
    const [a, b] = [
      spawnWriter(script, `${root}/a`, rounds, "a"),
      spawnWriter(script, `${root}/b`, rounds, "b"),
    ];
    const [outA, outB] = await Promise.all([a.output(), b.output()]);
    assert.equal(outA.code, 0, new TextDecoder().decode(outA.stderr));
    assert.equal(outB.code, 0, new TextDecoder().decode(outB.stderr));
    const heights = [outA, outB].flatMap((out) =>
      new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => Number(line.split(" ")[1]))
    );
    // Every acknowledged step got its own heights: 2..2*rounds+1, each once.
    assert.deepEqual(heights.sort((x, y) => x - y), Array.from({ length: 2 * rounds }, (_, i) => i + 2));
    assert.equal(await counterOf(`${root}/a`), 2 * rounds);
    await replayHashes(root, "b");
  });
});

pgTest("pg: a process killed mid-step loses nothing acknowledged and admits nothing twice", async () => {
  const { url } = sharedPgServer();
  await withTempDir(async (root) => {
    const id = worldId("crash");
    await expectAos(0, root, "init", "w", "--store", url, "--world-id", id);
    const script = await writerScript(root);
    const child = spawnWriter(script, `${root}/w`, 1_000, "w");
    // Read acknowledgements until a few steps are committed, then kill the writer wherever it is.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/\n/g) ?? []).length < 5) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    await child.stderr.cancel();
    const acknowledged = text.trim().split("\n").map((line) => Number(line.split(" ")[1]));
    const lastAcked = Math.max(...acknowledged);
    const info = JSON.parse((await expectAos(0, `${root}/w`, "info", "--json")).stdout);
    assert.ok(info.height >= lastAcked, `height ${info.height} keeps every acknowledged step (${lastAcked})`);
    // An event queued before the kill is admitted now; every queued event is admitted exactly once.
    await expectAos(0, `${root}/w`, "step");
    const lines = (await expectAos(0, `${root}/w`, "journal", "show", "--json")).stdout.trim().split("\n");
    const sources = lines.map((line) => JSON.parse(line)).filter((entry) => entry.kind === "domain_event")
      .map((entry) => entry.body.origin.source as string);
    assert.equal(
      new Set(sources).size,
      sources.length,
      `no inbox event admitted twice: ${sources.join(", ")}`,
    );
    assert.equal(lines.length, sources.length + 1, "genesis and one entry per event");
    assert.ok(sources.length >= lastAcked - 1);
    assert.equal(await counterOf(`${root}/w`), sources.length);
    const sql = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      const [queued] = await sql`SELECT count(*)::int AS n FROM aos_inbox WHERE world_id = ${id}`;
      assert.equal(queued?.n, 0, "every queued batch was admitted and removed");
    } finally {
      await sql.end({ timeout: 5 });
    }
    await replayHashes(root, "w");
    const again = await aos(`${root}/w`, "journal", "verify");
    assert.equal(again.code, 0, again.stderr);
  });
});

pgTest(
  "pg: aos run dispatches effects of a world on PostgreSQL and admits their signed receipts",
  async () => {
    const { url } = sharedPgServer();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("pong"),
    );
    try {
      await withTempDir(async (root) => {
        await expectAos(
          0,
          root,
          "init",
          "w",
          "--template",
          "fetch-notify",
          "--store",
          url,
          "--world-id",
          worldId("run"),
        );
        const world = `${root}/w`;
        const target = `http://127.0.0.1:${server.addr.port}/ping`;
        await expectAos(
          0,
          world,
          "event",
          "send",
          "demo/Notify@1",
          JSON.stringify({ request_id: "r1", url: target }),
        );
        await expectAos(0, world, "run", "--timeout", "20s");
        const receipts = JSON.parse((await expectAos(0, world, "receipts", "ls", "--json")).stdout);
        assert.equal(receipts.length, 1, JSON.stringify(receipts));
        const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
        assert.equal(info.pending.outbox, 0);
        await replayHashes(root, "w");
      });
    } finally {
      await server.shutdown();
    }
  },
);

pgTest(
  "pg: a poison inbox row is journaled as inbox_quarantined, kept byte for byte in .aos/quarantine/, and step goes on",
  async () => {
    const { url } = sharedPgServer();
    await withTempDir(async (root) => {
      const id = worldId("poison");
      await expectAos(0, root, "init", "w", "--template", "counter", "--store", url, "--world-id", id);
      const world = `${root}/w`;
      await expectAos(0, world, "event", "send", "demo/Increment@1", '{"by": 2}');
      await expectAos(0, world, "event", "send", "demo/Increment@1", '{"by": 5}');
      const poison = new Uint8Array([0xff, 0x00, 0x13]);
      const sql = postgres(url, { onnotice: () => {}, max: 1 });
      let batch: number;
      try {
        const [row] = await sql`SELECT min(batch)::int AS b FROM aos_inbox WHERE world_id = ${id}`;
        batch = row!.b as number;
        await sql`UPDATE aos_inbox SET bytes = ${poison} WHERE world_id = ${id} AND batch = ${batch}`;
      } finally {
        await sql.end({ timeout: 5 });
      }
      const step = await expectAos(0, world, "step", "--json");
      const report = JSON.parse(step.stdout);
      assert.equal(report.quarantined.length, 1, step.stdout);
      assert.match(step.stderr, /warning: /);
      const kept = `${world}/.aos/quarantine/inbox-${String(batch).padStart(8, "0")}.cbor`;
      assert.deepEqual(await Deno.readFile(kept), poison);
      const state = await expectAos(0, world, "state", "get", "demo/Counter@1", "--json");
      assert.match(state.stdout, /"count":\s*5/, "the other batch was admitted");
      const shown = await expectAos(0, world, "journal", "show");
      assert.match(shown.stdout, /inbox_quarantined/);
      const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
      assert.equal(info.pending.inbox, 0, "nothing is left in the database's inbox");
    });
  },
);

pgTest(
  "pg: a world opens holding only the entries from its latest snapshot; commands that need older ones fetch and check them",
  async () => {
    const { url } = sharedPgServer();
    await withTempDir(async (root) => {
      const id = worldId("tail");
      await expectAos(0, root, "init", "w", "--store", url, "--world-id", id);
      const w = `${root}/w`;
      for (const by of [1, 2, 3]) {
        await expectAos(0, w, "event", "send", "demo/Increment@1", `{"by": ${by}}`);
        await expectAos(0, w, "step");
        await expectAos(0, w, "snapshot");
      }
      await expectAos(0, w, "event", "send", "demo/Increment@1", '{"by": 10}');
      await expectAos(0, w, "step");
      const sql = postgres(url, { onnotice: () => {}, max: 1 });
      try {
        const [row] = await sql`SELECT count(*)::int AS n,
            max(seq) FILTER (WHERE kind = 'snapshot')::int AS latest,
            count(*) FILTER (WHERE kind = 'snapshot')::int AS snapshots
          FROM aos_entries WHERE world_id = ${id}`;
        const { n: height, latest, snapshots } = row as { n: number; latest: number; snapshots: number };
        assert.equal(snapshots, 3);
        const world = await World.open(w, { clock: new VirtualClock(0n) });
        try {
          assert.equal(
            firstHeldSeq(world.journal),
            latest,
            "only the rows from the latest snapshot are held",
          );
          assert.equal(world.height, height);
          assert.deepEqual(world.stateJson("demo/Counter@1"), { count: 16n });
          assert.throws(() => world.journal.entries(0), RangeError);
          assert.equal(world.snapshots().length, 1);
          await world.loadHistory(0);
          assert.equal(firstHeldSeq(world.journal), 0);
          assert.equal(world.snapshots().length, 3);
          assert.equal([...world.journal.entries(0)].length, height);
        } finally {
          world.close();
        }
        // Commands reading from genesis fetch the older rows: the snapshot list, journal show, the full checks.
        const listed = JSON.parse((await expectAos(0, w, "snapshot", "ls", "--json")).stdout);
        assert.equal(listed.length, 3);
        const shown = await expectAos(0, w, "journal", "show", "--json");
        assert.equal(shown.stdout.trim().split("\n").length, height);
        await expectAos(0, w, "journal", "verify");
        const hashes = await replayHashes(root, "w");
        await expectAos(0, root, "--world", "w", "world", "export", "copy");
        assert.deepEqual(await replayHashes(root, "copy"), hashes);
        // Damage before the latest snapshot: the world still opens (its tail is intact), the checks find it.
        await sql`UPDATE aos_entries SET prev_hash = ${new Uint8Array(32).fill(9)}
          WHERE world_id = ${id} AND seq = 2`;
        const state = await expectAos(0, w, "state", "get", "demo/Counter@1", "--json");
        assert.match(state.stdout, /"count":\s*16/);
        const verify = await expectAos(1, w, "journal", "verify");
        assert.match(verify.stdout + verify.stderr, /seq 2: hash chain broken/);
        await expectAos(1, root, "--world", "w", "replay", "--verify");
        await sql`UPDATE aos_entries SET prev_hash = (SELECT sha256(bytes) FROM aos_entries
          WHERE world_id = ${id} AND seq = 1) WHERE world_id = ${id} AND seq = 2`;
        await expectAos(0, w, "journal", "verify");
        // A rollback to a snapshot before the first held row finds it in the fetched history.
        const [first] = await sql`SELECT min(seq)::int AS seq FROM aos_entries
          WHERE world_id = ${id} AND kind = 'snapshot'`;
        await expectAos(0, w, "rollback", "--to", String(first!.seq));
        const rolled = await expectAos(0, w, "state", "get", "demo/Counter@1", "--json");
        assert.match(rolled.stdout, /"count":\s*1\b/);
        // A latest snapshot that cannot be restored: the older rows are fetched and the one before it is used.
        const [marker] = await sql`SELECT bytes FROM aos_entries
          WHERE world_id = ${id} AND seq = ${latest}`;
        assert.ok(marker !== undefined);
        const missing = await sql`DELETE FROM aos_blobs WHERE world_id = ${id}
            AND position(hash IN ${marker.bytes as Uint8Array}) > 0 RETURNING hash`;
        const missingNodes = await sql`DELETE FROM aos_nodes WHERE world_id = ${id}
            AND position(hash IN ${marker.bytes as Uint8Array}) > 0 RETURNING hash`;
        assert.equal(missing.length + missingNodes.length, 1, "the latest snapshot's object is gone");
        const fallen = await World.open(w, { clock: new VirtualClock(0n) });
        try {
          assert.equal(firstHeldSeq(fallen.journal), 0);
          assert.deepEqual(fallen.unusableSnapshots.map((s) => [s.height, s.code]), [[
            latest,
            "AOS_CAS_MISSING",
          ]]);
          assert.deepEqual(fallen.stateJson("demo/Counter@1"), { count: 1n }, "as rolled back");
        } finally {
          fallen.close();
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
  },
);

pgTest(
  "pg: a long step sends rows ahead and snapshots between its blocks; state, snapshots and replay agree",
  async () => {
    const { url } = sharedPgServer();
    // The bounds a step of 12,000 events reaches (a snapshot every 10 × 1,000 entries inside a step, rows sent
    // every 4,096 events once 8,192 wait), lowered tenfold or more so 1,200 events reach them.
    await withLimits(
      { snapshotIntervalEntries: 100, sendAheadInputsEvery: 256, sendAheadRowsMin: 512 },
      () =>
        withTempDir(async (root) => {
          await expectAos(0, root, "init", "w", "--store", url, "--world-id", worldId("long"));
          const lines = Array.from(
            { length: 1_200 },
            (_, i) => JSON.stringify({ schema: "demo/Increment@1", value: { by: 1 + (i % 3) } }),
          );
          await Deno.writeTextFile(`${root}/w/many.jsonl`, lines.join("\n") + "\n");
          await expectAos(0, `${root}/w`, "event", "send", "--file", "many.jsonl");
          const step = JSON.parse((await expectAos(0, `${root}/w`, "step", "--json")).stdout);
          assert.equal(step.admitted, 1_200);
          const expected = lines.reduce((n, _, i) => n + 1 + (i % 3), 0);
          const state = await expectAos(0, `${root}/w`, "state", "get", "demo/Counter@1", "--json");
          assert.equal(state.stdout, `{"count":${expected}}\n`);
          // The in-step snapshots (every 1,000 entries here) and the one at the end are journaled and committed.
          const snapshots = JSON.parse((await expectAos(0, `${root}/w`, "snapshot", "ls", "--json")).stdout);
          assert.ok(
            snapshots.some((s: { height: number }) =>
              s.height > step.height_before && s.height < step.height
            ),
            `a snapshot between the step's blocks: ${JSON.stringify(snapshots)}`,
          );
          assert.equal(snapshots[0].height, step.height - 1, "and one at its end");
          await replayHashes(root, "w");
          const info = JSON.parse((await expectAos(0, `${root}/w`, "info", "--json")).stdout);
          assert.equal(info.height, step.height);
          assert.equal(info.pending.inbox, 0);
        }),
    );
  },
);
