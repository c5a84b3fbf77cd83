import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import { jsonPath, parseJson } from "./json.ts";
import { AosError } from "./errors.ts";

/** The first duplicate key's JSON path by a plain character-by-character scan: the reference. */
function referenceDuplicate(text: string): string | undefined {
  const stack: {
    object: boolean;
    keys: Set<string>;
    expectKey: boolean;
    path: (string | number)[];
    index: number;
    key?: string;
  }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return jsonPath([...top.path, key]);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") {
      const parent = stack[stack.length - 1];
      const at = parent === undefined
        ? []
        : [...parent.path, parent.object ? parent.key ?? "" : parent.index];
      stack.push({ object: c === "{", keys: new Set(), expectKey: c === "{", path: at, index: 0 });
    } else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
    }
    i++;
  }
  return undefined;
}

function duplicatePath(text: string): string | undefined {
  try {
    parseJson(text);
    return undefined;
  } catch (error) {
    if (!(error instanceof AosError) || !/duplicate key/.test(error.message)) throw error;
    return error.context?.path as string;
  }
}

/** JSON text with keys from a small set (so duplicates happen) full of quotes and backslashes. */
const key = fc.constantFrom("a", "b", '"', "\\", '\\"', "a\\", "\\\\", "x y", "é", "\u2028");
const space = fc.constantFrom("", " ", "\n", "\t ");
const text: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(
      fc.constant("null"),
      fc.constant("true"),
      fc.integer().map(String),
      key.map((k) => JSON.stringify(k)),
    ),
    fc.array(tie("value"), { maxLength: 4 }).chain((items) =>
      space.map((s) => `[${s}${items.join(`${s},${s}`)}${s}]`)
    ),
    fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }).chain((pairs) =>
      space.map((s) =>
        `{${s}${pairs.map(([k, v]) => `${JSON.stringify(k)}${s}:${s}${v}`).join(`,${s}`)}${s}}`
      )
    ),
  ),
})).value;

Deno.test("parseJson() names the first duplicate key by the same path as a character-by-character scan", () => {
  fc.assert(
    fc.property(text, (json) => {
      assert.equal(duplicatePath(json), referenceDuplicate(json));
    }),
    { numRuns: Number(Deno.env.get("AOS_FUZZ_RUNS") ?? 300) },
  );
});

Deno.test("parseJson() duplicate keys: escaped quotes and backslash runs, nested paths, and none", () => {
  assert.equal(duplicatePath(String.raw`{"a\\":1,"a\\":2}`), String.raw`$["a\\"]`);
  assert.equal(duplicatePath(String.raw`{"a\"":1,"a\"":2}`), String.raw`$["a\""]`);
  assert.equal(duplicatePath(String.raw`{"a\\\"":1,"a\\":2}`), undefined);
  assert.equal(duplicatePath(`[0, {"x": [1, {"k": 1, "k": 2}]}]`), "$[1].x[1].k");
  assert.equal(duplicatePath(`{"a": {"k": 1}, "b": {"k": 2}}`), undefined);
  assert.equal(duplicatePath(`{"s": "{\\"k\\": 1, \\"k\\": 2}"}`), undefined);
  // A large string and deep nesting cost time in proportion to the text.
  assert.equal(duplicatePath(JSON.stringify({ big: '\\"'.repeat(1_000_000), k: 1 })), undefined);
  const deep = '{"a":'.repeat(1_000) + '{"k":1,"k":2}' + "}".repeat(1_000);
  assert.equal(duplicatePath(deep), jsonPath([...Array(1_000).fill("a"), "k"]));
});
