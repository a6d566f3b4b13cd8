/** Field indices of a sim worker's control block (an Int32Array over a SharedArrayBuffer). */
export const CTRL_SEQ = 0; // epochs posted by the coordinator
export const CTRL_ACK = 1; // epochs the worker finished
export const CTRL_ERR = 2; // 1 once the worker failed
export const CTRL_WORDS = 16; // one cache line per worker
