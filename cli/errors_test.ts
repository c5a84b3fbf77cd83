/**
 * Every error in one form: `error[AOS_CODE]: message`, exit 2 for usage and invalid input, 1 for failures
 * and bugs, never a stack trace.
 */
import assert from "node:assert/strict";
import { InvariantError } from "../air/mod.ts";
import { captureIo } from "./context.ts";
import { fsErrorToAos, reportError } from "./errors.ts";
import { aosProcess, copyDir, COUNTER_EXAMPLE, exists, expectAos, withTempDir } from "./_test_helpers.ts";

const ONE_FORM = /^error\[AOS_[A-Z_]+\]: \S.*\n$/;

function report(error: unknown): { code: number; stderr: string } {
  const captured = captureIo({ cwd: "/" });
  const code = reportError(captured.io, error);
  return { code, stderr: captured.stderr() };
}

Deno.test("errors: commander's usage errors print as error[AOS_USAGE] on one line, exit 2", async () => {
  await withTempDir(async (dir) => {
    const cases: Array<{ args: string[]; stderr: RegExp }> = [
      { args: ["stpe"], stderr: /^error\[AOS_USAGE\]: unknown command 'stpe' \(Did you mean step\?\)\n$/ },
      { args: ["state", "get"], stderr: /^error\[AOS_USAGE\]: missing required argument 'reducer'\n$/ },
      { args: ["step", "--bogus"], stderr: /^error\[AOS_USAGE\]: unknown option '--bogus'\n$/ },
      { args: ["plan", "start", "x"], stderr: /^error\[AOS_USAGE\]: missing required argument 'json'\n$/ },
    ];
    for (const c of cases) {
      const run = await expectAos(2, dir, ...c.args);
      assert.match(run.stderr, c.stderr, c.args.join(" "));
      assert.equal(run.stdout, "");
    }
  });
});

Deno.test("errors: file-system errors name the path, with a code and no stack trace", async () => {
  await withTempDir(async (dir) => {
    // A path through a file (as /dev/null/x is; /dev needs more Deno permissions than the tests have).
    await Deno.writeTextFile(`${dir}/file`, "");
    const notDir = await expectAos(2, dir, "init", "file/x");
    assert.match(notDir.stderr, ONE_FORM);
    assert.match(notDir.stderr, /AOS_NOT_A_DIRECTORY.*file\/x/);
    // The real process prints the same, and no "Uncaught".
    const real = await aosProcess(dir, "init", "file/x");
    assert.equal(real.code, 2);
    assert.match(real.stderr, ONE_FORM);
  });
  const denied = fsErrorToAos(
    new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir '/x/y'"),
  );
  assert.equal(denied?.code, "AOS_PERMISSION_DENIED");
  assert.match(denied?.message ?? "", /mkdir "\/x\/y"/);
  const exists = fsErrorToAos(new Deno.errors.AlreadyExists("File exists (os error 17): mkdir '/x'"));
  assert.equal(exists?.code, "AOS_PATH_EXISTS");
  const r = report(new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/etc/shadow'"));
  assert.deepEqual(r, {
    code: 2,
    stderr: 'error[AOS_PERMISSION_DENIED]: Cannot open "/etc/shadow": permission denied\n',
  });
});

Deno.test("errors: an InvariantError is reported as a bug (exit 1), as is any other unexpected error", () => {
  assert.deepEqual(report(new InvariantError("Reducer module was not loaded")), {
    code: 1,
    stderr: "error[AOS_INVARIANT]: Reducer module was not loaded (this is a bug)\n",
  });
  const other = report(new TypeError("x is not a function\n  at somewhere"));
  assert.equal(other.code, 1);
  assert.match(other.stderr, ONE_FORM);
  assert.match(other.stderr, /^error\[AOS_INTERNAL\]: TypeError: x is not a function .*\(this is a bug\)\n$/);
});

Deno.test("errors: init refuses a non-empty folder or one inside another world, unless --force", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(`${root}/busy`);
    await Deno.writeTextFile(`${root}/busy/notes.txt`, "mine");
    const busy = await expectAos(2, root, "init", "busy");
    assert.match(busy.stderr, /^error\[AOS_DIR_NOT_EMPTY\]: .*busy.*notes\.txt.*--force/);
    assert.ok(!(await exists(`${root}/busy/.aos`)));
    await expectAos(0, root, "init", "busy", "--force");
    assert.equal(await Deno.readTextFile(`${root}/busy/notes.txt`), "mine");

    // Inside another world (here, its air/ folder's sibling).
    const nested = await expectAos(2, `${root}/busy`, "init", "inner");
    assert.match(nested.stderr, /^error\[AOS_WORLD_EXISTS\]: .*inner.* is inside the world at .*busy/);
    assert.ok(!(await exists(`${root}/busy/inner`)));
    await expectAos(0, `${root}/busy`, "init", "inner", "--force");

    // A folder holding only its own air/ and modules/ (and hidden files) is fine.
    await copyDir(`${COUNTER_EXAMPLE}/air`, `${root}/own/air`);
    await copyDir(`${COUNTER_EXAMPLE}/modules`, `${root}/own/modules`);
    await Deno.writeTextFile(`${root}/own/.gitignore`, ".aos/\n");
    await expectAos(0, root, "init", "own");
    // A world is never overwritten, even with --force.
    assert.match((await expectAos(2, root, "init", "own", "--force")).stderr, /AOS_WORLD_EXISTS/);
  });
});
