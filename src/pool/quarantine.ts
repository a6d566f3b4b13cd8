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
  /** Key -> release time of its latest entry. */
  readonly #times_ = new Map<number, number>();

  constructor(o: ReuseOptions) {
    this.cooldownMs = o.cooldownMs ?? Infinity;
    this.depth = o.minFreeBeforeReuse ?? Infinity;
  }

  get size(): number { return this.#len; }
  /** Node epoch of the latest entry for the address key, if any. */
  epochOf(key: number): number | undefined { return this.#members.get(key); }
  /** Release time of the latest entry for the address key, if any. */
  timeOf(key: number): number | undefined { return this.#times_.get(key); }

  /**
   * Queues address `key` of the node incarnation `epoch`, released at `now`.
   * The ring stays in release-time order: an entry older than the newest
   * (a release another process made, learnt late) goes in before the
   * newer ones; one clock's releases only ever append.
   */
  push(key: number, epoch: number, now: number): void {
    if (this.#len === this.#keys.length) this.#grow();
    const cap = this.#keys.length;
    let i = (this.#head + this.#len) % cap;
    // shift newer entries one place back until the slot before is not newer
    for (let k = this.#len; k > 0; k--) {
      const j = (i - 1 + cap) % cap;
      if ((this.#times[j] as number) <= now) break;
      this.#keys[i] = this.#keys[j] as number;
      this.#times[i] = this.#times[j] as number;
      this.#epochs[i] = this.#epochs[j] as number;
      i = j;
    }
    this.#keys[i] = key;
    this.#times[i] = now;
    this.#epochs[i] = epoch;
    this.#len++;
    this.#members.set(key, epoch);
    this.#times_.set(key, now);
  }

  /**
   * Takes the latest entry of `key` out of the ring (another process
   * ended its cooldown, or the cache is put back as etcd has it). Returns
   * its epoch, or undefined when the key has no entry.
   */
  remove(key: number): number | undefined {
    const epoch = this.#members.get(key);
    if (epoch === undefined) return undefined;
    const cap = this.#keys.length;
    for (let k = this.#len - 1; k >= 0; k--) {
      const i = (this.#head + k) % cap;
      if (this.#keys[i] !== key || this.#epochs[i] !== epoch) continue;
      for (let m = k; m < this.#len - 1; m++) {
        const a = (this.#head + m) % cap;
        const b = (a + 1) % cap;
        this.#keys[a] = this.#keys[b] as number;
        this.#times[a] = this.#times[b] as number;
        this.#epochs[a] = this.#epochs[b] as number;
      }
      this.#len--;
      break;
    }
    this.#members.delete(key);
    this.#times_.delete(key);
    return epoch;
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
      if (this.#members.get(key) === epoch) {
        this.#members.delete(key);
        this.#times_.delete(key);
      }
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
