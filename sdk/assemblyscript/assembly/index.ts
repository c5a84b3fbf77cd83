/**
 * AssemblyScript SDK for AgentOS reducers: strict canonical CBOR, the KERNEL §3 envelopes and the
 * result-pointer `step` ABI. See ../README.md for a complete reducer.
 */
export {
  assertCanonical,
  CborReader,
  compareEncoded,
  DEC128_TAG,
  MAJOR_ARRAY,
  MAJOR_BYTES,
  MAJOR_MAP,
  MAJOR_NEGINT,
  MAJOR_SIMPLE,
  MAJOR_TAG,
  MAJOR_TEXT,
  MAJOR_UINT,
  MAX_DEPTH,
} from "./cbor_reader";
export { CborWriter } from "./cbor_writer";
export {
  Ctx,
  decodeInput,
  DomainEvent,
  Effect,
  encodeOutput,
  ENVELOPE_VERSION,
  Event,
  Input,
  Output,
} from "./envelope";
export { alloc, allocate, Reducer, returnBytes, runReducer } from "./reducer";
