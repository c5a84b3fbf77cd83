import assert from "node:assert/strict";
import { fromHex, toHex } from "../air/mod.ts";
import { CellStore } from "./cells.ts";

const bytes = (hex: string) => fromHex(hex);

Deno.test("CellStore get() is null for an unknown reducer or cell and returns what set() stored", () => {
  const cells = new CellStore();
  assert.equal(cells.get("test/R@1", null), null);
  assert.equal(cells.get("test/R@1", bytes("01")), null);
  cells.set("test/R@1", bytes("01"), bytes("a0"));
  assert.deepEqual(cells.get("test/R@1", bytes("01")), bytes("a0"));
  assert.equal(cells.get("test/R@1", bytes("02")), null);
  assert.equal(cells.get("test/R@1", null), null);
  assert.equal(cells.get("test/Other@1", bytes("01")), null);
});

Deno.test("CellStore finds a cell by key bytes, not by key object identity", () => {
  const cells = new CellStore();
  cells.set("test/R@1", Uint8Array.of(0x61, 0x62), bytes("01"));
  assert.deepEqual(cells.get("test/R@1", new TextEncoder().encode("ab")), bytes("01"));
});

Deno.test("CellStore set() replaces a cell's state", () => {
  const cells = new CellStore();
  cells.set("test/R@1", bytes("01"), bytes("a0"));
  cells.set("test/R@1", bytes("01"), bytes("a1616101"));
  assert.deepEqual(cells.get("test/R@1", bytes("01")), bytes("a1616101"));
  assert.equal(cells.count("test/R@1"), 1);
});

Deno.test("CellStore set(null) deletes the cell; deleting the last cell removes the reducer", () => {
  const cells = new CellStore();
  cells.set("test/R@1", bytes("01"), bytes("a0"));
  cells.set("test/R@1", bytes("02"), bytes("a0"));
  cells.set("test/R@1", bytes("01"), null);
  assert.equal(cells.get("test/R@1", bytes("01")), null);
  assert.equal(cells.count("test/R@1"), 1);
  cells.set("test/R@1", bytes("02"), null);
  assert.equal(cells.count("test/R@1"), 0);
  assert.deepEqual(cells.all(), []);
  cells.set("test/R@1", bytes("03"), null); // deleting a cell that does not exist is a no-op
  cells.set("test/Nobody@1", null, null);
  assert.deepEqual(cells.all(), []);
});

Deno.test("CellStore keeps the null key (non-keyed reducer) apart from an empty key", () => {
  const cells = new CellStore();
  cells.set("test/R@1", null, bytes("01"));
  cells.set("test/R@1", new Uint8Array(), bytes("02"));
  assert.deepEqual(cells.get("test/R@1", null), bytes("01"));
  assert.deepEqual(cells.get("test/R@1", new Uint8Array()), bytes("02"));
  assert.equal(cells.count("test/R@1"), 2);
  assert.deepEqual(cells.cellsOf("test/R@1").map((c) => c.key), [null, new Uint8Array()]);
});

Deno.test("CellStore cellsOf() lists cells by key bytes, not by insertion order", () => {
  const cells = new CellStore();
  // Byte order: 01 < 01ff < 02 < 0a < 61 (a shorter prefix sorts first); hex-string order would agree,
  // insertion order would not.
  for (const key of ["61", "02", "01ff", "0a", "01"]) cells.set("test/R@1", bytes(key), bytes(key));
  assert.deepEqual(cells.cellsOf("test/R@1").map((c) => toHex(c.key!)), ["01", "01ff", "02", "0a", "61"]);
  assert.deepEqual(cells.cellsOf("test/R@1")[0], {
    reducer: "test/R@1",
    key: bytes("01"),
    state: bytes("01"),
  });
  assert.deepEqual(cells.cellsOf("test/Nobody@1"), []);
});

Deno.test("CellStore all() orders by reducer name, then key bytes", () => {
  const cells = new CellStore();
  cells.set("test/b@1", bytes("02"), bytes("b2"));
  cells.set("test/a@1", bytes("ff"), bytes("af"));
  cells.set("test/b@1", bytes("01"), bytes("b1"));
  cells.set("test/a@1", bytes("00"), bytes("a0"));
  cells.set("test/Counter@1", null, bytes("c0"));
  assert.deepEqual(
    cells.all().map((c) => `${c.reducer}:${c.key === null ? "-" : toHex(c.key)}`),
    ["test/Counter@1:-", "test/a@1:00", "test/a@1:ff", "test/b@1:01", "test/b@1:02"],
  );
});

Deno.test("CellStore hashes() gives sha256 of each state in (reducer, key bytes) order", () => {
  const cells = new CellStore();
  cells.set("test/b@1", null, new Uint8Array());
  cells.set("test/a@1", bytes("02"), new TextEncoder().encode("abc"));
  cells.set("test/a@1", bytes("01"), new Uint8Array());
  const empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.deepEqual(cells.hashes(), [
    { reducer: "test/a@1", key: bytes("01"), hash: empty },
    { reducer: "test/a@1", key: bytes("02"), hash: abc },
    { reducer: "test/b@1", key: null, hash: empty },
  ]);
});

Deno.test("CellStore cellsOf() stays in key order as cells are added, updated and deleted between listings", () => {
  const cells = new CellStore();
  const keys = () => cells.cellsOf("test/R@1").map((c) => toHex(c.key!));
  cells.set("test/R@1", bytes("03"), bytes("a0"));
  cells.set("test/R@1", bytes("01"), bytes("a0"));
  assert.deepEqual(keys(), ["01", "03"]);
  cells.set("test/R@1", bytes("02"), bytes("a0")); // added between listed ones
  assert.deepEqual(keys(), ["01", "02", "03"]);
  cells.set("test/R@1", bytes("01"), bytes("a1")); // updated: same order, the new state
  assert.deepEqual(keys(), ["01", "02", "03"]);
  assert.deepEqual(cells.cellsOf("test/R@1")[0]!.state, bytes("a1"));
  cells.set("test/R@1", bytes("02"), null);
  assert.deepEqual(keys(), ["01", "03"]);
  cells.set("test/R@1", bytes("0100"), bytes("a0"));
  assert.deepEqual(keys(), ["01", "0100", "03"]);
  assert.deepEqual(cells.all().map((c) => toHex(c.key!)), ["01", "0100", "03"]);
});

Deno.test("CellStore set() stores a copy, overwritten in place by a state as long; adopt() stores the bytes given", () => {
  const cells = new CellStore();
  const source = bytes("a1616101");
  cells.set("test/R@1", null, source);
  const stored = cells.get("test/R@1", null)!;
  source.fill(0); // the caller reuses its bytes (a reducer's output is a view of its memory)
  assert.deepEqual(stored, bytes("a1616101"));
  // As long: the store's own buffer takes the new state; longer: a new buffer.
  cells.set("test/R@1", null, bytes("a1616102"));
  assert.equal(cells.get("test/R@1", null), stored);
  assert.deepEqual(stored, bytes("a1616102"));
  cells.set("test/R@1", null, bytes("a161611818"));
  assert.notEqual(cells.get("test/R@1", null), stored);
  assert.deepEqual(cells.get("test/R@1", null), bytes("a161611818"));
  // Adopted bytes (a snapshot's, kept by others too) are stored as they are and never written to.
  const adopted = bytes("a1616103");
  cells.adopt("test/R@1", bytes("01"), adopted);
  assert.equal(cells.get("test/R@1", bytes("01")), adopted);
  cells.set("test/R@1", bytes("01"), bytes("a1616104"));
  assert.deepEqual(adopted, bytes("a1616103"));
  assert.deepEqual(cells.get("test/R@1", bytes("01")), bytes("a1616104"));
});
