/**
 * A calendar queue of fixed-width integer records, one bucket per epoch.
 * Records live in chunks of one growable Int32Array; emptied chunks go to a
 * free list, so steady-state pushing allocates nothing.
 */
const CHUNK = 512;

export class Calendar {
  /** Words per record. */
  readonly width: number;
  #data: Int32Array;
  #next: Int32Array;
  #fill: Int32Array;
  #chunks = 0;
  #free = -1;
  readonly #head: Int32Array;
  readonly #tail: Int32Array;
  #size = 0;

  constructor(buckets: number, width: number) {
    this.width = width;
    this.#head = new Int32Array(buckets).fill(-1);
    this.#tail = new Int32Array(buckets).fill(-1);
    this.#data = new Int32Array(64 * CHUNK * width);
    this.#next = new Int32Array(64);
    this.#fill = new Int32Array(64);
  }

  /** Number of buckets; a push to a bucket at or past it is dropped by the caller. */
  get buckets(): number { return this.#head.length; }
  /** Records queued. */
  get size(): number { return this.#size; }

  #newChunk(): number {
    let c = this.#free;
    if (c >= 0) {
      this.#free = this.#next[c] as number;
    } else {
      c = this.#chunks++;
      if (c >= this.#next.length) {
        const n = this.#next.length * 2;
        const data = new Int32Array(n * CHUNK * this.width);
        data.set(this.#data);
        this.#data = data;
        const next = new Int32Array(n);
        next.set(this.#next);
        this.#next = next;
        const fill = new Int32Array(n);
        fill.set(this.#fill);
        this.#fill = fill;
      }
    }
    this.#next[c] = -1;
    this.#fill[c] = 0;
    return c;
  }

  /** Word offset where the next record of `bucket` goes; write `width` words there. */
  push(bucket: number): number {
    let t = this.#tail[bucket] as number;
    if (t < 0 || (this.#fill[t] as number) === CHUNK) {
      const c = this.#newChunk();
      if (t < 0) this.#head[bucket] = c;
      else this.#next[t] = c;
      this.#tail[bucket] = c;
      t = c;
    }
    const i = this.#fill[t] as number;
    this.#fill[t] = i + 1;
    this.#size++;
    return (t * CHUNK + i) * this.width;
  }

  /** The record store; offsets from push() and forEach() index it. Re-read after a push (it may grow). */
  get data(): Int32Array { return this.#data; }

  /**
   * Calls fn(data, offset) for every record of `bucket` in push order, then
   * empties the bucket. fn must not push to the same bucket.
   */
  drain(bucket: number, fn: (data: Int32Array, offset: number) => void): void {
    let c = this.#head[bucket] as number;
    if (c < 0) return;
    const w = this.width;
    while (c >= 0) {
      const n = this.#fill[c] as number;
      const base = c * CHUNK * w;
      for (let i = 0; i < n; i++) fn(this.#data, base + i * w);
      this.#size -= n;
      const next = this.#next[c] as number;
      this.#next[c] = this.#free;
      this.#free = c;
      c = next;
    }
    this.#head[bucket] = -1;
    this.#tail[bucket] = -1;
  }
}
