/**
 * FileStore for ClusterPools: the embedded durable default. The files,
 * the lock, the journal and recovery are src/state/file-store.ts's (it knows
 * no pools); this adds `open(options)`, which makes or recovers a ClusterPool.
 * `ClusterPool.open(path, options, store)` is the same thing in one call.
 */
import { FileStore as Files, type FileStoreOptions } from "../state/file-store.js";
import { ClusterPool, durablePools } from "./cluster-pool.js";
import type { ClusterPoolOptions } from "./options.js";
import type { MultiPoolOptions } from "./cluster-pool.js";
import { errors, show } from "../errors.js";

export type { FileStoreOptions };

export class FileStore extends Files<ClusterPool> {
  /**
   * Recovers the pool at this path, or makes a new one from `options` (a
   * writer only; an existing store keeps the options it was made with, except
   * clock and engine), and journals it from now on. Throws LOCKED,
   * CORRUPT_STATE or IO_ERROR; then nothing was written and no lock is held.
   */
  open(options: ClusterPoolOptions | MultiPoolOptions): ClusterPool {
    if (typeof options !== "object" || options === null) throw errors.invalidOption("options", `must be an object (got ${show(options)})`);
    return this.openWith(durablePools(options));
  }
}
