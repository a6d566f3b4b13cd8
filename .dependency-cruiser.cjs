/**
 * The layers of src/, checked by `npm test` (npm run lint:layers):
 *
 *   cli/                          the command line
 *   shared/                       SharedPool: one pool shared by many processes through etcd
 *   config/  report/              outer rooms: talk to pool/, alloc/ and sim/, never to core/
 *   metrics/                      registerMetrics: prom-client over ClusterPool
 *   sim/                          simulations: ClusterPool for nodes, PoolView for pods
 *   pool/                         ClusterPool: names, owners, policy, lifecycle, its FileStore
 *   alloc/        state/          Cilium allocators over offsets | bytes on disk
 *   core/                         the only door to assembly/ (the WASM bindings)
 *   net/                          text <-> numbers
 *   errors.ts args.ts disposable.ts   leaves every layer may use
 *
 * A layer imports only from layers below it; nothing imports in a cycle;
 * only core/ imports the WASM bindings (src/core/wasm.ts).
 */
const layer = (dir) => `^src/${dir}/`;
const below = {
  net: [],
  core: [],
  alloc: ["net", "core"],
  state: [],
  pool: ["net", "core", "alloc", "state"],
  sim: ["net", "alloc", "pool"],
  metrics: ["pool"],
  config: ["net", "alloc", "pool", "sim"],
  report: ["net", "pool", "sim"],
  shared: ["net", "alloc", "pool"],
  cli: ["net", "alloc", "pool", "state", "config", "sim", "report", "shared"],
};
const leaves = "^src/(errors|args|disposable)\\.ts$";
const all = Object.keys(below);

module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", comment: "modules import each other in a cycle", from: {}, to: { circular: true } },
    {
      name: "only-core-imports-the-bindings",
      severity: "error",
      comment: "the WASM bindings (src/core/wasm.ts) are core/'s: other layers use core/engine.ts, core/bitmap.ts and core/layout.ts",
      from: { path: "^src/", pathNot: "^src/core/" },
      to: { path: "^src/core/wasm\\.ts$" },
    },
    {
      name: "leaves-import-nothing-of-ours",
      severity: "error",
      from: { path: leaves },
      to: { path: "^src/", pathNot: leaves },
    },
    {
      name: "multi-pool-is-routed-by-the-facade",
      severity: "error",
      comment: "src/pool/multi/ (named pools) is reached through ClusterPool (cluster-pool.ts) only; the single-pool modules of src/pool/ do not know it",
      from: { path: "^src/pool/", pathNot: ["^src/pool/multi/", "^src/pool/cluster-pool\\.ts$"] },
      to: { path: "^src/pool/multi/" },
    },
    {
      name: "multi-pool-stays-beside-the-single-pool-state",
      severity: "error",
      comment: "src/pool/multi/ reuses alloc/ (PoolTable, PoolCidr, CidrSet), the owner registry, the reuse-cooldown ring and check()'s report collector, not the single-pool state (core.ts, nodes.ts, pods.ts, ...)",
      from: { path: "^src/pool/multi/" },
      to: { path: "^src/pool/", pathNot: ["^src/pool/multi/", "^src/pool/(owners|options|memory|types|cilium-node|check-report|quarantine)\\.ts$"] },
    },
    ...all.map((dir) => ({
      name: `${dir}-imports-only-downward`,
      severity: "error",
      comment: `${dir}/ may import ${below[dir].length ? below[dir].map((d) => `${d}/`).join(", ") : "no other layer"} and the leaves`,
      from: { path: layer(dir) },
      to: {
        path: "^src/",
        pathNot: [leaves, layer(dir), ...below[dir].map(layer)],
      },
    })),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
