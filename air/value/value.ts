/**
 * Runtime values of AIR (AIR §3): what decoders produce and Expr evaluates to. Integers are bigints.
 * A variant value is the record `{"$tag": text, "$value": v}`.
 *
 * @module
 */

/** A runtime value. Records keep fields in a `Map` whose iteration order is never relied on. */
export type Value =
  | { kind: "bool"; value: boolean }
  | { kind: "int"; value: bigint }
  | { kind: "nat"; value: bigint }
  | { kind: "dec128"; value: string } // normalized decimal string, e.g. "0.2", "-15E-1" is normalized to "-1.5"
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "text"; value: string }
  | { kind: "time"; value: bigint }
  | { kind: "duration"; value: bigint }
  | { kind: "hash"; value: Uint8Array } // 32 bytes
  | { kind: "uuid"; value: Uint8Array } // 16 bytes
  | { kind: "unit" }
  | { kind: "none" }
  | { kind: "list"; value: Value[] }
  | { kind: "set"; value: Value[] }
  | { kind: "map"; value: Array<[Value, Value]> }
  | { kind: "record"; value: Map<string, Value> };

/** The kind tag of a value. */
export type ValueKind = Value["kind"];
