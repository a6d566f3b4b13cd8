// The core is instantiated many times over one shared memory (one instance
// per worker thread). That is only safe if the module carries no state of
// its own: no data segments (a second instance would re-copy them over live
// state), no start function, no mutable globals, and an imported shared memory.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { wasmPath } from "../src/core/wasm.js";

/** Section ids of a wasm binary, by walking its section headers. */
function sections(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8; // magic + version
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++] as number;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const id = bytes[i++] as number;
    const size = leb();
    ids.push(id);
    i += size;
  }
  return ids;
}

const SECTION = { global: 6, start: 8, data: 11, dataCount: 12 };

describe("built wasm module shape", () => {
  const bytes = new Uint8Array(readFileSync(wasmPath()));
  const ids = sections(bytes);
  const mod = new WebAssembly.Module(bytes);

  it("has no data section", () => {
    expect(ids).not.toContain(SECTION.data);
    expect(ids).not.toContain(SECTION.dataCount);
  });

  it("has no start section", () => {
    expect(ids).not.toContain(SECTION.start);
  });

  it("has no globals", () => {
    expect(ids).not.toContain(SECTION.global);
  });

  it("imports exactly one memory and nothing else", () => {
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
  });

  it("the section walker finds sections that do exist", () => {
    // type (1), import (2), function (3), export (7), code (10): a walker that finds nothing would pass the tests above.
    expect(ids).toEqual(expect.arrayContaining([1, 2, 3, 7, 10]));
  });
});
