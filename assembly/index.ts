// The module's exports. Every function takes the offsets it works on;
// the module itself holds no state (see layout.ts).
export {
  bmBytes, bmInit, bmFindFrom, bmAllocateNext, bmAllocate, bmRelease, bmHas,
  bmAllocateBatch, bmReleaseBatch, bmHasBatch, bmOccupyRange, bmReleaseRange, bmCountRange,
  bmUsed, bmSize, bmCursor, bmSetCursor, bmAux, bmSetAux, bmBase, bmSetBase, bmRecount, bmCheckSummaries,
  bmAllocateRun, bmLeaves, bmWords, bmRebuild, bmRng, bmSetRng, bmReleaseMask, bmSetFlags,
} from "./bitmap";
export { arenaInit, arenaTop, arenaAlloc, stackPush, stackPop } from "./arena";
export {
  poolInit, poolClear, poolRegion, poolNodeAt, poolAttach, poolDetach, podAllocateNext, podAllocate,
  podRelease, podOwner, podAllocateBatch, podUsed, poolMostFree,
} from "./pool";
export { findPool4, lookup4, owner4, lookup4Own, release4, release4Own, lookup4Batch, release4Batch } from "./lookup";
export {
  ownHash, ownRecord, ownChunkBytes, ownNameClass, ownClassBytes, ownInit, ownCount, ownDormant, ownSweepable, ownSweep, ownIdEnd, ownSlots, ownFind, ownEnsure,
  ownAdopt, ownRehash, ownNeededChunk, ownSetChunk, ownChunk, ownNameChunk, ownNameBytes, ownDelete, ownAdd, ownRemove, ownRemoveDrop,
} from "./owners";
