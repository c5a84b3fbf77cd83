/**
 * Reducer state, per reducer and per cell (KERNEL §9). A non-keyed reducer has one cell with no key.
 * Iteration is always in (reducer name, key bytes) order, never in insertion order.
 *
 * @module
 */
import { bytesToHashRef, compareBytes, type HashRef, sha256, toHex } from "../air/mod.ts";

/**
 * One cell: its key (null for a non-keyed reducer) and its canonical state bytes. A cell's state is replaced
 * in place ({@linkcode CellStore.set}), its bytes too when the new state is as long: the store's cells and
 * states are for reading on the spot, not for keeping.
 */
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
  /**
   * Per reducer, its cells' ids in key-byte order, kept until a cell is added or deleted (a state update
   * keeps the order): a snapshot of many cells no longer sorts them every time.
   */
  readonly #order = new Map<string, string[]>();
  /** State buffers the store allocated itself (copies), which it may overwrite with a state as long. */
  readonly #owned = new WeakSet<Uint8Array>();

  /** The state of a cell, or null when it has none. */
  get(reducer: string, key: Uint8Array | null): Uint8Array | null {
    return this.#byReducer.get(reducer)?.get(keyId(key))?.state ?? null;
  }

  /**
   * Stores a copy of a cell's state (the caller may reuse `state`: a reducer's output is a view of its
   * memory); `null` deletes the cell. An existing cell keeps its object and key, and its state's buffer when
   * the new state is as long and the buffer is one of the store's copies: a new state is then no allocation
   * at all (an `ArrayBuffer` cost 0.4–0.6 µs on the build machine), and one object fewer to promote and
   * collect, which with many cells weighed on every event.
   */
  set(reducer: string, key: Uint8Array | null, state: Uint8Array | null): void {
    this.#put(reducer, key, state, true);
  }

  /**
   * Stores `state` itself, not a copy (a snapshot's decoded states, kept by nothing else); a later
   * {@linkcode set} of the cell stores a copy.
   */
  adopt(reducer: string, key: Uint8Array | null, state: Uint8Array): void {
    this.#put(reducer, key, state, false);
  }

  #put(reducer: string, key: Uint8Array | null, state: Uint8Array | null, copy: boolean): void {
    let cells = this.#byReducer.get(reducer);
    const id = keyId(key);
    if (state === null) {
      if (cells?.delete(id) === true) this.#order.delete(reducer);
      if (cells?.size === 0) this.#byReducer.delete(reducer);
      return;
    }
    if (!cells) this.#byReducer.set(reducer, cells = new Map());
    const cell = cells.get(id);
    if (cell !== undefined && copy && cell.state.length === state.length && this.#owned.has(cell.state)) {
      cell.state.set(state);
      return;
    }
    const stored = copy ? this.#copy(state) : state;
    if (cell === undefined) {
      this.#order.delete(reducer);
      cells.set(id, { reducer, key, state: stored });
    } else {
      cell.state = stored;
    }
  }

  #copy(state: Uint8Array): Uint8Array {
    const copy = state.slice();
    this.#owned.add(copy);
    return copy;
  }

  /** Cells of one reducer, by key bytes. */
  cellsOf(reducer: string): Cell[] {
    const cells = this.#byReducer.get(reducer);
    if (cells === undefined) return [];
    let order = this.#order.get(reducer);
    if (order === undefined) {
      order = [...cells.values()].sort((a, b) => compareKeys(a.key, b.key)).map((c) => keyId(c.key));
      this.#order.set(reducer, order);
    }
    return order.map((id) => cells.get(id)!);
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
