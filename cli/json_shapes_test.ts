/**
 * README's "`--json` shapes" against real output: every command whose help offers `--json` has a shape
 * there, and running it on a small world prints exactly the documented top-level fields, in that order.
 *
 * The README section is the one source: each shape is written `` `LABEL`: `SHAPE` `` (a parenthetical may
 * follow the label) where SHAPE is
 * `{a, b?, c: …, ...OTHER LABEL}` (an object; `b?` may be absent; `...L` spreads the fields of L's shape,
 * or of its entries when it is a list) or `[{…}]` (a list of such objects).
 */
import assert from "node:assert/strict";
import { aos, copyDir, expectAos, type Run, withTempDir } from "./_test_helpers.ts";

const README = new URL("../README.md", import.meta.url);

/** The README's `--json` section. */
async function shapesSection(): Promise<string> {
  const text = await Deno.readTextFile(README);
  const start = text.indexOf("### `--json` shapes");
  assert.ok(start >= 0, "README has no ### `--json` shapes section");
  const end = text.indexOf("\n## ", start);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Every `` `LABEL`: `SHAPE` `` of the section, by label. */
export function documentedShapes(section: string): Map<string, string> {
  const shapes = new Map<string, string>();
  for (const match of section.matchAll(/`([a-z][a-z -]*)`(?:\s*\([^)]*\))?:\s*`([[{][^`]*)`/g)) {
    assert.ok(!shapes.has(match[1]!), `README documents "${match[1]}" twice`);
    shapes.set(match[1]!, match[2]!);
  }
  return shapes;
}

/** The top-level fields of a shape: `{name, optional}` in order, spreads expanded. */
export interface Field {
  name: string;
  optional: boolean;
}

/** A shape's top-level form: a list of objects or one object, with its fields. */
export function parseShape(label: string, shapes: ReadonlyMap<string, string>, seen: string[] = []): {
  list: boolean;
  fields: Field[];
} {
  const shape = shapes.get(label);
  assert.ok(shape !== undefined, `README documents no shape for "${label}" (${seen.join(" -> ")})`);
  assert.ok(
    !seen.includes(label),
    `README shapes spread each other in a cycle: ${[...seen, label].join(" -> ")}`,
  );
  let body = shape.trim();
  const list = body.startsWith("[");
  if (list) {
    assert.ok(body.endsWith("]"), `"${label}": a list shape ends with ]: ${shape}`);
    body = body.slice(1, -1).trim();
  }
  assert.ok(body.startsWith("{"), `"${label}": a shape is an object or a list of objects: ${shape}`);
  const close = matchingBrace(body);
  const inner = body.slice(1, close);
  const fields: Field[] = [];
  for (const part of splitTopLevel(inner)) {
    const spread = /^\.\.\.\s*([a-z][a-z -]*)$/.exec(part);
    if (spread) {
      fields.push(...parseShape(spread[1]!.trim(), shapes, [...seen, label]).fields);
      continue;
    }
    const field = /^"?([a-z_][a-z0-9_]*)"?(\?)?/.exec(part);
    assert.ok(field, `"${label}": cannot read the field "${part}" in ${shape}`);
    fields.push({ name: field[1]!, optional: field[2] === "?" });
  }
  return { list, fields };
}

function matchingBrace(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if ("{[(".includes(text[i]!)) depth++;
    if ("}])".includes(text[i]!) && --depth === 0) return i;
  }
  throw new Error(`Unbalanced shape: ${text}`);
}

/** Splits at commas outside brackets. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if ("{[(".includes(ch)) depth++;
    if ("}])".includes(ch)) depth--;
    if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts;
}

/** A command found by walking `aos --help`: its words, whether it offers `--json`, whether it is only a group. */
interface Command {
  name: string;
  json: boolean;
  group: boolean;
}

/** Every command below `path`, found by walking `aos --help` (commander's "Commands:" lists). */
async function commandsOf(cwd: string, path: string[] = []): Promise<Command[]> {
  const help = await aos(cwd, ...path, "--help");
  assert.equal(help.code, 0, help.stderr);
  const found: Command[] = [];
  if (path.length > 0) {
    // A group without an action of its own: `Usage: aos air [options] [command]`, no `--json`.
    const json = /^\s+--json\b/m.test(help.stdout);
    const group = /^Usage: aos [a-z ]+ \[options\] \[command\]$/m.test(help.stdout) && !json;
    found.push({ name: path.join(" "), json, group });
  }
  const commands = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help.stdout)?.[1] ?? "";
  for (const line of commands.split("\n")) {
    const name = /^ {2}([a-z][a-z-]*)/.exec(line)?.[1];
    if (name !== undefined && name !== "help") found.push(...await commandsOf(cwd, [...path, name]));
  }
  return found;
}

/** Documented labels whose output is not an object (their prose says what it is). */
const NOT_OBJECTS = new Set(["state get"]);

/** The top-level fields of an output value, checked against a documented shape. */
function assertMatches(label: string, args: string[], run: Run, shapes: ReadonlyMap<string, string>): void {
  assert.equal(run.code, 0, `aos ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  const { list, fields } = parseShape(label, shapes);
  const lines = label === "journal show" ? run.stdout.trim().split("\n") : [run.stdout];
  for (const line of lines) {
    const value: unknown = JSON.parse(line);
    const objects = list ? value : [value];
    assert.ok(Array.isArray(objects), `"${label}" is documented as a list: ${line.slice(0, 200)}`);
    assert.ok(objects.length > 0, `"${label}": the test needs a non-empty list to check`);
    for (const object of objects) {
      assert.ok(typeof object === "object" && object !== null && !Array.isArray(object));
      const actual = Object.keys(object);
      const documented = fields.map((f) => f.name);
      const missing = fields.filter((f) => !f.optional && !actual.includes(f.name)).map((f) => f.name);
      const extra = actual.filter((k) => !documented.includes(k));
      assert.deepEqual(
        { missing, extra },
        { missing: [], extra: [] },
        `aos ${args.join(" ")}: README's "${label}" shape differs from the output's fields ${
          actual.join(", ")
        }`,
      );
      assert.deepEqual(
        actual,
        documented.filter((name) => actual.includes(name)),
        `aos ${args.join(" ")}: README lists "${label}" fields in another order`,
      );
    }
  }
}

Deno.test("README documents the --json shape of every command, and each matches real output", async () => {
  const shapes = documentedShapes(await shapesSection());
  await withTempDir(async (root) => {
    const covered = new Set<string>();
    const check = async (label: string, cwd: string, ...args: string[]) => {
      covered.add(label.replace(/ --dry-run$/, ""));
      const run = await aos(cwd, ...args, "--json");
      if (NOT_OBJECTS.has(label)) {
        assert.equal(run.code, 0, run.stderr);
        assert.ok(
          (await shapesSection()).includes(`\`${label}\`:`),
          `README does not document "${label}"`,
        );
        JSON.parse(run.stdout);
        return run;
      }
      assertMatches(label, args, run, shapes);
      return run;
    };
    const w = `${root}/w`;
    await check("version", root, "version");
    await check("init", root, "init", "w", "--template", "fetch-notify");
    await check("new reducer", root, "new", "reducer", "hello", "--dir", "hello");
    await check("air check", w, "air", "check");
    await check("air hash", w, "air", "hash", "air/manifest.air.json");
    await check("air fmt", w, "air", "fmt", "--check");
    await check(
      "event send",
      w,
      "event",
      "send",
      "demo/Notify@1",
      '{"request_id": "r0", "url": "http://127.0.0.1:9/x"}',
    );
    await check("step", w, "step");
    const snapshot = await check("snapshot", w, "snapshot");
    const snapshotHeight = String(JSON.parse(snapshot.stdout).height);
    await check("snapshot ls", w, "snapshot", "ls");
    await check("state get", w, "state", "get", "demo/Notifier@1", "--key", "r0");
    const input = '{"url": "http://127.0.0.1:9/x", "request_id": "r1"}';
    const started = await check("plan start", w, "plan", "start", "demo/fetch@1", input);
    const id = String(JSON.parse(started.stdout).instance_id);
    await check("plan ls", w, "plan", "ls");
    await check("plan show", w, "plan", "show", id);
    await check("info", w, "info");
    await check("plan cancel", w, "plan", "cancel", id);
    await check("run", w, "run", "--timeout", "5s");
    const intent = "ab".repeat(32);
    await Deno.writeTextFile(
      `${w}/r.json`,
      `{"intent_hash": "sha256:${intent}", "adapter_id": "nobody", "status": "ok", "payload": "", ` +
        `"fence": {"generation": 0, "height": 0}, "signature": "00"}`,
    );
    await check("receipts submit", w, "receipts", "submit", "r.json");
    await expectAos(0, w, "step");
    await check("receipts ls", w, "receipts", "ls");
    await check("receipts show", w, "receipts", "show", intent.slice(0, 12));
    await check("journal show", w, "journal", "show");
    await check("journal verify", w, "journal", "verify");
    await check("replay", w, "replay", "--verify");
    await check("journal repair", w, "journal", "repair", "--quarantine");
    await check("manifest show", w, "manifest", "show");
    await check("world export", w, "world", "export", `${root}/exported`);

    // Governance: a copy of the AIR with one more schema.
    await copyDir(`${w}/air`, `${root}/edit/air`);
    await copyDir(`${w}/modules`, `${root}/edit/modules`);
    const addSchema = async (name: string) => {
      const schemas = JSON.parse(await Deno.readTextFile(`${root}/edit/air/schemas.air.json`));
      schemas.push({ $kind: "defschema", name, type: { text: {} } });
      await Deno.writeTextFile(`${root}/edit/air/schemas.air.json`, JSON.stringify(schemas));
      const manifest = JSON.parse(await Deno.readTextFile(`${root}/edit/air/manifest.air.json`));
      manifest.schemas.push({ name });
      await Deno.writeTextFile(`${root}/edit/air/manifest.air.json`, JSON.stringify(manifest));
    };
    await addSchema("demo/Extra@1");
    await check("proposal submit --dry-run", w, "proposal", "submit", "--air", "../edit/air", "--dry-run");
    const submitted = await check("proposal submit", w, "proposal", "submit", "--air", "../edit/air");
    const proposal = String(JSON.parse(submitted.stdout).id);
    await check("proposal shadow", w, "proposal", "shadow", proposal);
    await check("proposal approve", w, "proposal", "approve", proposal, "--approver", "ana");
    await check("proposal apply", w, "proposal", "apply", proposal);
    await check("proposal show", w, "proposal", "show", proposal);
    await addSchema("demo/Other@1");
    const second = await expectAos(0, w, "proposal", "submit", "--air", "../edit/air", "--json");
    const rejected = String(JSON.parse(second.stdout).id);
    await check("proposal reject", w, "proposal", "reject", rejected, "--approver", "ana");
    await check("proposal ls", w, "proposal", "ls");
    await check("rollback", w, "rollback", "--to", snapshotHeight);

    await expectAos(0, root, "init", "cells", "--template", "cells");
    const cellEvent = '{"user": "al", "by": 1}';
    await expectAos(0, `${root}/cells`, "event", "send", "demo/CellIncrement@1", cellEvent, "--key", "al");
    await expectAos(0, `${root}/cells`, "step");
    await check("state ls", `${root}/cells`, "state", "ls", "demo/CellCounter@1");

    // Every command with --json is run above, and nothing is documented that no command prints.
    const all = await commandsOf(root);
    assert.deepEqual(
      all.filter((c) => !c.json && !c.group).map((c) => c.name),
      [],
      "every command takes --json",
    );
    const commands = all.filter((c) => c.json).map((c) => c.name);
    for (const known of ["step", "snapshot ls", "new reducer", "proposal shadow"]) {
      assert.ok(commands.includes(known), `the help walk missed "${known}": ${commands.join(", ")}`);
    }
    assert.deepEqual(
      commands.filter((c) => !covered.has(c)),
      [],
      "commands with --json that this test does not run (add them here and their shape to README)",
    );
    assert.deepEqual(
      [...shapes.keys()].filter((label) => !covered.has(label.replace(/ --dry-run$/, ""))),
      [],
      "README documents shapes of commands that do not exist or this test does not run",
    );
  });
});

Deno.test("json shapes: a shape with spreads, optional fields and nested brackets parses to its top-level fields", () => {
  const shapes = documentedShapes(
    "- `a ls`: `[{id, state: {x, y} | null, tags: [text]}]`; `a show`: `{...a ls, extra?, f: (g, h)}`",
  );
  assert.deepEqual(parseShape("a show", shapes), {
    list: false,
    fields: [
      { name: "id", optional: false },
      { name: "state", optional: false },
      { name: "tags", optional: false },
      { name: "extra", optional: true },
      { name: "f", optional: false },
    ],
  });
  assert.equal(parseShape("a ls", shapes).list, true);
  assert.throws(() => parseShape("missing", shapes), /README documents no shape for "missing"/);
});
