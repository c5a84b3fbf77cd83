/**
 * Fuzzing of the AIR inputs a user controls (issue 13, "Proving it"): the strict CBOR decoder, JSON, the
 * Expr parser, AIR loading and patch parsing get random and mutated inputs and must answer with a typed
 * `AosError` (or a result carrying diagnostics), never an uncaught exception of another type or a hang.
 * Run counts are modest by default; `AOS_FUZZ_RUNS=<n>` runs each property `n` times.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.11.0";
import {
  AosError,
  type CborValue,
  decodeCanonical,
  encodeCanonical,
  type JsonValue,
  loadAirBundle,
  parseExpr,
  parseJson,
  parsePatchDocument,
  patchBytes,
  stringifyJson,
} from "./mod.ts";

const RUNS = Number(Deno.env.get("AOS_FUZZ_RUNS") ?? "0") || undefined;
const runs = (fallback: number) => ({ numRuns: RUNS ?? fallback });

/** Runs `fn`; an `AosError` is a typed answer, anything else thrown fails the property with the input. */
function typed(fn: () => unknown, input: unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof AosError) return;
    const shown = typeof input === "string" ? JSON.stringify(input.slice(0, 200)) : String(input);
    assert.fail(`untyped ${(error as Error)?.name}: ${(error as Error)?.message} for input ${shown}`);
  }
}

/** Mutations of a byte string: flip a byte, cut, insert, duplicate a slice. */
function mutatedBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(
    base,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3)), {
      minLength: 1,
      maxLength: 4,
    }),
  ).map(([bytes, edits]) => {
    let out = bytes.slice();
    for (const [at, byte, how] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (how === 0) out[i] = byte;
      else if (how === 1) out = out.slice(0, i);
      else if (how === 2) out = Uint8Array.from([...out.slice(0, i), byte, ...out.slice(i)]);
      else out = Uint8Array.from([...out, ...out.slice(i, i + 8)]);
    }
    return out;
  });
}

/** Mutations of a text: replace, cut or insert characters (JSON punctuation is likely). */
function mutatedText(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const piece = fc.oneof(
    fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "0", "-1", "1e5", "null", "\\u", "\u0000", "é"),
    fc.string({ maxLength: 4 }),
  );
  return fc.tuple(base, fc.array(fc.tuple(fc.nat(), piece, fc.nat(2)), { minLength: 1, maxLength: 4 }))
    .map(([text, edits]) => {
      let out = text;
      for (const [at, insert, how] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (how === 0) out = out.slice(0, i) + insert + out.slice(i + 1);
        else if (how === 1) out = out.slice(0, i);
        else out = out.slice(0, i) + insert + out.slice(i);
      }
      return out;
    });
}

/** Replaces one random subtree of `value` (chosen by `path` numbers) with `replacement`. */
function replaceAt(value: JsonValue, path: number[], replacement: JsonValue): JsonValue {
  if (path.length === 0 || value === null || typeof value !== "object") return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const i = head! % value.length;
    return value.map((item, j) => (j === i ? replaceAt(item, rest, replacement) : item));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[head! % keys.length]!;
  return { ...value, [key]: replaceAt(value[key]!, rest, replacement) };
}

/** Any JSON value as `parseJson` gives it (integers as bigints). */
const anyJson: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    fc.constant(null),
    fc.boolean(),
    fc.bigInt(-(1n << 70n), 1n << 70n),
    fc.string({ maxLength: 8 }),
    fc.constantFrom("nat", "op", "ref", "$kind", "defschema", "@plan.input", `sha256:${"0".repeat(64)}`),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("op", "args", "nat", "record", "$kind", "name")),
      tie("value"),
      { maxKeys: 4 },
    ),
  ),
})).value;

/** Structural mutations of a JSON value: a random subtree replaced by random JSON. */
function mutatedJson(base: JsonValue): fc.Arbitrary<JsonValue> {
  return fc.tuple(fc.array(fc.nat(), { maxLength: 8 }), anyJson).map(([path, replacement]) =>
    replaceAt(base, path, replacement)
  );
}

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.bigInt(-(1n << 64n), (1n << 64n) - 1n),
    fc.integer(),
    fc.string(),
    fc.uint8Array({ maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

Deno.test("fuzz: decodeCanonical() answers random, mutated and deeply nested bytes with a value or an AosError", () => {
  const deep = fc.tuple(fc.constantFrom(0x81, 0xa1, 0xc2, 0x9f), fc.integer({ min: 1, max: 100_000 }))
    .map(([byte, depth]) => new Uint8Array(depth).fill(byte));
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    mutatedBytes(cborValue.map((v) => encodeCanonical(v))),
    deep,
  );
  fc.assert(
    fc.property(inputs, fc.boolean(), (bytes, useMaps) => {
      typed(() => decodeCanonical(bytes, { useMaps }), bytes);
    }),
    runs(400),
  );
});

Deno.test("fuzz: parseJson() answers random and mutated text with a value or AOS_JSON_INVALID", () => {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    mutatedText(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))),
  );
  fc.assert(
    fc.property(text, (input) => {
      try {
        parseJson(input, "fuzz.json");
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        assert.equal(error.code, "AOS_JSON_INVALID", error.message);
      }
    }),
    runs(400),
  );
});

const GOOD_EXPR = parseJson(
  `{"op": "if", "args": [
     {"op": "gt", "args": [{"ref": "@plan.input.n"}, {"nat": 3}]},
     {"record": {"a": {"text": "x"}, "b": {"list": [{"int": -1}, {"op": "len", "args": [{"ref": "@var:xs"}]}]}}},
     {"variant": {"tag": "None", "value": {"unit": {}}}}
   ]}`,
);

Deno.test("fuzz: parseExpr() answers random and mutated expressions with an expression or issues, never a throw", () => {
  const inputs = fc.oneof(anyJson, mutatedJson(GOOD_EXPR));
  fc.assert(
    fc.property(inputs, (json) => {
      const result = parseExpr(json as never, ["expr"]);
      assert.ok(result.ok || result.issues.length > 0, "a refused expression names an issue");
    }),
    runs(400),
  );
});

const EXAMPLE_AIR = new URL("../examples/fetch-notify/air/", import.meta.url);
const airFiles = await Promise.all(
  [...Deno.readDirSync(EXAMPLE_AIR)].filter((e) => e.name.endsWith(".json")).map(async (e) => ({
    path: e.name,
    text: await Deno.readTextFile(new URL(e.name, EXAMPLE_AIR)),
  })),
);

Deno.test("fuzz: loadAirBundle() answers mutated AIR files (text and structure) with diagnostics, never a throw", () => {
  assert.ok(airFiles.length >= 4, "the example's AIR files are there to mutate");
  assert.equal(loadAirBundle(airFiles).diagnostics.filter((d) => d.severity === "error").length, 0);
  const mutatedFiles = fc.tuple(
    fc.nat(airFiles.length - 1),
    fc.oneof(
      mutatedText(fc.constant(0).map(() => "")).map((t) => ({ text: t })),
      fc.nat().chain((i) => mutatedText(fc.constant(airFiles[i % airFiles.length]!.text))).map((t) => ({
        text: t,
      })),
      fc.nat().chain((i) => mutatedJson(parseJson(airFiles[i % airFiles.length]!.text))).map((json) => ({
        text: stringifyJson(json),
      })),
    ),
  ).map(([which, { text }]) => airFiles.map((file, i) => (i === which ? { path: file.path, text } : file)));
  fc.assert(
    fc.property(mutatedFiles, (files) => {
      typed(() => {
        const result = loadAirBundle(files);
        assert.ok(Array.isArray(result.diagnostics));
      }, files.map((f) => f.text).join("\n"));
    }),
    runs(80),
  );
});

const GOOD_PATCH = parseJson(`{
  "base_manifest_hash": "sha256:${"0f".repeat(32)}",
  "patches": [
    {"add_def": {"kind": "defschema", "node": {"$kind": "defschema", "name": "demo/A@1", "type": {"nat": {}}}}},
    {"replace_def": {"kind": "defschema", "name": "demo/A@1", "pre_hash": "sha256:${"ab".repeat(32)}",
      "new_node": {"$kind": "defschema", "name": "demo/A@1", "type": {"int": {}}}}},
    {"remove_def": {"kind": "defmodule", "name": "demo/M@1", "pre_hash": "sha256:${"ab".repeat(32)}"}},
    {"set_defaults": {"policy": "demo/p@1", "cap_grants": [{"name": "g", "cap": "sys/timer@1",
      "params": {"record": {}}, "budget": {"cents": 5}}]}},
    {"set_routing": {"events": [{"event": "demo/A@1", "reducer": "demo/M@1", "key_field": "id"}], "inboxes": []}},
    {"set_triggers": {"triggers": [{"event": "demo/A@1", "plan": "demo/p@1", "correlate_by": "id"}]}}
  ]
}`);

Deno.test("fuzz: parsePatchDocument() answers random, mutated and deep patch documents with a document (that hashes or gives a typed error) or AOS_PATCH_INVALID", () => {
  assert.equal(parsePatchDocument(GOOD_PATCH).patches.length, 6);
  // A schema nested `depth` deep inside an add_def: a document can only be hashed if it is not too deep.
  const deep = fc.integer({ min: 1, max: 2_000 }).map((depth) => {
    let type: JsonValue = { nat: {} };
    for (let i = 0; i < depth; i++) type = { list: type };
    return replaceAt(GOOD_PATCH, [1, 0, 0, 1, 2], type);
  });
  const inputs = fc.oneof(anyJson, mutatedJson(GOOD_PATCH), mutatedJson(GOOD_PATCH).chain(mutatedJson), deep);
  fc.assert(
    fc.property(inputs, (json) => {
      try {
        const doc = parsePatchDocument(json, "patch.json");
        // Hashing a parsed document may still refuse what CBOR cannot hold (too deep, beyond 64 bits).
        typed(() => patchBytes(doc), json);
      } catch (error) {
        if (!(error instanceof AosError)) throw error;
        assert.equal(error.code, "AOS_PATCH_INVALID", error.message);
      }
    }),
    runs(400),
  );
});
