/**
 * The version of the on-disk journal format: segments of frames `u32 LE length | canonical CBOR entry |
 * u32 LE CRC-32C`, each entry `{seq, kind, body, prev}` hash-chained. Bumped on any change a reader of an
 * older version could not read.
 *
 * @module
 */

/** The journal format this build writes and reads. */
export const JOURNAL_FORMAT_VERSION = 1;
