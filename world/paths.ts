/**
 * The files of a world on disk (AIR §19): the authoring folders next to `.aos/`, and everything the
 * driver keeps under `.aos/`.
 *
 * @module
 */

/** The paths of a world's files, given its folder. */
export interface WorldPaths {
  root: string;
  aos: string;
  air: string;
  modules: string;
  store: string;
  journal: string;
  inbox: string;
  manifestCbor: string;
  manifestJson: string;
  head: string;
  lock: string;
  keys: string;
  receipts: string;
  config: string;
  /**
   * Bytes set aside, never deleted: cut torn tails, segments moved away by `journal repair`, and inbox
   * files `step` could not admit (each journaled as `inbox_quarantined`).
   */
  quarantine: string;
}

/**
 * Paths of a world's files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { worldPaths } from "./paths.ts";
 *
 * assert.equal(worldPaths("/w").journal, "/w/.aos/journal");
 * ```
 */
export function worldPaths(dir: string): WorldPaths {
  const aos = `${dir}/.aos`;
  return {
    root: dir,
    aos,
    air: `${dir}/air`,
    modules: `${dir}/modules`,
    store: `${aos}/store`,
    journal: `${aos}/journal`,
    inbox: `${aos}/inbox`,
    manifestCbor: `${aos}/manifest.air.cbor`,
    manifestJson: `${aos}/manifest.json`,
    head: `${aos}/head`,
    lock: `${aos}/LOCK`,
    keys: `${aos}/keys`,
    receipts: `${aos}/receipts`,
    config: `${aos}/config.json`,
    quarantine: `${aos}/quarantine`,
  };
}
