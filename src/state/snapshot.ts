/**
 * Snapshot framing: versioned and checksummed. The body is a JSON
 * description of the TS-side state (options, pool CIDRs, nodes, owners,
 * reservations, cooldown) plus the pod bitmaps and owner arrays as raw u32
 * words, which the JSON points into.
 *
 *   0   8 bytes  magic "IPCARVE\0"
 *   8   u32      format version (SNAPSHOT_VERSION)
 *   12  u32      generation (matches the journal that follows it)
 *   16  u32      JSON length J
 *   20  u32      data length D (bytes, a multiple of 4)
 *   24  J bytes  JSON (utf-8), padded with spaces to a multiple of 4
 *   ..  D bytes  data (u32 little-endian)
 *   end u32      CRC-32 of everything before it
 */
import { openSync, readSync, closeSync } from "node:fs";
import { crc32 } from "./crc32.js";
import { errors, IpamError } from "../errors.js";

export const SNAPSHOT_MAGIC = "IPCARVE\0";
export const SNAPSHOT_VERSION = 1;
const HEADER = 24;

export interface DecodedSnapshot {
  readonly generation: number;
  readonly meta: unknown;
  readonly data: Uint32Array;
}

export function encodeSnapshot(meta: unknown, data: Uint32Array, generation = 0): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(meta));
  const pad = (4 - (json.length % 4)) % 4;
  if (pad) {
    const p = new Uint8Array(json.length + pad).fill(0x20);
    p.set(json);
    json = p;
  }
  const total = HEADER + json.length + data.byteLength + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  dv.setUint32(8, SNAPSHOT_VERSION, true);
  dv.setUint32(12, generation >>> 0, true);
  dv.setUint32(16, json.length, true);
  dv.setUint32(20, data.byteLength, true);
  out.set(json, HEADER);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), HEADER + json.length);
  dv.setUint32(total - 4, crc32(out, 0, total - 4), true);
  return out;
}

/** Checks and splits a snapshot; throws CORRUPT_STATE for a truncated, corrupted or wrong-version one. */
export function decodeSnapshot(bytes: Uint8Array, what = "snapshot"): DecodedSnapshot {
  if (!(bytes instanceof Uint8Array)) throw errors.corrupt(what, "not a Uint8Array");
  if (bytes.length < HEADER + 4) throw errors.corrupt(what, `truncated (${bytes.length} bytes)`);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) throw errors.corrupt(what, "not an ipcarve snapshot (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) throw errors.corrupt(what, `format version ${version}; this ipcarve reads version ${SNAPSHOT_VERSION}`);
  const jsonLen = dv.getUint32(16, true);
  const dataLen = dv.getUint32(20, true);
  const total = HEADER + jsonLen + dataLen + 4;
  if (bytes.length !== total) throw errors.corrupt(what, `truncated or padded: ${bytes.length} bytes, header says ${total}`);
  if (crc32(bytes, 0, total - 4) !== dv.getUint32(total - 4, true)) throw errors.corrupt(what, "checksum mismatch");
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER, HEADER + jsonLen)));
  } catch (e) {
    throw errors.corrupt(what, "its description is not JSON", e);
  }
  const copy = new Uint8Array(dataLen);
  copy.set(bytes.subarray(HEADER + jsonLen, HEADER + jsonLen + dataLen));
  return { generation: dv.getUint32(12, true), meta, data: new Uint32Array(copy.buffer) };
}

/**
 * The JSON description of the snapshot file at `path`, read without its data
 * (nor its checksum: open the store to check it). What kind of state a file
 * holds, before opening it. Throws IO_ERROR (naming the path) and
 * CORRUPT_STATE (not a snapshot, another version, a description that is not JSON).
 */
export function readSnapshotMeta(path: string): unknown {
  let fd = -1;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(HEADER);
    if (readSync(fd, head, 0, HEADER, 0) < HEADER) throw errors.corrupt(path, "truncated (no snapshot header)");
    if (new TextDecoder().decode(head.subarray(0, 8)) !== SNAPSHOT_MAGIC) throw errors.corrupt(path, "not an ipcarve snapshot (bad magic)");
    const dv = new DataView(head.buffer);
    const version = dv.getUint32(8, true);
    if (version !== SNAPSHOT_VERSION) throw errors.corrupt(path, `format version ${version}; this ipcarve reads version ${SNAPSHOT_VERSION}`);
    const json = new Uint8Array(dv.getUint32(16, true));
    if (readSync(fd, json, 0, json.length, HEADER) < json.length) throw errors.corrupt(path, "truncated (in its description)");
    try {
      return JSON.parse(new TextDecoder().decode(json)) as unknown;
    } catch (e) {
      throw errors.corrupt(path, "its description is not JSON", e);
    }
  } catch (e) {
    if (e instanceof IpamError) throw e;
    throw errors.io("read", path, e);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
