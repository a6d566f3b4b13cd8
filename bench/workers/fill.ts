/**
 * Piscina worker (and a plain function for the main thread): fills `nodes`
 * node subnets of pool entry 0 through a PoolView over the pool's shared
 * memory: carve slots (CAS on the node bitmap), attach a pod range, fill it
 * with one batch call. Returns the pods allocated and the time inside.
 */
import { PoolView, type PoolDescriptor } from "../../src/alloc/pool-view.js";

export interface FillTask {
  readonly desc: PoolDescriptor;
  /** Node subnets to carve and fill. */
  readonly nodes: number;
  /** Node id of the first node (ids must not clash between workers). */
  readonly firstId: number;
}

export interface FillResult {
  readonly pods: number;
  readonly nodes: number;
  readonly ms: number;
}

const CHUNK = 256;
const slots = new Uint32Array(CHUNK);
let out = new Uint32Array(256);

export function fillView(view: PoolView, nodes: number, firstId: number): { pods: number; nodes: number } {
  const podBits = view.pools[0]?.podBits ?? 0;
  const v4 = view.pools[0]?.family === 4;
  if (out.length < podBits) out = new Uint32Array(podBits);
  let pods = 0;
  let done = 0;
  let id = firstId;
  while (done < nodes) {
    const got = view.allocateNextSlotBatch(0, slots, Math.min(CHUNK, nodes - done));
    if (got === 0) break;
    for (let i = 0; i < got; i++) {
      const slot = slots[i] as number;
      if (!view.attach(0, slot, id++)) throw new Error("ipcarve bench: shared memory exhausted");
      pods += (v4 ? view.allocateNextIPv4Batch(0, slot, out, podBits) : view.allocateNextIndexBatch(0, slot, out, podBits));
    }
    done += got;
  }
  return { pods, nodes: done };
}

export default function fill(task: FillTask): FillResult {
  const t0 = performance.now();
  const view = new PoolView(task.desc);
  const r = fillView(view, task.nodes, task.firstId);
  return { ...r, ms: performance.now() - t0 };
}
