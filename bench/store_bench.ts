/**
 * The journal stores alone, file and PostgreSQL in the same run: a step's group commit (N counter-sized
 * entries appended one by one, then one `sync`: one fsync on files, one transaction on PostgreSQL) and a
 * read from genesis (open, then every entry decoded and checked against the hash chain).
 *
 * @module
 */
import { type EntryRecord, FsJournal, type Journal, openPgWorld, preloadJournal } from "../journal/mod.ts";

function counterRecord(n: number): EntryRecord {
  return {
    kind: "domain_event",
    body: {
      schema: "demo/Increment@1",
      value: new Uint8Array([0xa1, 0x62, 0x62, 0x79, 0x01 + (n % 5)]),
      origin: { kind: "external", source: `inbox:1:${n}` },
      ingress_ns: 1_700_000_000_000_000_000n + BigInt(n),
    },
  };
}

async function commitAndRead(
  count: number,
  open: () => Promise<{ journal: Journal; close(): Promise<void> }>,
): Promise<{ stepPerSec: number; commitPerSec: number; readPerSec: number }> {
  const records = Array.from({ length: count }, (_, n) => counterRecord(n));
  const first = await open();
  const t0 = performance.now();
  for (const record of records) first.journal.append([record]);
  const tCommit = performance.now();
  await first.journal.sync();
  const stepPerSec = count / ((performance.now() - t0) / 1000);
  const commitPerSec = count / ((performance.now() - tCommit) / 1000);
  await first.close();
  const t1 = performance.now();
  const second = await open();
  await preloadJournal(second.journal, 0);
  let read = 0;
  for (const _ of second.journal.entries(0)) read++;
  const readPerSec = read / ((performance.now() - t1) / 1000);
  await second.close();
  return { stepPerSec, commitPerSec, readPerSec };
}

/** Rows of the store figures for `count` entries, against the PostgreSQL server at `url`. */
export async function storeBench(count: number, url: string): Promise<Array<[string, string]>> {
  const dir = await Deno.makeTempDir({ prefix: "aos-bench-store-" });
  let created = false;
  const file = await commitAndRead(count, async () => {
    const journal = await FsJournal.open(`${dir}/journal`, { create: true });
    return { journal, close: () => Promise.resolve(journal.close()) };
  });
  await Deno.remove(dir, { recursive: true });
  const pg = await commitAndRead(count, async () => {
    const store = await openPgWorld({ url, worldId: "bench-store", create: !created });
    created = true;
    return { journal: store.journal, close: () => store.close() };
  });
  return [
    [`journal step: ${count} appends + one commit, file store (entries/s)`, file.stepPerSec.toFixed(0)],
    [`journal step: ${count} appends + one commit, PostgreSQL (entries/s)`, pg.stepPerSec.toFixed(0)],
    ["  ratio PostgreSQL / file", (pg.stepPerSec / file.stepPerSec).toFixed(3)],
    ["  the commit alone (sync), file store: one fsync (entries/s)", file.commitPerSec.toFixed(0)],
    ["  the commit alone (sync), PostgreSQL: one transaction (entries/s)", pg.commitPerSec.toFixed(0)],
    ["journal read: open + every entry checked, file store (entries/s)", file.readPerSec.toFixed(0)],
    ["journal read: open + every entry checked, PostgreSQL (entries/s)", pg.readPerSec.toFixed(0)],
    ["  ratio PostgreSQL / file", (pg.readPerSec / file.readPerSec).toFixed(3)],
  ];
}
