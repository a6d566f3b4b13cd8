/**
 * The journal file format, and the scan that decides what of a journal can
 * be replayed. Pure functions over bytes: no files, no pool.
 *
 *   header (24 bytes)  "IPCJRNL\0", u32 version (2), u32 generation,
 *                      u32 CRC-32 of bytes 0..15, u32 zero
 *   record             u32 payload length, u32 CRC-32 of the payload,
 *                      u32 CRC-32 of the 8 bytes before it, payload (JSON)
 *
 * The header of each record has its own checksum, so a damaged length is
 * told apart from a torn write. What may be cut is a torn tail only: a
 * record that is incomplete and followed by nothing valid, i.e. fewer bytes
 * than a record header, a record whose (valid) header claims more bytes
 * than the file holds, or zeros to the end of the file (a file extended
 * by a crash before its data reached the disk). Anything else, a bad
 * header, a bad record header with data after it, a complete record whose
 * payload fails its checksum, is damage: CORRUPT_STATE naming the file and
 * the byte offset.
 *
 * Version 1 journals (16-byte header, records without a header checksum)
 * are read for compatibility; a store rewrites them as version 2.
 */
import { crc32 } from "./crc32.js";
import { errors } from "../errors.js";

export const JOURNAL_MAGIC = "IPCJRNL\0";
export const JOURNAL_VERSION = 2;
export const JOURNAL_HEADER = 24;
export const RECORD_HEADER = 12;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** The header of an empty journal of `generation`. */
export function journalHeader(generation: number): Uint8Array {
  const b = new Uint8Array(JOURNAL_HEADER);
  const dv = new DataView(b.buffer);
  b.set(enc.encode(JOURNAL_MAGIC));
  dv.setUint32(8, JOURNAL_VERSION, true);
  dv.setUint32(12, generation >>> 0, true);
  dv.setUint32(16, crc32(b, 0, 16), true);
  return b;
}

/** One record, framed: header (length, payload CRC, header CRC) then the JSON payload. */
export function encodeRecord(record: unknown): Uint8Array {
  const payload = enc.encode(JSON.stringify(record));
  const b = new Uint8Array(RECORD_HEADER + payload.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, payload.length, true);
  dv.setUint32(4, crc32(payload), true);
  dv.setUint32(8, crc32(b, 0, 8), true);
  b.set(payload, RECORD_HEADER);
  return b;
}

export interface ScannedJournal {
  readonly version: number;
  readonly generation: number;
  /** Decoded payloads, in order, with the byte offset of each record. */
  readonly records: readonly { readonly at: number; readonly value: unknown }[];
  /** Where the valid records end: the journal is cut here before appending. */
  readonly end: number;
  /** Bytes of a torn tail after `end` (0: none). */
  readonly torn: number;
}

const allZero = (b: Uint8Array, from: number): boolean => {
  for (let i = from; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

/** Checks a whole journal; throws CORRUPT_STATE naming `file` and the byte offset of the damage. */
export function scanJournal(bytes: Uint8Array, file: string): ScannedJournal {
  const what = `journal ${file}`;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicOk = bytes.length >= 16 && dec.decode(bytes.subarray(0, 8)) === JOURNAL_MAGIC;
  if (!magicOk) throw errors.corrupt(what, `bad header at byte 0 (${bytes.length} bytes; a journal is created whole, so a crash cannot tear it)`);
  const version = dv.getUint32(8, true);
  if (version !== 1 && version !== JOURNAL_VERSION) throw errors.corrupt(what, `header at byte 8: format version ${version}; this ipcarve reads 1 and ${JOURNAL_VERSION}`);
  const headerBytes = version === 1 ? 16 : JOURNAL_HEADER;
  const recordHeader = version === 1 ? 8 : RECORD_HEADER;
  if (version === JOURNAL_VERSION && (bytes.length < JOURNAL_HEADER || crc32(bytes, 0, 16) !== dv.getUint32(16, true))) {
    throw errors.corrupt(what, "header at byte 0 fails its checksum");
  }
  const records: { at: number; value: unknown }[] = [];
  let at = headerBytes;
  while (at < bytes.length) {
    const left = bytes.length - at;
    if (left < recordHeader || allZero(bytes, at)) break; // torn
    const len = dv.getUint32(at, true);
    if (version === JOURNAL_VERSION && crc32(bytes, at, at + 8) !== dv.getUint32(at + 8, true)) {
      throw errors.corrupt(what, `record ${records.length + 1} at byte ${at}: its header fails its checksum and ${left} bytes follow`);
    }
    const end = at + recordHeader + len;
    if (end > bytes.length) {
      // v2: the header is valid, so the record really is longer than the file: torn.
      // v1: no header checksum; a damaged length looks the same, so look for any whole record after it.
      if (version === 1 && v1RecordAfter(bytes, dv, at + 1)) throw errors.corrupt(what, `record ${records.length + 1} at byte ${at}: its length ${len} runs past the end, but whole records follow`);
      break;
    }
    if (crc32(bytes, at + recordHeader, end) !== dv.getUint32(at + 4, true)) {
      if (end === bytes.length && allZero(bytes, at + recordHeader)) break; // extended, never written
      throw errors.corrupt(what, `record ${records.length + 1} at byte ${at} fails its checksum`);
    }
    let value: unknown;
    try {
      value = JSON.parse(dec.decode(bytes.subarray(at + recordHeader, end)));
    } catch (e) {
      throw errors.corrupt(what, `record ${records.length + 1} at byte ${at} is not JSON`, e);
    }
    records.push({ at, value });
    at = end;
  }
  return { version, generation: dv.getUint32(12, true), records, end: at, torn: bytes.length - at };
}

/** v1 only: is there a record with a matching checksum starting anywhere from `from`? */
function v1RecordAfter(bytes: Uint8Array, dv: DataView, from: number): boolean {
  for (let at = from; at + 8 <= bytes.length; at++) {
    const len = dv.getUint32(at, true);
    const end = at + 8 + len;
    if (len > 0 && end <= bytes.length && crc32(bytes, at + 8, end) === dv.getUint32(at + 4, true)) return true;
  }
  return false;
}
