/**
 * `aos info` and `aos receipts show` show budgets: a fetch-notify world whose grant allows 20 bytes, two
 * fetches of a 16-byte body from a local server (127.0.0.1 only), the second overdrawing the grant.
 */
import assert from "node:assert/strict";
import { expectAos, withTempDir } from "./_test_helpers.ts";

const EXAMPLE = decodeURIComponent(new URL("../examples/fetch-notify", import.meta.url).pathname);

Deno.test("aos info and receipts show: what each grant's budget spent and reserved, and what a receipt settled", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("0123456789abcdef"),
  );
  try {
    await withTempDir(async (root) => {
      // A copy of the example whose grant allows 20 bytes
      await Deno.mkdir(`${root}/src/air`, { recursive: true });
      await Deno.mkdir(`${root}/src/modules`);
      for (const entry of Deno.readDirSync(`${EXAMPLE}/air`)) {
        const text = await Deno.readTextFile(`${EXAMPLE}/air/${entry.name}`);
        await Deno.writeTextFile(
          `${root}/src/air/${entry.name}`,
          text.replace('"budget": {"bytes": 1048576}', '"budget": {"bytes": 20}'),
        );
      }
      await Deno.copyFile(`${EXAMPLE}/modules/notifier.wasm`, `${root}/src/modules/notifier.wasm`);
      await expectAos(0, root, "init", "world", "--from", "src");
      const world = `${root}/world`;
      const url = `http://127.0.0.1:${server.addr.port}/body`;
      await expectAos(0, world, "event", "send", "demo/Notify@1", JSON.stringify({ request_id: "r1", url }));
      await expectAos(0, world, "event", "send", "demo/Notify@1", JSON.stringify({ request_id: "r2", url }));
      await expectAos(0, world, "run", "--timeout", "20s");

      const info = JSON.parse((await expectAos(0, world, "info", "--json")).stdout);
      assert.deepEqual(info.budgets, [
        { grant: "http_local", dimension: "bytes", limit: 20, spent: 32, reserved: 0, exhausted: true },
      ]);
      const text = (await expectAos(0, world, "info")).stdout;
      assert.match(text, /^budgets {3}http_local bytes: spent 32 of 20, 0 reserved, EXHAUSTED$/m);

      const receipts = JSON.parse((await expectAos(0, world, "receipts", "ls", "--json")).stdout);
      assert.equal(receipts.length, 2, JSON.stringify(receipts));
      const shown = await Promise.all(
        receipts.map(async (r: { intent_hash: string }) =>
          JSON.parse((await expectAos(0, world, "receipts", "show", r.intent_hash, "--json")).stdout)
        ),
      );
      assert.deepEqual(shown.map((r) => r.settled), [
        { grant: "http_local", released: { bytes: 0 }, spent: { bytes: 16 }, exceeded: [] },
        {
          grant: "http_local",
          released: { bytes: 0 },
          spent: { bytes: 16 },
          exceeded: [{ dimension: "bytes", delta: 16, new_balance: -12 }],
        },
      ]);
      await expectAos(0, world, "replay", "--verify");
    });
  } finally {
    await server.shutdown();
  }
});
