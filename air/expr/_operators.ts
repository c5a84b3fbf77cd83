/**
 * Private to `air/expr/`: the eager operators of AIR §12.3 on evaluated arguments (`and`/`or` short-circuit
 * and live in the evaluator).
 *
 * @module
 */
import { AosError } from "../base/mod.ts";
import { bytesEqual } from "../cbor/mod.ts";
import { compareDec128, parseDec128, type Value, valueEquals } from "../value/mod.ts";
import { compareText, fitsRange, I64_MAX, I64_MIN, isInteger, textLength, U64_MAX } from "./_values.ts";
import type { OpName } from "./expr_ast.ts";
import { ExprError } from "./expr_error.ts";

type Path = ReadonlyArray<string | number>;
type Eager = Exclude<OpName, "and" | "or">;

const bool = (value: boolean): Value => ({ kind: "bool", value });
const nat = (value: bigint): Value => ({ kind: "nat", value });

function wrongKind(op: string, args: readonly Value[], expected: string, path: Path): ExprError {
  const got = args.map((arg) => arg.kind).join(", ");
  return new ExprError("wrong_kind", `Cannot evaluate "${op}": expected ${expected}, got (${got})`, path);
}

function missing(op: string, detail: string, path: Path): ExprError {
  return new ExprError("missing_ref", `Cannot evaluate "${op}": ${detail}`, path);
}

function recordSize(fields: Map<string, Value>): number {
  let count = 0;
  for (const field of fields.values()) if (field.kind !== "none") count++;
  return count;
}

function distinctCount(items: readonly Value[]): number {
  const distinct: Value[] = [];
  for (const item of items) if (!distinct.some((seen) => valueEquals(seen, item))) distinct.push(item);
  return distinct.length;
}

function bytesIndexOf(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (bytesEqual(haystack.subarray(i, i + needle.length), needle)) return true;
  }
  return false;
}

/** True when the collection `container` has `item` (record: a non-none field; map: a key; list/set: an element). */
function member(op: string, container: Value, item: Value, path: Path): boolean | undefined {
  switch (container.kind) {
    case "record":
      if (item.kind !== "text") throw wrongKind(op, [container, item], "(record, text)", path);
      return (container.value.get(item.value)?.kind ?? "none") !== "none";
    case "map":
      return container.value.some(([key]) => valueEquals(key, item));
    case "list":
    case "set":
      return container.value.some((element) => valueEquals(element, item));
    default:
      return undefined;
  }
}

function get(container: Value, key: Value, path: Path): Value {
  switch (container.kind) {
    case "none":
    case "unit":
      // As in reference paths: an absent option or empty payload has no member.
      throw missing("get", `no member in ${container.kind}`, path);
    case "record": {
      if (key.kind !== "text") break;
      const field = container.value.get(key.value);
      if (field === undefined) throw missing("get", `no field ${JSON.stringify(key.value)}`, path);
      return field;
    }
    case "map": {
      const entry = container.value.find(([k]) => valueEquals(k, key));
      if (entry === undefined) throw missing("get", "no such key in the map", path);
      return entry[1];
    }
    case "list": {
      if (key.kind !== "int" && key.kind !== "nat") break;
      const item = key.value >= 0n && key.value < BigInt(container.value.length)
        ? container.value[Number(key.value)]
        : undefined;
      if (item === undefined) throw missing("get", `index ${key.value} is out of range`, path);
      return item;
    }
  }
  throw wrongKind("get", [container, key], "(record, text), (map, key) or (list, int|nat)", path);
}

function compare(op: string, a: Value, b: Value, path: Path): number {
  if (isInteger(a) && isInteger(b)) return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  if (a.kind === "text" && b.kind === "text") return compareText(a.value, b.value);
  if (a.kind === "dec128" && b.kind === "dec128") {
    try {
      return compareDec128(parseDec128(a.value), parseDec128(b.value));
    } catch (cause) {
      if (!(cause instanceof AosError)) throw cause;
      throw new ExprError("wrong_kind", `Cannot evaluate "${op}": invalid dec128 argument`, path, { cause });
    }
  }
  throw wrongKind(op, [a, b], "two numbers (int, nat, time, duration), two texts or two dec128", path);
}

function arithmetic(op: "add" | "sub" | "mul" | "div" | "mod", a: Value, b: Value, path: Path): Value {
  if ((a.kind !== "int" && a.kind !== "nat") || (b.kind !== "int" && b.kind !== "nat")) {
    throw wrongKind(op, [a, b], "two int or nat", path);
  }
  if ((op === "div" || op === "mod") && b.value === 0n) {
    throw new ExprError("division_by_zero", `Cannot evaluate "${op}": division by zero`, path);
  }
  const x = a.value;
  const y = b.value;
  // bigint `/` truncates toward zero and `%` takes the dividend's sign, as AIR requires.
  const result = op === "add"
    ? x + y
    : op === "sub"
    ? x - y
    : op === "mul"
    ? x * y
    : op === "div"
    ? x / y
    : x % y;
  const kind = a.kind === "nat" && b.kind === "nat" && result >= 0n ? "nat" : "int";
  if (!fitsRange(result, kind)) {
    const range = kind === "nat" ? `0..${U64_MAX}` : `${I64_MIN}..${I64_MAX}`;
    throw new ExprError(
      "overflow",
      `Cannot evaluate "${op}": ${result} is outside the ${kind} range ${range}`,
      path,
    );
  }
  return { kind, value: result };
}

/** Applies an eager operator to its evaluated arguments (the arity is already checked). */
export function applyOp(op: Eager, args: readonly Value[], path: Path): Value {
  const a = args[0]!;
  const b = args[1]!;
  switch (op) {
    case "len":
      switch (a.kind) {
        case "list":
          return nat(BigInt(a.value.length));
        case "set":
          return nat(BigInt(distinctCount(a.value)));
        case "map":
          return nat(BigInt(distinctCount(a.value.map(([key]) => key))));
        case "record":
          return nat(BigInt(recordSize(a.value)));
        case "text":
          return nat(BigInt(textLength(a.value)));
        case "bytes":
          return nat(BigInt(a.value.length));
      }
      throw wrongKind(op, args, "a list, set, map, record, text or bytes", path);
    case "get":
      return get(a, b, path);
    case "has": {
      const found = member(op, a, b, path);
      if (found === undefined) throw wrongKind(op, args, "a record, map, set or list and a key", path);
      return bool(found);
    }
    case "eq":
      return bool(valueEquals(a, b));
    case "ne":
      return bool(!valueEquals(a, b));
    case "lt":
      return bool(compare(op, a, b, path) < 0);
    case "le":
      return bool(compare(op, a, b, path) <= 0);
    case "gt":
      return bool(compare(op, a, b, path) > 0);
    case "ge":
      return bool(compare(op, a, b, path) >= 0);
    case "not":
      if (a.kind !== "bool") throw wrongKind(op, args, "a bool", path);
      return bool(!a.value);
    case "concat":
      if (a.kind !== "text" || b.kind !== "text") throw wrongKind(op, args, "two texts", path);
      return { kind: "text", value: a.value + b.value };
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "mod":
      return arithmetic(op, a, b, path);
    case "starts_with":
    case "ends_with":
      if (a.kind !== "text" || b.kind !== "text") throw wrongKind(op, args, "two texts", path);
      return bool(op === "starts_with" ? a.value.startsWith(b.value) : a.value.endsWith(b.value));
    case "contains":
      if (a.kind === "text" && b.kind === "text") return bool(a.value.includes(b.value));
      if (a.kind === "bytes" && b.kind === "bytes") return bool(bytesIndexOf(a.value, b.value));
      if (a.kind === "list" || a.kind === "set" || a.kind === "map") return bool(member(op, a, b, path)!);
      throw wrongKind(op, args, "(text, text), (bytes, bytes), (list|set, element) or (map, key)", path);
  }
}
