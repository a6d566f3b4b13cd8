/**
 * Owner names (e.g. "namespace/pod") <-> small integer ids stored beside
 * each pod address in WASM, and the addresses each owner holds, so an owner
 * can be released in one call. Address keys are poolIndex * 2^32 + rel.
 *
 * An owner usually holds one address per family, so the first two keys sit
 * in typed arrays indexed by id; a third and later ones go to a side map.
 * An owner that comes to hold nothing goes dormant: it keeps its Map entry
 * and id, so the same name coming back (a restarted pod) costs one Map hit.
 * Dormant owners are swept in bulk once they outnumber the live ones.
 */
const KEY_SCALE = 2 ** 32;
export const addressKey = (poolIndex: number, rel: number): number => poolIndex * KEY_SCALE + rel;
export const keyPool = (key: number): number => Math.floor(key / KEY_SCALE);
export const keyRel = (key: number): number => key % KEY_SCALE;

const EMPTY = -1;
/** Owner slots a pool starts with (doubled as needed): small, so that a small pool costs little to make. */
const INITIAL = 16;
/** Dormant owners kept before a sweep. */
const SWEEP_AT = 65536;

export class Owners {
  readonly #ids = new Map<string, number>();
  #names: (string | undefined)[] = [undefined];
  #key0 = new Float64Array(INITIAL).fill(EMPTY);
  #key1 = new Float64Array(INITIAL).fill(EMPTY);
  readonly #more = new Map<number, Set<number>>();
  readonly #freeIds: number[] = [];
  /** Ids that went dormant since the last sweep, each once (some may have woken since). */
  #dormant: number[] = [];
  #dormantCount = 0;
  #isDormant = new Uint8Array(INITIAL);
  /** 1 while the id has an entry in #dormant (live or stale): each id is listed once. */
  #listed = new Uint8Array(INITIAL);

  /** Owners known (live or dormant). */
  get size(): number { return this.#ids.size; }
  /** Owners holding at least one address. */
  get live(): number { return this.#ids.size - this.#dormantCount; }
  idOf(name: string): number | undefined { return this.#ids.get(name); }
  nameOf(id: number): string | undefined { return this.#names[id]; }

  /** The owner's id, created if new. */
  ensure(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#freeIds.pop() ?? this.#names.length;
      if (id >= this.#key0.length) this.#grow();
      this.#ids.set(name, id);
      this.#names[id] = name;
    }
    return id;
  }

  #grow(): void {
    const n = this.#key0.length * 2;
    const k0 = new Float64Array(n).fill(EMPTY);
    const k1 = new Float64Array(n).fill(EMPTY);
    const d = new Uint8Array(n);
    const l = new Uint8Array(n);
    k0.set(this.#key0);
    k1.set(this.#key1);
    d.set(this.#isDormant);
    l.set(this.#listed);
    this.#key0 = k0;
    this.#key1 = k1;
    this.#isDormant = d;
    this.#listed = l;
  }

  /** Restores an owner with a given id (snapshots: pod regions store these ids). */
  adopt(id: number, name: string, keys: readonly number[]): void {
    while (id >= this.#key0.length) this.#grow();
    while (this.#names.length <= id) {
      const free = this.#names.length;
      this.#names.push(undefined);
      if (free > 0) this.#freeIds.push(free);
    }
    const i = this.#freeIds.indexOf(id);
    if (i >= 0) this.#freeIds.splice(i, 1);
    this.#ids.set(name, id);
    this.#names[id] = name;
    for (const k of keys) this.add(id, k);
  }

  /** Records that owner `id` holds address `key`. */
  add(id: number, key: number): void {
    if (this.#isDormant[id] === 1) this.#wake(id);
    if (this.#key0[id] === EMPTY) this.#key0[id] = key;
    else if (this.#key1[id] === EMPTY) this.#key1[id] = key;
    else {
      const more = this.#more.get(id);
      if (more) more.add(key);
      else this.#more.set(id, new Set([key]));
    }
  }

  #wake(id: number): void {
    this.#isDormant[id] = 0; // its entry in #dormant goes stale; sweep skips it
    this.#dormantCount--;
  }

  /** Keys owner `id` holds. */
  keys(id: number): number[] {
    const out: number[] = [];
    const k0 = this.#key0[id] as number;
    const k1 = this.#key1[id] as number;
    if (k0 !== EMPTY) out.push(k0);
    if (k1 !== EMPTY) out.push(k1);
    const more = this.#more.get(id);
    if (more) out.push(...more);
    return out;
  }

  /** Removes one address key from owner `id`; forgets the owner when it holds nothing more. */
  removeKey(id: number, key: number): void {
    if (this.#key0[id] === key) this.#key0[id] = EMPTY;
    else if (this.#key1[id] === key) this.#key1[id] = EMPTY;
    else {
      const more = this.#more.get(id);
      if (!more?.delete(key)) return;
      if (more.size === 0) this.#more.delete(id);
    }
    this.dropIfEmpty(id);
  }

  /** Marks owner `id` dormant if it holds nothing; sweeps when dormant owners outnumber live ones. */
  dropIfEmpty(id: number): void {
    if (this.#key0[id] !== EMPTY || this.#key1[id] !== EMPTY || this.#more.has(id)) return;
    if (this.#names[id] === undefined || this.#isDormant[id] === 1) return;
    this.#isDormant[id] = 1;
    this.#dormantCount++;
    if (this.#listed[id] === 0) {
      this.#listed[id] = 1;
      this.#dormant.push(id);
    }
    // Sweep rarely: a swept name that comes back costs a Map insert again. Dormant
    // owners are bounded by max(SWEEP_AT, live owners).
    if (this.#dormant.length > SWEEP_AT) {
      if (this.#dormantCount > SWEEP_AT && this.#dormantCount > this.live) this.sweep();
      else if (this.#dormant.length > 2 * this.#dormantCount) this.#compact();
    }
  }

  /** Drops the entries of owners that woke up since they were listed. */
  #compact(): void {
    this.#dormant = this.#dormant.filter((i) => {
      if (this.#isDormant[i] === 1) return true;
      this.#listed[i] = 0;
      return false;
    });
  }

  /** Forgets every dormant owner that still holds nothing. */
  sweep(): void {
    for (const id of this.#dormant) {
      this.#listed[id] = 0;
      if (this.#isDormant[id] === 0) continue; // woke up since
      this.#isDormant[id] = 0;
      this.#ids.delete(this.#names[id] as string);
      this.#names[id] = undefined;
      this.#freeIds.push(id);
    }
    this.#dormant = [];
    this.#dormantCount = 0;
  }

  /** Forgets owner `id` and all its keys. */
  clear(id: number): void {
    this.#key0[id] = EMPTY;
    this.#key1[id] = EMPTY;
    this.#more.delete(id);
    this.dropIfEmpty(id);
  }

  /** Names of the owners that hold addresses. */
  *names(): IterableIterator<string> {
    for (const [name, id] of this.#ids) if (this.#isDormant[id] === 0) yield name;
  }
}
