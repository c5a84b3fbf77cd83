import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { JOURNAL_FORMAT_VERSION } from "../journal/mod.ts";
import { expectAos, withTempDir } from "./_test_helpers.ts";

Deno.test("aos --version and aos version [--json] print the release from deno.json and the journal format", async () => {
  await withTempDir(async (dir) => {
    const line =
      `aos ${denoConfig.version} (journal format ${JOURNAL_FORMAT_VERSION}, deno ${Deno.version.deno})\n`;
    assert.equal((await expectAos(0, dir, "--version")).stdout, line);
    assert.equal((await expectAos(0, dir, "-V")).stdout, line);
    assert.equal((await expectAos(0, dir, "version")).stdout, line);
    const json = JSON.parse((await expectAos(0, dir, "version", "--json")).stdout);
    assert.deepEqual(json, {
      version: denoConfig.version,
      journal_format: JOURNAL_FORMAT_VERSION,
      deno: Deno.version.deno,
    });
  });
});
