// Chunks (CIDRs) moved to nodes and back to their pools: counted per pool
// family (PoolFamily.chunksTaken/chunksReleased) and in all
// (MultiCore.chunksTaken/chunksReleased) by attachChunk and dropChunk.
import { dropChunk } from "./chunks.js";
import type { MultiCore, Chunk } from "./state.js";

/** Gives back the chunks a failed call took and uncounts their moves: a failed call changes nothing, its counts included. */
export function untake(core: MultiCore, chunks: readonly Chunk[]): void {
  for (const c of chunks) {
    dropChunk(core, c);
    c.group.fam.chunksTaken--;
    c.group.fam.chunksReleased--;
  }
  core.chunksTaken -= chunks.length;
  core.chunksReleased -= chunks.length;
}
