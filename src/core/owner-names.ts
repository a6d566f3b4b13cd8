/**
 * Reading owner names out of the owner registry in the shared memory
 * (assembly/owners.ts): the one place that turns a name's UTF-8 bytes back
 * into a JS string. The Owners registry on the thread that owns the pool
 * reads through it, and so does a PoolView on any other thread.
 *
 * On another thread the writer may free name slots meanwhile (ownDelete,
 * ownSweep). Those bump the registry's epoch (atomically) before and after,
 * so a reader brackets its reads with `epoch()` and tries again when the
 * epoch was odd or moved (a seqlock; see PoolView.ownerOfIPv4). Records and
 * names never move, and a released owner's name stays put until a sweep.
 */
import { Buffer } from "node:buffer";
import { OWN_CHUNKS, OWN_CHUNK_COUNT, OWN_NEXT_ID, OWN_EPOCH, REC_BYTES, REC_FREE, REC_DORMANT, REC_NAME, REC_LEN } from "./layout.js";

/** Names up to this many bytes are decoded here while they are ASCII (no native call). */
const SHORT_NAME = 48;
/** Longest name a record can hold (assembly: len < 2^24). */
const MAX_LEN = 1 << 24;
const fromCodes = String.fromCharCode;

/**
 * The ASCII bytes [at, at + len) (len <= 16) as a string: one
 * fromCharCode call with sixteen arguments, cut to len. Reads the whole
 * 16 bytes from `at`: name slots are multiples of 16 bytes (ownClassBytes),
 * so that stays inside the name's own slot. About 5x faster here than
 * apply() over a subarray (which makes a view per call) or latin1Slice.
 */
function ascii16(u8: Uint8Array, at: number, len: number): string {
  const s = fromCodes(
    u8[at] as number, u8[at + 1] as number, u8[at + 2] as number, u8[at + 3] as number,
    u8[at + 4] as number, u8[at + 5] as number, u8[at + 6] as number, u8[at + 7] as number,
    u8[at + 8] as number, u8[at + 9] as number, u8[at + 10] as number, u8[at + 11] as number,
    u8[at + 12] as number, u8[at + 13] as number, u8[at + 14] as number, u8[at + 15] as number,
  );
  return len === 16 ? s : s.slice(0, len);
}

export class OwnerNames {
  readonly #memory: WebAssembly.Memory;
  /** The registry header in the shared memory. */
  readonly header: number;
  #buf: Buffer;
  #u8: Uint8Array;
  #u32: Uint32Array;
  #i32: Int32Array;

  constructor(memory: WebAssembly.Memory, header: number) {
    this.#memory = memory;
    this.header = header;
    const b = memory.buffer;
    this.#buf = Buffer.from(b as ArrayBuffer);
    this.#u8 = new Uint8Array(b);
    this.#u32 = new Uint32Array(b);
    this.#i32 = new Int32Array(b);
  }

  /** Views over the memory as it is now (it may have grown). */
  #renew(): void {
    const b = this.#memory.buffer;
    if (this.#u32.length * 4 === b.byteLength) return;
    this.#buf = Buffer.from(b as ArrayBuffer);
    this.#u8 = new Uint8Array(b);
    this.#u32 = new Uint32Array(b);
    this.#i32 = new Int32Array(b);
  }

  /** The registry's seqlock epoch: odd while name slots are being freed. */
  epoch(): number {
    return Atomics.load(this.#i32, (this.header + OWN_EPOCH) >>> 2);
  }

  /**
   * Address of the record of `id` (assembly/owners.ts ownRecord: chunk
   * k = 27 - clz(id + 15) holds 16 << k records), or 0 for an id never
   * handed out.
   */
  record(id: number): number {
    if (!(id > 0 && id < 0xffff_fff0)) return 0;
    const j = id + 15;
    const k = 27 - Math.clz32(j);
    if (k >= OWN_CHUNK_COUNT) return 0;
    const chunk = this.#u32[(this.header + OWN_CHUNKS + k * 4) >>> 2] as number;
    if (chunk === 0 || id >= (this.#u32[(this.header + OWN_NEXT_ID) >>> 2] as number)) return 0;
    const r = chunk + (j - (16 << k)) * REC_BYTES;
    if (r + REC_BYTES > this.#u32.length * 4) this.#renew();
    return r;
  }

  /** The name of owner `id`, or undefined (a free id, a dormant owner, bytes that are not there). */
  nameOf(id: number): string | undefined {
    const r = this.record(id);
    if (r === 0) return undefined;
    const u32 = this.#u32;
    const len = u32[(r + REC_LEN) >>> 2] as number;
    if (len === REC_FREE || len >= REC_DORMANT || len > MAX_LEN) return undefined;
    const at = u32[(r + REC_NAME) >>> 2] as number;
    if (at + len + SHORT_NAME > u32.length * 4) {
      this.#renew();
      if (at + len > this.#u32.length * 4) return undefined; // a torn read on another thread: the epoch tells
    }
    if (len <= SHORT_NAME && at + SHORT_NAME <= this.#u8.length) {
      // short ASCII names without the UTF-8 decoder (a native call per name)
      const u8 = this.#u8;
      let bad = 0;
      for (let i = at; i < at + len; i++) bad |= u8[i] as number;
      if (bad < 0x80) {
        if (len <= 16) return ascii16(u8, at, len);
        return ascii16(u8, at, 16) + (len <= 32 ? ascii16(u8, at + 16, len - 16) : ascii16(u8, at + 16, 16) + ascii16(u8, at + 32, len - 32));
      }
    }
    return (this.#buf as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice(at, at + len);
  }
}
