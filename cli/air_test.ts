/**
 * End-to-end tests of `aos air check|hash|fmt` and `aos init DIR --from PATH`: every command runs in process
 * (`runCli` with its own cwd and captured output) in a temporary folder; the tests check exit codes, the
 * `--json` reports and the files left behind.
 */
import assert from "node:assert/strict";
import { nodeHash, parseAirNode, parseJson } from "../air/mod.ts";
import { Code, I32, WasmModuleBuilder } from "../kernel/mod.ts";
import { copyDir, COUNTER_EXAMPLE as COUNTER, exists, expectAos, withTempDir } from "./_test_helpers.ts";

/** Copies the counter example (air/ and modules/) to `dir`. */
async function copyCounter(dir: string): Promise<void> {
  for (const sub of ["air", "modules"]) await copyDir(`${COUNTER}/${sub}`, `${dir}/${sub}`);
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
}

interface CheckReport {
  ok: boolean;
  diagnostics: Array<
    {
      code: string;
      message: string;
      severity: string;
      file: string | null;
      path: string | null;
      def: string | null;
      step: string | null;
    }
  >;
}

/** A diagnostic as `CODE file path def step` (file relative to `dir`), for exact comparisons. */
function located(report: CheckReport, dir: string): string[] {
  return report.diagnostics.map((d) => {
    const file = d.file?.startsWith(`${dir}/`) ? d.file.slice(dir.length + 1) : d.file;
    return [d.code, file, d.path, d.def ?? "-", d.step ?? "-"].join(" ");
  }).sort();
}

/** The node hash of every node of an AIR file, computed in process. */
async function nodeHashes(path: string): Promise<Array<{ kind: string; name: string; hash: string }>> {
  const json = parseJson(await Deno.readTextFile(path));
  return (Array.isArray(json) ? json : [json]).map((raw) => {
    const parsed = parseAirNode(raw);
    assert.ok(parsed.ok && parsed.node.$kind !== "manifest");
    return { kind: parsed.node.$kind, name: parsed.node.name, hash: nodeHash(parsed.node) };
  });
}

const MISSING_WASM = `sha256:${"1".repeat(64)}`;

/** A folder with eight unrelated defects across five files (one JSON error, shape, types, refs, plan). */
const DEFECTS: Record<string, string> = {
  "schemas.air.json": JSON.stringify([
    { $kind: "defschema", name: "demo/State@1", type: { record: { count: { nat: {} } } } },
    { $kind: "defschema", name: "demo/Increment@1", type: { record: { by: { nat: {} } } } },
    { $kind: "defschema", name: "demo/Extra@1", type: { nat: {} }, extra: true },
    { $kind: "defschema", name: "demo/Bad@1", type: { map: { key: { bool: {} }, value: { nat: {} } } } },
  ]),
  "module.air.json": JSON.stringify({
    $kind: "defmodule",
    name: "demo/M@1",
    module_kind: "reducer",
    wasm_hash: MISSING_WASM,
    abi: { reducer: { state: "demo/State@1", event: "demo/Missing@1" } },
  }),
  "plan.air.json": JSON.stringify({
    $kind: "defplan",
    name: "demo/p@1",
    input: "demo/Increment@1",
    steps: [{ id: "a", op: "assign", expr: { ref: "@var:nope" }, bind: { as: "x" } }, { id: "b", op: "end" }],
    edges: [{ from: "a", to: "b" }, { from: "b", to: "zzz" }],
  }),
  "policy.air.json": '{"$kind": "defpolicy", "name": "demo/pol@1", "rules": [], "weight": 0.5}',
  "manifest.air.json": JSON.stringify({
    $kind: "manifest",
    schemas: [
      { name: "demo/State@1", hash: `sha256:${"0".repeat(63)}1` },
      { name: "demo/Increment@1" },
      { name: "demo/Bad@1" },
    ],
    modules: [{ name: "demo/M@1" }],
    plans: [{ name: "demo/p@1" }],
    caps: [],
    policies: [],
    defaults: { policy: "demo/nope@1" },
  }),
};

const DEFECTS_FOUND = [
  "AIR_JSON_INVALID policy.air.json $.weight - -",
  "AIR_MANIFEST_HASH_MISMATCH manifest.air.json $.schemas[0].hash - -",
  "AIR_PLAN_EDGE_UNKNOWN_STEP plan.air.json $.edges[1].to demo/p@1 -",
  "AIR_PLAN_REF_UNBOUND plan.air.json $.steps[0].expr demo/p@1 a",
  "AIR_REF_UNKNOWN manifest.air.json $.defaults.policy - -",
  "AIR_SCHEMA_UNKNOWN module.air.json $.abi.reducer.event demo/M@1 -",
  "AIR_SHAPE schemas.air.json $[2].extra demo/Extra@1 -",
  "AIR_TYPE_INVALID schemas.air.json $[3].type.map.key demo/Bad@1 -",
];

Deno.test("aos air check: a valid folder passes (exit 0), in text and --json", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    const json = await expectAos(0, dir, "air", "check", "src", "--json");
    assert.equal(json.stdout.trim(), '{"ok":true,"diagnostics":[]}');
    // PATH without *.air.json at its top is read from its air/ (WASM from PATH/ and PATH/modules/).
    const text = await expectAos(0, dir, "air", "check", "src");
    assert.match(text.stdout, /^AIR OK: 3 files in .*\/src$/m);
    assert.equal(text.stderr, "");
  });
});

Deno.test("aos air check: every defect of a broken folder is reported with code, file, path (exit 2)", async () => {
  await withTempDir(async (dir) => {
    await writeFiles(`${dir}/bad`, DEFECTS);
    const json = await expectAos(2, dir, "air", "check", "bad", "--json");
    const report = JSON.parse(json.stdout) as CheckReport;
    assert.equal(report.ok, false);
    assert.deepEqual(located(report, `${dir}/bad`), DEFECTS_FOUND);
    for (const d of report.diagnostics) {
      assert.equal(d.severity, "error");
      assert.ok(d.message.length > 0, d.code);
    }
    // The text form prints each one as `file:path: [CODE] message` on stderr, then a count.
    const text = await expectAos(2, dir, "air", "check", "bad");
    for (const d of report.diagnostics) {
      assert.ok(
        text.stderr.includes(`${d.file}:${d.path}: [${d.code}] ${d.message}`),
        `${d.code} in:\n${text.stderr}`,
      );
    }
    assert.match(text.stderr, /AIR invalid: 8 problems in /);
    assert.equal(text.stdout, "");
  });
});

Deno.test("aos air check: a valid folder whose module's WASM is missing fails (AIR_WASM_MISSING)", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    await Deno.remove(`${dir}/src/modules`, { recursive: true });
    const report = JSON.parse(
      (await expectAos(2, dir, "air", "check", "src", "--json")).stdout,
    ) as CheckReport;
    assert.deepEqual(located(report, `${dir}/src`), [
      "AIR_WASM_MISSING air/module.air.json $.wasm_hash demo/Counter@1 -",
    ]);
  });
});

Deno.test("aos air check: without PATH it checks the world's air/ (cwd or --world)", async () => {
  await withTempDir(async (dir) => {
    await expectAos(0, dir, "init", "w", "--from", COUNTER);
    const world = `${dir}/w`;
    assert.equal(
      (await expectAos(0, world, "air", "check", "--json")).stdout.trim(),
      '{"ok":true,"diagnostics":[]}',
    );
    // Naming the world's air/ folder explicitly finds the modules in the world's modules/ too.
    assert.equal(
      (await expectAos(0, dir, "air", "check", "w/air", "--json")).stdout.trim(),
      '{"ok":true,"diagnostics":[]}',
    );
    // Break the world's own authoring copy: the check (from a subfolder, or with --world) sees it.
    const schemas = `${world}/air/schemas.air.json`;
    const nodes = JSON.parse(await Deno.readTextFile(schemas));
    nodes[1].note = "x";
    await Deno.writeTextFile(schemas, JSON.stringify(nodes));
    await Deno.mkdir(`${world}/sub`);
    for (const [cwd, args] of [[`${world}/sub`, []], [dir, ["--world", "w"]]] as const) {
      const report = JSON.parse(
        (await expectAos(2, cwd, ...args, "air", "check", "--json")).stdout,
      ) as CheckReport;
      assert.deepEqual(located(report, world), [
        "AIR_SHAPE air/schemas.air.json $[1].note demo/Increment@1 -",
      ]);
    }
    // Outside any world, and without PATH, there is nothing to check.
    const outside = await expectAos(2, dir, "air", "check");
    assert.match(outside.stderr, /AOS_WORLD_NOT_FOUND/);
  });
});

Deno.test("aos air hash: each node's hash, kind and name; the manifest's is the one init reports", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    const schemas = `${dir}/src/air/schemas.air.json`;
    const expected = await nodeHashes(schemas);
    assert.equal(expected.length, 2);
    const text = await expectAos(0, dir, "air", "hash", "src/air/schemas.air.json");
    assert.deepEqual(
      text.stdout.trim().split("\n"),
      expected.map((n) => `${n.hash}  ${n.kind.padEnd(9)} ${n.name}`),
    );
    const json = await expectAos(0, dir, "air", "hash", "src/air/module.air.json", "--json");
    assert.deepEqual(JSON.parse(json.stdout), await nodeHashes(`${dir}/src/air/module.air.json`));

    // The hand-written manifest omits ref hashes: `air hash` fills them as the loader does.
    const manifest = JSON.parse(
      (await expectAos(0, dir, "air", "hash", "src/air/manifest.air.json", "--json")).stdout,
    );
    assert.equal(manifest.length, 1);
    assert.equal(manifest[0].kind, "manifest");
    assert.match(manifest[0].hash, /^sha256:[0-9a-f]{64}$/);
    const init = JSON.parse((await expectAos(0, dir, "init", "w", "--from", "src", "--json")).stdout);
    assert.equal(init.manifest_hash, manifest[0].hash);
    // …and it is the node hash of the manifest the world stored.
    const stored = parseAirNode(parseJson(await Deno.readTextFile(`${dir}/w/.aos/manifest.json`)));
    assert.ok(stored.ok);
    assert.equal(nodeHash(stored.node), manifest[0].hash);

    // An invalid node is refused with its code (exit 2); a missing file is a usage error.
    await Deno.writeTextFile(`${dir}/bad.air.json`, '[{"$kind": "defschema", "name": "demo/X@1"}]');
    const bad = await expectAos(2, dir, "air", "hash", "bad.air.json");
    assert.match(bad.stderr, /node 0: \[AIR_SHAPE\] .*type/);
    await expectAos(2, dir, "air", "hash", "nope.air.json");
  });
});

Deno.test("aos air fmt: --check finds unformatted files (exit 1); fmt fixes them, idempotently, keeping hashes", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    const air = `${dir}/src/air`;
    await expectAos(0, dir, "air", "fmt", "--check", "src/air");
    // Scramble the layout and key order of one file (same nodes).
    const file = `${air}/schemas.air.json`;
    const before = await nodeHashes(file);
    const nodes = JSON.parse(await Deno.readTextFile(file)) as Array<Record<string, unknown>>;
    const scrambled = nodes.map((n) => ({ type: n.type, name: n.name, $kind: n.$kind }));
    await Deno.writeTextFile(file, JSON.stringify(scrambled, null, 8));

    const check = await expectAos(1, dir, "air", "fmt", "--check", "src/air");
    assert.equal(check.stderr.trim(), `not formatted: ${file}`);
    assert.equal(await Deno.readTextFile(file), JSON.stringify(scrambled, null, 8), "--check writes nothing");

    const fmt = await expectAos(0, dir, "air", "fmt", "src/air");
    assert.match(fmt.stdout, /Formatted 1 of 3 files/);
    const formatted = await Deno.readTextFile(file);
    assert.notEqual(formatted, JSON.stringify(scrambled, null, 8));
    assert.ok(formatted.startsWith('[\n  {"$kind": "defschema", "name": '), formatted);
    assert.ok(formatted.endsWith("\n"));
    await expectAos(0, dir, "air", "fmt", "--check", "src/air");
    // Idempotent: a second run changes nothing.
    assert.match((await expectAos(0, dir, "air", "fmt", "src/air")).stdout, /Formatted 0 of 3 files/);
    assert.equal(await Deno.readTextFile(file), formatted);
    // Same nodes, same hashes; the folder still checks.
    assert.deepEqual(await nodeHashes(file), before);
    await expectAos(0, dir, "air", "check", "src");
  });
});

Deno.test("aos init --from: the counter example becomes a world; an invalid folder is refused, creating nothing", async () => {
  await withTempDir(async (dir) => {
    const ok = await expectAos(0, dir, "init", "w", "--from", COUNTER, "--json");
    const summary = JSON.parse(ok.stdout);
    assert.deepEqual(summary.reducers, ["demo/Counter@1"]);
    assert.match(summary.manifest_hash, /^sha256:[0-9a-f]{64}$/);
    assert.ok(await exists(`${dir}/w/.aos/manifest.air.cbor`));
    for (const name of ["manifest.air.json", "module.air.json", "schemas.air.json"]) {
      assert.equal(
        await Deno.readTextFile(`${dir}/w/air/${name}`),
        await Deno.readTextFile(`${COUNTER}/air/${name}`),
        name,
      );
    }
    // A second init into the same folder is refused.
    assert.match((await expectAos(2, dir, "init", "w", "--from", COUNTER)).stderr, /AOS_WORLD_EXISTS/);

    await writeFiles(`${dir}/bad`, DEFECTS);
    const check = await expectAos(2, dir, "air", "check", "bad");
    const refused = await expectAos(2, dir, "init", "w2", "--from", "bad");
    // The same diagnostics, in the same order, as `air check` prints them.
    const lines = (text: string) =>
      text.split("\n").map((l) => l.trim()).filter((l) => /\[AIR_[A-Z_]+\]/.test(l));
    assert.equal(lines(check.stderr).length, DEFECTS_FOUND.length);
    assert.deepEqual(lines(refused.stderr), lines(check.stderr));
    assert.match(refused.stderr, /error\[AOS_AIR_INVALID\]: Invalid AIR \(8 problems\)/);
    assert.equal(await exists(`${dir}/w2/.aos`), false);
    assert.equal(await exists(`${dir}/w2`), false, "nothing is created for a refused folder");
  });
});

Deno.test("aos air hash FILE.wasm prints the module's wasm_hash, as the defmodule names it; a non-WASM file is exit 2", async () => {
  await withTempDir(async (dir) => {
    const module = JSON.parse(await Deno.readTextFile(`${COUNTER}/air/module.air.json`));
    const declared = (Array.isArray(module) ? module : [module]).find((n: { $kind: string }) =>
      n.$kind === "defmodule"
    )
      .wasm_hash;
    const wasm = `${COUNTER}/modules/counter.wasm`;
    const [row] = JSON.parse((await expectAos(0, dir, "air", "hash", wasm, "--json")).stdout);
    assert.deepEqual(row, { kind: "wasm", name: wasm, hash: declared });
    assert.match((await expectAos(0, dir, "air", "hash", wasm)).stdout, new RegExp(`^${declared}  wasm`));
    await Deno.writeTextFile(`${dir}/fake.wasm`, "not wasm");
    const bad = await expectAos(2, dir, "air", "hash", "fake.wasm");
    assert.match(bad.stderr, /^error\[AOS_WASM_INVALID\]: fake\.wasm is not a WASM module/);
  });
});

Deno.test("aos air hash DIR hashes every AIR node of the folder and every .wasm beside it; a missing path is exit 2 naming it", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    const byFile = [];
    for (const name of ["manifest", "module", "schemas"]) {
      byFile.push(
        ...JSON.parse((await expectAos(0, dir, "air", "hash", `src/air/${name}.air.json`, "--json")).stdout),
      );
    }
    const wasm = JSON.parse(
      (await expectAos(0, dir, "air", "hash", "src/modules/counter.wasm", "--json")).stdout,
    );
    const folder = JSON.parse((await expectAos(0, dir, "air", "hash", "src", "--json")).stdout);
    assert.deepEqual(folder, [...byFile, ...wasm]);
    // The air/ folder itself finds the modules in ../modules, as `air check` does.
    assert.deepEqual(
      JSON.parse((await expectAos(0, dir, "air", "hash", "src/air", "--json")).stdout),
      folder,
    );
    const missing = await expectAos(2, dir, "air", "hash", "nowhere");
    assert.equal(missing.stderr.trim(), 'error[AOS_USAGE]: No such file or folder: "nowhere"');
  });
});

Deno.test("air: init --from refuses a reducer whose start function loops forever: fuel stops it, AIR_WASM_INVALID, exit 2", async () => {
  await withTempDir(async (dir) => {
    await copyCounter(`${dir}/src`);
    // memory, alloc(len) -> 0, step(ptr, len) -> (0, 0), and a start function `loop br 0 end`.
    const builder = new WasmModuleBuilder().setMemory(1);
    const alloc = builder.addFunction({ params: [I32], results: [I32] }, new Code().i32Const(0));
    const step = builder.addFunction(
      { params: [I32, I32], results: [I32, I32] },
      new Code().i32Const(0).i32Const(0),
    );
    const start = builder.addFunction({ params: [], results: [] }, new Code().loop("spin").br("spin").end());
    const wasm = builder.exportMemory().exportFunction("alloc", alloc).exportFunction("step", step).setStart(
      start,
    )
      .build();
    new WebAssembly.Module(wasm); // well formed: only its start function is wrong
    const hash = `sha256:${
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", wasm)), (b) =>
        b.toString(16).padStart(2, "0"))
        .join("")
    }`;
    await Deno.writeFile(`${dir}/src/modules/counter.wasm`, wasm);
    const modulePath = `${dir}/src/air/module.air.json`;
    const text = await Deno.readTextFile(modulePath);
    await Deno.writeTextFile(modulePath, text.replace(/sha256:[0-9a-f]{64}/, hash));
    const run = await expectAos(2, dir, "init", "w", "--from", "src");
    assert.match(
      run.stderr,
      /error\[AOS_AIR_INVALID\]: [\s\S]*AIR_WASM_INVALID[\s\S]*start function trapped at instantiation/,
    );
  });
});
