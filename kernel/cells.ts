/**
 * Reducer state, per reducer and per cell (KERNEL §9). A non-keyed reducer has one cell with no key.
 * Iteration is always in (reducer name, key bytes) order, never in insertion order.
 *
 * @module
 */
import { bytesToHashRef, compareBytes, type HashRef, sha256, toHex } from "../air/mod.ts";

/** One cell: its key (null for a non-keyed reducer) and its canonical state bytes. */
export interface Cell {
  reducer: string;
  key: Uint8Array | null;
  state: Uint8Array;
}

function keyId(key: Uint8Array | null): string {
  return key === null ? "-" : toHex(key);
}

function compareKeys(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareBytes(a, b);
}

/** All reducer state of a world. */
export class CellStore {
  readonly #byReducer = new Map<string, Map<string, Cell>>();

  /** The state of a cell, or null when it has none. */
  get(reducer: string, key: Uint8Array | null): Uint8Array | null {
    return this.#byReducer.get(reducer)?.get(keyId(key))?.state ?? null;
  }

  /** Stores a cell's state; `null` deletes the cell. */
  set(reducer: string, key: Uint8Array | null, state: Uint8Array | null): void {
    let cells = this.#byReducer.get(reducer);
    if (state === null) {
      cells?.delete(keyId(key));
      if (cells?.size === 0) this.#byReducer.delete(reducer);
      return;
    }
    if (!cells) this.#byReducer.set(reducer, cells = new Map());
    cells.set(keyId(key), { reducer, key, state });
  }

  /** Cells of one reducer, by key bytes. */
  cellsOf(reducer: string): Cell[] {
    return [...(this.#byReducer.get(reducer)?.values() ?? [])].sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Every cell, by (reducer, key bytes). */
  all(): Cell[] {
    return [...this.#byReducer.keys()].sort().flatMap((reducer) => this.cellsOf(reducer));
  }

  /** Number of cells of a reducer. */
  count(reducer: string): number {
    return this.#byReducer.get(reducer)?.size ?? 0;
  }

  /** `sha256(state)` of every cell, in canonical order. */
  hashes(): Array<{ reducer: string; key: Uint8Array | null; hash: HashRef }> {
    return this.all().map((c) => ({ reducer: c.reducer, key: c.key, hash: bytesToHashRef(sha256(c.state)) }));
  }
}
