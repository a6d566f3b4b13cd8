import { describe, it, expect } from "vitest";
import { Worker } from "node:worker_threads";
import { ClusterPool, PoolView, parseIPv4 } from "../src/index.js";
import { err } from "./helpers.js";

const V4 = { ipv4: { cidrs: ["10.0.0.0/16"], maskSize: 24 } };

describe("PoolView.ownerOfIPv4: owner names from the shared memory", () => {
  it("agrees with lookup(): a name for an owned address, \"\" for a numeric one, undefined for a free one", () => {
    const pool = new ClusterPool(V4);
    pool.addNode("n1"); // 10.0.0.0/24
    const a = pool.allocate("n1", "ns/web-0").ipv4!; // 10.0.0.1
    const b = pool.allocate("n1", "ns/ein-sehr-langer-name-über-48-bytes-damit-utf8-decodiert-wird").ipv4!; // 10.0.0.2, UTF-8 and long
    const c = pool.allocateIPv4(pool.handle("n1")); // 10.0.0.3, numeric: no owner
    const view = new PoolView(pool.describe());
    expect(view.ownerOfIPv4(parseIPv4(a))).toBe("ns/web-0");
    expect(view.ownerOfIPv4(parseIPv4(b))).toBe(pool.lookup(b)!.owner);
    expect(view.ownerOfIPv4(c)).toBe("");
    expect(view.ownerOfIPv4(parseIPv4("10.0.0.4"))).toBeUndefined(); // free
    expect(view.ownerOfIPv4(parseIPv4("10.1.0.1"))).toBeUndefined(); // outside every pool CIDR
    pool.release(a);
    expect(view.ownerOfIPv4(parseIPv4(a))).toBeUndefined();
    expect(err(() => view.ownerOfIPv4(-1)).code).toBe("NOT_IN_RANGE");
    expect(err(() => view.ownerOfIPv4("10.0.0.1" as unknown as number)).code).toBe("INVALID_ARGUMENT");
    // a descriptor naming no registry reads "" for every allocated address
    const bare = new PoolView({ ...pool.describe(), owners: 0 });
    expect(bare.ownerOfIPv4(parseIPv4(b))).toBe("");
    // a registry offset that is no registry is refused before anything is read
    expect(err(() => new PoolView({ ...pool.describe(), owners: 12 })).code).toBe("INVALID_ARGUMENT");
    view.dispose();
    bare.dispose();
    pool.dispose();
  });

  it("a worker reads only names the address really had while this thread churns owners (deletes, sweeps, reused name slots)", async () => {
    const pool = new ClusterPool(V4);
    for (let n = 0; n < 8; n++) pool.addNode(`n${n}`);
    const ips: number[] = [];
    for (let n = 0; n < 8; n++) for (let j = 0; j < 254; j++) ips.push(parseIPv4(pool.allocate(`n${n}`, `seed/${n}/${j}`).ipv4!));
    for (const ip of ips) pool.release(String(ip >>> 24) + "." + ((ip >>> 16) & 255) + "." + ((ip >>> 8) & 255) + "." + (ip & 255));
    const stop = new SharedArrayBuffer(8);
    const flag = new Int32Array(stop);
    const worker = new Worker(new URL("./fixtures/owner-reader.mjs", import.meta.url), {
      workerData: { desc: pool.describe(), ips: new Uint32Array(ips).buffer, stop },
    });
    const done = new Promise<{ reads: number; named: number; bad: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    while (Atomics.load(flag, 1) === 0) await new Promise((r) => setTimeout(r, 5));
    // churn: every round releases every address and gives it a new owner whose name encodes
    // the address; released owners go dormant and are swept when the registry needs room,
    // so name slots are freed and reused while the worker reads
    const text = ips.map((ip) => `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`);
    let rounds = 0;
    for (let gen = 0; gen < 60; gen++, rounds++) {
      for (let k = 0; k < ips.length; k++) {
        const node = `n${(k / 254) | 0}`;
        const got = pool.allocate(node, `o/${ips[k]}/${gen}-${"x".repeat(gen % 40)}`, text[k]);
        expect(got.ipv4).toBe(text[k]);
      }
      for (let k = 0; k < ips.length; k++) pool.release(text[k]!);
      if (gen % 10 === 9) await new Promise((r) => setTimeout(r, 1)); // let the worker run on a loaded machine
    }
    Atomics.store(flag, 0, 1);
    const r = await done;
    await worker.terminate();
    pool.dispose();
    expect(r.bad).toBe("");
    expect(rounds).toBe(60);
    expect(r.reads).toBeGreaterThan(0);
    expect(r.named).toBeGreaterThan(0); // it did read names while they changed
  }, 120_000);
});
