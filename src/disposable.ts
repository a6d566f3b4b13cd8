/**
 * The well-known symbol of explicit resource management (`using`):
 * Symbol.dispose, or where the runtime lacks it the symbol Node 20 uses for
 * it, Symbol.for("nodejs.dispose").
 */
import { errors } from "./errors.js";

export const disposeSymbol: typeof Symbol.dispose =
  ((Symbol as { dispose?: symbol }).dispose ?? Symbol.for("nodejs.dispose")) as typeof Symbol.dispose;

/**
 * A resource one object holds until its dispose(): `get(method)` returns it,
 * or throws INVALID_ARGUMENT naming `Owner.method` once it is given back.
 * Disposing twice is a no-op.
 */
export class Held<T> {
  #value: T | undefined;
  readonly #owner: string;
  readonly #what: string;
  readonly #release: (value: T) => void;

  constructor(value: T, owner: string, what: string, release: (value: T) => void) {
    this.#value = value;
    this.#owner = owner;
    this.#what = what;
    this.#release = release;
  }

  get(method: string): T {
    const v = this.#value;
    if (v === undefined) throw errors.disposed(`${this.#owner}.${method}`, this.#what);
    return v;
  }

  dispose(): void {
    const v = this.#value;
    if (v === undefined) return;
    this.#value = undefined;
    this.#release(v);
  }
}
