// The pool's owners: names <-> ids and the addresses each holds, kept in the
// engine's shared memory by the core's owner registry (src/core/owners.ts).
// Address keys are poolIndex * 2^32 + rel.
export { Owners, addressKey, keyPool, keyRel, MAX_NAME_BYTES } from "../core/owners.js";
