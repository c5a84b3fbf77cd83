import assert from "node:assert/strict";
import type { NodeIssue } from "./node_issue.ts";
import { typeExprIssues } from "./type_expr_schema.ts";

function only(issues: NodeIssue[], code: string, path: Array<string | number>): void {
  assert.deepEqual(issues.map((i) => [i.code, i.path]), [[code, path]], JSON.stringify(issues));
}

Deno.test("typeExprIssues() accepts every form of AIR §2", () => {
  const types = [
    { bool: {} },
    { dec128: {} },
    { unit: {} },
    { record: {} },
    { record: { a: { int: {} }, b: { option: { text: {} } } } },
    { variant: { Reset: { unit: {} }, Add: { nat: {} } } },
    { list: { bytes: {} } },
    { set: { uuid: {} } },
    { map: { key: { hash: {} }, value: { list: { time: {} } } } },
    { map: { key: { ref: "demo/Key@1" }, value: { duration: {} } } },
    { ref: "com.acme/rss_fetch@12" },
  ];
  for (const type of types) assert.deepEqual(typeExprIssues(type), [], JSON.stringify(type));
});

Deno.test("typeExprIssues() reports malformed types at their path", () => {
  const cases: Array<[unknown, string, Array<string | number>]> = [
    [{ nat: {}, int: {} }, "AIR_SHAPE", []],
    [{}, "AIR_SHAPE", []],
    [[], "AIR_SHAPE", []],
    [{ float: {} }, "AIR_SHAPE", ["float"]],
    [{ nat: { max: 3n } }, "AIR_SHAPE", ["nat"]],
    [{ record: { a: { list: "text" } } }, "AIR_SHAPE", ["record", "a", "list"]],
    [{ map: { key: { text: {} } } }, "AIR_SHAPE", ["map", "value"]],
    [{ map: { key: { text: {} }, value: { text: {} }, extra: {} } }, "AIR_SHAPE", ["map", "extra"]],
    [{ variant: { A: { ref: 3n } } }, "AIR_NAME_INVALID", ["variant", "A", "ref"]],
  ];
  for (const [type, code, path] of cases) only(typeExprIssues(type), code, path);
});

Deno.test("typeExprIssues() bounds the nesting depth", () => {
  let type: unknown = { nat: {} };
  for (let i = 0; i < 100; i++) type = { list: type };
  const issues = typeExprIssues(type);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.code, "AIR_SHAPE");
  assert.match(issues[0]?.message ?? "", /deeper/);
});
