/**
 * Reuse cooldown: released pod addresses wait here, still taken in their
 * bitmap, before they can be handed out again (stale routes and identities,
 * Cilium #29571, #16565). Release order is expiry order, so one FIFO ring
 * serves every node: an entry leaves after `cooldownMs`, or once
 * `minFreeBeforeReuse` later releases stand behind it, whichever is first.
 */
export interface ReuseOptions {
  /** Milliseconds a released address waits before reuse. */
  readonly cooldownMs?: number;
  /** A released address is reusable once this many addresses were released after it. */
  readonly minFreeBeforeReuse?: number;
}

export class Quarantine {
  readonly cooldownMs: number;
  readonly depth: number;
  #keys: Float64Array = new Float64Array(1024);
  #times: Float64Array = new Float64Array(1024);
  #epochs: Float64Array = new Float64Array(1024);
  #head = 0;
  #len = 0;
  /** Key -> node epoch of its latest entry. */
  readonly #members = new Map<number, number>();

  constructor(o: ReuseOptions) {
    this.cooldownMs = o.cooldownMs ?? Infinity;
    this.depth = o.minFreeBeforeReuse ?? Infinity;
  }

  get size(): number { return this.#len; }
  /** Node epoch of the latest entry for the address key, if any. */
  epochOf(key: number): number | undefined { return this.#members.get(key); }

  /** Queues address `key` of the node incarnation `epoch`, released at `now`. */
  push(key: number, epoch: number, now: number): void {
    if (this.#len === this.#keys.length) this.#grow();
    const i = (this.#head + this.#len) % this.#keys.length;
    this.#keys[i] = key;
    this.#times[i] = now;
    this.#epochs[i] = epoch;
    this.#len++;
    this.#members.set(key, epoch);
  }

  #grow(): void {
    const n = this.#keys.length * 2;
    const unroll = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      for (let k = 0; k < this.#len; k++) b[k] = a[(this.#head + k) % a.length] as number;
      return b;
    };
    this.#keys = unroll(this.#keys);
    this.#times = unroll(this.#times);
    this.#epochs = unroll(this.#epochs);
    this.#head = 0;
  }

  /** True if the oldest entry may leave at `now`. */
  due(now: number): boolean {
    return this.#len > 0 && (this.#len > this.depth || (this.#times[this.#head] as number) + this.cooldownMs <= now);
  }

  /** Removes and passes to `free` every entry that may leave at `now`. Returns how many left. */
  expire(now: number, free: (key: number, epoch: number) => void): number {
    let n = 0;
    while (this.due(now)) {
      const key = this.#keys[this.#head] as number;
      const epoch = this.#epochs[this.#head] as number;
      this.#head = (this.#head + 1) % this.#keys.length;
      this.#len--;
      n++;
      if (this.#members.get(key) === epoch) this.#members.delete(key);
      free(key, epoch);
    }
    return n;
  }

  /** Entries oldest first, for snapshots. */
  entries(): { key: number; epoch: number; time: number }[] {
    const out: { key: number; epoch: number; time: number }[] = [];
    for (let k = 0; k < this.#len; k++) {
      const i = (this.#head + k) % this.#keys.length;
      out.push({ key: this.#keys[i] as number, epoch: this.#epochs[i] as number, time: this.#times[i] as number });
    }
    return out;
  }
}
