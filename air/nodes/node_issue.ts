/**
 * {@linkcode NodeIssue}: a problem found while parsing one node.
 *
 * @module
 */

/** A problem found while parsing one node; `path` is relative to the node. */
export interface NodeIssue {
  code: string;
  message: string;
  path: Array<string | number>;
}
