// Regions of the shared memory: an atomic bump allocator and lock-free
// stacks of recycled regions. See layout.ts for the ARENA header.
import { ARENA_TOP, REGION_ALIGN } from "./layout";

/** Sets up an arena whose first region starts at `start`. */
export function arenaInit(a: usize, start: u32): void {
  atomic.store<u32>(a, <u32>((<usize>start + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1)), ARENA_TOP);
}

/** First byte not yet handed out. */
export function arenaTop(a: usize): u32 { return load<u32>(a, ARENA_TOP); }

/**
 * Hands out `bytes` zeroed bytes, 64-aligned, growing the memory when needed.
 * Safe from several threads at once. Returns 0 when the memory cannot grow
 * (and the top is as it was, unless another thread allocated meanwhile).
 */
export function arenaAlloc(a: usize, bytes: u32): u32 {
  return arenaAllocAligned(a, bytes, <u32>REGION_ALIGN);
}

/** arenaAlloc with another alignment (a power of two, at least 8). */
export function arenaAllocAligned(a: usize, bytes: u32, align: u32): u32 {
  let top: u32;
  let start: u64;
  let end: u64;
  while (true) {
    top = load<u32>(a, ARENA_TOP);
    start = (<u64>top + align - 1) & ~(<u64>align - 1);
    end = start + bytes;
    if (end > 0xFFFF_0000) return 0;
    if (atomic.cmpxchg<u32>(a + ARENA_TOP, top, <u32>end) == top) break;
  }
  while ((<u64>memory.size() << 16) < end) {
    let need = <i32>((end - (<u64>memory.size() << 16) + 0xFFFF) >>> 16);
    let grow = need < 256 ? 256 : need; // grow by at least 16 MiB: growth refreshes every view
    if (memory.grow(grow) < 0 && memory.grow(need) < 0) {
      if ((<u64>memory.size() << 16) < end) {
        // give the bytes back unless another thread has taken some after them: a top left past
        // the end would refuse every later allocation, even one that fits
        atomic.cmpxchg<u32>(a + ARENA_TOP, <u32>end, top);
        return 0;
      }
    }
  }
  return <u32>start;
}

/** Pushes region r on the stack whose tagged head (tag << 32 | top) is at `head`. */
export function stackPush(head: usize, r: u32): void {
  while (true) {
    let old = load<u64>(head);
    store<u32>(r, <u32>old); // link through the region's first word
    let next = ((old >>> 32) + 1) << 32 | <u64>r;
    if (atomic.cmpxchg<u64>(head, old, next) == old) return;
  }
}

/** Pops a region from the stack at `head`, or returns 0 if it is empty. */
export function stackPop(head: usize): u32 {
  while (true) {
    let old = load<u64>(head);
    let r = <u32>old;
    if (r == 0) return 0;
    let next = ((old >>> 32) + 1) << 32 | <u64>load<u32>(r);
    if (atomic.cmpxchg<u64>(head, old, next) == old) return r;
  }
}
