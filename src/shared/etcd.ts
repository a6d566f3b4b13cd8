/**
 * The etcd client of SharedPool: `etcd3` from npm, loaded on first use, with
 * its own retry and circuit-breaker policies switched off (SharedPool decides
 * when to retry, because a retried transaction may already have committed),
 * a deadline on every unary call, and a fixed short backoff for watch
 * reconnects. Only this module touches the etcd3 API; the rest of
 * src/shared/ sees the small interface below.
 */
import type { Etcd3, IKeyValue, IRequestOp, ICompare, IResponseOp, Watcher, IWatchResponse } from "etcd3";
import { errors } from "../errors.js";

export type KeyValue = IKeyValue;
export type RequestOp = IRequestOp;
export type Compare = ICompare;
export type WatchResponse = IWatchResponse;

/** etcd's CompareTarget.Mod and CompareResult.Equal and Less (etcd3 sends the enum numbers). */
const MOD = 2;
const EQUAL = 0;
const LESS = 2;

export interface TxnResult {
  readonly succeeded: boolean;
  /** The store revision the transaction was applied at. */
  readonly revision: number;
  readonly responses: readonly IResponseOp[];
}

/** The error of a failed etcd call, kept with what SharedPool must know: did the request possibly reach etcd? */
export class EtcdCallError extends Error {
  /** True when the request cannot have been applied (no connection was made, or etcd refused it). */
  readonly unsent: boolean;
  /** True when etcd refused the request itself (too many operations, too large): retrying cannot help. */
  readonly refused: boolean;
  constructor(cause: unknown, unsent: boolean, refused: boolean) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.unsent = unsent || refused;
    this.refused = refused;
  }
}

/** gRPC statuses with which etcd refuses a request before applying anything. */
const REFUSED = /^GRPC(InvalidArgument|FailedPrecondition|OutOfRange|ResourceExhasted|PermissionDenied|Unauthenticated|NotImplemented)Error$/;

export interface EtcdLink {
  readonly endpoints: readonly string[];
  txn(compare: Compare[], success: RequestOp[], failure: RequestOp[]): Promise<TxnResult>;
  /**
   * Every key under `prefix` and the revision it was read at: a
   * linearizable read in pages of about PAGE_BYTES, every page after the
   * first read at the first page's revision, so the pages are one snapshot.
   */
  range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number; pages: number }>;
  /**
   * Grants a lease of `ttlS` seconds. keepAlive() renews it once and
   * resolves false when etcd says it has expired; revoke() ends it (its keys go).
   */
  lease(ttlS: number): Promise<LeaseLink>;
  /** Watches every key under `prefix` from `fromRevision` on. */
  watch(prefix: string, fromRevision: number, onData: (res: WatchResponse) => void): Promise<{ cancel(): Promise<void> }>;
  close(): void;
}

export interface LeaseLink {
  /** The lease id, as etcd3 passes it in a put. */
  readonly id: string;
  keepAlive(): Promise<boolean>;
  revoke(): Promise<void>;
}

const enc = (s: string): Buffer => Buffer.from(s, "utf8");

/** Bytes one page of a ranged read aims at (its key count follows the sizes seen so far). */
const PAGE_BYTES = 1 << 20;
/** Keys of the first page, and the bounds of later ones. */
const PAGE_FIRST = 256;
const PAGE_MIN = 16;
const PAGE_MAX = 4096;
/** A page read at a revision etcd has compacted since the first page: the read starts over (this often at most). */
const RESTARTS = 3;
/**
 * gRPC's receive limit: etcd's Go client takes up to 2^31 - 1 bytes (grpc-js
 * defaults to 4 MiB). A page stays small; a watch response is not paged
 * (etcd3 asks for no fragments), and a watch that catches up over many
 * revisions gets them in one response, which must not be refused.
 */
const MAX_RECEIVE = 2 ** 31 - 1;
/** The end of the range of keys starting with `prefix`. */
export function rangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, "utf8");
  b[b.length - 1] = (b[b.length - 1] as number) + 1;
  return b;
}

export const op = {
  put: (key: string, value: string, lease?: string): RequestOp => ({ request_put: { key: enc(key), value: enc(value), ...(lease !== undefined ? { lease } : {}) } }),
  del: (key: string): RequestOp => ({ request_delete_range: { key: enc(key) } }),
  get: (key: string): RequestOp => ({ request_range: { key: enc(key) } }),
  /** ModRevision(key) == rev; rev 0: the key does not exist. */
  modIs: (key: string, rev: number): Compare => ({ key: enc(key), target: MOD as never, result: EQUAL as never, mod_revision: String(rev) }),
  /** No key under `prefix` was put after revision `rev` (deletions are not seen: only what still exists is compared). */
  unchangedSince: (prefix: string, rev: number): Compare => ({ key: enc(prefix), range_end: rangeEnd(prefix), target: MOD as never, result: LESS as never, mod_revision: String(rev + 1) }),
};

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** True for errors that mean no connection was made, so the request was never sent. */
function unsentError(e: unknown): boolean {
  const m = messageOf(e);
  return /No connection established|failed to connect to all addresses|ECONNREFUSED|connect ECONNREFUSED|Connection pool has no hosts|client was already closed/i.test(m);
}

/**
 * Loads etcd3 and connects to `endpoints`; each unary call gets `attemptMs`
 * to answer. Throws MISSING_DEPENDENCY naming `npm install etcd3` when the
 * package is missing.
 */
export async function connectEtcd(endpoints: readonly string[], attemptMs: number): Promise<EtcdLink> {
  let mod: typeof import("etcd3");
  try {
    mod = await import("etcd3");
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") throw errors.missingDependency("etcd3", "SharedPool.connect", e);
    throw e;
  }
  // no retry, no circuit breaker: a call that fails is reported to SharedPool at once
  // (async: etcd3's markFailed runs a throwing function through it and catches the rejection)
  const direct = { execute: async (fn: (ctx: unknown) => unknown) => fn({ signal: new AbortController().signal, attempt: 0 }) } as never;
  const backoff = { duration: 100, next: () => backoff };
  const client: Etcd3 = new mod.Etcd3({
    hosts: [...endpoints],
    dialTimeout: attemptMs,
    grpcOptions: { "grpc.max_receive_message_length": MAX_RECEIVE },
    faultHandling: { host: () => direct, global: direct, watchBackoff: backoff as never },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + attemptMs }),
  });
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw new EtcdCallError(e, unsentError(e), REFUSED.test((e as Error | undefined)?.constructor?.name ?? ""));
    }
  };
  const watchers = new Set<Watcher>();
  return {
    endpoints,
    txn: (compare, success, failure) =>
      call(async () => {
        const r = await client.kv.txn({ compare, success, failure });
        return { succeeded: r.succeeded, revision: Number(r.header.revision), responses: r.responses };
      }),
    range: (prefix) =>
      call(async () => {
        const end = rangeEnd(prefix);
        for (let restart = 0; ; restart++) {
          const kvs: KeyValue[] = [];
          let key = enc(prefix);
          let revision: string | undefined;
          let limit = PAGE_FIRST;
          let bytes = 0;
          let pages = 0;
          try {
            for (;;) {
              const r = await client.kv.range({ key, range_end: end, limit: String(limit), ...(revision !== undefined ? { revision } : {}) });
              pages++;
              revision ??= r.header.revision;
              for (const kv of r.kvs) {
                kvs.push(kv);
                bytes += kv.key.length + kv.value.length;
              }
              const last = r.kvs[r.kvs.length - 1];
              if (!r.more || last === undefined) return { kvs, revision: Number(revision), pages };
              key = Buffer.concat([last.key, Buffer.from([0])]); // the next key after the last one read
              limit = Math.min(PAGE_MAX, Math.max(PAGE_MIN, Math.floor(PAGE_BYTES / Math.max(1, bytes / kvs.length))));
            }
          } catch (e) {
            // the first page's revision was compacted while we read: start over at the current one
            if (revision === undefined || restart >= RESTARTS || !/compacted/i.test(messageOf(e))) throw e;
          }
        }
      }),
    lease: (ttlS) =>
      call(async () => {
        const l = client.lease(ttlS, { autoKeepAlive: false });
        l.on("lost", () => undefined); // keepAlive() reports it
        const id = await l.grant();
        return {
          id,
          keepAlive: () =>
            call(async () => {
              try {
                await l.keepaliveOnce({ deadline: Date.now() + attemptMs });
                return true;
              } catch (e) {
                if ((e as Error | undefined)?.constructor?.name === "EtcdLeaseInvalidError") return false;
                throw e;
              }
            }),
          revoke: () => call(() => l.revoke({ deadline: Date.now() + attemptMs })),
        };
      }),
    watch: (prefix, fromRevision, onData) =>
      call(async () => {
        const w = await client.watch().prefix(prefix).startRevision(String(fromRevision)).create();
        watchers.add(w);
        w.on("data", onData);
        w.on("error", () => undefined); // reconnects are etcd3's; a watch that ends is replaced by SharedPool's resync
        return {
          cancel: async () => {
            watchers.delete(w);
            await w.cancel().catch(() => undefined);
          },
        };
      }),
    close: () => {
      for (const w of watchers) void w.cancel().catch(() => undefined);
      client.close();
    },
  };
}
