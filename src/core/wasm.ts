/**
 * The typed boundary to the WASM core (assembly/). The module is compiled
 * once per thread and instantiated over a shared WebAssembly.Memory that
 * the caller owns; see assembly/layout.ts for what lives in it.
 */
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { IpamError } from "../errors.js";

/** Pointers and offsets are u32 numbers; -1 (NONE) means "nothing". */
export interface WasmExports {
  // bitmap
  bmBytes(nbits: number): number;
  bmInit(h: number, nbits: number, flags: number, seed: bigint, aux: number): void;
  bmFindFrom(h: number, pos: number): number;
  bmAllocateNext(h: number, strategy: number): number;
  bmAllocate(h: number, i: number): number;
  bmRelease(h: number, i: number): number;
  bmHas(h: number, i: number): number;
  bmAllocateBatch(h: number, strategy: number, n: number, out: number, add: number): number;
  bmReleaseBatch(h: number, n: number, inp: number, sub: number): number;
  bmHasBatch(h: number, n: number, inp: number, sub: number, out: number): number;
  bmOccupyRange(h: number, a: number, b: number): number;
  bmReleaseRange(h: number, a: number, b: number): number;
  bmCountRange(h: number, a: number, b: number): number;
  bmUsed(h: number): number;
  bmSize(h: number): number;
  bmCursor(h: number): number;
  bmSetCursor(h: number, c: number): void;
  bmAux(h: number): number;
  bmSetAux(h: number, aux: number): void;
  bmBase(h: number): number;
  bmSetBase(h: number, base: number): void;
  bmAllocateRun(h: number, k: number): number;
  bmLeaves(h: number): number;
  bmWords(h: number): number;
  bmRebuild(h: number): void;
  bmReleaseMask(h: number, wi: number, mask: bigint): number;
  bmSetFlags(h: number, flags: number): void;
  bmRng(h: number): bigint;
  bmSetRng(h: number, s: bigint): void;
  bmRecount(h: number): number;
  bmCheckSummaries(h: number): number;
  // arena
  arenaInit(a: number, start: number): void;
  arenaTop(a: number): number;
  arenaAlloc(a: number, bytes: number): number;
  stackPush(head: number, r: number): void;
  stackPop(head: number): number;
  // pools
  poolInit(
    p: number, family: number, base: number, mask: number, hostBits: number, slots: number,
    nodeBm: number, slotTable: number, podFlags: number, arena: number,
  ): void;
  poolClear(p: number): void;
  poolRegion(p: number, slot: number): number;
  poolNodeAt(p: number, slot: number): number;
  poolAttach(p: number, slot: number, run: number, node: number, nbits: number, base: number, cls: number, seed: bigint): number;
  poolDetach(p: number, slot: number, run: number, cls: number): number;
  podAllocateNext(p: number, slot: number, strategy: number, owner: number): number;
  podAllocate(p: number, rel: number, owner: number): number;
  /** keep: 1 leaves the address taken (quarantine) and only clears its owner. */
  podRelease(p: number, rel: number, keep: number): number;
  podOwner(p: number, rel: number): number;
  podAllocateBatch(p: number, slot: number, strategy: number, n: number, out: number): number;
  podUsed(p: number, slot: number): number;
  poolMostFree(p: number): number;
  // lookup
  findPool4(table: number, count: number, ip: number): number;
  lookup4(table: number, count: number, ip: number): number;
  owner4(table: number, count: number, ip: number): number;
  /** Pool entry index holding ip (or -1); writes node id at out, owner (as owner4) at out + 4. */
  lookup4Own(table: number, count: number, ip: number, out: number): number;
  release4(table: number, count: number, ip: number): number;
  /** release4, and the owner's key dropped from the registry at `owners` (owner forgotten when it holds nothing). */
  release4Own(table: number, count: number, ip: number, owners: number): number;
  lookup4Batch(table: number, count: number, n: number, inp: number, outNode: number, outOwner: number): void;
  release4Batch(table: number, count: number, n: number, inp: number, outOwner: number): number;
  // owner registry (assembly/owners.ts); ids are u32, 0 = none; NEED_* results ask for a region first
  ownHash(p: number, len: number): number;
  ownRecord(h: number, id: number): number;
  ownChunkBytes(k: number): number;
  ownNameClass(len: number): number;
  ownClassBytes(c: number): number;
  ownInit(h: number, table: number, slots: number): void;
  ownCount(h: number): number;
  ownDormant(h: number): number;
  ownSweepable(h: number): number;
  ownSweep(h: number): number;
  ownIdEnd(h: number): number;
  ownSlots(h: number): number;
  ownFind(h: number, p: number, len: number): number;
  ownEnsure(h: number, p: number, len: number): number;
  ownAdopt(h: number, id: number, p: number, len: number): number;
  ownRehash(h: number, table: number, slots: number): number;
  ownNeededChunk(h: number): number;
  ownSetChunk(h: number, k: number, chunk: number): void;
  ownChunk(h: number, k: number): number;
  ownNameChunk(h: number, chunk: number, bytes: number): void;
  ownNameBytes(h: number): number;
  ownDelete(h: number, id: number): number;
  /** key: pool * 2^32 + rel as a number. 1 if it went in a key slot, 0 if both are taken. */
  ownAdd(h: number, id: number, key: number): number;
  ownRemove(h: number, id: number, key: number): number;
  ownRemoveDrop(h: number, id: number, key: number, more: number): number;
}


/**
 * Path of the compiled core, `build/ipcarve.wasm` at the package root. The
 * root is found from this module's own file, so it holds in the repository
 * (src/core/wasm.ts under vitest, dist/src/core/wasm.js when built) and in an
 * installed package (node_modules/ipcarve/dist/src/core/wasm.js), wherever the current
 * directory is. Throws an IpamError (IO_ERROR) naming the path when the file is missing.
 */
export function wasmPath(): string {
  const here = new URL(import.meta.url);
  // Only the layout this file is in: src/core/ -> ../../build, dist/src/core/ -> ../../../build.
  const rel = here.pathname.endsWith(".ts") ? "../../build/ipcarve.wasm" : "../../../build/ipcarve.wasm";
  const p = fileURLToPath(new URL(rel, here));
  if (existsSync(p)) return p;
  throw new IpamError("IO_ERROR", `the WASM core ${p} is missing; in the repository run \`npm run build\`, else reinstall ipcarve`);
}

let compiled: WebAssembly.Module | undefined;

/** The compiled module (compiled once per thread). */
export function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(wasmPath()));
  return compiled;
}

/** A fresh instance over `memory`. Instances share nothing but the memory. */
export function instantiate(memory: WebAssembly.Memory, module: WebAssembly.Module = wasmModule()): WasmExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as WasmExports;
}
