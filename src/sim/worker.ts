/**
 * Worker-thread entry of a split simulation: one Partition over the pool's
 * shared memory. The thread runs a synchronous loop, woken per epoch with
 * Atomics (no event-loop round trip):
 *   wait until ctrl[SEQ] moves -> receive { e, changes, sample } | { done }
 *   from the port -> step -> post the stats -> ctrl[ACK] = seq, notify.
 */
import { workerData, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { Partition, type PartitionParams } from "./partition.js";
import type { PoolDescriptor } from "../alloc/pool-view.js";
import { CTRL_ACK, CTRL_ERR, CTRL_SEQ } from "./control.js";

interface Init {
  readonly desc: PoolDescriptor;
  readonly params: PartitionParams;
  readonly index: number;
  readonly count: number;
  readonly ctrl: Int32Array;
  readonly port: MessagePort;
}

type Message = { readonly e: number; readonly changes: Int32Array; readonly sample: boolean; readonly desc?: PoolDescriptor } | { readonly done: true };

const { desc, params, index, count, ctrl, port } = workerData as Init;
let seen = 0;
try {
  const part = new Partition(desc, params, index, count);
  for (;;) {
    Atomics.wait(ctrl, CTRL_SEQ, seen);
    seen++;
    let got = receiveMessageOnPort(port);
    while (got === undefined) {
      Atomics.wait(ctrl, CTRL_SEQ, seen, 1);
      got = receiveMessageOnPort(port);
    }
    const m = got.message as Message;
    if ("done" in m) {
      port.postMessage({ digest: part.digest() });
      Atomics.store(ctrl, CTRL_ACK, seen);
      Atomics.notify(ctrl, CTRL_ACK);
      break;
    }
    const st = part.step(m.e, m.changes, m.sample, m.desc);
    port.postMessage(st, [st.buffer as ArrayBuffer]);
    Atomics.store(ctrl, CTRL_ACK, seen);
    Atomics.notify(ctrl, CTRL_ACK);
  }
} catch (e) {
  port.postMessage({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
  Atomics.store(ctrl, CTRL_ERR, 1);
  Atomics.notify(ctrl, CTRL_ACK);
}
port.close();
